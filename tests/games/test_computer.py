"""The computer player: it moves in computer games only, from a worker process, without stalling others."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from engine.connect4 import Player
from engine.levels import Level
from engine.score import Score
from games.computer import Analyst, ComputerPlayer
from games.hub import GameHub
from games.model import Mode
from games.store import MemoryStore

# A begin-medium position whose perfect move takes this machine seconds of search.
SLOW = "5657356217247"


@pytest.fixture
async def players() -> AsyncIterator[tuple[GameHub, ComputerPlayer]]:
    hub = GameHub(MemoryStore())
    analyst = Analyst(workers=1)
    computer = ComputerPlayer(hub, analyst)
    yield hub, computer
    await computer.close()
    analyst.close()


async def wait_until(condition: object, timeout: float = 120.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():  # type: ignore[operator]
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_other_games_go_on_while_the_computer_thinks(players: tuple[GameHub, ComputerPlayer]) -> None:
    hub, computer = players
    thinking = await hub.create(Mode.COMPUTER, "alice", level=Level.PERFECT, side=Player.RED, moves=SLOW)
    assert computer.is_thinking(thinking)  # yellow, the computer, is to move
    assert thinking.thinking
    hot_seat = await hub.create(Mode.LOCAL, "bob")
    for column in (3, 3, 4, 4, 5, 5):
        await hub.play(hot_seat, "bob", column)
    # Six moves of another game went through while the search was still running elsewhere.
    assert hot_seat.record.moves == "445566"
    assert computer.is_thinking(thinking)
    await wait_until(lambda: not computer.is_thinking(thinking))
    assert len(thinking.record.moves) == len(SLOW) + 1
    assert not thinking.thinking


async def test_the_computer_opens_when_it_plays_red_and_answers_each_move(
    players: tuple[GameHub, ComputerPlayer],
) -> None:
    hub, _ = players
    live = await hub.create(Mode.COMPUTER, "alice", level=Level.BEGINNER, side=Player.YELLOW)
    await wait_until(lambda: len(live.record.moves) == 1)
    await hub.play(live, "alice", 0)
    await wait_until(lambda: len(live.record.moves) == 3)
    assert live.board.turn is Player.YELLOW


async def test_the_computer_stays_out_of_other_games(players: tuple[GameHub, ComputerPlayer]) -> None:
    hub, computer = players
    live = await hub.create(Mode.LOCAL, "alice")
    await hub.play(live, "alice", 3)
    await asyncio.sleep(0.2)
    assert live.record.moves == "4"
    assert not computer.is_thinking(live)


async def test_the_analyst_says_what_a_score_means() -> None:
    analyst = Analyst(workers=1)
    try:
        assert await analyst.score("444444", 3) is None  # column 4 is full
        score = await analyst.score("112233", 3)  # red connects four in column 4
    finally:
        analyst.close()
    assert score == Score(18, 6)
    assert str(score) == "win in 1"


async def test_warm_starts_the_worker_and_loads_its_book_before_any_request() -> None:
    analyst = Analyst(workers=1)
    try:
        assert analyst.warm_workers == {}
        (state,) = await analyst.warm()
        # Ready before the first move was asked for: the book is in memory, the engine imported.
        assert analyst.warm_workers == {state.pid: state}
        assert state.book_positions > 4_000_000
        assert state.build in ("compiled", "interpreted")
        # The first request goes to that same warm process, not to one started for it.
        assert await analyst.choose("", Level.PERFECT) == 3
        (again,) = await analyst.warm()
        assert again.pid == state.pid
    finally:
        analyst.close()
