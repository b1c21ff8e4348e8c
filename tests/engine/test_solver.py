"""Tests of engine.solver: bitboards, notation, and exact scores on Pons' benchmark positions."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.book import default_book
from engine.search import _parent_bound
from engine.solver import (
    BOARD_SIZE,
    CENTRE_ORDER,
    FullColumnError,
    GameWonError,
    MoveOrder,
    NoMoveError,
    NotationError,
    Position,
    Solver,
    UnknownColumnError,
    winning_cells,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "gamesolver"

# -- positions -------------------------------------------------------------------------------


def read_set(name: str) -> list[tuple[str, int]]:
    path = DATA / name
    if not path.is_file():
        pytest.fail(f"the benchmark positions are not at {DATA}: they are part of the repository", pytrace=False)
    pairs = []
    for line in path.read_text().splitlines():
        if line.strip():
            moves, score = line.split()
            pairs.append((moves, int(score)))
    return pairs


@cache
def shared_solver() -> Solver:
    # One solver across the file checks: its table stays valid between positions, and keeping it
    # also tests that scores stored for one position never mislead another.
    return Solver()


# -- bitboards and notation ----------------------------------------------------------------

# A position whose side to move has exactly one winning move, which completes a line in the
# named direction and no other (found by random play, checked by the tests below).
DIRECTIONS = pytest.mark.parametrize(
    ("moves", "column"),
    [("646461", 5), ("514173", 5), ("634564665", 4), ("4172323121", 0)],
    ids=["vertical", "horizontal", "diagonal-up", "diagonal-down"],
)
SHIFTS = {"646461": 1, "514173": 7, "634564665": 8, "4172323121": 6}


@DIRECTIONS
def test_winning_move_in_each_direction(moves: str, column: int) -> None:
    pos = Position.from_moves(moves)
    assert pos.is_winning_move(column)
    assert pos.can_win_next()
    assert [col for col in range(7) if pos.can_play(col) and pos.is_winning_move(col)] == [column]
    with pytest.raises(GameWonError, match="connects four"):
        Position.from_moves(moves + str(column + 1))


@DIRECTIONS
def test_winning_cells_marks_the_completing_cell_of_the_line(moves: str, column: int) -> None:
    pos = Position.from_moves(moves)
    landing = (pos.mask + (1 << 7 * column)) & (0x3F << 7 * column)
    assert winning_cells(pos.current, pos.mask) & pos.possible() == landing
    stones = pos.current | landing
    lines = [d for d in (1, 7, 8, 6) if stones & stones >> d & stones >> 2 * d & stones >> 3 * d]
    assert lines == [SHIFTS[moves]]


def test_winning_cells_never_wraps_between_columns() -> None:
    # Three stones at the top of column 1 and the bottom of column 2 are not a line.
    pos = Position.from_moves("1111122")
    assert not pos.can_win_next()


def test_play_swaps_the_side_to_move() -> None:
    pos = Position.from_moves("4")
    assert pos.nb_moves == 1
    assert pos.current == 0  # the second player has no stone yet
    assert pos.mask == 1 << 21
    pos.play(3)
    assert pos.current == 1 << 21
    assert pos.moves_str() == "44"


@pytest.mark.parametrize("moves", ["", "4", "4453", "123456712345671234567"])
def test_notation_round_trips(moves: str) -> None:
    pos = Position.from_moves(moves)
    assert pos.moves_str() == moves
    assert repr(pos) == f"Position.from_moves({moves!r})"
    assert eval(repr(pos)) == pos


def test_key_tells_positions_apart_and_mirror_key_matches_the_mirror_image() -> None:
    left, right = Position.from_moves("1234"), Position.from_moves("7654")
    assert left.key() != right.key()
    assert left.mirror_key() == right.key()
    assert right.mirror_key() == left.key()
    symmetric = Position.from_moves("4433")
    assert Position.from_moves("4455").mirror_key() == symmetric.key()
    centre = Position.from_moves("444")
    assert centre.key() == centre.mirror_key()


def test_key_differs_for_same_stones_with_other_owners() -> None:
    assert Position.from_moves("12").key() != Position.from_moves("21").key()


@pytest.mark.parametrize(
    ("moves", "error", "words"),
    [
        ("4458", UnknownColumnError, "Move 4 of '4458' is '8'"),
        ("0", UnknownColumnError, "is '0'"),
        ("44a", UnknownColumnError, "is 'a'"),
        ("4 4", UnknownColumnError, "is ' '"),
        ("4444444", FullColumnError, "Move 7 of '4444444' is illegal: column 4 is already full"),
        ("1212121", GameWonError, "Move 7 of '1212121' connects four"),
        ("12121212", GameWonError, "Move 7"),
    ],
)
def test_invalid_notation_is_refused_with_a_readable_message(moves: str, error: type, words: str) -> None:
    with pytest.raises(error, match=words.replace("(", r"\(")) as info:
        Position.from_moves(moves)
    assert isinstance(info.value, NotationError)
    assert isinstance(info.value, ValueError)


def test_play_refuses_a_full_column() -> None:
    pos = Position.from_moves("444444")
    assert not pos.can_play(3)
    with pytest.raises(FullColumnError):
        pos.play(3)


def test_str_draws_the_board() -> None:
    assert str(Position.from_moves("44")).splitlines()[-3:] == [
        ". . . O . . .",
        ". . . X . . .",
        "1 2 3 4 5 6 7",
    ]


# -- exact scores ---------------------------------------------------------------------------


def check_file(name: str, every: int = 1) -> None:
    solver = shared_solver()
    wrong = [
        (moves, expected, score)
        for moves, expected in read_set(name)[::every]
        if (score := solver.solve(Position.from_moves(moves))) != expected
    ]
    assert wrong == []


def test_end_easy_all_positions() -> None:
    check_file("Test_L3_R1")


def test_middle_easy_all_positions() -> None:
    check_file("Test_L2_R1")


def test_begin_easy_all_positions() -> None:
    check_file("Test_L1_R1")


def test_middle_medium_every_20th_position() -> None:
    check_file("Test_L2_R2", every=20)


def test_begin_medium_every_20th_position() -> None:
    check_file("Test_L1_R2", every=20)


def test_begin_hard_every_20th_position() -> None:
    check_file("Test_L1_R3", every=20)


def test_start_position_is_a_first_player_win_in_the_centre() -> None:
    solver = shared_solver()
    start = Position()
    assert solver.solve(start) == 1
    assert solver.analyze(start) == [-2, -1, 0, 1, 0, -1, -2]
    assert solver.best_move(start) == 3


@pytest.mark.parametrize(
    "name",
    ["Test_L3_R1", "Test_L2_R1", "Test_L2_R2", "Test_L1_R1", "Test_L1_R2", "Test_L1_R3"],
)
def test_best_move_has_the_best_analyzed_score(name: str) -> None:
    solver = shared_solver()
    # Every 100th position, skipping those with 12 to 14 stones, whose seven 13 to 15-stone
    # children would each take seconds; the book-backed and later positions are covered.
    pairs = [(m, s) for m, s in read_set(name)[7::100] if not 12 <= len(m) <= 14]
    assert pairs
    for moves, expected in pairs:
        pos = Position.from_moves(moves)
        scores = solver.analyze(pos)
        assert max(s for s in scores if s is not None) == expected, moves
        best = solver.best_move(pos)
        assert scores[best] == expected, moves
        # Ties go to the centre: no column nearer the centre has the same score.
        nearer = CENTRE_ORDER[: CENTRE_ORDER.index(best)]
        assert all(scores[col] != expected for col in nearer), moves


def test_best_move_just_at_the_book_ply_has_the_best_analyzed_score() -> None:
    # At 12 stones the solver skips children that a book parent proves worse: check it does
    # not skip the best one. Begin-easy games are short, so the 13-stone children solve fast.
    solver = shared_solver()
    pairs = [(m, s) for m, s in read_set("Test_L1_R1") if len(m) == 12][:8]
    for moves, expected in pairs:
        pos = Position.from_moves(moves)
        scores = solver.analyze(pos)
        best = solver.best_move(pos)
        assert scores[best] == expected == max(s for s in scores if s is not None), moves
        assert all(scores[col] != expected for col in CENTRE_ORDER[: CENTRE_ORDER.index(best)]), moves


def test_book_parents_bound_13_stone_positions_from_below() -> None:
    book = default_book()
    tight = 0
    for name in ("Test_L1_R1", "Test_L1_R2", "Test_L1_R3"):
        for moves, expected in read_set(name):
            if len(moves) == 13:
                bound = _parent_bound(Position.from_moves(moves), book)
                assert bound <= expected, moves
                tight += bound == expected
    assert tight > 0


def test_analyze_marks_full_columns_and_immediate_wins() -> None:
    solver = shared_solver()
    pos = Position.from_moves("444444121212")  # column 4 full; the first player can win in column 1
    scores = solver.analyze(pos)
    assert scores[3] is None
    assert scores[0] == (BOARD_SIZE + 1 - pos.nb_moves) // 2
    assert solver.score_move(pos, 3) is None
    assert solver.best_move(pos) == 0


def test_best_move_blocks_when_every_other_move_loses() -> None:
    # The second player must block column 4 or lose at once.
    pos = Position.from_moves("41414")
    assert Solver().best_move(pos) == 3


def test_weak_solve_gives_only_the_sign() -> None:
    solver = shared_solver()
    for moves, expected in read_set("Test_L2_R1")[:50]:
        weak = solver.solve(Position.from_moves(moves), weak=True)
        assert weak == (expected > 0) - (expected < 0)


def test_node_counter_counts_and_resets() -> None:
    solver = Solver()
    solver.solve(Position.from_moves("2252576253462244111563365343671351441"))
    assert solver.node_count > 0
    solver.reset()
    assert solver.node_count == 0


def test_full_board_is_a_draw_and_has_no_move() -> None:
    full = Position.from_moves("736536436212766145172111622455574775343234")
    assert full.is_full
    solver = Solver()
    assert solver.solve(full) == 0
    with pytest.raises(NoMoveError):
        solver.best_move(full)


def test_search_without_book_or_techniques_agrees() -> None:
    plain = Solver(use_book=False, order=MoveOrder.CENTRE, transposition=False, null_window=False)
    for moves, expected in read_set("Test_L3_R1")[:40]:
        assert plain.solve(Position.from_moves(moves)) == expected


# -- properties -----------------------------------------------------------------------------


def brute_force(pos: Position) -> int:
    """Plain minimax over every move: slow, but too simple to share the solver's mistakes."""
    if pos.nb_moves == BOARD_SIZE:
        return 0
    best = -BOARD_SIZE
    for col in range(7):
        if pos.can_play(col):
            if pos.is_winning_move(col):
                return (BOARD_SIZE + 1 - pos.nb_moves) // 2
            child = pos.copy()
            child.play(col)
            best = max(best, -brute_force(child))
    return best


