"""Grades of hand-made games whose grades are known, the turning point, the summary, and reviewing once."""

from __future__ import annotations

import asyncio

import pytest

from engine.connect4 import Player
from engine.solver import Position, Solver
from games.model import GameRecord, Mode, new_id, new_key
from games.review import GameReview, Grade, MoveReview, PlayerSummary, Result, Reviewer, grade, perfect_column
from games.store import MemoryStore

SOLVER = Solver()


def values(moves: str) -> tuple[int | None, ...]:
    return tuple(SOLVER.analyze(Position.from_moves(moves)))


def review_of(moves: str) -> GameReview:
    return GameReview(moves, tuple(values(moves[:index]) for index in range(len(moves))))


# Red 4, 5, 6 on the bottom row with both ends open (and yellow's 4, 5, 6 above them): red wins at once
# with column 3 or 7.
OPEN_THREE = "445566"


def test_a_move_that_misses_a_win_in_one_and_loses_is_a_blunder() -> None:
    # Red plays 1 (still winning: both ends stay open), yellow blocks column 3, and red, who wins at
    # once in column 7, plays column 3 instead: yellow's own three on the second row is then open.
    review = review_of(OPEN_THREE + "13" + "3")
    move = review.move(9)
    assert move is not None
    assert (move.player, move.column, move.grade) == (Player.RED, 2, Grade.BLUNDER)
    assert move.perfect == 6
    assert (move.before, move.after) == (Result.WIN, Result.LOSS)
    assert review.turning_point() == move
    assert review.verdict() == "Move 9 by red, column 3, turned a win into a loss; column 7 kept the win."


def test_a_move_that_keeps_the_win_but_delays_it_is_an_inaccuracy() -> None:
    review = review_of(OPEN_THREE + "137")  # red plays 1 instead of winning, then wins in column 7
    seventh, ninth = review.move(7), review.move(9)
    assert seventh is not None
    assert ninth is not None
    assert (seventh.grade, seventh.perfect) == (Grade.INACCURACY, 2)
    assert ninth.grade is Grade.BEST
    # The delay changed nothing: the game was decided when yellow let red build the open three.
    assert review.verdict() == "Move 4 by yellow, column 5, turned a win into a loss; column 3 kept the win."


def test_a_game_without_mistakes_says_so() -> None:
    review = review_of("4444")  # red opens in the centre and both stack it: still red's win
    assert review.turning_point() is None
    assert review.verdict() == "Nobody made a mistake: red had the win from the first move, as perfect play says."


def test_turning_a_win_into_a_draw_is_a_mistake_and_into_a_loss_a_blunder() -> None:
    # The empty board is a win for red with column 4 only; columns 3 and 5 draw, the others lose.
    assert grade(values(""), 2) is Grade.MISTAKE
    assert grade(values(""), 4) is Grade.MISTAKE
    assert grade(values(""), 0) is Grade.BLUNDER
    assert grade(values(""), 3) is Grade.BEST
    mistake = review_of("3").move(1)
    assert mistake is not None
    assert mistake.sentence() == "Move 1 by red, column 3, turned a win into a draw; column 4 kept the win."


def test_a_draw_turned_into_a_loss_is_a_mistake() -> None:
    scores = (-2, 0, 0, -1, None, 0, -3)
    assert grade(scores, 3) is Grade.MISTAKE
    assert grade(scores, 1) is Grade.BEST
    assert perfect_column(scores) == 2  # a best column nearest the centre
    # Losing sooner than necessary keeps the result: an inaccuracy.
    assert grade((-2, -5, -3, None, None, None, None), 1) is Grade.INACCURACY


def test_a_full_column_cannot_be_graded() -> None:
    with pytest.raises(ValueError, match="Column 5 cannot be played"):
        grade((0, 0, 0, 0, None, 0, 0), 4)


