"""Computer opponents of increasing strength, each defined by how it plays rather than by depth.

>>> import random
>>> choose_move("4453", Level.PERFECT, random.Random(0))
2
"""

from __future__ import annotations

import enum
import random
import threading
from typing import Final

from engine.bitboard import BOARD, BOARD_SIZE, BOTTOM, CENTRE_ORDER, COLUMN_MASKS, popcount, winning_cells
from engine.errors import NoMoveError
from engine.solver import Position, Solver

__all__ = ["Level", "NoMoveError", "choose_move", "warm"]

_CENTRE_COLUMN: Final = 0x3F << (7 * 3)
# Beyond any heuristic value, so that a found win always outranks an evaluation.
_WIN: Final = 1000


class Level(enum.Enum):
    """How the computer plays. Every level plays only legal moves and is reproducible from its rng.

    BEGINNER
        Plays a random column among those that do not hand the opponent a win on top of its own
        stone. It goes for an immediate win only half of the time and blocks the opponent's
        immediate win only half of the time (otherwise it plays at random and may still hit the
        right column), and never looks further ahead: a child who makes a threat often gets it
        through, and one who leaves a win open often gets away with it.
    CASUAL
        Always takes an immediate win and always blocks one. Otherwise it looks four plies
        ahead with a simple evaluation (cells where each side would connect four, stones in the
        centre column), picks at random among the moves within a small margin of the best, and
        one move in five plays any move that does not lose at once. Traps deeper than two of its
        own moves catch it.
    STRONG
        Never misses a win or a block and never plays under a cell where the opponent would
        connect four. In the opening it knows from the book whether each move wins, draws or
        loses (but not how fast); once 28 stones are down it solves exactly whether each move
        wins, draws or loses; in between it searches six plies with the evaluation. It picks at
        random among the moves it judges equal, so it can drift from a win into a draw in the
        middle game, where zugzwang lies deeper than it looks.
    PERFECT
        Always plays a move with the best exact score: it never lets a won position slip nor a
        drawn one turn into a loss, wins as fast as possible and loses as slowly as possible.
        Among moves of equal score it takes the one nearest the centre, so it ignores its rng.
    """

    BEGINNER = "beginner"
    CASUAL = "casual"
    STRONG = "strong"
    PERFECT = "perfect"


_solver_lock = threading.Lock()
_shared_solver: Solver | None = None


def _solver() -> Solver:
    # One solver for every game: its transposition table keeps paying off across moves.
    global _shared_solver
    if _shared_solver is None:
        _shared_solver = Solver()
    return _shared_solver


def warm() -> Solver:
    """The solver every level shares, made and with its opening book loaded now, not in a first game."""
    with _solver_lock:
        solver = _solver()
        solver.book  # noqa: B018  # loads the book
    return solver


def choose_move(moves: str, level: Level, rng: random.Random) -> int:
    """The column (0..6) the computer at ``level`` plays after ``moves`` (solver notation "4453").

    Raises :class:`engine.solver.NotationError` for moves that are not an unfinished game and
    :class:`NoMoveError` when the board is full.
    """
    pos = Position.from_moves(moves)
    if pos.is_full:
        raise NoMoveError(f"The board is full after {moves!r}; there is no move left to play.")
    if level is Level.BEGINNER:
        return _beginner(pos, rng)
    if level is Level.CASUAL:
        return _casual(pos, rng)
    if level is Level.STRONG:
        return _strong(pos, rng)
    with _solver_lock:
        return _solver().best_move(pos)


# -- what every level sees ------------------------------------------------------------------


def _legal(pos: Position) -> list[int]:
    return [col for col in CENTRE_ORDER if pos.can_play(col)]


def _wins(pos: Position) -> list[int]:
    return [col for col in _legal(pos) if pos.is_winning_move(col)]


def _blocks(pos: Position) -> list[int]:
    # Cells where the opponent would connect four, among the ones a stone can drop into now.
    threats = winning_cells(pos.current ^ pos.mask, pos.mask) & pos.possible()
    return [col for col in _legal(pos) if threats & COLUMN_MASKS[col]]


