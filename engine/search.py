"""Perfect-play Connect Four solver: Pascal Pons' bitboard negamax, in pure Python.

The board is two Python ints in Pons' layout: column ``c`` owns bits ``7*c .. 7*c+6``, row 0 at
the bottom, and the seventh bit of each column stays empty so that shifted lines never wrap into
the next column. ``current`` holds the stones of the side to move and ``mask`` every stone.

Scores follow Pons' convention, from the side to move: 0 for a draw, a win is
``22 - (stones the winner has played at the end)`` and a loss is its negative, so faster wins
score higher. :class:`Solver` combines negamax with alpha-beta, score bounds, pruning of moves
that lose at once, threat-based move ordering, a transposition table and an iterated null-window
search, and reads exact scores of 12-stone positions from the opening book of :mod:`engine.book`.

:mod:`engine.solver` is the public face of this module and its command line; this module is the
part mypyc compiles (a compiled module cannot be run with ``python -m``).
"""

from __future__ import annotations

import enum
import logging
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:  # mypyc's 64-bit machine integer: the search's bitboards and scores unboxed
    from mypy_extensions import i64

from engine import book as _book
from engine.bitboard import (
    BOARD,
    BOARD_SIZE,
    BOTTOM,
    BOTTOM_CELLS,
    CENTRE_ORDER,
    COLUMN_MASKS,
    HEIGHT,
    STRIDE,
    TOP_CELLS,
    WIDTH,
    format_moves,
    mirror,
    parse_moves,
    popcount,
    winning_cells,
)
from engine.errors import FullColumnError, GameWonError, NoMoveError, NotationError, UnknownColumnError

__all__ = [
    "BOARD_SIZE",
    "CENTRE_ORDER",
    "COMPILED",
    "HEIGHT",
    "WIDTH",
    "FullColumnError",
    "GameWonError",
    "MoveOrder",
    "NoMoveError",
    "NotationError",
    "Position",
    "Solver",
    "UnknownColumnError",
    "winning_cells",
]

logger = logging.getLogger(__name__)

#: True when this module runs as mypyc compiled it, False when it runs as Python source.
COMPILED = not __file__.endswith(".py")

# The transposition table packs the key and one bound of the score into one int per slot.
_TT_SIZE: Final = 2_097_143  # a prime, so that key % size spreads Pons' structured keys
_SCORE_BIAS: Final = 32  # scores are within -21..21; biased they fit in six bits
_LOWER_FLAG: Final = 64
# Probing the children's table entries pays only near the root, where subtrees are big.
_ETC_BEFORE: Final = 24
# Compiled, past 30 stones a subtree is searched again faster than the table stores it (every store
# is a new boxed int, and takes the slot of a bigger subtree): 0.61-0.76 of the time on
# begin-medium for 2.2 times the nodes (bench/results/solver-nodes.md). Interpreted, a node costs
# more than a store, so the interpreted build keeps the table to the end.
_TABLE_BEFORE: Final = 30
# A column's cells are the last column's shifted right: mypyc writes a small literal as a C int,
# and such a literal shifted left by a 64-bit count past 31 bits loses the bits.
_LAST_OFFSET: Final = 42
_LAST_COLUMN: Final = 0x3F << _LAST_OFFSET
# The bit offsets of the columns in centre order (3, 2, 4, 1, 5, 0, 6), six bits each: the search
# reads a column's offset with one shift instead of a call or a tuple lookup.
_CENTRE_SHIFTS: Final = 21 | 14 << 6 | 28 << 12 | 7 << 18 | 35 << 24 | 0 << 30 | 42 << 36


