"""The Redis store against a real redis-server: the Store contract, races, pub/sub, losing Redis and getting it back."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import Any

import pytest
import redis.asyncio as redis

from engine.connect4 import Player
from engine.levels import Level
from games.errors import StoreUnavailableError
from games.hub import GameEvent, GameHub, MovePlayed
from games.model import GameRecord, Mode, new_id, new_key
from games.redis_store import RedisStore
from tests.redis_fixtures import RedisServer, eventually


class Instances:
    """Started RedisStores and hubs on the test's Redis, each one standing for another server instance."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.stores: list[RedisStore] = []

    async def store(
        self, on_remote: Callable[[GameRecord], None] | None = None, *, retry_interval: float = 0.5
    ) -> RedisStore:
        store = RedisStore(self.url, retry_interval=retry_interval)
        self.stores.append(store)
        await store.start(on_remote or (lambda record: None))
        return store

    async def hub(self, *, retry_interval: float = 0.5) -> tuple[GameHub, RedisStore]:
        store = RedisStore(self.url, retry_interval=retry_interval)
        self.stores.append(store)
        hub = GameHub(store)
        await hub.start()
        return hub, store


@pytest.fixture
async def instances(redis_server: RedisServer) -> AsyncIterator[Instances]:
    instances = Instances(redis_server.url)
    yield instances
    for store in instances.stores:
        await store.close()


@pytest.fixture
async def store(instances: Instances) -> RedisStore:
    return await instances.store()


def new_record(**changes: Any) -> GameRecord:
    record = GameRecord(id=new_id(), mode=Mode.ONLINE, join_key=new_key(), watch_key=new_key(), red="alice")
    return replace(record, **changes)


# -- the Store contract ------------------------------------------------------------------------


async def test_a_created_game_is_loaded_by_id_and_found_by_either_key(store: RedisStore) -> None:
    record = new_record()
    await store.create(record)
    assert await store.load(record.id) == record
    assert await store.find(record.join_key) == record
    assert await store.find(record.watch_key) == record
    assert await store.load("nope") is None
    assert await store.find("nope") is None


@pytest.mark.parametrize("level", list(Level))
async def test_the_level_round_trips_by_name(store: RedisStore, redis_server: RedisServer, level: Level) -> None:
    record = new_record(mode=Mode.COMPUTER, level=level)
    await store.create(record)
    loaded = await store.load(record.id)
    assert loaded is not None
    assert loaded.level is level
    client = redis.from_url(redis_server.url, decode_responses=True)
    try:
        keys = [key async for key in client.scan_iter(f"*{record.id}*")]
        (text,) = [await client.hget(key, "record") for key in keys if await client.type(key) == "hash"]
    finally:
        await client.aclose()
    assert f'"level":"{level.name}"' in str(text)


async def test_a_record_that_holds_the_level_as_a_string_loads(store: RedisStore, redis_server: RedisServer) -> None:
    record = new_record(mode=Mode.COMPUTER, level=Level.CASUAL)
    await store.create(record)
    client = redis.from_url(redis_server.url, decode_responses=True)
    try:
        (key,) = [key async for key in client.scan_iter(f"*{record.id}*") if await client.type(key) == "hash"]
        text = str(await client.hget(key, "record"))
        await client.hset(key, "record", text.replace('"level":"CASUAL"', '"level":"beginner"'))
    finally:
        await client.aclose()
    loaded = await store.load(record.id)
    assert loaded is not None
    assert loaded.level is Level.BEGINNER


async def test_save_stores_only_the_next_version(store: RedisStore) -> None:
    record = new_record()
    await store.create(record)
    first = record.changed(yellow="bob")
    assert await store.save(first) is True
    assert await store.save(first) is False  # the stored version is 1 now, not 0
    assert await store.save(first.changed(moves="4").changed(moves="44")) is False  # skips version 2
    assert await store.save(record.changed(yellow="carol")) is False  # built on the old version
    second = first.changed(moves="4")
    assert await store.save(second) is True
    assert await store.load(record.id) == second
    assert await store.find(record.join_key) == second
    assert await store.save(new_record().changed(moves="4")) is False  # a game that was never created


