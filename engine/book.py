"""Opening book: exact scores of every 12-stone position, read from the BitBully database.

The data is ``book_12ply_distances.dat`` of the ``bitbully-databases`` package (MIT). Its format,
learnt from that package's reference reader: 5-byte records sorted by their first four bytes, a
big-endian signed 32-bit Huffman code of the board, then one signed byte, the distance. The code
walks the columns left to right, each bottom to top: ``10`` for a stone of the first player,
``11`` for one of the second, ``0`` to close the column; one more ``0`` pads it to 32 bits. A
position and its mirror image share one record, so a lookup tries both codes.

The distance is from the first player's side, who is to move after 12 stones: ``100 - d`` more
stones until the first player wins when positive, ``100 + d`` until the second player wins when
negative, 0 for a draw. The book holds no position whose side to move can win at once.

Only the package's file location is borrowed; the parsing is ours. The records stay in two flat
arrays searched by bisection, loaded once on first use: measured 0.12-0.25 s and 24 MB resident
for 4.2 million positions (60 MB at the peak of loading), against several hundred MB for a dict
of Python ints. A lookup costs a few microseconds.
"""

from __future__ import annotations

import array
import functools
import sys
import time
from bisect import bisect_left
from importlib import resources
from pathlib import Path
from typing import Final

from engine.bitboard import BOTTOM

__all__ = [
    "BOOK_PLY",
    "BookUnavailableError",
    "OpeningBook",
    "book_path",
    "default_book",
    "score_from_distance",
]

#: Stones on the board in every position of the book.
BOOK_PLY: Final = 12

_PACKAGE: Final = "bitbully_databases"
_ASSET: Final = "assets/book_12ply_distances.dat"
_RECORD: Final = 5
_SIGN: Final = 0x80000000


class BookUnavailableError(LookupError):
    """The opening book's data file cannot be found or read."""


def score_from_distance(distance: int, ply: int = BOOK_PLY) -> int:
    """Convert a book distance at ``ply`` stones to a score in Pons' convention for the side to move."""
    if distance == 0:
        return 0
    if distance > 0:
        # The side to move wins on stone number ply + (100 - d) of the game, its ceil(n/2)-th.
        end = ply + 100 - distance
        return 22 - (end + 1) // 2
    end = ply + 100 + distance
    return -(22 - end // 2)


def _column_codes() -> tuple[list[int], list[int]]:
    # Indexed by one column of current + mask + bottom: the top set bit marks the height and
    # the bits below it are the side to move's stones, which after 12 stones are the first player's.
    bits = [0] * 128
    lengths = [0] * 128
    for column in range(1, 128):
        height = column.bit_length() - 1
        code = 0
        for row in range(height):
            code = code << 2 | (0b10 if column >> row & 1 else 0b11)
        bits[column] = code << 1
        lengths[column] = 2 * height + 1
    return bits, lengths


def book_path() -> Path:
    """Where the installed ``bitbully-databases`` package keeps the 12-ply book with distances."""
    try:
        path = Path(str(resources.files(_PACKAGE).joinpath(_ASSET)))
    except ModuleNotFoundError:
        raise BookUnavailableError(
            f"The opening book needs the {_PACKAGE.replace('_', '-')} package, which is not installed."
        ) from None
    if not path.is_file():
        raise BookUnavailableError(f"The opening book file {path} is missing.")
    return path


class OpeningBook:
    """Exact scores of 12-stone positions, looked up by bisection in a sorted array of codes."""

    def __init__(self, codes: array.array[int], distances: bytes, load_seconds: float = 0.0) -> None:
        if len(codes) != len(distances):
            raise ValueError("An opening book needs one distance per position code.")
        #: Signed 32-bit Huffman codes, ascending.
        self.codes = codes
        #: One signed distance byte (stored unsigned) per code.
        self.distances = distances
        #: Seconds it took to read the file.
        self.load_seconds = load_seconds
        bits, lengths = _column_codes()
        self._bits = bits
        self._lengths = lengths
        self._size = len(codes)
        self._scores = [score_from_distance(d - 256 if d > 127 else d) for d in range(256)]

    @classmethod
    def from_file(cls, path: Path) -> OpeningBook:
        """Read a book file of 5-byte records into two flat arrays."""
        start = time.perf_counter()
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise BookUnavailableError(f"The opening book file {path} cannot be read: {exc}.") from None
        if not data or len(data) % _RECORD:
            raise BookUnavailableError(f"The opening book file {path} is not a sequence of 5-byte records.")
        count = len(data) // _RECORD
        # Strided slices move the bytes in C; a Python loop over 4 million records takes seconds.
        packed = bytearray(4 * count)
        for byte in range(4):
            packed[byte::4] = data[byte::_RECORD]
        codes = array.array("i")
        codes.frombytes(packed)
        if sys.byteorder == "little":
            codes.byteswap()
        return cls(codes, data[4::_RECORD], time.perf_counter() - start)

    def __len__(self) -> int:
        return len(self.codes)

    @property
    def nbytes(self) -> int:
        """Memory held by the two arrays, in bytes."""
        return self.codes.itemsize * len(self.codes) + len(self.distances)

    def __repr__(self) -> str:
        return f"<OpeningBook of {len(self)} positions>"

    def get(self, current: int, mask: int) -> int | None:
        """The score of a 12-stone position (the solver's bitboards: side to move, all stones), or ``None``."""
        bits = self._bits
        lengths = self._lengths
        key = current + mask + BOTTOM
        c0 = key & 127
        c1 = key >> 7 & 127
        c2 = key >> 14 & 127
        c3 = key >> 21 & 127
        c4 = key >> 28 & 127
        c5 = key >> 35 & 127
        c6 = key >> 42 & 127
        code = bits[c0]
        code = code << lengths[c1] | bits[c1]
        code = code << lengths[c2] | bits[c2]
        code = code << lengths[c3] | bits[c3]
        code = code << lengths[c4] | bits[c4]
        code = code << lengths[c5] | bits[c5]
        code = code << lengths[c6] | bits[c6]
        # The trailing pad bit, then the file's signed 32-bit reading of the code.
        code = ((code << 1) ^ _SIGN) - _SIGN
        i = bisect_left(self.codes, code)
        if i < self._size and self.codes[i] == code:
            return self._scores[self.distances[i]]
        code = bits[c6]
        code = code << lengths[c5] | bits[c5]
        code = code << lengths[c4] | bits[c4]
        code = code << lengths[c3] | bits[c3]
        code = code << lengths[c2] | bits[c2]
        code = code << lengths[c1] | bits[c1]
        code = code << lengths[c0] | bits[c0]
        code = ((code << 1) ^ _SIGN) - _SIGN
        i = bisect_left(self.codes, code)
        if i < self._size and self.codes[i] == code:
            return self._scores[self.distances[i]]
        return None


@functools.cache
def default_book() -> OpeningBook:
    """The book of the installed ``bitbully-databases`` package, read once and then shared.

    Raises :class:`BookUnavailableError` when the package or its file is missing.
    """
    return OpeningBook.from_file(book_path())
