"""The 7x6 board as NiceGUI elements: built once, then changed cell by cell as moves arrive."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from nicegui import ui
from nicegui.events import KeyEventArguments

from engine.connect4 import COLUMNS, ROWS, Connect4, Move, Player
from games.hub import GameEvent, MovePlayed, MoveUndone, NewGame
from ui.hardening import SafeKeyboard

__all__ = ["BoardView", "cell_label"]

_COLUMN_KEYS = {str(column + 1) for column in range(COLUMNS)}


def cell_label(row: int, column: int, player: Player | None) -> str:
    """What a screen reader says for a cell; rows count from the bottom, both from 1."""
    return f"Row {row + 1}, column {column + 1}: {player or 'empty'}"


class BoardView:
    """The board of one game in one browser.

    ``on_column`` gets the column (0..6) a player clicked or chose with the keys 1..7; the
    view changes only through :meth:`show_event`, so it shows what the game accepted, never
    what a click hoped for.
    """

    def __init__(self, board: Connect4, on_column: Callable[[int], Awaitable[None] | None]) -> None:
        self._on_column = on_column
        self._cells: list[list[ui.element]] = []  # [column][row]
        self.columns: list[ui.element] = []
        self._last: tuple[int, int] | None = None
        self._winning: list[ui.element] = []
        with (
            ui.element("div")
            .classes("c4-board")
            .props('role="group" aria-label="Connect Four board"')
            .mark("board") as self.root
        ):
            for column in range(COLUMNS):
                with (
                    ui.element("div")
                    .classes("c4-column")
                    .props(f'role="button" tabindex="0" aria-label="Column {column + 1}"')
                    .mark(f"column-{column + 1}") as control
                ):
                    self.columns.append(control)
                    # The column is bound here, on the server: nothing the browser sends can change it.
                    control.on("click", lambda _, c=column: self._on_column(c), [])
                    control.on("keydown.enter", lambda _, c=column: self._on_column(c), [])
                    cells = [
                        ui.element("div").classes(f"c4-cell c4-r{row}").mark(f"cell-{row + 1}-{column + 1}")
                        for row in reversed(range(ROWS))
                    ]
                self._cells.append(cells[::-1])
        SafeKeyboard(on_key=self._on_key, ignore=["input", "select", "textarea"])
        self.show(board)

    def _on_key(self, event: KeyEventArguments) -> Awaitable[None] | None:
        # The key's name, not its code, so the number row and the keypad both work.
        name = event.key.name
        if event.action.keydown and not event.action.repeat and name in _COLUMN_KEYS:
            return self._on_column(int(name) - 1)  # NiceGUI awaits what a handler returns
        return None

    def cell(self, row: int, column: int) -> ui.element:
        """The element of one cell (rows and columns from 0)."""
        return self._cells[column][row]

    def show(self, board: Connect4) -> None:
        """Draw a whole position: used once when the page is built, and after a new game."""
        for column in range(COLUMNS):
            for row in range(ROWS):
                self._set_cell(row, column, board.cell(row, column), drop=False)
        self._mark_next(board)
        self._set_last(board.last_move)
        self._set_winning(board)
        self._set_turn(board)

    def show_event(self, event: GameEvent, board: Connect4) -> None:
        """Change only the elements an event touches."""
        if isinstance(event, MovePlayed):
            self._set_cell(event.move.row, event.move.column, event.move.player, drop=True)
            self._set_next(event.move.column, event.move.row + 1)
            self._set_last(event.move)
        elif isinstance(event, MoveUndone):
            self._set_cell(event.move.row, event.move.column, None, drop=False)
            self._set_next(event.move.column, event.move.row)
            self._set_last(board.last_move)
        elif isinstance(event, NewGame):
            self.show(board)
            return
        self._set_winning(board)
        self._set_turn(board)

    def _set_cell(self, row: int, column: int, player: Player | None, *, drop: bool) -> None:
        cell = self._cells[column][row]
        remove = "c4-red c4-yellow c4-drop"
        add = f"c4-{player}" + (" c4-drop" if drop else "") if player else None
        cell.classes(add=add, remove=remove)
        cell.props["aria-label"] = cell_label(row, column, player)

    def _mark_next(self, board: Connect4) -> None:
        for column in range(COLUMNS):
            row = board.landing_row(column)
            for r, cell in enumerate(self._cells[column]):
                if r == row:
                    cell.classes(add="c4-next")
                else:
                    cell.classes(remove="c4-next")

    def _set_next(self, column: int, row: int) -> None:
        """Move the hover preview of ``column`` to ``row`` (ROWS means the column is full)."""
        cells = self._cells[column]
        for r in (row - 1, row, row + 1):
            if 0 <= r < ROWS:
                if r == row:
                    cells[r].classes(add="c4-next")
                elif "c4-next" in cells[r].classes:
                    cells[r].classes(remove="c4-next")

    def _set_last(self, move: Move | None) -> None:
        target = (move.row, move.column) if move else None
        if target == self._last:
            return
        if self._last:
            self._cells[self._last[1]][self._last[0]].classes(remove="c4-last")
        if target:
            self._cells[target[1]][target[0]].classes(add="c4-last")
        self._last = target

    def _set_winning(self, board: Connect4) -> None:
        cells = board.outcome.cells if board.outcome else frozenset()
        winning = [self._cells[column][row] for row, column in sorted(cells)]
        if winning == self._winning:
            return
        for cell in self._winning:
            cell.classes(remove="c4-win")
        for cell in winning:
            cell.classes(add="c4-win")
        self._winning = winning

    def _set_turn(self, board: Connect4) -> None:
        turn = f"c4-turn-{board.turn}"
        classes = self.root.classes
        wanted = {turn} | ({"c4-over"} if board.is_over else set())
        current = {c for c in classes if c.startswith("c4-turn-") or c == "c4-over"}
        if current != wanted:
            self.root.classes(add=" ".join(wanted - current), remove=" ".join(current - wanted))