async def test_delete_idle_removes_old_games_with_their_keys(store: RedisStore, redis_server: RedisServer) -> None:
    now = time.time()
    old = new_record(updated=now - 100)
    recent = new_record(updated=now)
    for record in (old, recent):
        await store.create(record)
    assert await store.delete_idle(now - 50) == 1
    assert await store.load(old.id) is None
    assert await store.find(old.join_key) is None
    assert await store.find(old.watch_key) is None
    assert await store.load(recent.id) == recent
    assert await store.delete_idle(now - 50) == 0
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    try:
        left = set(await client.keys("c4:*"))
        assert old.id not in await client.zrange("c4:updated", 0, -1)
    finally:
        await client.aclose()
    assert left == {
        f"c4:game:{recent.id}",
        f"c4:key:{recent.join_key}",
        f"c4:key:{recent.watch_key}",
        "c4:updated",
        "c4:indexed:seats",  # the store's mark that every game's seats are indexed
        "c4:player:alice",  # alice's seat in the recent game; the old one left her index with its game
    }


async def test_a_replay_key_and_a_review_round_trip_and_go_with_the_game(
    store: RedisStore, redis_server: RedisServer
) -> None:
    game = new_record(replay_key=new_key(), updated=time.time() - 100)
    await store.create(game)
    assert await store.find(game.replay_key or "") == game
    assert await store.load_review(game.id) is None
    await store.save_review(game.id, '{"moves":"","scores":[]}')
    assert await store.load_review(game.id) == '{"moves":"","scores":[]}'
    moved = game.changed(moves="4")
    assert await store.save(moved)
    assert await store.find(game.replay_key or "") == moved
    assert await store.load_review(game.id) == '{"moves":"","scores":[]}'  # a save leaves the review alone
    assert await store.delete_idle(time.time() - 50) == 0  # the save counted as activity
    assert await store.delete_idle(time.time() + 1) == 1
    assert await store.find(game.replay_key or "") is None
    assert await store.load_review(game.id) is None
    await store.save_review(game.id, "{}")  # a review of a game that is gone is not kept
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    try:
        assert await client.keys("c4:*") == ["c4:indexed:seats"]  # nothing of the game; the store's one mark
    finally:
        await client.aclose()


async def test_a_game_stored_before_replays_gets_its_replay_key_on_a_later_save(store: RedisStore) -> None:
    game = new_record()
    assert game.replay_key is None
    await store.create(game)
    keyed = game.changed(replay_key=new_key())
    assert await store.save(keyed)
    assert await store.find(keyed.replay_key or "") == keyed
    assert await store.save(keyed.changed(moves="4"))  # the next save keeps it (and writes no key again)
    assert (await store.find(keyed.replay_key or "")) == await store.load(game.id)


async def test_a_save_counts_as_activity_for_delete_idle(store: RedisStore) -> None:
    record = new_record(updated=time.time() - 100)
    await store.create(record)
    assert await store.save(record.changed(yellow="bob"))  # changed() stamps the current time
    assert await store.delete_idle(time.time() - 50) == 0
    assert await store.load(record.id) is not None


async def test_delete_idle_works_through_more_games_than_one_batch(store: RedisStore) -> None:
    old = time.time() - 100
    for _ in range(1203):
        await store.create(new_record(updated=old))
    assert await store.delete_idle(time.time()) == 1203


async def test_ping_answers(store: RedisStore) -> None:
    assert await store.ping() is True
    assert store.available


async def test_two_prefixes_keep_two_apps_apart(redis_server: RedisServer) -> None:
    one = RedisStore(redis_server.url, prefix="one:")
    other = RedisStore(redis_server.url, prefix="other:")
    for store in (one, other):
        await store.start(lambda record: None)
    try:
        record = new_record()
        await one.create(record)
        assert await other.load(record.id) is None
        assert await other.find(record.join_key) is None
    finally:
        for store in (one, other):
            await store.close()


# -- two instances on one Redis ------------------------------------------------------------------


async def test_two_instances_racing_on_one_version_never_both_win(instances: Instances) -> None:
    a, b = await instances.store(), await instances.store()
    record = new_record(yellow="bob")
    await a.create(record)
    for turn in range(100):
        mine = record.changed(moves=record.moves + "1")
        theirs = record.changed(moves=record.moves + "2")
        results = await asyncio.gather(a.save(mine), b.save(theirs))
        assert sorted(results) == [False, True], f"turn {turn}: {results}"
        record = mine if results[0] else theirs
        assert await b.load(record.id) == record
    assert len(record.moves) == 100