@st.composite
def unfinished_games(draw: st.DrawFn, min_stones: int, max_stones: int) -> Position:
    """A random game that nobody has won yet, of between min_stones and max_stones stones."""
    target = draw(st.integers(min_stones, max_stones))
    pos = Position()
    while pos.nb_moves < target:
        moves = [col for col in range(7) if pos.can_play(col) and not pos.is_winning_move(col)]
        if not moves:
            break
        pos.play(draw(st.sampled_from(moves)))
    return pos


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(unfinished_games(33, 40))
def test_solve_agrees_with_brute_force_near_the_end(pos: Position) -> None:
    assert Solver(use_book=False).solve(pos) == brute_force(pos)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(unfinished_games(24, 34))
def test_score_is_the_best_child_score(pos: Position) -> None:
    solver = shared_solver()
    scores = [s for s in solver.analyze(pos) if s is not None]
    assert solver.solve(pos) == max(scores)
    assert solver.score_move(pos, solver.best_move(pos)) == max(scores)


@settings(max_examples=6, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(unfinished_games(14, 30))
def test_best_move_is_the_centremost_column_analyze_scores_best(pos: Position) -> None:
    # Derandomized, so that the few positions (14 stones and up can take seconds interpreted) are
    # the same in every run; best_move and analyze share no code past the search itself.
    solver = Solver()
    scores = solver.analyze(pos)
    top = max(s for s in scores if s is not None)
    solver.reset()
    best = solver.best_move(pos)
    assert scores[best] == top
    assert all(scores[col] != top for col in CENTRE_ORDER[: CENTRE_ORDER.index(best)])


@settings(max_examples=100, deadline=None)
@given(unfinished_games(0, 30))
def test_from_moves_replays_moves_str(pos: Position) -> None:
    again = Position.from_moves(pos.moves_str())
    assert again == pos
    assert again.key() == pos.key()
    mirrored = Position.from_moves("".join(str(8 - int(c)) for c in pos.moves_str()))
    assert mirrored.key() == pos.mirror_key()


def test_solving_a_won_game_is_refused() -> None:
    pos = Position.from_moves("121212")
    pos.play(0)
    assert pos.is_won
    with pytest.raises(NoMoveError):
        Solver().solve(pos)
    with pytest.raises(GameWonError):
        pos.play(1)
