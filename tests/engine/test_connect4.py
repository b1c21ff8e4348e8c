"""The rules: moves, errors, wins in every direction, draws, undo and the solver notation."""

from __future__ import annotations

import ast
import importlib
import importlib.machinery
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import engine
from engine.connect4 import (
    COLUMNS,
    PLAYER1,
    PLAYER2,
    ROWS,
    ColumnFullError,
    Connect4,
    Connect4Error,
    GameOverError,
    IllegalMoveError,
    InvalidColumnError,
    InvalidPositionError,
    Move,
    NothingToUndoError,
    NotYourTurnError,
    Outcome,
    Player,
    Termination,
    UnknownPlayerError,
)
from tests.fixtures import ROOT, position_from_choices

# A whole game that fills the board without four in a row.
DRAWN_GAME = "547125662261271266215743771576315353334444"


def play_all(position: str) -> Connect4:
    game = Connect4()
    for char in position:
        game.play(game.turn, int(char) - 1)
    return game


def scan_winner(game: Connect4) -> Player | None:
    """An independent four-in-a-row check: walk every window of four on the grid."""
    grid = {(row, column): game.cell(row, column) for row in range(ROWS) for column in range(COLUMNS)}
    winners = set()
    for row in range(ROWS):
        for column in range(COLUMNS):
            for d_row, d_column in ((0, 1), (1, 0), (1, 1), (1, -1)):
                window = [grid.get((row + i * d_row, column + i * d_column)) for i in range(4)]
                if window[0] is not None and window.count(window[0]) == 4:
                    winners.add(window[0])
    assert len(winners) <= 1, "both players cannot have four in a legal game"
    return winners.pop() if winners else None


def test_players_are_the_tutorials_colours() -> None:
    assert PLAYER1 == "red"
    assert PLAYER2 == "yellow"
    assert Connect4().turn == PLAYER1


def test_play_returns_the_landing_row_from_the_bottom() -> None:
    game = Connect4()
    assert game.play("red", 3) == 0
    assert game.play("yellow", 3) == 1
    assert game.play(PLAYER1, 0) == 0
    assert game.moves == [Move(PLAYER1, 3, 0), Move(PLAYER2, 3, 1), Move(PLAYER1, 0, 0)]
    assert game.moves[0] == ("red", 3, 0)  # still the tutorial's (player, column, row) tuple
    assert game.cell(1, 3) is PLAYER2
    assert game.cell(2, 3) is None
    assert game.landing_row(3) == 2


@pytest.mark.parametrize(
    ("position", "cells"),
    [
        pytest.param("1213141", {(0, 0), (1, 0), (2, 0), (3, 0)}, id="vertical"),
        pytest.param("1122334", {(0, 0), (0, 1), (0, 2), (0, 3)}, id="horizontal"),
        pytest.param("12234337444", {(0, 0), (1, 1), (2, 2), (3, 3)}, id="diagonal-up"),
        pytest.param("76654551444", {(0, 6), (1, 5), (2, 4), (3, 3)}, id="diagonal-down"),
    ],
)
def test_four_in_a_row_wins_in_every_direction(position: str, cells: set[tuple[int, int]]) -> None:
    game = Connect4.from_moves(position[:-1])
    assert game.winner is None
    last = int(position[-1]) - 1
    game.play(game.turn, last)
    assert game.winner is PLAYER1
    assert game.outcome == Outcome(Termination.WIN, PLAYER1, frozenset(cells))
    assert game.is_over
    assert game.legal_columns() == []


def test_yellow_can_win() -> None:
    game = Connect4.from_moves("71212121")
    assert game.winner is PLAYER2
    assert game.outcome is not None
    assert game.outcome.result() == "Player yellow wins!"


def test_a_move_completing_two_lines_reports_every_cell_of_both() -> None:
    # Red's last disc, column 3 row 2, closes a row and a diagonal at once.
    game = Connect4.from_moves("242541555347")
    game.play(PLAYER1, 2)
    assert game.outcome == Outcome(
        Termination.WIN,
        PLAYER1,
        frozenset({(1, 1), (1, 2), (1, 3), (1, 4), (0, 1), (2, 3), (3, 4)}),
    )


