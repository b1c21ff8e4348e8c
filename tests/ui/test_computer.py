"""Stories of playing the computer, and of hints and analysis, told with NiceGUI's simulated user."""

from __future__ import annotations

import asyncio
import gc
import random
from collections.abc import Callable

import pytest
from nicegui import ui
from nicegui.testing import User

from engine.connect4 import Connect4
from engine.levels import Level
from engine.score import Score
from engine.solver import Position, Solver
from games.computer import Analyst, ComputerPlayer
from tests.ui.helpers import cell_label, click, click_column, status
from ui.game_view import GameView


async def wait_until(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    """Poll ``condition`` while the event loop runs (the computer answers from another process)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(0.05)


def board_of(user: User) -> Connect4:
    """The position the page shows: its move list from the position link, checked against every cell's label."""
    (link,) = user.find(marker="position-link").elements
    game = Connect4.from_moves(str(link.props["href"]).split("pos=", 1)[1])
    for row in range(6):
        for column in range(7):
            assert cell_label(user, row + 1, column + 1).endswith(f": {game.cell(row, column) or 'empty'}")
    return game


async def start_computer_game(user: User, side: str, level: Level) -> None:
    await user.open("/")
    await click(user, "Play the computer")
    user.find(ui.radio).elements.pop().set_value(side)
    user.find(ui.select).elements.pop().set_value(level.name)
    await click(user, "Start")
    await user.should_see(marker="level")


def over(user: User) -> bool:
    return status(user) in ("You win!", "You lose.") or "draw" in status(user)


@pytest.mark.parametrize("level", list(Level))
async def test_a_full_game_against_each_level(user: User, level: Level) -> None:
    await start_computer_game(user, "yellow", level)
    rng = random.Random(level.name)
    await wait_until(lambda: status(user) == "Your turn")  # the computer (red) opens
    while not over(user):
        position = board_of(user)
        await click_column(user, rng.choice(position.legal_columns()) + 1)
        await wait_until(lambda: over(user) or status(user) == "Your turn")
    final = board_of(user)
    assert final.is_over
    assert final.outcome is not None
    expected = {"yellow": "You win!", "red": "You lose.", None: final.outcome.result()}[final.outcome.winner]
    assert status(user) == expected  # the human plays yellow, and reads the result in person


async def test_the_perfect_level_beats_a_careless_player(user: User) -> None:
    await start_computer_game(user, "red", Level.PERFECT)
    while not over(user):
        await wait_until(lambda: over(user) or status(user) == "Your turn")
        if over(user):
            break
        await click_column(user, board_of(user).legal_columns()[0] + 1)  # always the leftmost column
    assert status(user) == "You lose."


async def test_undo_against_the_computer_goes_back_to_your_turn(user: User) -> None:
    await start_computer_game(user, "red", Level.BEGINNER)
    await click_column(user, 4)
    await wait_until(lambda: status(user) == "Your turn")
    assert (
        sum(cell_label(user, 1, c).endswith("yellow") for c in range(1, 8)) + cell_label(user, 2, 4).endswith("yellow")
        == 1
    )
    await click(user, "Undo")
    assert board_of(user).moves_str() == ""
    assert status(user) == "Your turn"


async def test_hint_shows_a_perfect_column(user: User) -> None:
    await user.open("/analyze?pos=4453")
    await click(user, "Hint")
    await wait_until(lambda: any(m.startswith("Hint: column") for m in user.notify.messages))
    (hint,) = [m for m in user.notify.messages if m.startswith("Hint: column")]
    column = int(hint.rsplit(" ", 1)[1]) - 1
    solver = Solver()
    position = Position.from_moves("4453")
    scores = solver.analyze(position)
    assert scores[column] == max(score for score in scores if score is not None)


async def test_analysis_fills_in_every_columns_value(user: User) -> None:
    await user.open("/analyze?pos=444444")
    await wait_until(lambda: all(label_of(user, c) not in ("…", "") for c in range(1, 8)))
    scores = Solver().analyze(Position.from_moves("444444"))
    for column in range(1, 8):
        assert label_of(user, column) == words(scores[column - 1], 6)
    assert label_of(user, 4) == "full"
    await click_column(user, 3)  # the values follow the game
    await wait_until(lambda: all(label_of(user, c) not in ("…", "") for c in range(1, 8)))
    scores = Solver().analyze(Position.from_moves("4444443"))
    assert [label_of(user, c) for c in range(1, 8)] == [words(s, 7) for s in scores]


def words(score: int | None, stones: int) -> str:
    return "full" if score is None else str(Score(score, stones))


def label_of(user: User, column: int) -> str:
    (element,) = [
        e
        for e in user.find(kind=ui.label).elements
        if str(e.props.get("aria-label", "")).startswith(f"Column {column} value")
    ]
    return str(element.text)


async def test_a_bad_position_is_explained(user: User) -> None:
    for position in ("4444444", "12a", "0"):
        response = await user.http_client.get(f"/analyze?pos={position}")
        assert response.status_code == 400
        assert "That position cannot be analysed." in response.text
        assert "Traceback" not in response.text


async def test_a_game_links_to_its_position(user: User) -> None:
    await user.open("/local")
    await click_column(user, 4)
    await click_column(user, 5)
    (link,) = user.find(marker="position-link").elements
    assert link.props["href"] == "/analyze?pos=45"


async def test_analysis_switch_and_score_words(user: User) -> None:
    await user.open("/local")
    await click(user, "Analysis")
    await wait_until(lambda: label_of(user, 4) not in ("…", ""))
    assert label_of(user, 4).startswith("win in")


async def test_the_colour_choice_is_a_radio_group(user: User) -> None:
    await user.open("/")
    await click(user, "Play the computer")
    (choice,) = user.find(ui.radio).elements
    assert choice.props["aria-label"] == "Your colour"
    assert choice.value == "red"


async def test_undo_while_the_computer_thinks_drops_its_move_at_once(user: User) -> None:
    await start_computer_game(user, "red", Level.BEGINNER)
    analyst = pages_analyst(user)
    release = asyncio.Event()
    choose = analyst.choose

    async def slow_choose(moves: str, level: Level, seed: int | None = None) -> int:
        await release.wait()  # the computer thinks until the test lets it answer
        return await choose(moves, level, seed)

    analyst.choose = slow_choose  # type: ignore[method-assign]
    try:
        await click_column(user, 4)
        await wait_until(lambda: status(user) == "The computer is thinking…")
        await click(user, "Undo")
        # At once: the status is the human's turn, the spinner is gone and the board takes a move.
        assert status(user) == "Your turn"
        await user.should_not_see(marker="thinking")
        (board,) = user.find(marker="board").elements
        assert "c4-wait" not in board.classes
        await click_column(user, 3)
        release.set()  # the thought about the undone position ends, and is thrown away
        await wait_until(lambda: status(user) == "Your turn" and board_of(user).moves_str().startswith("3"))
        assert len(board_of(user).moves_str()) == 2
    finally:
        analyst.choose = choose  # type: ignore[method-assign]
        release.set()


def pages_analyst(user: User) -> Analyst:
    """The analyst of the app's computer player, which listens to the hub of the page's game."""
    gc.collect()  # with SERVER_TUNING=off, earlier tests' pages wait for the collector
    (view,) = [o for o in gc.get_objects() if isinstance(o, GameView) and o.board.root._client() is user.client]
    owners = [getattr(hook, "__self__", None) for hook in view.hub._change_hooks]
    (computer,) = [owner for owner in owners if isinstance(owner, ComputerPlayer)]
    return computer.analyst