class Position:
    """A Connect Four position as two bitboards: the side to move's stones and all stones.

    >>> pos = Position.from_moves("4453")
    >>> pos.nb_moves, pos.can_play(3)
    (4, True)
    """

    def __init__(self) -> None:
        #: Stones of the side to move.
        self.current = 0
        #: Every stone on the board.
        self.mask = 0
        #: Stones played so far.
        self.nb_moves = 0
        self._moves: list[int] = []
        self._won = False

    @classmethod
    def from_moves(cls, moves: str) -> Position:
        """Replay solver notation: the columns played, 1..7, first player first ("4453").

        Raises a :class:`NotationError` for a character that is not a column, a move into a full
        column, or a move that connects four (the solver only takes unfinished games).
        """
        pos = cls()
        for col in parse_moves(moves):
            pos.play(col)
        return pos

    def moves_str(self) -> str:
        """The moves in solver notation, the inverse of :meth:`from_moves`."""
        return format_moves(self._moves)

    def copy(self) -> Position:
        """An independent position with the same stones and history."""
        other = Position()
        other.current = self.current
        other.mask = self.mask
        other.nb_moves = self.nb_moves
        other._moves = list(self._moves)
        other._won = self._won
        return other

    @property
    def is_won(self) -> bool:
        """True once the last move connected four."""
        return self._won

    @property
    def is_full(self) -> bool:
        """True once all 42 cells hold a stone."""
        return self.nb_moves == BOARD_SIZE

    def can_play(self, col: int) -> bool:
        """Whether ``col`` (0..6) still has room."""
        return not self.mask & TOP_CELLS[col]

    def legal_columns(self) -> list[int]:
        """The columns that still have room, left to right."""
        return [col for col in range(WIDTH) if not self.mask & TOP_CELLS[col]]

    def play(self, col: int) -> None:
        """Drop a stone of the side to move into ``col`` (0..6); the other side is then to move."""
        if not 0 <= col < WIDTH:
            raise UnknownColumnError(f"There is no column {col}; columns are numbered 0 to {WIDTH - 1}.")
        if self.mask & TOP_CELLS[col]:
            raise FullColumnError(f"Column {col} is already full.")
        if self._won:
            raise GameWonError("The game is already won; no stone can follow.")
        self._won = self.is_winning_move(col)
        # The mover's stones become the opponent's view: XOR with the old mask swaps sides.
        self.current ^= self.mask
        self.mask |= self.mask + BOTTOM_CELLS[col]
        self.nb_moves += 1
        self._moves.append(col)

    def is_winning_move(self, col: int) -> bool:
        """Whether playing ``col`` (which must have room) connects four for the side to move."""
        move = (self.mask + BOTTOM_CELLS[col]) & COLUMN_MASKS[col]
        return bool(winning_cells(self.current, self.mask) & move)

    def can_win_next(self) -> bool:
        """Whether the side to move can connect four with its next stone."""
        return bool(winning_cells(self.current, self.mask) & self.possible())

    def possible(self) -> int:
        """The cells a stone can be dropped into now, as a bitboard."""
        return (self.mask + BOTTOM) & BOARD

    def key(self) -> int:
        """A number unique to the position: ``current + mask + bottom`` marks each column's height."""
        return self.current + self.mask + BOTTOM

    def mirror_key(self) -> int:
        """The key of the left-right mirror image, equal to :meth:`key` for symmetric positions."""
        return mirror(self.current) + mirror(self.mask) + BOTTOM

    def __repr__(self) -> str:
        return f"Position.from_moves({self.moves_str()!r})"

    def __str__(self) -> str:
        mover, other = ("X", "O") if self.nb_moves % 2 == 0 else ("O", "X")
        rows = []
        for row in reversed(range(HEIGHT)):
            cells = []
            for col in range(WIDTH):
                bit = 1 << (col * STRIDE + row)
                cells.append("." if not self.mask & bit else mover if self.current & bit else other)
            rows.append(" ".join(cells))
        return "\n".join([*rows, " ".join(str(col + 1) for col in range(WIDTH))])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Position):
            return NotImplemented
        return self.current == other.current and self.mask == other.mask

    def __hash__(self) -> int:
        return hash((self.current, self.mask))


# -- search ---------------------------------------------------------------------------------