def test_a_run_of_five_is_one_win_with_all_five_cells() -> None:
    game = Connect4.from_moves("11224455")
    game.play(PLAYER1, 2)
    assert game.outcome is not None
    assert game.outcome.cells == {(0, 0), (0, 1), (0, 2), (0, 3), (0, 4)}


def test_draw_when_the_42nd_disc_makes_no_four() -> None:
    game = Connect4.from_moves(DRAWN_GAME[:-1])
    assert not game.is_over
    game.play(game.turn, int(DRAWN_GAME[-1]) - 1)
    assert game.outcome == Outcome(Termination.DRAW)
    assert game.winner is None
    assert game.outcome.result() == "The game is a draw."
    with pytest.raises(GameOverError, match=r"^The game is over\.$"):
        game.play(game.turn, 0)


def test_not_your_turn() -> None:
    game = Connect4()
    with pytest.raises(NotYourTurnError, match=r"^It isn't your turn\.$"):
        game.play(PLAYER2, 3)
    game.play(PLAYER1, 3)
    with pytest.raises(NotYourTurnError):
        game.play(PLAYER1, 3)
    assert game.moves_str() == "4"


def test_full_column() -> None:
    game = Connect4.from_moves("444444")
    with pytest.raises(ColumnFullError, match=r"^This slot is full\.$"):
        game.play(PLAYER1, 3)
    assert game.landing_row(3) is None
    assert 3 not in game.legal_columns()


@pytest.mark.parametrize("column", [-1, 7, 100, True, False, "3", 3.0, None, [3]])
def test_columns_that_do_not_exist(column: object) -> None:
    game = Connect4()
    with pytest.raises(InvalidColumnError, match="There is no column"):
        game.play(PLAYER1, column)  # type: ignore[arg-type]
    assert game.moves == []


@pytest.mark.parametrize("player", ["blue", "", None, 1])
def test_unknown_player(player: object) -> None:
    with pytest.raises(UnknownPlayerError, match="There is no player"):
        Connect4().play(player, 0)  # type: ignore[arg-type]


def test_no_move_after_a_win() -> None:
    game = Connect4.from_moves("1213141")
    with pytest.raises(GameOverError):
        game.play(PLAYER2, 5)


@pytest.mark.parametrize(
    "error", [NotYourTurnError, ColumnFullError, GameOverError, InvalidColumnError, UnknownPlayerError]
)
def test_move_errors_are_value_errors_under_one_root(error: type[Exception]) -> None:
    assert issubclass(error, IllegalMoveError)
    assert issubclass(error, ValueError)
    assert issubclass(error, Connect4Error)


def test_undo_takes_back_the_last_move_and_reopens_a_won_game() -> None:
    game = Connect4.from_moves("1213141")
    assert game.undo() == Move(PLAYER1, 0, 3)
    assert game.outcome is None
    assert game.turn is PLAYER1
    assert game.cell(3, 0) is None
    assert game.play(PLAYER1, 0) == 3
    assert game.winner is PLAYER1


def test_undo_on_an_empty_board() -> None:
    with pytest.raises(NothingToUndoError, match=r"^There is no move to undo\.$"):
        Connect4().undo()


@pytest.mark.parametrize("position", ["", "4", "4453", "1213141", DRAWN_GAME, "444444"])
def test_notation_round_trips(position: str) -> None:
    game = Connect4.from_moves(position)
    assert game.moves_str() == position
    assert eval(repr(game), {"Connect4": Connect4}) == game  # the repr is the constructor


@pytest.mark.parametrize(
    ("position", "message"),
    [
        ("0", "moves are the digits 1 to 7"),
        ("48", "moves are the digits 1 to 7"),
        ("4a", "moves are the digits 1 to 7"),
        ("4444444", "Move 7 of '4444444' is illegal: column 4 is already full."),
        ("12131411", "Move 8 of '12131411' is illegal: The game is over."),
    ],
)
def test_invalid_positions_name_the_move(position: str, message: str) -> None:
    with pytest.raises(InvalidPositionError, match=message):
        Connect4.from_moves(position)