def _safe(pos: Position) -> list[int]:
    """Columns whose stone does not open a cell right above it where the opponent connects four."""
    threats = winning_cells(pos.current ^ pos.mask, pos.mask)
    possible = pos.possible()
    return [col for col in _legal(pos) if not (possible & COLUMN_MASKS[col]) << 1 & threats]


def _beginner(pos: Position, rng: random.Random) -> int:
    wins = _wins(pos)
    if wins and rng.random() < 0.5:
        return rng.choice(wins)
    blocks = _blocks(pos)
    if blocks and rng.random() < 0.5:
        return rng.choice(blocks)
    return rng.choice(_safe(pos) or _legal(pos))


def _sure_moves(pos: Position) -> list[int]:
    """The moves any level above beginner is limited to: a win, else the block, else safe moves."""
    wins = _wins(pos)
    if wins:
        return wins[:1]
    blocks = _blocks(pos)
    if blocks:
        # Two threats cannot both be blocked; any block is as good as the other.
        return blocks[:1]
    return _safe(pos) or _legal(pos)


def _casual(pos: Position, rng: random.Random) -> int:
    candidates = _sure_moves(pos)
    if len(candidates) == 1:
        return candidates[0]
    if rng.random() < 0.2:
        return rng.choice(candidates)
    scores = {col: _searched_score(pos, col, depth=4) for col in candidates}
    best = max(scores.values())
    return rng.choice([col for col in candidates if scores[col] >= best - 2])


def _strong(pos: Position, rng: random.Random) -> int:
    candidates = _sure_moves(pos)
    if len(candidates) == 1:
        return candidates[0]
    solver: Solver | None = None
    if pos.nb_moves < 12 or pos.nb_moves >= 28:
        # Book positions and endgames are cheap to solve: use the verdict (win, draw or loss).
        solver = _solver()
    if solver is not None:
        with _solver_lock:
            verdicts = {col: _verdict(solver, pos, col) for col in candidates}
        best = max(verdicts.values())
        return rng.choice([col for col in candidates if verdicts[col] == best])
    scores = {col: _searched_score(pos, col, depth=6) for col in candidates}
    best = max(scores.values())
    return rng.choice([col for col in candidates if scores[col] == best])


def _verdict(solver: Solver, pos: Position, col: int) -> int:
    if pos.is_winning_move(col):
        return 1
    child = pos.copy()
    child.play(col)
    return -solver.solve(child, weak=True)


# -- a small heuristic search for the middle levels ----------------------------------------


def _searched_score(pos: Position, col: int, depth: int) -> int:
    if pos.is_winning_move(col):
        return _WIN
    child = pos.copy()
    child.play(col)
    return -_negamax(child.current, child.mask, child.nb_moves, depth - 1, -_WIN - 1, _WIN + 1)


def _negamax(cur: int, mask: int, moves: int, depth: int, alpha: int, beta: int) -> int:
    possible = (mask + BOTTOM) & BOARD
    mine = winning_cells(cur, mask)
    if mine & possible:
        return _WIN - moves  # a win now; sooner is better
    if moves == BOARD_SIZE:
        return 0
    theirs = winning_cells(cur ^ mask, mask)
    if depth == 0:
        # Cells where a side would connect four are worth more than centre stones.
        return (
            4 * (popcount(mine) - popcount(theirs))
            + (cur & _CENTRE_COLUMN).bit_count()
            - ((cur ^ mask) & _CENTRE_COLUMN).bit_count()
        )
    forced = possible & theirs
    if forced:
        if forced & (forced - 1):
            return -(_WIN - moves - 1)  # two threats: the opponent wins next move
        possible = forced
    best = -_WIN - 1
    for col in CENTRE_ORDER:
        move = possible & COLUMN_MASKS[col]
        if move:
            score = -_negamax(cur ^ mask, mask | move, moves + 1, depth - 1, -beta, -alpha)
            if score > best:
                best = score
                if score > alpha:
                    alpha = score
                    if alpha >= beta:
                        break
    return best
