"""A solver score in a player's words: the sign says who wins, the stones on the board count the moves."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.score import Score
from engine.solver import Position, Solver


@pytest.mark.parametrize(
    ("value", "stones", "words"),
    [
        (0, 8, "draw"),
        (18, 0, "win in 4"),  # red wins with its 4th stone: 4 of its own moves
        (21, 0, "win in 1"),
        (-18, 1, "loss in 3"),  # red has 1 stone and wins with its 4th
        (1, 40, "win in 1"),
        (-1, 40, "loss in 1"),
        (-2, 12, "loss in 14"),
    ],
)
def test_scores_in_words(value: int, stones: int, words: str) -> None:
    assert str(Score(value, stones)) == words


@pytest.mark.parametrize(
    ("value", "win", "draw", "loss", "result"),
    [(3, True, False, False, "win"), (0, False, True, False, "draw"), (-3, False, False, True, "loss")],
)
def test_exactly_one_of_win_draw_loss(value: int, win: bool, draw: bool, loss: bool, result: str) -> None:
    score = Score(value, 10)
    assert (score.is_win, score.is_draw, score.is_loss, score.result) == (win, draw, loss, result)


def test_a_draw_has_no_moves_left() -> None:
    assert Score(0, 30).moves_left == 0


@pytest.mark.parametrize(("value", "stones"), [(22, 0), (2, 40), (-1, 42), (0, 43), (0, -1)])
def test_a_score_that_cannot_happen_is_refused(value: int, stones: int) -> None:
    with pytest.raises(ValueError, match="stones"):
        Score(value, stones)


def test_a_win_in_one_is_an_immediate_win() -> None:
    pos = Position.from_moves("112233")  # red connects four in column 4 with its 4th stone
    scores = Solver().analyze(pos)
    assert str(Score(scores[3] or 0, pos.nb_moves)) == "win in 1"


@given(st.integers(0, 41), st.integers(1, 21))
def test_moves_left_counts_the_winners_stones_to_the_end(stones: int, winner_stones: int) -> None:
    # A win for the side to move with its ``winner_stones``-th stone scores 22 minus that count.
    mover_has = stones // 2
    opponent_has = stones - mover_has
    if winner_stones > mover_has:
        win = Score(22 - winner_stones, stones)
        assert (win.is_win, win.moves_left) == (True, winner_stones - mover_has)
    if winner_stones > opponent_has:
        loss = Score(-(22 - winner_stones), stones)
        assert (loss.is_loss, loss.moves_left) == (True, winner_stones - opponent_has)
