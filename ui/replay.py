"""The replay page, ``/replay/<key>?move=N``: any moment of a game, and its review against perfect play.

The replay key shows the moves and nothing else: it seats nobody, and its holder learns neither the
join nor the watch link. Opening it is looking, not playing, so it creates no game and no limit on
new games applies. The review is computed by the worker the first time someone asks for it, shown
move by move as it comes, and stored with the game, so that the next visitor reads it at once.
"""

from __future__ import annotations

import asyncio
import logging

from nicegui import ui

from engine.connect4 import COLUMNS, Connect4, Player
from engine.score import Score
from games.computer import Analyst
from games.errors import GameNotFoundError, StoreUnavailableError
from games.hub import GameEvent, GameHub, LiveGame, MovePlayed
from games.model import Role
from games.review import GameReview, Grade, Reviewer, perfect_column, result_of
from ui.board import BoardView
from ui.errors import error_page
from ui.game_view import result_text
from ui.labels import named
from ui.layout import ABOVE_BOARD, SidePanel
from ui.moves import CSS, MoveSteps
from ui.theme import LANGUAGE, Theme, frame

__all__ = ["ReplayView", "register"]

log = logging.getLogger(__name__)

_MODES = {"local": "Game on one device", "online": "Online game", "computer": "Game against the computer"}
_GRADE_ROWS = (
    ("Best", "best"),
    ("Inaccuracies", "inaccuracies"),
    ("Mistakes", "mistakes"),
    ("Blunders", "blunders"),
)


def _ignore(_column: int) -> None:
    return None


def _count(number: int, word: str, plural: str = "") -> str:
    return f"{number} {word if number == 1 else plural or word + 's'}"


def parse_move(text: str | None, count: int) -> int:
    """The move number a link asks for (``None``: the end); raises ValueError with the sentence to show."""
    if text is None:
        return count
    if not text.strip().isdigit():
        raise ValueError(f"The move number must be a whole number from 0 to {count}; this link says “{text[:20]}”.")
    number = int(text)
    if number > count:
        raise ValueError(f"This game has {count} moves, so the move number goes from 0 to {count}, not {number}.")
    return number


def register(hub: GameHub, analyst: Analyst) -> None:
    """Add the replay page (called by :func:`ui.pages.register`)."""
    reviewer = Reviewer(hub.store, analyst.analyze)
    ui.add_css(CSS, shared=True)

    @ui.page("/replay/{key}", language=LANGUAGE)
    async def replay(key: str, move: str | None = None, review: bool = False) -> None:
        client = ui.context.client
        try:
            live = await hub.find_replay(key)
        except GameNotFoundError:
            client.status_code = 404
            error_page(404, "No game has this replay link: it is mistyped, or the game was cleaned up.")
            return
        except StoreUnavailableError as exc:
            client.status_code = 503
            error_page(503, f"{exc} Reload this page in a moment.")
            return
        moves = live.board.moves_str()
        try:
            index = parse_move(move, len(moves))
        except ValueError as exc:
            client.status_code = 400
            error_page(400, str(exc))
            return
        if review and not live.is_over:
            client.status_code = 409
            with frame("Review"):
                ui.label("This game is not over yet.").classes("text-2xl font-bold").mark("not-over")
                ui.label("Its review opens once the game has ended; until then its replay shows the moves so far.")
                named(ui.link("Replay the moves so far", f"/replay/{key}"), "Replay the moves so far")
            return
        stored = await reviewer.stored(live.id, moves) if live.is_over else None
        ReplayView(hub, reviewer, live, key, index, stored, start_review=review)


