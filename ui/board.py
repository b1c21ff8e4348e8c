"""The 7x6 board as NiceGUI elements: seven column buttons, each drawing its six cells as HTML.

A column is one element, not seven: a cell has no listener of its own (the column takes the
click), so it needs no element of its own either, and every element a page holds costs the
server a few kilobytes per browser. A column is a native ``<button>``, so the browser itself
makes it focusable and turns Enter and Space into a click: one listener per column, no key
handling of our own. A move redraws the one column it changed (and a four's columns when it
makes or undoes one), from the engine's board; the HTML of a column is built once for every
browser that shows it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import lru_cache

from nicegui import ui
from nicegui.events import KeyEventArguments

from engine.connect4 import COLUMNS, ROWS, Connect4, Player
from games.hub import GameEvent, MovePlayed, MoveUndone, NewGame
from ui.keyboard import SafeKeyboard
from ui.labels import named

__all__ = ["BoardView", "cell_label", "column_html", "last_move_class"]

_COLUMN_KEYS = {str(column + 1) for column in range(COLUMNS)}
_TURN_PREFIXES = ("c4-turn-", "c4-last-")
_TURN_FLAGS = ("c4-over", "c4-wait")
"""With the prefixes, the board's classes :meth:`BoardView._set_turn` owns (a resignation sets ``c4-over`` too)."""


def cell_label(row: int, column: int, player: Player | None) -> str:
    """What a screen reader says for a cell; rows count from the bottom, both from 1."""
    return f"Row {row + 1}, column {column + 1}: {player or 'empty'}"


@lru_cache(maxsize=8192)
def column_html(
    column: int,
    discs: tuple[Player | None, ...],
    *,
    winning: frozenset[int] = frozenset(),
    drop: int | None = None,
) -> str:
    """The six cells of ``column``, top row first, as HTML (rows from 0, bottom up).

    ``discs`` holds the disc of each row, ``winning`` the rows of this column in a four,
    ``drop`` the row of a disc that has just been played (it falls in). The classes are the
    theme's (``ui/theme.py``). Every browser showing the same column gets the same string, so it
    is kept once, not per browser. The last move's marker is not here but a class of the board
    (:func:`last_move_class`): moving it would otherwise redraw a second column on every move.
    """
    landing = next((row for row, disc in enumerate(discs) if disc is None), None)
    cells = []
    for row in reversed(range(ROWS)):
        player = discs[row]
        classes = f"c4-cell c4-r{row}"
        if player is not None:
            classes += f" c4-{player}"
        if row == drop:
            classes += " c4-drop"
        if row == landing:
            classes += " c4-next"
        if row in winning:
            classes += " c4-win"
        cells.append(
            # Spans, not divs: a button may hold only phrasing content.
            f'<span class="{classes}" role="img" aria-label="{cell_label(row, column, player)}"'
            f' data-cell="{row + 1}-{column + 1}"></span>'
        )
    return "".join(cells)


def last_move_class(row: int, column: int) -> str:
    """The board's class that marks the cell of the last move (rows and columns from 0)."""
    return f"c4-last-{row + 1}-{column + 1}"


_RECENT_COLUMNS: dict[tuple[str, int, int | None], str] = {}
_RECENT_LIMIT = 256


def _column_of(board: Connect4, column: int, drop: int | None = None) -> str:
    # A move redraws the same column in every browser showing the game, one after another: the
    # moves so far say all there is to draw (discs and four alike), so the first one's HTML serves the rest.
    key = (board.moves_str(), column, drop)
    html = _RECENT_COLUMNS.get(key)
    if html is None:
        if len(_RECENT_COLUMNS) >= _RECENT_LIMIT:
            _RECENT_COLUMNS.clear()
        outcome = board.outcome
        html = _RECENT_COLUMNS[key] = column_html(
            column,
            tuple(board.cell(row, column) for row in range(ROWS)),
            winning=frozenset(row for row, c in outcome.cells if c == column) if outcome else frozenset(),
            drop=drop,
        )
    return html


def _ignore(_column: int) -> None:
    return None


