"""The board's HTML: cells, their labels and classes, and one drawing of a column shared by every browser."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.connect4 import COLUMNS, ROWS, Connect4, Player
from tests.fixtures import position_from_choices
from ui import board as board_module
from ui.board import _column_of, cell_label, column_html, last_move_class


def cells(html: str) -> list[tuple[str, str]]:
    """(data-cell, aria-label) of each cell of a column's HTML, top row first."""
    return [(cell, label) for label, cell in re.findall(r'aria-label="([^"]+)" data-cell="(\d-\d)"', html)]


def test_a_column_draws_its_six_cells_top_row_first_with_labels() -> None:
    html = column_html(3, (Player.RED, Player.YELLOW, None, None, None, None))
    assert cells(html) == [
        ("6-4", "Row 6, column 4: empty"),
        ("5-4", "Row 5, column 4: empty"),
        ("4-4", "Row 4, column 4: empty"),
        ("3-4", "Row 3, column 4: empty"),
        ("2-4", "Row 2, column 4: yellow"),
        ("1-4", "Row 1, column 4: red"),
    ]
    assert html.count("c4-next") == 1  # where the next disc lands
    assert 'class="c4-cell c4-r2 c4-next"' in html


def test_a_four_and_a_fresh_disc_are_marked() -> None:
    html = column_html(0, (Player.RED,) * 4 + (None, None), winning=frozenset(range(4)), drop=3)
    assert html.count("c4-win") == 4
    assert 'class="c4-cell c4-r3 c4-red c4-drop c4-win"' in html


def test_labels_and_the_last_move_class_count_from_one() -> None:
    assert cell_label(0, 6, None) == "Row 1, column 7: empty"
    assert cell_label(5, 0, Player.YELLOW) == "Row 6, column 1: yellow"
    assert last_move_class(0, 3) == "c4-last-1-4"


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, COLUMNS - 1), max_size=42), st.integers(0, COLUMNS - 1))
def test_the_drawing_of_a_column_is_the_position_s(choices: list[int], column: int) -> None:
    game = position_from_choices(choices)
    outcome = game.outcome
    expected = column_html(
        column,
        tuple(game.cell(row, column) for row in range(ROWS)),
        winning=frozenset(row for row, c in outcome.cells if c == column) if outcome else frozenset(),
    )
    assert _column_of(game, column) == expected
    assert _column_of(game.copy(), column) == expected  # another board in the same position


def test_the_browsers_of_one_game_share_one_drawing_of_a_changed_column(monkeypatch: pytest.MonkeyPatch) -> None:
    drawn: list[int] = []

    def counted(column: int, *args: object, **kwargs: object) -> str:
        drawn.append(column)
        return column_html(column, *args, **kwargs)

    monkeypatch.setattr(board_module, "column_html", counted)
    monkeypatch.setattr(board_module, "_RECENT_COLUMNS", {})
    game = Connect4.from_moves("44")
    first = [_column_of(game, 3, drop=1) for _ in range(3)]  # two players and a spectator
    assert drawn == [3]
    assert first[0] is first[1] is first[2]
    game.play(game.turn, 3)
    _column_of(game, 3, drop=2)
    assert drawn == [3, 3]  # a new position is drawn anew


def test_the_shared_drawings_stay_few(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(board_module, "_RECENT_COLUMNS", {})
    game = Connect4.from_moves("4")
    for index in range(3 * board_module._RECENT_LIMIT):
        _column_of(game, index % COLUMNS, drop=index)  # every call a drawing of its own
        assert len(board_module._RECENT_COLUMNS) <= board_module._RECENT_LIMIT
