"""The computer player: it moves in computer games only, from a worker process, without stalling others."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from engine.connect4 import Player
from games.computer import Analyst, ComputerPlayer, describe_score
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
    thinking = await hub.create(Mode.COMPUTER, "alice", level="PERFECT", side=Player.RED, moves=SLOW)
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
    live = await hub.create(Mode.COMPUTER, "alice", level="BEGINNER", side=Player.YELLOW)
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


@pytest.mark.parametrize(
    ("score", "moves", "words"),
    [
        (None, 3, "full"),
        (0, 8, "draw"),
        (18, 0, "win in 4"),
        (21, 0, "win in 1"),
        (-18, 1, "loss in 3"),
        (1, 40, "win in 1"),
    ],
)
def test_scores_in_words(score: int | None, moves: int, words: str) -> None:
    assert describe_score(score, moves) == words