class MoveOrder(enum.Enum):
    """The order in which the search tries moves (anything but THREATS is for benchmarks)."""

    LEFT_TO_RIGHT = "left-to-right"
    CENTRE = "centre"
    #: Moves that leave more cells where we would connect four first, the centre among equals.
    THREATS = "threats"


class _Search:
    """The negamax search and the state it keeps: the transposition table, the book, a node counter.

    A plain class with typed attributes, so that mypyc compiles it to a C struct and its
    recursive method to a direct C call.
    """

    def __init__(self, order: MoveOrder, transposition: bool, book_ply: int) -> None:
        self.nodes: i64 = 0
        self.tt_size: i64 = _TT_SIZE
        self.table_before: i64 = _TABLE_BEFORE if COMPILED else BOARD_SIZE
        self.transposition = transposition
        # Slots start at -1: no key (cur + mask, which is 0 only for the empty board) matches it.
        self.table: list[int] = [-1] * _TT_SIZE if transposition else []
        self.ordering = order is MoveOrder.THREATS
        columns = list(range(WIDTH)) if order is MoveOrder.LEFT_TO_RIGHT else list(CENTRE_ORDER)
        self.order_masks: list[int] = [COLUMN_MASKS[col] for col in columns]
        self.book_ply: i64 = book_ply
        self.book: _book.OpeningBook | None = None

    def reset(self) -> None:
        self.nodes = 0
        if self.transposition:
            self.table = [-1] * self.tt_size

    def negamax(self, cur: i64, mask: i64, moves: i64, alpha: i64, beta: i64, threats: i64) -> i64:
        # Precondition: the side to move cannot win with its next stone. ``threats`` holds the
        # empty cells where the opponent would connect four, when the caller already knows them
        # (its move ordering computes exactly these), or -1.
        self.nodes += 1
        if moves == self.book_ply:
            book = self.book
            if book is not None:
                value = book.get(cur, mask)
                if value is not None:
                    return value

        opp = cur ^ mask
        if threats < 0:
            threats = winning_cells(opp, mask)
        possible = (mask + BOTTOM) & BOARD
        forced = possible & threats
        if forced:
            if forced & (forced - 1):
                return -((BOARD_SIZE - moves) >> 1)  # two threats at once: lost next move
            possible = forced
        # Never play right under a cell where the opponent would connect four.
        nxt = possible & ~(threats >> 1)
        if not nxt:
            return -((BOARD_SIZE - moves) >> 1)
        if moves >= BOARD_SIZE - 2:
            return 0  # nobody can win within the last two stones: a draw

        # The opponent cannot win with its next stone, so we lose no earlier than after that.
        lower = -((BOARD_SIZE - 2 - moves) >> 1)
        if alpha < lower:
            alpha = lower
            if alpha >= beta:
                return alpha
        upper = (BOARD_SIZE - 1 - moves) >> 1

        transposition = self.transposition and moves < self.table_before
        table = self.table
        key = cur + mask
        slot: i64 = 0
        if transposition:
            slot = key % self.tt_size
            entry: i64 = table[slot]
            if entry >> 8 == key:
                code = entry & 255
                if code & _LOWER_FLAG:
                    bound = (code & 63) - _SCORE_BIAS
                    if alpha < bound:
                        alpha = bound
                        if alpha >= beta:
                            return alpha
                else:
                    bound = code - _SCORE_BIAS
                    if bound < upper:
                        upper = bound
        if beta > upper:
            beta = upper
            if alpha >= beta:
                return beta

        if transposition and moves < _ETC_BEFORE:
            # Enhanced transposition cutoff: a child already stored with a low enough upper
            # bound proves a cutoff here without searching anything.
            shifts: i64 = _CENTRE_SHIFTS
            for _ in range(WIDTH):
                move = nxt & (_LAST_COLUMN >> (_LAST_OFFSET - (shifts & 63)))
                shifts >>= 6
                if move:
                    child_key = opp + (mask | move)
                    entry = table[child_key % self.tt_size]
                    if entry >> 8 == child_key and not entry & _LOWER_FLAG:
                        bound = _SCORE_BIAS - (entry & 63)
                        if bound > alpha:
                            alpha = bound
                            if alpha >= beta:
                                table[slot] = key << 8 | (alpha + _SCORE_BIAS + _LOWER_FLAG)
                                return alpha

        if nxt & (nxt - 1) == 0:
            # One move only: its threats are not needed to order anything.
            score = -self.negamax(opp, mask | nxt, moves + 1, -beta, -alpha, -1)
            if score >= beta:
                if transposition:
                    table[slot] = key << 8 | (score + _SCORE_BIAS + _LOWER_FLAG)
                return score
            if score > alpha:
                alpha = score
        elif self.ordering:
            # Moves that create more cells where we would connect four come first; ties go to
            # the centre. ``order`` is a list packed into one int, a byte per candidate, best in
            # the lowest byte: its threat count times 8, plus 7 minus its place in the centre order.
            order: i64 = 0
            shifts = _CENTRE_SHIFTS
            tie: i64 = WIDTH  # 7 for the centre column, down to 1 for the outermost
            while tie:
                move = nxt & (_LAST_COLUMN >> (_LAST_OFFSET - (shifts & 63)))
                shifts >>= 6
                if move:
                    count = popcount(winning_cells(cur | move, mask))
                    if count > 31:
                        count = 31
                    candidate = count << 3 | tie
                    # Insertion: skip the entries that rank higher, then slot this one in.
                    place: i64 = 0
                    rest = order
                    while rest and rest & 255 > candidate:
                        place += 8
                        rest >>= 8
                    order = (order - (rest << place)) | candidate << place | rest << (place + 8)
                tie -= 1
            if alpha >= (BOARD_SIZE - 3 - moves) >> 1:
                # Only a move that leaves the opponent lost at once can beat alpha now: every
                # other child would return its own lower bound at its first check. So look for
                # such a move here, without recursing.
                while order:
                    rank = WIDTH - (order & 7)
                    order >>= 8
                    move = nxt & (_LAST_COLUMN >> (_LAST_OFFSET - (_CENTRE_SHIFTS >> (6 * rank) & 63)))
                    lane = winning_cells(cur | move, mask)
                    after = (mask | move) + BOTTOM & BOARD
                    forced = after & lane
                    if forced:
                        if forced & (forced - 1):
                            break
                        after = forced
                    if not after & ~(lane >> 1):
                        break
                else:
                    if transposition:
                        table[slot] = key << 8 | (alpha + _SCORE_BIAS)
                    return alpha
                score = (BOARD_SIZE - 1 - moves) >> 1
                if transposition:
                    table[slot] = key << 8 | (score + _SCORE_BIAS + _LOWER_FLAG)
                return score
            while order:
                rank = WIDTH - (order & 7)
                order >>= 8
                move = nxt & (_LAST_COLUMN >> (_LAST_OFFSET - (_CENTRE_SHIFTS >> (6 * rank) & 63)))
                child = cur | move
                score = -self.negamax(opp, mask | move, moves + 1, -beta, -alpha, winning_cells(child, mask))
                if score >= beta:
                    if transposition:
                        table[slot] = key << 8 | (score + _SCORE_BIAS + _LOWER_FLAG)
                    return score
                if score > alpha:
                    alpha = score
        else:
            for column in self.order_masks:
                move = nxt & column
                if move:
                    score = -self.negamax(opp, mask | move, moves + 1, -beta, -alpha, -1)
                    if score >= beta:
                        if transposition:
                            table[slot] = key << 8 | (score + _SCORE_BIAS + _LOWER_FLAG)
                        return score
                    if score > alpha:
                        alpha = score
        if transposition:
            table[slot] = key << 8 | (alpha + _SCORE_BIAS)
        return alpha


