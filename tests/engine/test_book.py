"""Tests of engine.book: the file format, the score convention, and the solver without a book."""

from __future__ import annotations

import importlib.resources
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from engine import book as book_module
from engine.book import BOOK_PLY, BookUnavailableError, OpeningBook, score_from_distance
from engine.solver import Position, Solver

DATA = Path(__file__).resolve().parents[1] / "data" / "gamesolver"


@pytest.fixture(scope="module")
def book() -> OpeningBook:
    try:
        return book_module.default_book()
    except BookUnavailableError as exc:
        pytest.fail(f"{exc} (pip install bitbully-databases)", pytrace=False)


def from_rows(rows: list[list[int]]) -> Position:
    """A position from a bitbully-style board: rows top to bottom, 1 = first player, 2 = second."""
    pos = Position()
    first = 0
    for col in range(7):
        for height, row in enumerate(reversed(rows)):
            if row[col]:
                pos.mask |= 1 << (7 * col + height)
                if row[col] == 1:
                    first |= 1 << (7 * col + height)
    pos.nb_moves = pos.mask.bit_count()
    pos.current = first if pos.nb_moves % 2 == 0 else first ^ pos.mask
    return pos


def test_book_loads_compactly_and_quickly(book: OpeningBook) -> None:
    assert len(book) == 4_200_899
    assert book.nbytes == 5 * len(book)  # four bytes of code and one of distance each
    assert book.load_seconds < 5
    assert list(book.codes[:100]) == sorted(book.codes[:100])


def test_default_book_is_loaded_once(book: OpeningBook) -> None:
    assert book_module.default_book() is book


@pytest.mark.parametrize(
    ("distance", "score"),
    [(0, 0), (97, 14), (71, 1), (73, 2), (-98, -15), (-88, -10), (-70, -1)],
)
def test_distance_converts_to_pons_score(distance: int, score: int) -> None:
    # 97: the first player wins 3 stones later, with its 8th stone: 22 - 8 = 14.
    # -98: the second player wins 2 stones later, with its 7th stone: -(22 - 7) = -15.
    assert score_from_distance(distance) == score


@pytest.mark.parametrize(
    ("rows", "distance"),
    [
        # The examples of the bitbully-databases reference reader, with the values it documents.
        (
            [
                [0, 0, 0, 0, 0, 0, 0],
                [0, 0, 0, 1, 0, 0, 0],
                [0, 1, 0, 2, 0, 0, 0],
                [0, 2, 0, 1, 0, 2, 0],
                [0, 1, 0, 2, 0, 1, 0],
                [0, 2, 0, 1, 0, 2, 0],
            ],
            71,
        ),
        (
            [
                [0, 0, 0, 0, 0, 0, 0],
                [0, 0, 0, 0, 0, 0, 0],
                [0, 1, 0, 0, 0, 0, 0],
                [0, 2, 2, 0, 1, 0, 0],
                [0, 2, 1, 0, 2, 0, 0],
                [1, 1, 2, 1, 2, 0, 0],
            ],
            73,
        ),
        (
            [
                [0, 0, 0, 0, 0, 0, 0],
                [0, 0, 0, 0, 0, 0, 0],
                [0, 0, 1, 1, 0, 0, 0],
                [0, 0, 2, 2, 0, 0, 0],
                [0, 1, 2, 1, 0, 0, 0],
                [0, 1, 1, 2, 0, 2, 2],
            ],
            -88,
        ),
    ],
    ids=["win-in-29", "win-in-27", "loss-in-12"],
)
def test_lookup_matches_the_reference_readers_examples(book: OpeningBook, rows: list[list[int]], distance: int) -> None:
    pos = from_rows(rows)
    assert pos.nb_moves == BOOK_PLY
    assert book.get(pos.current, pos.mask) == score_from_distance(distance)


def test_every_12_stone_benchmark_position_has_its_published_score(book: OpeningBook) -> None:
    checked = 0
    for name in ("Test_L1_R1", "Test_L1_R2", "Test_L1_R3"):
        path = DATA / name
        if not path.is_file():
            pytest.fail(f"the benchmark positions are not at {DATA}: they are part of the repository", pytrace=False)
        for line in path.read_text().splitlines():
            moves, score = line.split()
            if len(moves) == BOOK_PLY:
                pos = Position.from_moves(moves)
                assert book.get(pos.current, pos.mask) == int(score), moves
                checked += 1
    assert checked > 300


@pytest.mark.parametrize("moves", ["243335424257", "165746146225", "737534232264"])
def test_lookup_agrees_with_the_search(book: OpeningBook, moves: str) -> None:
    # Begin-easy positions: their games are short enough to search without the book.
    pos = Position.from_moves(moves)
    assert book.get(pos.current, pos.mask) == Solver(use_book=False).solve(pos)


def test_mirror_images_share_a_score(book: OpeningBook) -> None:
    moves = "427631264721"
    pos = Position.from_moves(moves)
    mirror = Position.from_moves("".join(str(8 - int(c)) for c in moves))
    assert book.get(pos.current, pos.mask) is not None
    assert book.get(pos.current, pos.mask) == book.get(mirror.current, mirror.mask)


def test_positions_of_other_sizes_are_not_in_the_book(book: OpeningBook) -> None:
    for moves in ("", "4453", "44531122334"):
        pos = Position.from_moves(moves)
        assert book.get(pos.current, pos.mask) is None


def test_missing_package_raises_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(package: str) -> None:
        raise ModuleNotFoundError(f"No module named {package!r}")

    monkeypatch.setattr(importlib.resources, "files", missing)
    with pytest.raises(BookUnavailableError, match="bitbully-databases package, which is not installed"):
        book_module.book_path()


def test_malformed_file_raises_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "book.dat"
    path.write_bytes(b"\x00" * 7)
    with pytest.raises(BookUnavailableError, match="5-byte records"):
        OpeningBook.from_file(path)
    with pytest.raises(BookUnavailableError, match="cannot be read"):
        OpeningBook.from_file(tmp_path / "absent.dat")


def test_solver_without_the_book_still_solves_and_says_why(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def unavailable() -> OpeningBook:
        raise BookUnavailableError("The opening book needs the bitbully-databases package, which is not installed.")

    monkeypatch.setattr(book_module, "default_book", unavailable)
    solver = Solver()
    with caplog.at_level(logging.WARNING, logger="engine.solver"):
        # Ten stones and a short game (from begin-easy): the search manages without the book.
        assert solver.solve(Position.from_moves("5654767662")) == 13
    assert solver.book is None
    assert "without the opening book" in caplog.text


def test_importing_the_engine_does_not_load_the_book_package() -> None:
    code = "import sys, engine.solver, engine.book, engine.levels; print('bitbully_databases' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=Path(__file__).parents[2]
    )
    assert out.stdout.strip() == "False"
