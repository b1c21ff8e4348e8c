"""The bitboard core the rules and the solver share: the board's masks, the win test and the notation.

A board is a Python int in Pascal Pons' layout: column ``c`` owns bits ``7*c .. 7*c+6``, row 0 at
the bottom, and the seventh bit of each column stays empty so that shifted lines never wrap into
the next column. Every value fits in 49 bits, and the shifts below keep their results under 62
bits: the hot functions take and return ``i64``, which mypyc compiles to C's 64-bit integers (to
the interpreter it is only an annotation, and the values are ints).

The notation is Pons' too: the columns played, ``1`` to ``7``, first player first ("4453").
:func:`parse_moves` and :func:`format_moves` are its one parse/format pair.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:  # mypyc's 64-bit machine integer; to Python (and to the interpreted engine) an int
    from mypy_extensions import i64

from engine.errors import FullColumnError, GameWonError, UnknownColumnError

__all__ = [
    "BOARD",
    "BOARD_SIZE",
    "BOTTOM",
    "BOTTOM_CELLS",
    "CENTRE_ORDER",
    "COLUMN_MASKS",
    "HEIGHT",
    "STRIDE",
    "TOP_CELLS",
    "WIDTH",
    "cell_bit",
    "centre_column",
    "column_mask",
    "format_moves",
    "has_four",
    "mirror",
    "parse_moves",
    "popcount",
    "winning_cells",
]

# Literals marked Final: mypyc then compiles them into the code instead of looking them up.
WIDTH: Final = 7
HEIGHT: Final = 6
BOARD_SIZE: Final = 42
#: Bits per column: six cells and the spare one on top.
STRIDE: Final = 7
#: Columns in the order to try them when nothing else tells them apart: the centre first.
CENTRE_ORDER: Final = (3, 2, 4, 1, 5, 0, 6)

#: The bottom cell of every column.
BOTTOM: Final = 0b0000001_0000001_0000001_0000001_0000001_0000001_0000001
#: Every cell of the board (the spare bits left out).
BOARD: Final = 0b0111111_0111111_0111111_0111111_0111111_0111111_0111111
COLUMN_MASKS: Final = tuple(((1 << HEIGHT) - 1) << (STRIDE * col) for col in range(WIDTH))
TOP_CELLS: Final = tuple(1 << (HEIGHT - 1 + STRIDE * col) for col in range(WIDTH))
BOTTOM_CELLS: Final = tuple(1 << (STRIDE * col) for col in range(WIDTH))

_DIGITS: Final = "1234567"
# Cells that stay on the board after a left shift by 14 to 24 bits: cutting the rest off first
# keeps the shifted value within 49 bits.
_KEEP14: Final = 0x7FFFFFFFF
_KEEP16: Final = 0x1FFFFFFFF
_KEEP18: Final = 0x7FFFFFFF
_KEEP21: Final = 0xFFFFFFF
_KEEP24: Final = 0x1FFFFFF
_M1: Final = 0x5555555555555
_M2: Final = 0x3333333333333
_M4: Final = 0x0F0F0F0F0F0F0F


def cell_bit(column: int, row: int) -> int:
    """The bit of the cell at ``column`` (0..6 from the left) and ``row`` (0..5 from the bottom)."""
    return 1 << (column * STRIDE + row)


def winning_cells(stones: i64, mask: i64) -> i64:
    """The empty cells (a bitboard, possibly not yet playable) that would give ``stones`` four in a row."""
    # Vertical: only the cell on top of three stones can complete a column.
    r = (stones << 1) & (stones << 2) & (stones << 3)
    # Horizontal.
    p = (stones << 7) & ((stones & _KEEP14) << 14)
    r |= p & ((stones & _KEEP21) << 21) | p & (stones >> 7)
    p = (stones >> 7) & (stones >> 14)
    r |= p & (stones << 7) | p & (stones >> 21)
    # Diagonal, down to the right.
    p = (stones << 6) & (stones << 12)
    r |= p & ((stones & _KEEP18) << 18) | p & (stones >> 6)
    p = (stones >> 6) & (stones >> 12)
    r |= p & (stones << 6) | p & (stones >> 18)
    # Diagonal, up to the right.
    p = (stones << 8) & ((stones & _KEEP16) << 16)
    r |= p & ((stones & _KEEP24) << 24) | p & (stones >> 8)
    p = (stones >> 8) & (stones >> 16)
    r |= p & (stones << 8) | p & (stones >> 24)
    return r & (BOARD ^ mask)


def column_mask(col: int) -> int:
    """The six cells of column ``col`` (0..6)."""
    return 0x3F << (STRIDE * col)


def centre_column(rank: int) -> int:
    """The column at place ``rank`` (0..6) of :data:`CENTRE_ORDER`, computed rather than looked up."""
    return 3 - ((rank + 1) >> 1) if rank & 1 else 3 + (rank >> 1)


def popcount(board: i64) -> i64:
    """The number of cells set in a bitboard (of at most 52 bits), in machine-integer steps."""
    x = board - ((board >> 1) & _M1)
    x = (x & _M2) + ((x >> 2) & _M2)
    x = (x + (x >> 4)) & _M4
    x += x >> 8
    x += x >> 16
    x += x >> 32
    return x & 0x7F


def has_four(stones: int) -> bool:
    """Whether ``stones`` hold four in a row in any direction."""
    for shift in (1, STRIDE, STRIDE - 1, STRIDE + 1):  # vertical, horizontal, both diagonals
        pairs = stones & (stones >> shift)
        if pairs & (pairs >> 2 * shift):
            return True
    return False


def mirror(board: int) -> int:
    """The left-right mirror image of a bitboard."""
    out = 0
    for col in range(WIDTH):
        out |= ((board >> (STRIDE * col)) & 0x7F) << (STRIDE * (WIDTH - 1 - col))
    return out


def parse_moves(moves: str, *, finished: bool = False) -> list[int]:
    """The columns (0..6) of a game in solver notation, checked against the rules.

    With ``finished``, the last move may connect four (a game that is over); without it, a move
    that connects four is refused too, as the solver takes only unfinished games. Raises
    :class:`~engine.errors.UnknownColumnError`, :class:`~engine.errors.FullColumnError` or
    :class:`~engine.errors.GameWonError`, whose messages name the move.
    """
    columns: list[int] = []
    stones = [0, 0]
    mask = 0
    won = False
    for index, char in enumerate(moves, start=1):
        col = _DIGITS.find(char)
        if col < 0:
            raise UnknownColumnError(f"Move {index} of {moves!r} is {char!r}; moves are the digits 1 to 7.")
        if mask & TOP_CELLS[col]:
            raise FullColumnError(f"Move {index} of {moves!r} is illegal: column {char} is already full.")
        if won:
            raise GameWonError(f"Move {index} of {moves!r} is illegal: The game is over.")
        move = (mask + BOTTOM_CELLS[col]) & COLUMN_MASKS[col]
        side = (index - 1) & 1
        stones[side] |= move
        mask |= move
        if has_four(stones[side]):
            if not finished:
                raise GameWonError(f"Move {index} of {moves!r} connects four, so the game is already over.")
            won = True
        columns.append(col)
    return columns


def format_moves(columns: Iterable[int]) -> str:
    """Solver notation for the columns (0..6) played, the inverse of :func:`parse_moves`."""
    return "".join([_DIGITS[col] for col in columns])