def test_the_summary_counts_each_sides_grades() -> None:
    review = review_of(OPEN_THREE + "13" + "3")
    grades = [move.grade for move in review.reviewed]
    b, i, x = Grade.BEST, Grade.INACCURACY, Grade.BLUNDER
    # Red's 5 gives yellow a win, yellow's 5 hands it back; red delays it (7), then throws it away (9).
    assert grades == [b, b, x, x, b, b, i, b, x]
    summary = review.summary()
    assert summary[Player.RED] == PlayerSummary(Player.RED, moves=5, best=2, inaccuracies=1, blunders=2)
    assert summary[Player.YELLOW] == PlayerSummary(Player.YELLOW, moves=4, best=3, blunders=1)


def test_a_review_round_trips_through_json() -> None:
    review = review_of("4453")
    assert GameReview.from_json(review.to_json()) == review
    with pytest.raises(ValueError, match="Not a stored review"):
        GameReview.from_json('{"moves": "44"}')


def test_a_review_has_one_row_of_seven_values_per_move_at_most() -> None:
    with pytest.raises(ValueError, match="one row of seven values"):
        GameReview("4", ((0,) * 7, (0,) * 7))


def test_moves_alternate_red_and_yellow() -> None:
    assert review_of("43").reviewed == [
        MoveReview(1, Player.RED, 3, values("")),
        MoveReview(2, Player.YELLOW, 2, values("4")),
    ]


class CountingAnalyst:
    """The solver in this process, counting the positions it was asked for."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def analyse(self, moves: str) -> list[int | None]:
        self.asked.append(moves)
        await asyncio.sleep(0)
        return list(values(moves))


async def stored_game(store: MemoryStore, moves: str) -> GameRecord:
    record = GameRecord(id=new_id(), mode=Mode.LOCAL, join_key=new_key(), watch_key=new_key(), moves=moves)
    await store.create(record)
    return record


async def test_a_review_is_computed_once_and_then_read_from_the_store() -> None:
    store, analyst = MemoryStore(), CountingAnalyst()
    game = await stored_game(store, OPEN_THREE + "137")
    progress: list[int] = []
    review = await Reviewer(store, analyst.analyse).review(
        game.id, game.moves, lambda r: progress.append(len(r.scores))
    )
    assert review == review_of(game.moves)
    assert progress == list(range(1, 10))  # move by move
    assert analyst.asked == [game.moves[:index] for index in range(9)]
    # Another server (a new reviewer on the same store) reads it without asking the solver.
    again = CountingAnalyst()
    assert await Reviewer(store, again.analyse).review(game.id, game.moves) == review
    assert again.asked == []


async def test_two_pages_reviewing_one_game_share_the_work() -> None:
    store, analyst = MemoryStore(), CountingAnalyst()
    game = await stored_game(store, "4453")
    reviewer = Reviewer(store, analyst.analyse)
    first, second = await asyncio.gather(reviewer.review(game.id, game.moves), reviewer.review(game.id, game.moves))
    assert first == second == review_of("4453")
    assert len(analyst.asked) == 4


async def test_a_page_that_stops_watching_leaves_the_review_running() -> None:
    store, analyst = MemoryStore(), CountingAnalyst()
    game = await stored_game(store, "4453")
    reviewer = Reviewer(store, analyst.analyse)
    watcher = asyncio.create_task(reviewer.review(game.id, game.moves, lambda _: None))
    await asyncio.sleep(0)
    watcher.cancel()
    with pytest.raises(asyncio.CancelledError):
        await watcher
    assert await reviewer.review(game.id, game.moves) == review_of("4453")
    assert len(analyst.asked) == 4  # the cancelled page's review was finished, not started again
    assert await reviewer.stored(game.id, game.moves) is not None


async def test_a_stored_review_of_other_moves_does_not_count() -> None:
    store = MemoryStore()
    game = await stored_game(store, "4453")
    await store.save_review(game.id, review_of("4452").to_json())
    assert await Reviewer(store, CountingAnalyst().analyse).stored(game.id, "4453") is None