class BoardView:
    """The board of one game in one browser.

    ``on_column`` gets the column (0..6) a player clicked or chose with the keys 1..7 (with
    ``keys``); the view changes only through :meth:`show_event`, so it shows what the game
    accepted, never what a click hoped for. ``playable`` says whether this browser may move
    now: only then does the board show the landing preview and a pointer (class ``c4-wait`` otherwise).
    """

    def __init__(
        self,
        board: Connect4,
        on_column: Callable[[int], Awaitable[None] | None],
        *,
        keys: bool = True,
        playable: bool = True,
    ) -> None:
        self._on_column = on_column
        self.playable = playable
        self.columns: list[ui.element] = []
        self._four: set[int] = set()
        self.other_keys: Callable[[KeyEventArguments], None] | None = None
        """Gets the keys other than 1..7 (the move list's arrows), so a page needs only one keyboard element."""
        self.has_keys = keys
        with (
            named(ui.element("div"), "Connect Four board")
            .classes("c4-board")
            .props("role=group")
            .mark("board") as self.root
        ):
            for column in range(COLUMNS):
                control = (
                    named(ui.element("button"), f"Column {column + 1}")
                    .classes("c4-column")
                    .props("type=button")
                    .mark(f"column-{column + 1}")
                )
                # The column is bound here, on the server: nothing the browser sends can change it.
                control.on("click", lambda _, c=column: self._on_column(c), [])
                self.columns.append(control)
        if keys:  # a spectator's page has no use for the keys 1..7, nor for the element that listens
            SafeKeyboard(on_key=self._on_key, ignore=["input", "select", "textarea"])
        self.show(board)

    def let_go(self) -> None:
        """The page is gone: drop the callback (it refers back to the page's objects: a cycle)."""
        self._on_column = _ignore
        self.other_keys = None

    def _on_key(self, event: KeyEventArguments) -> Awaitable[None] | None:
        # The key's name, not its code, so the number row and the keypad both work.
        name = event.key.name
        if event.action.keydown and not event.action.repeat and name in _COLUMN_KEYS:
            return self._on_column(int(name) - 1)  # NiceGUI awaits what a handler returns
        if self.other_keys is not None:
            self.other_keys(event)
        return None

    def column_html(self, column: int) -> str:
        """The HTML this browser shows for ``column`` (from 0)."""
        return str(self.columns[column].props.get("innerHTML", ""))

    def show(self, board: Connect4) -> None:
        """Draw a whole position: used once when the page is built, and after a new game."""
        for column in range(COLUMNS):
            self._draw(column, _column_of(board, column))
        self._four_columns(board)
        self._set_turn(board)

    def show_event(self, event: GameEvent, board: Connect4) -> None:
        """Redraw only the columns an event changed (an element update per column, not per cell)."""
        if isinstance(event, NewGame):
            self.show(board)
            return
        if not isinstance(event, MovePlayed | MoveUndone):
            self._set_turn(board)
            return
        drop = event.move if isinstance(event, MovePlayed) else None
        # The event's column, and the columns of a four that was made or undone.
        columns = {event.move.column} | self._four_columns(board)
        for column in sorted(columns):
            self._draw(column, _column_of(board, column, drop.row if drop and drop.column == column else None))
        self._set_turn(board)

    def set_playable(self, playable: bool, board: Connect4) -> None:
        """Say whether this browser may move now (the classes change only if that changed)."""
        self.playable = playable
        self._set_turn(board)

    def _four_columns(self, board: Connect4) -> set[int]:
        """The columns a four touches now, and touched at the last redraw."""
        outcome = board.outcome
        now = {c for _, c in outcome.cells} if outcome else set()
        before, self._four = self._four, now
        return before | now

    def _draw(self, column: int, html: str) -> None:
        element = self.columns[column]
        if element.props.get("innerHTML") != html:  # sending an unchanged column costs bytes and time
            element.props["innerHTML"] = html

    def _set_turn(self, board: Connect4) -> None:
        # Whose turn (the preview's colour), the end, and where the last disc fell: the classes of
        # the board, which change with every move anyway. Written as one list (one change, one
        # update of the element) rather than through classes(add=..., remove=...), which splits,
        # filters and de-duplicates strings on every move in every page.
        last = board.last_move
        wanted = [f"c4-turn-{board.turn}"]
        if board.is_over:
            wanted.append("c4-over")
        if not self.playable:
            wanted.append("c4-wait")
        if last is not None:
            wanted.append(last_move_class(last.row, last.column))
        classes = self.root.classes
        new = [c for c in classes if not (c.startswith(_TURN_PREFIXES) or c in _TURN_FLAGS)] + wanted
        if new != classes:
            classes[:] = new
