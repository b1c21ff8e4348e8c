"""Connect Four rules: a mutable board that validates moves, detects wins and draws, and undoes.

The contract of the websockets tutorial's ``connect4.py`` stays recognisable (``PLAYER1``,
``PLAYER2``, ``Connect4.play(player, column) -> row``, ``.moves``, ``.winner``), extended the
python-chess way: an :class:`Outcome` with the winning cells, :meth:`Connect4.undo`, and the
solver notation ("4453", columns 1..7) with :meth:`Connect4.from_moves` / :meth:`Connect4.moves_str`.

Columns are 0..6 from the left and rows 0..5 from the bottom in this API; only the notation
counts columns from 1, as the solver test sets do.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import NamedTuple

from engine.bitboard import HEIGHT, WIDTH, cell_bit, format_moves, has_four, parse_moves
from engine.errors import (
    ColumnFullError,
    Connect4Error,
    GameOverError,
    IllegalMoveError,
    InvalidColumnError,
    InvalidPositionError,
    NothingToUndoError,
    NotYourTurnError,
    UnknownPlayerError,
)

__all__ = [
    "COLUMNS",
    "PLAYER1",
    "PLAYER2",
    "ROWS",
    "ColumnFullError",
    "Connect4",
    "Connect4Error",
    "GameOverError",
    "IllegalMoveError",
    "InvalidColumnError",
    "InvalidPositionError",
    "Move",
    "NotYourTurnError",
    "NothingToUndoError",
    "Outcome",
    "Player",
    "Termination",
    "UnknownPlayerError",
]

COLUMNS = WIDTH
ROWS = HEIGHT


class Player(enum.StrEnum):
    """A side: its value is the colour the tutorial uses on the wire."""

    RED = "red"
    YELLOW = "yellow"

    @property
    def other(self) -> Player:
        """The opponent."""
        return Player.YELLOW if self is Player.RED else Player.RED


PLAYER1 = Player.RED
PLAYER2 = Player.YELLOW


class Move(NamedTuple):
    """A disc played: who, in which column, and the row where it landed."""

    player: Player
    column: int
    row: int


class Termination(enum.Enum):
    """How a game ended."""

    WIN = "win"
    DRAW = "draw"
    RESIGNATION = "resignation"  # never produced by the board itself; for callers that track resignation
    TIME = "time"  # never produced by the board itself; for callers that keep clocks


Cell = tuple[int, int]


@dataclass(frozen=True)
class Outcome:
    """The end of a game: a win with its winner and every cell of every four made, a draw, or a resignation."""

    termination: Termination
    winner: Player | None = None
    cells: frozenset[Cell] = frozenset()

    def result(self) -> str:
        """The sentence the tutorial shows at the end."""
        if self.winner is None:
            return "The game is a draw."
        return f"Player {self.winner} wins!"


class Connect4:
    """A game of Connect Four: red moves first, then the players alternate.

    >>> game = Connect4()
    >>> game.play("red", 3)
    0
    >>> game.moves_str()
    '4'
    """

    def __init__(self) -> None:
        self._discs: dict[Player, int] = {Player.RED: 0, Player.YELLOW: 0}
        self._heights = [0] * COLUMNS
        self._moves: list[Move] = []
        self._notation = ""  # the moves in solver notation, kept as they are played (moves_str)
        self._outcome: Outcome | None = None

    # -- state -----------------------------------------------------------------------------

    @property
    def moves(self) -> list[Move]:
        """The moves played so far, oldest first (a copy)."""
        return list(self._moves)

    @property
    def last_move(self) -> Move | None:
        """The most recent move, if any."""
        return self._moves[-1] if self._moves else None

    @property
    def turn(self) -> Player:
        """The player whose turn it is (after the end: who would have been next)."""
        return PLAYER1 if len(self._moves) % 2 == 0 else PLAYER2

    @property
    def outcome(self) -> Outcome | None:
        """How the game ended, or ``None`` while it goes on."""
        return self._outcome

    @property
    def winner(self) -> Player | None:
        """The winner, or ``None`` while nobody has four in a row (including a draw)."""
        return self._outcome.winner if self._outcome else None

    @property
    def is_over(self) -> bool:
        """True once the game is won or drawn."""
        return self._outcome is not None

    def cell(self, row: int, column: int) -> Player | None:
        """The player whose disc is at ``(row, column)``, or ``None`` if it is empty."""
        bit = cell_bit(column, row)
        for player, discs in self._discs.items():
            if discs & bit:
                return player
        return None

    def landing_row(self, column: int) -> int | None:
        """The row a disc dropped in ``column`` would land in, or ``None`` if it is full."""
        height = self._heights[_checked_column(column)]
        return height if height < ROWS else None

    def legal_columns(self) -> list[int]:
        """The columns that accept a disc now (none once the game is over)."""
        if self._outcome:
            return []
        return [column for column in range(COLUMNS) if self._heights[column] < ROWS]

    # -- moves -----------------------------------------------------------------------------

    def play(self, player: str, column: int) -> int:
        """Drop ``player``'s disc in ``column`` and return the row where it lands.

        Raises a subclass of :class:`IllegalMoveError` (and so of :class:`ValueError`) when the
        game is over, the player is unknown or not on turn, or the column is invalid or full.
        """
        if self._outcome is not None:
            raise GameOverError
        try:
            mover = Player(player)
        except ValueError:
            raise UnknownPlayerError(player) from None
        if mover is not self.turn:
            raise NotYourTurnError
        column = _checked_column(column)
        row = self._heights[column]
        if row >= ROWS:
            raise ColumnFullError

        self._heights[column] = row + 1
        self._discs[mover] |= cell_bit(column, row)
        self._moves.append(Move(mover, column, row))
        self._notation += format_moves((column,))
        if has_four(self._discs[mover]):
            self._outcome = Outcome(Termination.WIN, mover, _lines_through(self._discs[mover], column, row))
        elif len(self._moves) == COLUMNS * ROWS:
            self._outcome = Outcome(Termination.DRAW)
        return row

    def undo(self) -> Move:
        """Take back the last move and return it; a finished game goes on again."""
        if not self._moves:
            raise NothingToUndoError
        move = self._moves.pop()
        self._notation = self._notation[:-1]
        self._heights[move.column] -= 1
        self._discs[move.player] &= ~cell_bit(move.column, move.row)
        self._outcome = None
        return move

    def copy(self) -> Connect4:
        """An independent board in the same position: much cheaper than replaying its moves."""
        other = Connect4.__new__(Connect4)
        other._discs = dict(self._discs)
        other._heights = list(self._heights)
        other._moves = list(self._moves)
        other._notation = self._notation
        other._outcome = self._outcome  # frozen: shared safely
        return other

    # -- notation --------------------------------------------------------------------------

    @classmethod
    def from_moves(cls, position: str) -> Connect4:
        """Replay a position in solver notation: the columns played, 1..7, red first ("4453").

        Raises a subclass of :class:`InvalidPositionError` that names the move it refuses.
        """
        game = cls()
        for column in parse_moves(position, finished=True):
            game.play(game.turn, column)
        return game

    def moves_str(self) -> str:
        """The moves in solver notation, the inverse of :meth:`from_moves`."""
        return self._notation

    def __repr__(self) -> str:
        return f"Connect4.from_moves({self.moves_str()!r})"

    def __str__(self) -> str:
        symbols = {Player.RED: "R", Player.YELLOW: "Y", None: "."}
        rows = (" ".join(symbols[self.cell(row, column)] for column in range(COLUMNS)) for row in reversed(range(ROWS)))
        return "\n".join([*rows, " ".join(str(column + 1) for column in range(COLUMNS))])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Connect4):
            return NotImplemented
        return self._moves == other._moves

    __hash__ = None  # type: ignore[assignment]  # mutable


def _checked_column(column: object) -> int:
    # bool is an int subclass, and "3" or 3.0 are a client's mistakes, not columns.
    if type(column) is not int or not 0 <= column < COLUMNS:
        raise InvalidColumnError(column)
    return column


def _lines_through(discs: int, column: int, row: int) -> frozenset[Cell]:
    """Every cell of every run of four or more of ``discs`` through ``(column, row)``."""
    cells: set[Cell] = set()
    for d_column, d_row in ((0, 1), (1, 0), (1, -1), (1, 1)):
        run = [(row, column)]
        for sign in (1, -1):
            c, r = column + sign * d_column, row + sign * d_row
            while 0 <= c < COLUMNS and 0 <= r < ROWS and discs & cell_bit(c, r):
                run.append((r, c))
                c, r = c + sign * d_column, r + sign * d_row
        if len(run) >= 4:
            cells.update(run)
    return frozenset(cells)