class Solver:
    """Exact scores and perfect moves for Connect Four positions.

    The transposition table lives as long as the solver, so positions of one game get faster as
    the game goes on; call :meth:`reset` for a fresh start. The keyword switches turn the search
    techniques off one by one, for benchmarks only.

    >>> solver = Solver()
    >>> solver.solve(Position.from_moves("4453"))
    -2
    >>> solver.best_move(Position.from_moves("4453"))
    2
    """

    def __init__(
        self,
        *,
        use_book: bool = True,
        book: _book.OpeningBook | None = None,
        order: MoveOrder = MoveOrder.THREATS,
        transposition: bool = True,
        null_window: bool = True,
    ) -> None:
        self._use_book = use_book
        self._book = book
        self._book_loaded = book is not None or not use_book
        self._null_window = null_window
        # Built now, so that allocating the table never lands inside a timed solve.
        self._search = _Search(order, transposition, _book.BOOK_PLY)
        self._search.book = book

    @property
    def node_count(self) -> int:
        """Positions searched since the solver was made or last :meth:`reset`."""
        return self._search.nodes

    @property
    def book(self) -> _book.OpeningBook | None:
        """The opening book the search reads, loading the default one at first use."""
        if not self._book_loaded:
            self._book_loaded = True
            try:
                self._book = _book.default_book()
            except _book.BookUnavailableError as exc:
                logger.warning("Solving without the opening book, so early positions are slow: %s", exc)
                self._book = None
            self._search.book = self._book
        return self._book

    def reset(self) -> None:
        """Forget every stored score and zero the node counter."""
        self._search.reset()

    def _search_for(self, nb_moves: int) -> _Search:
        # Only searches that start before the book's ply can reach it; later ones skip loading.
        if nb_moves <= _book.BOOK_PLY and self._use_book:
            _ = self.book
        return self._search

    def solve(self, pos: Position, weak: bool = False) -> int:
        """The exact score of ``pos`` for the side to move (with ``weak``, only its sign: -1, 0 or 1)."""
        return self._solve(pos, weak, -BOARD_SIZE)

    def _solve(self, pos: Position, weak: bool, floor: int) -> int:
        # ``floor`` is a lower bound the caller knows (from the parent's score); the first probe
        # then tests the tightest known bound, since it is often the exact score.
        if pos.is_won:
            raise NoMoveError("The game is already won; there is nothing left to solve.")
        if pos.nb_moves == BOARD_SIZE:
            return 0
        if pos.can_win_next():
            return 1 if weak else (BOARD_SIZE + 1 - pos.nb_moves) // 2
        search = self._search_for(pos.nb_moves)
        cur, mask, moves = pos.current, pos.mask, pos.nb_moves
        low = -((BOARD_SIZE - moves) // 2)
        high = (BOARD_SIZE + 1 - moves) // 2
        if moves == _book.BOOK_PLY + 1 and self._use_book and self.book is not None:
            low = max(low, _parent_bound(pos, self.book))
        if weak:
            low, high = max(low, -1), min(high, 1)
        if floor > -BOARD_SIZE and not weak:
            low = max(low, floor)
            if self._null_window and low < high and low > -((BOARD_SIZE - moves) // 2):
                r = search.negamax(cur, mask, moves, low, low + 1, -1)
                if r <= low:
                    return low
                low = r
        if not self._null_window:
            return search.negamax(cur, mask, moves, low, high, -1)
        # Narrow [low, high] with null-window probes, nearer to zero first: most positions are
        # close to a draw, and a null window cuts off far more than a wide one. (Python's //
        # floors where Pons' C++ truncates; on our sample flooring searched 2% fewer nodes.)
        while low < high:
            med = low + (high - low) // 2
            if med <= 0 and low // 2 < med:
                med = low // 2
            elif med >= 0 and high // 2 > med:
                med = high // 2
            r = search.negamax(cur, mask, moves, med, med + 1, -1)
            if r <= med:
                high = r
            else:
                low = r
        # A bound found outside the weak window still has the right sign.
        return max(-1, min(1, low)) if weak else low

    def score_move(self, pos: Position, col: int) -> int | None:
        """The score of playing ``col`` (0..6) for the side to move, or ``None`` if it is full."""
        if pos.is_won:
            raise NoMoveError("The game is already won; there is no move to score.")
        if not pos.can_play(col):
            return None
        if pos.is_winning_move(col):
            return (BOARD_SIZE + 1 - pos.nb_moves) // 2
        return self._score_move(pos, col, BOARD_SIZE)

    def _score_move(self, pos: Position, col: int, best: int) -> int:
        if pos.is_winning_move(col):
            return (BOARD_SIZE + 1 - pos.nb_moves) // 2
        child = pos.copy()
        child.play(col)
        # No move scores more than the position, so the child scores at least minus that.
        return -self._solve(child, False, -best)

    def analyze(self, pos: Position) -> list[int | None]:
        """The score of each of the seven columns for the side to move, ``None`` for a full one."""
        if pos.is_won:
            raise NoMoveError("The game is already won; there is no move to score.")
        if pos.is_full:
            return [None] * WIDTH
        # The position's own score (from the book at its ply) bounds every column's from above.
        best = BOARD_SIZE if pos.can_win_next() else self.solve(pos)
        return [self._score_move(pos, col, best) if pos.can_play(col) else None for col in range(WIDTH)]

    def best_move(self, pos: Position) -> int:
        """A column (0..6) with the best exact score; among equals, the one nearest the centre."""
        if pos.is_won or pos.is_full:
            raise NoMoveError("The game is over; there is no move to choose.")
        for col in CENTRE_ORDER:
            if pos.can_play(col) and pos.is_winning_move(col):
                return col
        cur, mask = pos.current, pos.mask
        opp_wins = winning_cells(cur ^ mask, mask)
        legal = [col for col in CENTRE_ORDER if pos.can_play(col)]
        forced = [col for col in legal if _landing(mask, col) & opp_wins]
        safe = [col for col in (forced or legal) if not (_landing(mask, col) << 1) & opp_wins]
        if len(forced) > 1 or not safe:
            # The opponent wins with its next stone whatever we do: every move scores the same.
            return legal[0]
        if len(safe) == 1:
            return safe[0]
        best = self.solve(pos)
        search = self._search_for(pos.nb_moves + 1)
        book = self.book if self._use_book and pos.nb_moves == _book.BOOK_PLY else None
        for col in safe:
            child = pos.copy()
            child.play(col)
            if book is not None and _parent_bound(child, book) > -best:
                continue  # another parent proves the child scores more than -best: not our move
            # The child scores at least -best for the opponent; a null window tells if it is exactly that.
            if search.negamax(child.current, child.mask, child.nb_moves, -best, -best + 1, -1) <= -best:
                return col
        raise AssertionError("unreachable: some safe move reaches the solved score")


def _parent_bound(pos: Position, book: _book.OpeningBook) -> int:
    """A lower bound on a position one stone past the book, from the book's exact parents.

    Taking back the top stone of the side that just moved gives a parent whose mover could have
    played that stone, so the position scores at least minus the parent's score.
    """
    bound = -BOARD_SIZE
    last = pos.current ^ pos.mask  # stones of the side that just moved
    for col in range(WIDTH):
        column = pos.mask & COLUMN_MASKS[col]
        top = 1 << (column.bit_length() - 1) if column else 0
        if not top & last:
            continue
        parent_mask = pos.mask ^ top
        parent_cur = last ^ top
        if winning_cells(parent_cur, parent_mask) & ((parent_mask + BOTTOM) & BOARD):
            continue  # the book leaves out positions won at once; this bound would be useless
        value = book.get(parent_cur, parent_mask)
        if value is not None and -value > bound:
            bound = -value
    return bound


def _landing(mask: int, col: int) -> int:
    return (mask + BOTTOM_CELLS[col]) & COLUMN_MASKS[col]