async def test_a_change_on_one_instance_reaches_a_hub_following_it_on_another(instances: Instances) -> None:
    hub_a, _ = await instances.hub()
    hub_b, store_b = await instances.hub()
    live_a = await hub_a.create(Mode.ONLINE, "alice")
    await hub_a.join(live_a, "bob")
    live_b = await hub_b.get(live_a.id)
    events: list[GameEvent] = []
    live_b.subscribe(events.append)
    await eventually(lambda: live_a.id in store_b._followed, what="hub B to follow the game")

    await hub_a.play(live_a, "alice", 3)
    await eventually(lambda: live_b.board.moves_str() == "4", what="hub B to show red's move")
    assert live_b.record == live_a.record
    assert any(isinstance(event, MovePlayed) and event.move.player is Player.RED for event in events)

    await hub_b.play(live_b, "bob", 3)
    await eventually(lambda: live_a.board.moves_str() == "44", what="hub A to show yellow's move")


async def test_following_a_game_reports_its_current_record(instances: Instances) -> None:
    heard: list[GameRecord] = []
    a = await instances.store()
    b = await instances.store(heard.append)
    record = new_record()
    await a.create(record)
    newer = record.changed(yellow="bob")
    assert await a.save(newer)
    # B subscribes only now: what was saved before is read once, so nothing stays missed.
    await b.follow(record.id)
    await eventually(lambda: newer in heard, what="the current record")
    newest = newer.changed(moves="4")
    assert await a.save(newest)
    await eventually(lambda: newest in heard, what="the published record")


async def test_an_unfollowed_game_is_no_longer_reported(instances: Instances) -> None:
    heard: list[GameRecord] = []
    a = await instances.store()
    b = await instances.store(heard.append)
    watched, other = new_record(), new_record()
    for record in (watched, other):
        await a.create(record)
        await b.follow(record.id)
    await eventually(lambda: {r.id for r in heard} == {watched.id, other.id}, what="both games")
    await b.unfollow(watched.id)
    assert await a.save(watched.changed(yellow="bob"))
    last = other.changed(yellow="bob")
    assert await a.save(last)  # published after the first: when it arrives, the first would have
    await eventually(lambda: last in heard, what="the followed game's change")
    assert all(record.id != watched.id or record.version == 0 for record in heard)


# -- losing Redis and getting it back -------------------------------------------------------------


async def test_while_redis_is_down_every_call_fails_as_store_unavailable(
    instances: Instances, redis_server: RedisServer
) -> None:
    store = await instances.store()
    statuses: list[bool] = []
    store.on_status(statuses.append)
    record = new_record()
    await store.create(record)
    await store.follow(record.id)

    redis_server.stop()
    await eventually(lambda: not store.available, what="the store to notice")
    assert statuses == [False]
    for call in (
        lambda: store.create(new_record()),
        lambda: store.load(record.id),
        lambda: store.find(record.join_key),
        lambda: store.save(record.changed(yellow="bob")),
        lambda: store.delete_idle(time.time()),
    ):
        with pytest.raises(StoreUnavailableError, match="The connection to the game server was lost"):
            await call()
    assert await store.ping() is False
    assert not store.available

    redis_server.start()
    await eventually(lambda: store.available, what="the store to reconnect")
    assert statuses == [False, True]
    assert await store.ping() is True
    assert await store.load(record.id) == record  # SHUTDOWN SAVE kept it
    assert await store.save(record.changed(yellow="bob"))


async def test_a_store_started_while_redis_is_down_connects_when_it_comes_up(redis_server: RedisServer) -> None:
    redis_server.stop()
    store = RedisStore(redis_server.url, retry_interval=0.1)
    await store.start(lambda record: None)
    try:
        assert not store.available
        assert await store.ping() is False
        redis_server.start()
        await eventually(lambda: store.available, what="the store to connect")
        await store.create(record := new_record())
        assert await store.load(record.id) == record
    finally:
        await store.close()


