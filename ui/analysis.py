"""Hint and Analysis: the perfect column, and every column's value under the board, filled in as found."""

from __future__ import annotations

import asyncio

from nicegui import ui

from engine.bitboard import CENTRE_ORDER
from engine.connect4 import COLUMNS
from engine.score import Score
from games.computer import Analyst
from games.hub import GameChanged, GameEvent
from ui.game_view import GameView
from ui.labels import named

__all__ = ["AnalysisPanel"]


class AnalysisPanel:
    """A row of seven values aligned with the board's columns, and the Hint and Analysis buttons.

    The row keeps its place under the board when hidden, so switching it never moves the board;
    each value is coloured by its result (``c4-value-win``, ``-draw``, ``-loss``) and says it in words.
    """

    def __init__(self, view: GameView, analyst: Analyst, *, show: bool = False) -> None:
        self.view = view
        self.analyst = analyst
        self._task: asyncio.Task[None] | None = None
        self._hinted: int | None = None
        self._shown = show
        with ui.element("div").classes("c4-values" if show else "c4-values c4-values-off").mark("analysis") as self.row:
            self.values = [
                named(ui.label(""), f"Column {column + 1} value: unknown").classes("c4-value")
                for column in range(COLUMNS)
            ]
        # Right under the board, so that each value stands under its column.
        board = view.board.root
        container = board.parent_slot.parent if board.parent_slot else None
        if container is not None:
            self.row.move(container, target_index=container.default_slot.children.index(board) + 1)
        with ui.row().classes("c4-controls gap-2 justify-center"):
            self.hint_button = ui.button("Hint", icon="lightbulb", on_click=self.hint).props("outline aria-label=Hint")
            self.toggle = (
                ui.button("Analysis", icon="insights", on_click=self.switch)
                .props(f"outline aria-label=Analysis aria-pressed={str(show).lower()}")
                .mark("analysis-switch")
            )
        view.on_change(self._on_change)
        ui.context.client.on_delete(self._stop)
        if show:
            self._start()

    @property
    def shown(self) -> bool:
        return self._shown

    def switch(self) -> None:
        """Show or hide the values."""
        self._shown = not self._shown
        if self._shown:
            self.row.classes(remove="c4-values-off")
        else:
            self.row.classes(add="c4-values-off")
        self.toggle.props["aria-pressed"] = str(self._shown).lower()  # item by item: see OnlineControls._show
        if self.shown:
            self._start()
        else:
            self._stop()

    async def hint(self) -> None:
        """Point at a perfect column for the side to move."""
        live = self.view.live
        if live.is_over:
            ui.notify("The game is over.", type="info")
            return
        moves = live.board.moves_str()
        self.hint_button.props("loading")
        try:
            column = await self.analyst.best(moves)
        finally:
            self.hint_button.props(remove="loading")
        if live.board.moves_str() != moves:
            return  # the position moved on while the hint was computed
        self._mark_hint(column)
        ui.notify(f"Hint: column {column + 1}", type="info")

    def _mark_hint(self, column: int | None) -> None:
        columns = self.view.board.columns
        if self._hinted is not None:
            columns[self._hinted].classes(remove="c4-hint")
        if column is not None:
            columns[column].classes(add="c4-hint")
        self._hinted = column

    def _on_change(self, event: GameEvent) -> None:
        if isinstance(event, GameChanged):
            return
        self._mark_hint(None)
        if self.shown:
            self._start()

    def _start(self) -> None:
        self._stop()
        for column, label in enumerate(self.values):
            label.set_text("…")
            label.classes[:] = ["c4-value"]
            label.props["aria-label"] = f"Column {column + 1} value: computing"  # see OnlineControls._show
        self._task = asyncio.get_running_loop().create_task(self._fill(self.view.live.board.moves_str()))

    def _stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _fill(self, moves: str) -> None:
        live = self.view.live
        # Centre first: the columns most worth knowing appear first.
        for column in CENTRE_ORDER:
            score: Score | None = None
            if live.is_over:
                text = "—"
            else:
                try:
                    score = await self.analyst.score(moves, column)
                    text = "full" if score is None else str(score)
                except Exception:
                    text = "?"
            if live.board.moves_str() != moves:
                return
            label = self.values[column]
            if score is not None:  # None: a full column
                label.classes[:] = ["c4-value", f"c4-value-{score.result}"]
            label.set_text(text)
            self.values[column].props["aria-label"] = f"Column {column + 1} value: {text}"
        self._task = None
