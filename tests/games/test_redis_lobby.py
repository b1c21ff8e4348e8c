"""The lobby across instances: two hubs on two RedisStore connections to one real redis-server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from games.hub import GameHub, LiveGame
from games.lobby import TICKET_KEPT, TICKET_STALE, Lobby, Ticket
from games.model import Role
from games.redis_lobby import RedisLobbyStore
from games.redis_store import RedisStore
from games.stores import open_lobby_store
from tests.redis_fixtures import RedisServer, eventually


class Instance:
    """One server instance: its own Redis connections, hub and lobby."""

    def __init__(self, url: str) -> None:
        self.store = RedisStore(url)
        self.hub = GameHub(self.store)
        self.lobby = Lobby(self.hub, open_lobby_store(self.store), poll_interval=0.02, list_interval=0.05)

    async def start(self) -> Instance:
        await self.hub.start()
        await self.lobby.start()
        return self

    async def close(self) -> None:
        await self.lobby.close()
        await self.hub.close()


@pytest.fixture
async def instances(redis_server: RedisServer) -> AsyncIterator[tuple[Instance, Instance]]:
    one, two = await Instance(redis_server.url).start(), await Instance(redis_server.url).start()
    yield one, two
    await one.close()
    await two.close()


async def test_two_strangers_on_two_instances_get_exactly_one_game(instances: tuple[Instance, Instance]) -> None:
    one, two = instances
    told: list[LiveGame] = []
    ticket = await one.lobby.quick_match("ana", told.append)
    assert isinstance(ticket, Ticket)
    live = await two.lobby.quick_match("ben", lambda game: pytest.fail("ben did not wait"))
    assert isinstance(live, LiveGame)
    await eventually(lambda: bool(told), what="instance one to hear of the pairing")
    (game,) = told
    assert game.id == live.id
    assert {game.record.red, game.record.yellow} == {"ana", "ben"}
    await asyncio.sleep(0.1)  # more polls: the note was taken once
    assert len(told) == 1
    assert one.lobby.waiting == 0


async def test_players_pressing_at_once_on_both_instances_are_each_paired_once(
    instances: tuple[Instance, Instance],
) -> None:
    one, two = instances
    told: dict[str, LiveGame] = {}
    names = [f"p{i}" for i in range(16)]

    async def press(name: str, index: int) -> LiveGame | Ticket:
        lobby = (one, two)[index % 2].lobby
        return await lobby.quick_match(name, lambda live: told.__setitem__(name, live))

    found = await asyncio.gather(*(press(name, index) for index, name in enumerate(names)))
    made = {f.id: f for f in found if isinstance(f, LiveGame)}
    await eventually(lambda: len(told) == len(made), what="every waiting player to hear of their game")
    games = {live.id: live for live in [*told.values(), *made.values()]}
    assert len(games) == len(made) == 8  # a game per pair: none made twice for one waiting player
    seated = sorted(str(identity) for live in games.values() for identity in (live.record.red, live.record.yellow))
    assert seated == sorted(names)
    stores = [one.lobby.store, two.lobby.store]
    assert all(isinstance(store, RedisLobbyStore) for store in stores)


async def test_a_cancel_racing_a_pairing_leaves_one_of_the_two(instances: tuple[Instance, Instance]) -> None:
    one, two = instances
    for round_ in range(10):
        told: list[LiveGame] = []
        ticket = await one.lobby.quick_match(f"a{round_}", told.append)
        assert isinstance(ticket, Ticket)
        paired, cancelled = await asyncio.gather(
            two.lobby.quick_match(f"b{round_}", lambda live: None), one.lobby.cancel(ticket)
        )
        if isinstance(paired, LiveGame):  # the pairing came first: the cancel hands over the same game
            assert cancelled is not None
            assert cancelled.id == paired.id
        else:  # the cancel came first: b waits alone
            assert cancelled is None
            assert await two.lobby.cancel(paired) is None
        assert told == []


async def test_the_lists_span_instances(instances: tuple[Instance, Instance]) -> None:
    one, two = instances
    live = await one.lobby.create_open("ana")
    one.hub.connect(live, Role.RED)  # the creator's page, on instance one: its presence report reaches two
    for _ in range(100):
        listing = await two.lobby.read_listing()
        if listing.open:
            break
        await asyncio.sleep(0.02)
    assert [row.key for row in listing.open] == [live.record.join_key]
    there = await two.hub.find(live.record.join_key)
    assert await two.hub.join(there, "ben") is Role.YELLOW
    listing = await one.lobby.read_listing()
    assert listing.open == ()
    assert [row.key for row in listing.live] == [live.record.watch_key]
    # A spectator on instance one is counted on instance two's list, from one's presence report.
    watched = await one.hub.find(live.record.watch_key)
    one.hub.connect(watched, Role.SPECTATOR)

    async def spectators_seen_by_two() -> int:
        return (await two.lobby.read_listing()).live[0].spectators

    for _ in range(100):
        if await spectators_seen_by_two() == 1:
            break
        await asyncio.sleep(0.02)
    assert await spectators_seen_by_two() == 1


# -- an instance restarting while its players wait -------------------------------------------


def never(live: LiveGame) -> None:
    raise AssertionError(f"nobody should have been paired into {live.id}")


async def test_a_player_waiting_on_an_instance_that_restarts_gets_the_game_made_meanwhile(
    redis_server: RedisServer, instances: tuple[Instance, Instance]
) -> None:
    one, two = instances
    ticket = await one.lobby.quick_match("ana", never)
    assert isinstance(ticket, Ticket)
    await one.close()  # instance one restarts: ana's page is away, her ticket stays in Redis
    live = await two.lobby.quick_match("ben", never)  # within the staleness window: paired
    assert isinstance(live, LiveGame)
    assert {live.record.red, live.record.yellow} == {"ana", "ben"}
    again = await Instance(redis_server.url).start()
    try:
        found = await again.lobby.resume("ana", never)  # her reloaded page, on the restarted instance
        assert isinstance(found, LiveGame)
        assert found.id == live.id
        assert await again.lobby.resume("ana", never) is None  # taken once
    finally:
        await again.close()


async def test_a_page_back_on_a_restarted_instance_waits_in_its_place_and_is_paired_from_the_other(
    redis_server: RedisServer, instances: tuple[Instance, Instance]
) -> None:
    one, two = instances
    ticket = await one.lobby.quick_match("ana", never)
    assert isinstance(ticket, Ticket)
    await one.close()
    again = await Instance(redis_server.url).start()
    try:
        told: list[LiveGame] = []
        assert await again.lobby.store.ticket_of("ana", time.time() - TICKET_KEPT) == ticket
        assert await again.lobby.resume("ana", told.append) == ticket  # same id and since: her place
        live = await two.lobby.quick_match("ben", never)
        assert isinstance(live, LiveGame)
        await eventually(lambda: bool(told), what="the restarted instance to hear of the pairing")
        assert [game.id for game in told] == [live.id]
    finally:
        await again.close()


async def test_a_ticket_not_refreshed_within_the_staleness_window_is_not_paired_across_instances(
    redis_server: RedisServer, instances: tuple[Instance, Instance]
) -> None:
    one, two = instances
    ticket = await one.lobby.quick_match("ana", never)
    assert isinstance(ticket, Ticket)
    await one.close()
    await two.lobby.store.poll([ticket], time.time() - TICKET_STALE - 1)  # her page was last seen 6 s ago
    told: list[LiveGame] = []
    waiting = await two.lobby.quick_match("ben", told.append)
    assert isinstance(waiting, Ticket)  # not paired with an empty chair
    again = await Instance(redis_server.url).start()
    try:
        found = await again.lobby.resume("ana", never)  # her page is back: the pairing it missed is made now
        assert isinstance(found, LiveGame)
        assert {found.record.red, found.record.yellow} == {"ana", "ben"}
        await eventually(lambda: bool(told), what="instance two to hear of the pairing")
        assert [game.id for game in told] == [found.id]
    finally:
        await again.close()


async def test_a_ticket_abandoned_longer_than_it_is_kept_leaves_the_shared_queue(
    redis_server: RedisServer, instances: tuple[Instance, Instance]
) -> None:
    one, two = instances
    ticket = await one.lobby.quick_match("ana", never)
    assert isinstance(ticket, Ticket)
    await one.close()
    await two.lobby.store.poll([ticket], time.time() - TICKET_KEPT - 1)
    again = await Instance(redis_server.url).start()
    try:
        assert await again.lobby.resume("ana", never) is None
        assert isinstance(await two.lobby.quick_match("ben", never), Ticket)
        assert await again.lobby.store.ticket_of("ana", 0) is None
    finally:
        await again.close()