class ReplayView:
    """One browser's replay of a game: the board at the chosen move, the list, and the review when there is one."""

    def __init__(
        self,
        hub: GameHub,
        reviewer: Reviewer,
        live: LiveGame,
        key: str,
        index: int,
        review: GameReview | None,
        *,
        start_review: bool,
    ) -> None:
        self.hub, self.reviewer, self.live, self.key = hub, reviewer, live, key
        self.moves = live.board.moves_str()
        self.review = review
        self._task: asyncio.Task[None] | None = None
        with frame("Replay"):
            panel = SidePanel()
            with panel:
                self.title = (
                    ui.label(self._title()).classes(f"text-base font-medium {ABOVE_BOARD}").mark("replay-title")
                )
                self.status = (
                    ui.label().classes(f"c4-status {ABOVE_BOARD}").props("aria-live=polite").mark("replay-status")
                )
                self.next_move = ui.label().classes(f"text-sm {ABOVE_BOARD}").mark("next-move")
            self.board = BoardView(Connect4.from_moves(self.moves[:index]), _ignore, keys=False, playable=False)
            panel.put_board_first(self.board.root)
            self.values = ui.element("div").classes("c4-values c4-values-off").mark("review-values")
            with self.values:
                self.value_labels = [ui.label("").classes("c4-value") for _ in range(COLUMNS)]
            board = self.board.root
            container = board.parent_slot.parent if board.parent_slot else None
            if container is not None:  # right under the board, each value under its column
                self.values.move(container, target_index=container.default_slot.children.index(board) + 1)
            with panel:
                self.steps = MoveSteps(self.moves, self._show, index=index)
                with ui.row().classes("c4-controls gap-2 items-center"):
                    self.play_here = named(ui.link("Play from here", "#"), "Play from here").mark("play-from-here")
                    self.moment = named(ui.link("Link to this move", "#"), "Link to this move")
                    self.moment.mark("moment-link")
                with ui.column().classes("gap-2 w-full") as self.review_box:
                    self.review_button = (
                        named(
                            ui.button("Review this game", icon="insights", on_click=self.start_review),
                            "Review this game",
                        )
                        .props("color=primary")
                        .mark("review-button")
                    )
                    self.progress = named(ui.linear_progress(value=0, show_value=False), "Review progress").props(
                        "instant-feedback"
                    )
                    self.progress_text = ui.label().classes("text-sm").mark("review-progress")
                    self.verdict = ui.label().classes("text-base font-medium").mark("verdict")
                    self.summary = {
                        player: ui.label().classes("text-sm").mark(f"summary-{player}") for player in Player
                    }
                self.chart: ui.echart | None = None
                self.still_playing = (
                    ui.label("This game is still being played: its review opens once it is over.")
                    .classes("text-sm")
                    .mark("still-playing")
                )
                self.still_playing.set_visibility(not live.is_over)
        self._review_shown(review)
        self._show(index, initial=True)
        unsubscribe = live.subscribe(self._on_event)
        client = ui.context.client

        def gone() -> None:
            unsubscribe()
            if self._task is not None:
                self._task.cancel()
            hub.forget(live.id)

        client.on_delete(gone)
        if start_review and review is None and live.is_over:
            self.start_review()

    # -- what the page says ----------------------------------------------------------------------

    def _title(self) -> str:
        outcome = self.live.outcome
        mode = _MODES.get(self.live.record.mode.value, "Game")
        if outcome is None:
            return f"{mode} · still being played"
        return f"{mode} · {result_text(outcome, Role.SPECTATOR)}"

    def _status(self, index: int) -> str:
        if index == 0:
            return "The start: red to move." if self.moves else "No move was played."
        player = (Player.RED, Player.YELLOW)[(index - 1) % 2]
        column = int(self.moves[index - 1])
        text = f"Move {index}: {player} played column {column}."
        graded = self.review.move(index) if self.review is not None else None
        if graded is not None:
            grade = graded.grade
            text += f" {grade.word} ({grade.mark})."
            if grade is not Grade.BEST:
                text += f" Column {graded.perfect + 1} was the perfect move."
        return text

    def _show(self, index: int, *, initial: bool = False) -> None:
        """Draw the position after ``index`` moves, its perfect move and its columns' values."""
        board = Connect4.from_moves(self.moves[:index])
        if not initial:
            self.board.show(board)
        self.status.set_text(self._status(index))
        prefix = self.moves[:index]
        self.play_here.props["href"] = f"/analyze?pos={prefix}"
        self.moment.props["href"] = f"/replay/{self.key}?move={index}"
        self.play_here.set_visibility(not board.is_over)
        if not initial:
            ui.navigate.history.replace(f"/replay/{self.key}?move={index}")
        self._show_values(index)

    def _show_values(self, index: int) -> None:
        scores = self.review.scores[index] if self.review is not None and index < len(self.review.scores) else None
        perfect = None
        self.next_move.set_visibility(scores is not None)
        if scores is not None:
            perfect = perfect_column(scores)
            player = (Player.RED, Player.YELLOW)[index % 2]
            self.next_move.set_text(
                f"Under the board: each column's value for {player}'s move {index + 1};"
                f" the pale disc is the perfect move, column {perfect + 1}."
            )
            for column, label in enumerate(self.value_labels):
                score = scores[column]
                text = "full" if score is None else str(Score(score, index))
                label.classes[:] = ["c4-value"]
                if score is not None:
                    label.classes.append(f"c4-value-{result_of(score).name.lower()}")
                if column == perfect:
                    text += " ★"
                label.set_text(text)
                label.props["aria-label"] = f"Column {column + 1} value: {text.removesuffix(' ★')}" + (
                    ", the perfect move" if column == perfect else ""
                )
            self.values.classes(remove="c4-values-off")
        else:
            self.values.classes(add="c4-values-off")
        for column, element in enumerate(self.board.columns):
            ghost = column == perfect
            if ghost != ("c4-ghost" in element.classes):
                if ghost:
                    element.classes(add="c4-ghost")
                else:
                    element.classes(remove="c4-ghost")
                element.props["aria-label"] = f"Column {column + 1}" + (": the perfect move" if ghost else "")

    # -- the review ------------------------------------------------------------------------------

    def start_review(self) -> None:
        """Ask for the review (the worker computes it, or the store has it)."""
        if self._task is not None or not self.live.is_over:
            return
        self.review_button.set_visibility(False)
        self.progress.set_visibility(True)
        self.progress_text.set_text(f"Reviewing… 0 of {len(self.moves)} moves")
        self._task = asyncio.get_running_loop().create_task(self._review())

    async def _review(self) -> None:
        try:
            review = await self.reviewer.review(self.live.id, self.moves, self._progress)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("game %s: the review failed", self.live.id)
            self.progress_text.set_text("The review could not be finished. Reload the page to try again.")
            return
        finally:
            self._task = None
        self._review_shown(review)

    def _progress(self, review: GameReview) -> None:
        self.review = review
        done, total = len(review.scores), len(self.moves)
        self.progress.set_value(done / total if total else 1)
        self.progress_text.set_text(f"Reviewing… {done} of {total} moves")
        self.steps.set_grades([move.grade for move in review.reviewed])
        self.status.set_text(self._status(self.steps.index))
        self._show_values(self.steps.index)

    def _review_shown(self, review: GameReview | None) -> None:
        """Show a complete review (or, with None, the button that asks for one)."""
        self.review = review
        over = self.live.is_over
        self.review_box.set_visibility(over)
        self.review_button.set_visibility(over and review is None and self._task is None)
        self.progress.set_visibility(False)
        self.progress_text.set_visibility(review is None)
        if review is None:
            self.progress_text.set_text("")
            return
        self.progress_text.set_visibility(False)
        self.steps.set_grades([move.grade for move in review.reviewed])
        verdict = review.verdict()
        if self.live.record.resigned is not None:
            verdict += f" Then {self.live.record.resigned} resigned."
        elif (clock := self.live.record.clock) is not None and clock.out is not None:
            verdict += f" Then {clock.out} ran out of time."
        self.verdict.set_text(verdict)
        summary = review.summary()
        for player, s in summary.items():
            self.summary[player].set_text(
                f"{player.capitalize()}: {_count(s.moves, 'move')}, {s.best} best, "
                f"{_count(s.inaccuracies, 'inaccuracy', 'inaccuracies')}, {_count(s.mistakes, 'mistake')}, "
                f"{_count(s.blunders, 'blunder')}."
            )
        theme = Theme()
        options = {
            "animation": False,
            "aria": {"enabled": True},
            "grid": {"left": 32, "right": 8, "top": 36, "bottom": 24},
            "legend": {"top": 0},
            "tooltip": {"trigger": "axis"},
            "xAxis": {
                "type": "category",
                "data": [name for name, _ in _GRADE_ROWS],
                "axisLabel": {"interval": 0, "fontSize": 11},  # every grade named, even on a phone
            },
            "yAxis": {"type": "value", "minInterval": 1},
            "series": [
                {
                    "name": f"{player.capitalize()} ({s.moves} moves)",
                    "type": "bar",
                    "data": [getattr(s, field) for _, field in _GRADE_ROWS],
                    "itemStyle": {
                        "color": theme.red if player is Player.RED else theme.yellow,
                        "borderColor": "#333333",
                        "borderWidth": 1,
                    },
                }
                for player, s in summary.items()
            ],
        }
        if self.chart is None:
            with self.review_box:
                self.chart = ui.echart(options).classes("c4-chart w-full h-56").mark("summary-chart")
                named(self.chart, "Moves of each player by grade")
        else:
            self.chart.options.clear()
            self.chart.options.update(options)
            self.chart.update()
        self._show_values(self.steps.index)
        self.status.set_text(self._status(self.steps.index))

    def _on_event(self, event: GameEvent) -> None:
        # A game still being played appends its moves; a new round on the same game leaves this replay as it was.
        moves = self.live.board.moves_str()
        if isinstance(event, MovePlayed) and moves.startswith(self.moves) and len(moves) > len(self.moves):
            follow = self.steps.index == len(self.moves)
            self.moves = moves
            self.steps.set_moves(moves, follow=follow)
            if follow:
                self.board.show(self.live.board)
                self._show(self.steps.index, initial=True)
        if self.live.is_over and not self.review_box.visible:
            self.title.set_text(self._title())
            self.still_playing.set_visibility(False)
            self._review_shown(None)
