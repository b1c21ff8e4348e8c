"""Every move of a game graded against perfect play, the move that decided it, and a summary per player.

The grading is pure: it reads the exact values of the seven columns before a move (the solver's
scores, from the mover's side, as :meth:`engine.solver.Solver.analyze` gives them) and the column
played. :class:`Reviewer` asks the worker for those values position by position, tells whoever
watches as each one arrives, and stores the finished review with the game, so that it is computed
once.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from engine.bitboard import CENTRE_ORDER
from engine.connect4 import COLUMNS, Connect4, Player
from games.store import Store

__all__ = [
    "GameReview",
    "Grade",
    "MoveReview",
    "PlayerSummary",
    "Result",
    "Reviewer",
    "grade",
    "perfect_column",
    "result_of",
]

log = logging.getLogger(__name__)

Scores = tuple[int | None, ...]
"""The value of each of the seven columns for the side to move (None: the column is full)."""


class Result(enum.IntEnum):
    """What a position is worth to the side to move with perfect play from both sides."""

    LOSS = -1
    DRAW = 0
    WIN = 1

    @property
    def word(self) -> str:
        return self.name.lower()


def result_of(score: int) -> Result:
    """The result a solver score stands for (its sign)."""
    return Result.WIN if score > 0 else Result.LOSS if score < 0 else Result.DRAW


class Grade(enum.StrEnum):
    """How a move compares with perfect play."""

    BEST = "best"
    """It kept the best result, as fast as possible (or lost as slowly as possible)."""
    INACCURACY = "inaccuracy"
    """It kept the result, but a win takes longer (or a loss comes sooner)."""
    MISTAKE = "mistake"
    """It turned a win into a draw, or a draw into a loss."""
    BLUNDER = "blunder"
    """It threw away a win: a won position became a lost one."""

    @property
    def mark(self) -> str:
        """The chess mark of the grade."""
        return _MARKS[self]

    @property
    def word(self) -> str:
        return self.value.capitalize()


_MARKS = {Grade.BEST: "✓", Grade.INACCURACY: "?!", Grade.MISTAKE: "?", Grade.BLUNDER: "??"}


def _best_score(scores: Sequence[int | None]) -> int:
    playable = [score for score in scores if score is not None]
    if not playable:
        raise ValueError("Every column is full: there is no move to grade.")
    return max(playable)


def perfect_column(scores: Sequence[int | None]) -> int:
    """The column (0..6) a perfect player picks: the best score, nearest the centre among equals."""
    best = _best_score(scores)
    return next(column for column in CENTRE_ORDER if scores[column] == best)


def grade(scores: Sequence[int | None], column: int) -> Grade:
    """The grade of playing ``column`` (0..6) in a position whose columns are worth ``scores``."""
    if len(scores) != COLUMNS or not 0 <= column < COLUMNS or scores[column] is None:
        raise ValueError(f"Column {column + 1} cannot be played in this position.")
    played, best = scores[column], _best_score(scores)
    assert played is not None  # checked above; mypy does not follow the index
    if played == best:
        return Grade.BEST
    before, after = result_of(best), result_of(played)
    if before == after:
        return Grade.INACCURACY
    if before is Result.WIN and after is Result.LOSS:
        return Grade.BLUNDER
    return Grade.MISTAKE


@dataclass(frozen=True)
class MoveReview:
    """One move of a game and the values of the position it was played in."""

    number: int
    """From 1."""
    player: Player
    column: int
    """From 0."""
    scores: Scores

    @property
    def grade(self) -> Grade:
        return grade(self.scores, self.column)

    @property
    def perfect(self) -> int:
        """The column a perfect player would have played."""
        return perfect_column(self.scores)

    @property
    def before(self) -> Result:
        """The mover's result before the move, with perfect play."""
        return result_of(_best_score(self.scores))

    @property
    def after(self) -> Result:
        """The mover's result after the move, with perfect play."""
        played = self.scores[self.column]
        assert played is not None  # a move was played there
        return result_of(played)

    def sentence(self) -> str:
        """What the move did, when it changed the result ("Move 14 by yellow, column 2, turned a draw into a loss")."""
        return (
            f"Move {self.number} by {self.player}, column {self.column + 1}, turned a {self.before.word} into a"
            f" {self.after.word}; column {self.perfect + 1} kept the {self.before.word}."
        )


@dataclass(frozen=True)
class PlayerSummary:
    """How one side played."""

    player: Player
    moves: int = 0
    best: int = 0
    inaccuracies: int = 0
    mistakes: int = 0
    blunders: int = 0


