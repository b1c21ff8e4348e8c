"""Quick messages in the game layer: fixed phrases from a seat, shown to every view here and on other instances."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from engine.connect4 import Player
from games.errors import NotAllowedError, SpectatorError
from games.hub import PHRASES, GameEvent, GameHub, LiveGame, MessageSent
from games.model import Mode
from games.ratelimit import RateLimitedError, RateLimiter
from games.redis_store import RedisStore
from games.store import MemoryStore
from tests.redis_fixtures import RedisServer


async def online_game(hub: GameHub) -> LiveGame:
    live = await hub.create(Mode.ONLINE, "ana")
    await hub.join(live, "ben")
    return live


def heard(live: LiveGame) -> list[GameEvent]:
    events: list[GameEvent] = []
    live.subscribe(events.append)
    return events


async def test_a_player_sends_a_phrase_and_every_view_hears_it() -> None:
    hub = GameHub(MemoryStore())
    live = await online_game(hub)
    events = heard(live)
    await hub.send_message(live, "ben", "Good luck!")
    assert events == [MessageSent(Player.YELLOW, "Good luck!")]
    assert live.record.version == 1  # created, joined: a message is stored nowhere


@pytest.mark.parametrize("phrase", ["Hello", "good luck!", "", None, 3, ["Oops"], "Oops" * 1000])
async def test_a_phrase_outside_the_list_is_refused(phrase: object) -> None:
    hub = GameHub(MemoryStore())
    live = await online_game(hub)
    events = heard(live)
    with pytest.raises(NotAllowedError, match=r'^Only these messages can be sent: "Good luck!", "Well played"'):
        await hub.send_message(live, "ana", phrase)
    assert events == []


async def test_spectators_and_games_on_one_device_send_nothing() -> None:
    hub = GameHub(MemoryStore())
    live = await online_game(hub)
    with pytest.raises(SpectatorError):
        await hub.send_message(live, "cleo", "Oops")
    local = await hub.create(Mode.LOCAL, "ana")
    with pytest.raises(NotAllowedError, match="online games"):
        await hub.send_message(local, "ana", "Oops")


async def test_a_flood_of_messages_is_rate_limited() -> None:
    hub = GameHub(MemoryStore())
    live = await online_game(hub)
    events = heard(live)
    for _ in range(hub.message_limit.burst):
        await hub.send_message(live, "ana", PHRASES[0])
    with pytest.raises(RateLimitedError, match="Too many messages"):
        await hub.send_message(live, "ana", PHRASES[0])
    assert len(events) == hub.message_limit.burst


@pytest.fixture
async def two_hubs(redis_server: RedisServer) -> AsyncIterator[tuple[GameHub, GameHub]]:
    hubs = (GameHub(RedisStore(redis_server.url)), GameHub(RedisStore(redis_server.url)))
    for hub in hubs:
        await hub.start()
    yield hubs
    for hub in hubs:
        await hub.close()


async def test_a_message_reaches_the_views_on_another_instance(two_hubs: tuple[GameHub, GameHub]) -> None:
    one, two = two_hubs
    live = await online_game(one)
    there = await two.find(live.record.watch_key)
    events = heard(there)
    mine = heard(live)
    one.message_limit = RateLimiter(rate=100, burst=100, message="")
    sent = 0
    for _ in range(100):  # until instance two's subscription to the game's channel is in place
        await one.send_message(live, "ana", "Well played")
        sent += 1
        await asyncio.sleep(0.02)
        if events:
            break
    assert events
    assert set(events) == {MessageSent(Player.RED, "Well played")}
    assert len(mine) == sent  # the sender's views heard each at once, and none came back from Redis