def test_str_is_a_picture_with_red_at_the_bottom() -> None:
    lines = str(Connect4.from_moves("44")).splitlines()
    assert lines[-2] == ". . . R . . ."
    assert lines[-3] == ". . . Y . . ."
    assert lines[-1] == "1 2 3 4 5 6 7"


ENGINE_IMPORTS = """
import importlib, pkgutil, sys
import engine
for module in pkgutil.iter_modules(engine.__path__):
    importlib.import_module(f"engine.{module.name}")
outside = {name.split(".")[0] for name in sys.modules} - set(sys.stdlib_module_names) - {"engine", "__main__"}
outside = {name for name in outside if not name.endswith("__mypyc")}  # mypyc's runtime, built from engine/ itself
print(sorted(outside), sys.flags.no_site)
"""


def test_engine_imports_only_the_standard_library() -> None:
    # -S leaves site-packages off the path: a third-party import would fail outright.
    result = subprocess.run(
        [sys.executable, "-S", "-c", ENGINE_IMPORTS], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[] 1"


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=COLUMNS - 1), max_size=60))
def test_random_legal_games(choices: list[int]) -> None:
    game = Connect4()
    for choice in choices:
        legal = game.legal_columns()
        if not legal:
            break
        column = legal[choice % len(legal)]
        mover = game.turn
        row = game.play(mover, column)  # never raises for a legal column
        assert game.moves[-1] == Move(mover, column, row)
        assert game.turn is mover.other or game.is_over
        assert game.winner == scan_winner(game)
        if game.outcome and game.outcome.winner:
            assert game.outcome.winner is mover
            assert (row, column) in game.outcome.cells
            assert all(game.cell(r, c) is mover for r, c in game.outcome.cells)
    players = [move.player for move in game.moves]
    assert players == [PLAYER1 if i % 2 == 0 else PLAYER2 for i in range(len(players))]
    assert game.is_over == (game.winner is not None or len(game.moves) == COLUMNS * ROWS)
    assert Connect4.from_moves(game.moves_str()) == game
    # Undo all the way back leaves the empty board; the notation follows every step.
    while game.moves:
        game.undo()
        assert game.moves_str() == "".join(str(move.column + 1) for move in game.moves)
    assert game == Connect4()
    assert game.moves_str() == ""


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=COLUMNS - 1), max_size=42), st.integers(0, COLUMNS - 1))
def test_a_copy_is_the_same_position_and_independent(choices: list[int], extra: int) -> None:
    game = position_from_choices(choices)
    copy = game.copy()
    assert copy == game
    assert copy.moves_str() == game.moves_str()
    assert copy.outcome == game.outcome
    assert [copy.landing_row(c) for c in range(COLUMNS)] == [game.landing_row(c) for c in range(COLUMNS)]
    before = game.moves_str()
    if copy.legal_columns():
        copy.play(copy.turn, copy.legal_columns()[extra % len(copy.legal_columns())])
        assert game.moves_str() == before  # playing on the copy leaves the original alone
        assert copy != game
    if game.moves:
        game.undo()
        assert copy.moves_str().startswith(before)  # and the other way round


def test_the_installed_engine_is_the_compiled_one() -> None:
    # The README's install builds the engine with mypyc; a silent fallback to the sources fails here.
    # Set CONNECT4_ENGINE=interpreted to run the suite on the sources: then the interpreted build is expected.
    expected = "interpreted" if os.environ.get(engine.INTERPRETED_ENV[0]) == engine.INTERPRETED_ENV[1] else "compiled"
    assert engine.build() == expected


def test_every_module_setup_compiles_is_imported_from_its_extension() -> None:
    # setup.py names the modules mypyc builds; after the README's install each must load from its
    # compiled extension (with CONNECT4_ENGINE=interpreted, from its .py source), never half of each.
    setup = Path(__file__).resolve().parents[2] / "setup.py"
    listed = next(
        node.value
        for node in ast.parse(setup.read_text()).body
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "COMPILED_MODULES"
    )
    paths = ast.literal_eval(listed)
    assert paths
    interpreted = os.environ.get(engine.INTERPRETED_ENV[0]) == engine.INTERPRETED_ENV[1]
    for path in paths:
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        origin = str(module.__file__)
        if interpreted:
            assert origin.endswith(".py"), origin
        else:
            assert origin.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES)), origin