@dataclass(frozen=True)
class GameReview:
    """The values of the positions of a game, from the first on; complete when every move has its position."""

    moves: str
    """The game's moves in solver notation."""
    scores: tuple[Scores, ...] = ()
    """The columns' values before each move, in order (as many as have been computed)."""

    def __post_init__(self) -> None:
        if len(self.scores) > len(self.moves) or any(len(s) != COLUMNS for s in self.scores):
            raise ValueError("A review has one row of seven values per move at most.")

    @property
    def complete(self) -> bool:
        return len(self.scores) == len(self.moves)

    @property
    def reviewed(self) -> list[MoveReview]:
        """The moves reviewed so far."""
        players = (Player.RED, Player.YELLOW)
        return [
            MoveReview(index + 1, players[index % 2], int(self.moves[index]) - 1, scores)
            for index, scores in enumerate(self.scores)
        ]

    def move(self, number: int) -> MoveReview | None:
        """Move ``number`` (from 1), if it has been reviewed."""
        if not 1 <= number <= len(self.scores):
            return None
        return self.reviewed[number - 1]

    def turning_point(self) -> MoveReview | None:
        """The move that decided the game: the last one that changed the result (None: perfect play throughout)."""
        changes = [move for move in self.reviewed if move.grade in (Grade.MISTAKE, Grade.BLUNDER)]
        return changes[-1] if changes else None

    def verdict(self) -> str:
        """The turning point in one sentence (for a complete review)."""
        turning = self.turning_point()
        if turning is not None:
            return turning.sentence()
        if not self.moves:
            return "No move was played."
        first = self.move(1)
        assert first is not None, "a verdict needs the first move's values"
        result = first.before
        if result is Result.DRAW:
            return "Nobody made a mistake: the game stayed a draw throughout."
        winner = Player.RED if result is Result.WIN else Player.YELLOW
        return f"Nobody made a mistake: {winner} had the win from the first move, as perfect play says."

    def summary(self) -> dict[Player, PlayerSummary]:
        """Moves, best moves, inaccuracies, mistakes and blunders of each side so far."""
        counts = {player: dict.fromkeys(Grade, 0) for player in Player}
        for move in self.reviewed:
            counts[move.player][move.grade] += 1
        return {
            player: PlayerSummary(
                player,
                moves=sum(grades.values()),
                best=grades[Grade.BEST],
                inaccuracies=grades[Grade.INACCURACY],
                mistakes=grades[Grade.MISTAKE],
                blunders=grades[Grade.BLUNDER],
            )
            for player, grades in counts.items()
        }

    def to_json(self) -> str:
        return json.dumps({"moves": self.moves, "scores": [list(s) for s in self.scores]}, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> GameReview:
        """The inverse of :meth:`to_json`; raises ValueError for anything else."""
        try:
            data = json.loads(text)
            moves, rows = data["moves"], data["scores"]
            scores = tuple(tuple(None if v is None else int(v) for v in row) for row in rows)
            Connect4.from_moves(moves)  # a stored review of an impossible game is no review
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"Not a stored review: {exc}") from None
        return cls(str(moves), scores)


Analyse = Callable[[str], Awaitable[list[int | None]]]
"""Returns the values of the seven columns of a position given in solver notation (the worker's job)."""
Progress = Callable[[GameReview], None]


class Reviewer:
    """Reviews finished games once: the values come from the worker, the finished review goes to the store.

    Two pages asking for the same game's review share one computation.
    """

    def __init__(self, store: Store, analyse: Analyse) -> None:
        self.store = store
        self.analyse = analyse
        self._jobs: dict[tuple[str, str], asyncio.Task[GameReview]] = {}
        self._watchers: dict[tuple[str, str], list[Progress]] = {}

    async def stored(self, game_id: str, moves: str) -> GameReview | None:
        """The stored review of this game with these moves, if it has one."""
        text = await self.store.load_review(game_id)
        if text is None:
            return None
        try:
            review = GameReview.from_json(text)
        except ValueError:
            log.warning("game %s: ignoring a stored review that cannot be read", game_id)
            return None
        return review if review.moves == moves and review.complete else None

    async def review(self, game_id: str, moves: str, on_progress: Progress | None = None) -> GameReview:
        """The complete review of the game ``game_id`` whose moves are ``moves``; ``on_progress`` sees each step.

        Cancelling the caller stops only its watching: the review goes on for the others and for the store.
        """
        job_key = (game_id, moves)
        watchers = self._watchers.setdefault(job_key, [])
        if on_progress is not None:
            watchers.append(on_progress)
        try:
            job = self._jobs.get(job_key)
            if job is None:
                job = self._jobs[job_key] = asyncio.get_running_loop().create_task(self._compute(game_id, moves))
                job.add_done_callback(lambda _: self._finished(job_key))
            return await asyncio.shield(job)
        finally:
            if on_progress is not None:
                with contextlib.suppress(ValueError):
                    watchers.remove(on_progress)
            if not watchers and job_key not in self._jobs:
                self._watchers.pop(job_key, None)

    def _finished(self, job_key: tuple[str, str]) -> None:
        self._jobs.pop(job_key, None)
        if not self._watchers.get(job_key):
            self._watchers.pop(job_key, None)

    async def _compute(self, game_id: str, moves: str) -> GameReview:
        review = await self.stored(game_id, moves)
        if review is not None:
            self._tell(game_id, review)
            return review
        scores: list[Scores] = []
        review = GameReview(moves)
        for index in range(len(moves)):
            scores.append(tuple(await self.analyse(moves[:index])))
            review = GameReview(moves, tuple(scores))
            self._tell(game_id, review)
        await self.store.save_review(game_id, review.to_json())
        return review

    def _tell(self, game_id: str, review: GameReview) -> None:
        for watcher in list(self._watchers.get((game_id, review.moves), [])):
            try:
                watcher(review)
            except Exception:
                log.exception("game %s: a review's page failed on its progress", game_id)
