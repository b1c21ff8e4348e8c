"""Tests of engine.levels: every level plays legally, and the levels behave as their docs say."""

from __future__ import annotations

import ast
import random
from pathlib import Path

import pytest

from engine.levels import Level, choose_move
from engine.solver import NoMoveError, NotationError, Position, Solver

ROOT = Path(__file__).resolve().parents[2]

FULL_DRAW = "736536436212766145172111622455574775343234"


def random_player(moves: str, rng: random.Random) -> int:
    pos = Position.from_moves(moves)
    return rng.choice(pos.legal_columns())


def play(first: Level | None, second: Level | None, seed: int, solver: Solver | None = None) -> int | None:
    """Play a game (None plays uniformly at random); return the winner's index or None for a draw.

    With a solver, check that every PERFECT move keeps the exact score of the position.
    """
    rng = random.Random(seed)
    moves = ""
    players = (first, second)
    while len(moves) < 42:
        side = len(moves) % 2
        level = players[side]
        col = random_player(moves, rng) if level is None else choose_move(moves, level, rng)
        pos = Position.from_moves(moves)
        assert pos.can_play(col)
        if level is Level.PERFECT and solver is not None:
            assert solver.score_move(pos, col) == solver.solve(pos), moves
        if pos.is_winning_move(col):
            return side
        moves += str(col + 1)
    return None


@pytest.fixture(scope="module")
def solver() -> Solver:
    return Solver()


@pytest.mark.parametrize("seed", range(3))
def test_perfect_wins_as_first_player_against_random_play(seed: int) -> None:
    assert play(Level.PERFECT, None, seed) == 0


@pytest.mark.parametrize("seed", range(2))
def test_perfect_never_gives_up_a_won_or_drawn_position(seed: int, solver: Solver) -> None:
    # As second player, every move it makes keeps the exact score it was given.
    assert play(None, Level.PERFECT, seed, solver) == 1


@pytest.mark.parametrize("seed", range(2))
def test_beginner_loses_to_perfect_either_way_round(seed: int) -> None:
    assert play(Level.PERFECT, Level.BEGINNER, seed) == 0
    assert play(Level.BEGINNER, Level.PERFECT, seed) == 1


def test_strong_beats_beginner() -> None:
    assert play(Level.STRONG, Level.BEGINNER, 0) == 0
    assert play(Level.BEGINNER, Level.STRONG, 0) == 1


WIN_NOW = "121213"  # the first player, to move, wins at once in column 1 (index 0)
BLOCK_NEEDED = "12121"  # the second player must block column 1 (index 0) or lose


def moves_over_seeds(moves: str, level: Level, seeds: int = 40) -> list[int]:
    return [choose_move(moves, level, random.Random(seed)) for seed in range(seeds)]


def test_beginner_sometimes_misses_an_immediate_win_and_the_others_never_do() -> None:
    assert Position.from_moves(WIN_NOW).is_winning_move(0)
    beginner = moves_over_seeds(WIN_NOW, Level.BEGINNER)
    assert 0 in beginner
    assert any(col != 0 for col in beginner)
    for level in (Level.CASUAL, Level.STRONG, Level.PERFECT):
        assert set(moves_over_seeds(WIN_NOW, level, seeds=10)) == {0}, level


def test_beginner_sometimes_fails_to_block_and_the_others_always_block() -> None:
    pos = Position.from_moves(BLOCK_NEEDED)
    assert not pos.can_win_next()
    assert pos.copy().is_winning_move(0) is False
    beginner = moves_over_seeds(BLOCK_NEEDED, Level.BEGINNER)
    assert 0 in beginner
    assert any(col != 0 for col in beginner)
    for level in (Level.CASUAL, Level.STRONG, Level.PERFECT):
        assert set(moves_over_seeds(BLOCK_NEEDED, level, seeds=10)) == {0}, level


def test_beginner_avoids_playing_under_the_opponents_winning_cell() -> None:
    # The second player would connect four in row 2 of column 3, right above the empty
    # bottom cell: a stone in column 3 would give it the win.
    moves = "4221471"
    pos = Position.from_moves(moves)
    assert not pos.can_win_next()
    assert 2 not in moves_over_seeds(moves, Level.BEGINNER)


def test_levels_play_differently_in_the_same_position() -> None:
    moves = "4453"
    chosen = {level: moves_over_seeds(moves, level, seeds=20) for level in Level}
    assert set(chosen[Level.PERFECT]) == {2}  # the perfect move, whatever the rng
    assert len(set(chosen[Level.BEGINNER])) > 2  # random among the safe columns


@pytest.mark.parametrize("level", list(Level))
def test_choice_is_reproducible_from_the_rng(level: Level) -> None:
    moves = "445326"
    first = [choose_move(moves, level, random.Random(seed)) for seed in range(5)]
    again = [choose_move(moves, level, random.Random(seed)) for seed in range(5)]
    assert first == again
    assert all(Position.from_moves(moves).can_play(col) for col in first)


@pytest.mark.parametrize("level", list(Level))
def test_every_level_finishes_a_game_with_legal_moves(level: Level) -> None:
    # play() asserts legality of every move; against itself the game must reach an end.
    result = play(level, level, 7)
    assert result in (0, 1, None)


def test_invalid_moves_and_full_board_are_refused() -> None:
    with pytest.raises(NotationError):
        choose_move("48", Level.BEGINNER, random.Random(0))
    with pytest.raises(NoMoveError, match="board is full"):
        choose_move(FULL_DRAW, Level.CASUAL, random.Random(0))


def test_every_level_is_described_by_behaviour() -> None:
    # From the source: the compiled class carries mypyc's filler docstring instead.
    tree = ast.parse((ROOT / "engine" / "levels.py").read_text())
    (node,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Level"]
    doc = ast.get_docstring(node) or ""
    for level in Level:
        assert level.name in doc
    assert "immediate win only half of the time" in doc
    assert "zugzwang" in doc
    assert "best exact score" in doc