async def test_changes_missed_while_redis_was_down_reach_the_follower(
    instances: Instances, redis_server: RedisServer
) -> None:
    hub_a, store_a = await instances.hub()
    # B waits longer between attempts, so A's change below is saved while B is not subscribed.
    hub_b, store_b = await instances.hub(retry_interval=2.0)
    live_a = await hub_a.create(Mode.ONLINE, "alice")
    await hub_a.join(live_a, "bob")
    live_b = await hub_b.get(live_a.id)
    await eventually(lambda: live_a.id in store_b._followed, what="hub B to follow the game")
    await hub_a.play(live_a, "alice", 3)
    await eventually(lambda: live_b.board.moves_str() == "4", what="hub B to show the first move")

    redis_server.stop()
    await eventually(lambda: not store_a.available and not store_b.available, what="both to notice")
    with pytest.raises(StoreUnavailableError):
        await hub_a.play(live_a, "bob", 2)
    assert live_a.board.moves_str() == "4"  # nothing was stored, so nothing is shown

    redis_server.start()
    await hub_a.play(live_a, "bob", 2)  # A's next call reconnects by itself
    assert not store_b.available, "B reconnected before A's change: this run did not test catching up"
    await eventually(lambda: store_b.available, timeout=10, what="hub B to reconnect")
    await eventually(lambda: live_b.board.moves_str() == "43", what="hub B to catch up")
    await hub_b.play(live_b, "alice", 3)
    await eventually(lambda: live_a.board.moves_str() == "434", what="hub A to hear B again")


async def test_close_ends_the_background_tasks(redis_server: RedisServer) -> None:
    before = asyncio.all_tasks()
    store = RedisStore(redis_server.url)
    await store.start(lambda record: None)
    await store.follow("some-game")
    assert len(asyncio.all_tasks() - before) >= 2  # the supervisor and the reader
    await store.close()
    await asyncio.sleep(0)
    assert {task for task in asyncio.all_tasks() - before if not task.done()} == set()
    with pytest.raises(StoreUnavailableError):
        await store.load("some-game")


async def test_more_calls_than_connections_wait_their_turn_instead_of_failing(redis_server: RedisServer) -> None:
    # Under load more calls are in flight than the pool has connections: they queue, the store
    # stays available, and every one is answered.
    store = RedisStore(redis_server.url, max_connections=3)  # the subscription takes one of them
    statuses: list[bool] = []
    await store.start(lambda record: None)
    store.on_status(statuses.append)
    try:
        games = [new_record() for _ in range(40)]

        async def burst() -> tuple[list[GameRecord | None], list[bool]]:
            await asyncio.gather(*(store.create(game) for game in games))
            loaded = await asyncio.gather(*(store.load(game.id) for game in games))
            saved = await asyncio.gather(*(store.save(replace(game, version=game.version + 1)) for game in games))
            return loaded, saved

        loaded, saved = await asyncio.wait_for(burst(), 20)
        assert loaded == games
        assert saved == [True] * len(games)
        assert store.available
        assert False not in statuses
    finally:
        await store.close()


# Keeps Redis busy for 50 ms (Redis runs one script at a time, every other client waits).
_BUSY = """
local t = redis.call('TIME')
local start = t[1] * 1000000 + t[2]
repeat t = redis.call('TIME') until t[1] * 1000000 + t[2] - start > 50000
return 1
"""


async def test_a_call_waits_for_a_free_connection_for_as_long_as_redis_keeps_answering(
    redis_server: RedisServer,
) -> None:
    # An overloaded server holds each connection longer, and a long queue of calls waits longer
    # than any fixed limit although Redis answers every one: that is not a lost Redis. Here one
    # connection serves 120 calls, each behind 50 ms of another client's script: about 6 s in all.
    store = RedisStore(redis_server.url, max_connections=2)  # the subscription takes one
    statuses: list[bool] = []
    await store.start(lambda record: None)
    store.on_status(statuses.append)
    game = new_record()
    await store.create(game)
    busy = redis.Redis.from_url(redis_server.url)
    done = asyncio.Event()

    async def keep_redis_busy() -> int:
        scripts = 0
        while not done.is_set():
            await busy.eval(_BUSY, 0)
            scripts += 1
        return scripts

    worker = asyncio.create_task(keep_redis_busy())
    try:
        started = time.monotonic()
        loaded = await asyncio.wait_for(asyncio.gather(*(store.load(game.id) for _ in range(120))), 60)
        waited = time.monotonic() - started
    finally:
        done.set()
        scripts = await worker
        await busy.aclose()
        await store.close()
    assert loaded == [game] * 120
    assert waited > 5  # the last calls waited longer than the limit the pool used to have
    assert scripts > 50
    assert False not in statuses


async def test_a_browsers_games_are_indexed_as_it_takes_seats_and_leave_the_index_with_their_game(
    store: RedisStore, redis_server: RedisServer
) -> None:
    now = time.time()
    old = new_record(updated=now - 100)
    game = new_record(updated=now - 1)
    against_computer = new_record(mode=Mode.COMPUTER, red="computer", yellow="alice", updated=now - 2)
    for record in (old, game, against_computer):
        await store.create(record)
    assert [r.id for r in await store.games_of("alice", 50)] == [game.id, against_computer.id, old.id]
    assert await store.games_of("bob", 50) == []
    joined = game.changed(yellow="bob", yellow_name="Ben")
    assert await store.save(joined)
    assert await store.games_of("bob", 50) == [joined]
    assert await store.games_of("alice", 1) == [joined]
    assert await store.delete_idle(now - 50) == 1
    assert [r.id for r in await store.games_of("alice", 50)] == [joined.id, against_computer.id]
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    try:
        assert await client.zrange("c4:player:alice", 0, -1) == [against_computer.id, joined.id]
        assert not await client.exists("c4:player:computer")  # the computer's seat is nobody's game list
        await client.delete(f"c4:game:{against_computer.id}")  # gone without delete_idle
        assert await store.games_of("alice", 50) == [joined]
        assert await client.zrange("c4:player:alice", 0, -1) == [joined.id]
    finally:
        await client.aclose()


async def test_a_record_stored_before_names_reads_with_none_and_no_score(
    store: RedisStore, redis_server: RedisServer
) -> None:
    record = new_record(yellow="bob")
    await store.create(record)
    data = json.loads(record.to_json())
    for field in ("red_name", "yellow_name", "red_wins", "yellow_wins"):
        del data[field]
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    try:
        await client.hset(f"c4:game:{record.id}", "record", json.dumps(data))
    finally:
        await client.aclose()
    loaded = await store.load(record.id)
    assert loaded == record
    assert await store.save(record.changed(red_name="Ana", red_wins=1))
    saved = await store.load(record.id)
    assert saved is not None
    assert (saved.red_name, saved.red_wins) == ("Ana", 1)


async def test_names_scores_and_a_players_games_span_instances(instances: Instances) -> None:
    hub_a, _ = await instances.hub()
    hub_b, store_b = await instances.hub()
    live_a = await hub_a.create(Mode.ONLINE, "alice", name="Ana")
    live_b = await hub_b.find(live_a.record.join_key)
    await eventually(lambda: live_a.id in store_b._followed, what="hub B to follow the game")
    events: list[GameEvent] = []
    live_a.subscribe(events.append)
    await hub_b.join(live_b, "bob", name="Ben")  # Ben joins on the other instance
    await eventually(lambda: live_a.record.yellow_name == "Ben", what="hub A to show Ben's name")
    assert [r.id for r in await hub_a.games_of("bob")] == [live_a.id]
    assert [r.id for r in await hub_b.games_of("alice")] == [live_a.id]
    await hub_a.resign(live_a, "alice")
    await eventually(lambda: live_b.is_over, what="hub B to see the end")
    await hub_a.rematch(live_a, "alice")
    await eventually(lambda: bool(live_b.record.rematch), what="hub B to see the request")
    await hub_b.rematch(live_b, "bob")
    await eventually(lambda: live_a.record.round == 2, what="hub A to see the rematch")
    assert (live_a.record.red_name, live_a.record.red_wins, live_a.record.yellow_wins) == ("Ben", 1, 0)


async def test_games_stored_before_the_seats_index_are_indexed_when_an_instance_starts(
    instances: Instances, redis_server: RedisServer
) -> None:
    old = new_record(yellow="bob")
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    try:
        # What an instance without the index stored: no seats in the hash, no c4:player:<id> sets.
        await client.hset(
            f"c4:game:{old.id}",
            mapping={"record": old.to_json(), "version": old.version, "join": old.join_key, "watch": old.watch_key},
        )
        store = await instances.store()
        await eventually(lambda: not store._refreshes, what="the indexing to finish")
        assert await store.games_of("alice", 50) == [old]
        assert await store.games_of("bob", 50) == [old]
        assert await client.get("c4:indexed:seats") == "1"
        await client.delete("c4:player:bob")
        again = await instances.store()  # marked as done: no second pass
        await eventually(lambda: not again._refreshes, what="the second start")
        assert await again.games_of("bob", 50) == []
    finally:
        await client.aclose()
