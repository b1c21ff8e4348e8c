"""The store contract, against the in-memory store and a real SQLite file."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from engine.connect4 import Player
from engine.levels import Level
from games.clock import Clock
from games.errors import StoreUnavailableError
from games.hub import GameHub
from games.model import GameRecord, Mode, Said, new_id, new_key
from games.sqlite_store import SQLiteStore
from games.store import MemoryStore, Store


def record(**changes: object) -> GameRecord:
    base = GameRecord(id=new_id(), mode=Mode.ONLINE, join_key=new_key(), watch_key=new_key(), red="alice")
    return base.changed(**changes) if changes else base


@pytest.fixture(params=["memory", "sqlite"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    store: Store = MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "games.db")
    await store.start(lambda _: None)
    yield store
    await store.close()


async def test_create_load_and_find_by_either_key(store: Store) -> None:
    game = record()
    await store.create(game)
    assert await store.load(game.id) == game
    assert await store.find(game.join_key) == game
    assert await store.find(game.watch_key) == game
    assert await store.load("nope") is None
    assert await store.find("nope") is None


async def test_save_is_a_compare_and_set_on_the_version(store: Store) -> None:
    game = record()
    await store.create(game)
    first = game.changed(moves="4", yellow="bob", rematch=frozenset({Player.RED}), resigned=Player.YELLOW)
    assert await store.save(first)
    assert not await store.save(game.changed(moves="5"))  # built on version 0, which is gone
    assert not await store.save(first)  # the same version twice
    assert await store.load(game.id) == first
    assert await store.save(first.changed(moves="44"))


async def test_a_move_and_a_change_of_seat_key_or_name_are_each_stored_whole(store: Store) -> None:
    # A move's save leaves the seats and the replay key as they were (the SQLite store then writes
    # fewer columns); a join, a replay key and a name change them. Each must come back as saved.
    clock = Clock.new(180).start(now=1000.0)
    game = record(clock=clock)
    await store.create(game)
    moved = game.changed(
        moves="4",
        clock=clock.moved(Player.RED, 1004.5, over=False),
        said=Said(Player.RED, "Good luck!", 1005.0),
        red_wins=2,
        abandoned=True,
    )
    joined = moved.changed(yellow="bob", moves="44")
    keyed = joined.changed(replay_key="k" * 32)
    named = keyed.changed(red_name="Ada", yellow_name="Bo", moves="444", resigned=Player.YELLOW)
    for saved in (moved, joined, keyed, named):
        assert await store.save(saved)
        assert await store.load(game.id) == saved
    assert await store.find(game.join_key) == named


async def test_delete_idle(store: Store) -> None:
    old = record()
    old = GameRecord(**{**old.__dict__, "updated": time.time() - 100})
    new = record()
    await store.create(old)
    await store.create(new)
    assert await store.delete_idle(time.time() - 50) == 1
    assert await store.load(old.id) is None
    assert await store.find(old.join_key) is None
    assert await store.load(new.id) == new


async def started(path: Path) -> SQLiteStore:
    """A SQLite store on ``path``, started (no other instance to hear from)."""
    store = SQLiteStore(path)
    await store.start(lambda _: None)
    return store


async def test_ping(store: Store) -> None:
    assert await store.ping()


@pytest.mark.parametrize("level", [*Level, None])
async def test_the_level_round_trips(store: Store, level: Level | None) -> None:
    game = record(mode=Mode.COMPUTER, level=level)
    await store.create(game)
    loaded = await store.load(game.id)
    assert loaded is not None
    assert loaded.level is level


async def test_sqlite_stores_the_level_by_name_and_reads_rows_that_hold_a_string(tmp_path: Path) -> None:
    path = tmp_path / "games.db"
    store = await started(path)
    games = [record(mode=Mode.COMPUTER, level=Level.STRONG) for _ in range(4)]
    for game in games:
        await store.create(game)
    await store.close()
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT level FROM games WHERE id = ?", (games[0].id,)).fetchone() == ("STRONG",)
        # Rows written before the enum: the name as the page sent it, a value, a string that names nothing.
        for game, text in zip(games[1:], ("CASUAL", "perfect", "grandmaster"), strict=True):
            db.execute("UPDATE games SET level = ? WHERE id = ?", (text, game.id))
    reopened = await started(path)
    levels = [loaded.level for game in games if (loaded := await reopened.load(game.id)) is not None]
    await reopened.close()
    assert levels == [Level.STRONG, Level.CASUAL, Level.PERFECT, None]


async def test_sqlite_keeps_games_across_reopening(tmp_path: Path) -> None:
    path = tmp_path / "games.db"
    store = await started(path)
    game = record()
    await store.create(game)
    await store.save(game.changed(moves="4453"))
    await store.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    reopened = await started(path)
    loaded = await reopened.load(game.id)
    await reopened.close()
    assert loaded is not None
    assert loaded.moves == "4453"
    assert loaded.version == 1


async def test_a_burst_of_moves_from_many_games_shares_commits(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "games.db")
    hub = GameHub(store)
    await hub.start()
    games = [await hub.create(Mode.LOCAL, f"player{i}") for i in range(100)]
    commits_before = store.commits
    await asyncio.gather(*(hub.play(live, live.record.red or "", 3) for live in games))
    commits = store.commits - commits_before
    await hub.close()
    assert all(live.record.moves == "4" for live in games)
    assert commits < 50, f"{commits} commits for 100 moves"


async def test_a_batch_wakes_the_event_loop_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = SQLiteStore(tmp_path / "games.db")
    hub = GameHub(store)
    await hub.start()
    games = [await hub.create(Mode.LOCAL, f"player{i}") for i in range(100)]
    loop = asyncio.get_running_loop()
    wakeups = 0
    call_soon_threadsafe = loop.call_soon_threadsafe

    def counted(*args: Any, **kwargs: Any) -> asyncio.Handle:
        nonlocal wakeups
        wakeups += 1
        return call_soon_threadsafe(*args, **kwargs)

    monkeypatch.setattr(loop, "call_soon_threadsafe", counted)
    commits_before = store.commits
    await asyncio.gather(*(hub.play(live, live.record.red or "", 3) for live in games))
    commits = store.commits - commits_before
    monkeypatch.undo()
    await hub.close()
    assert all(live.record.moves == "4" for live in games)
    # The writer thread hands a whole transaction's results back at once (per job: 100 wake-ups).
    assert wakeups == commits < 50


async def test_the_event_loop_runs_while_sqlite_waits_for_a_lock(tmp_path: Path) -> None:
    path = tmp_path / "games.db"
    store = await started(path)
    game = record()
    await store.create(game)
    blocker = sqlite3.connect(path, check_same_thread=False)
    blocker.execute("BEGIN EXCLUSIVE")
    release = threading.Timer(0.5, blocker.rollback)
    release.start()
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(tick())
    saved = await store.save(game.changed(moves="4"))  # waits for the lock in the store's thread
    ticker.cancel()
    blocker.close()
    await store.close()
    assert saved
    assert ticks >= 10  # the loop kept running for the half second the database was locked


async def test_a_closed_store_says_it_is_unavailable(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "games.db")
    with pytest.raises(StoreUnavailableError, match="connection to the game server was lost"):
        await store.load("x")


async def test_closing_finishes_the_writes_in_flight(tmp_path: Path) -> None:
    path = tmp_path / "games.db"
    store = await started(path)
    games = [record() for _ in range(50)]
    for game in games:
        await store.create(game)
    # Moves handed to the store but not yet committed when shutdown begins (as on SIGTERM).
    writes = [asyncio.ensure_future(store.save(game.changed(moves="4"))) for game in games]
    await asyncio.sleep(0)
    await store.close()
    assert all(await asyncio.gather(*writes))
    reopened = await started(path)
    loaded = [await reopened.load(game.id) for game in games]
    await reopened.close()
    assert [game.moves if game else None for game in loaded] == ["4"] * 50


async def test_a_failing_write_takes_no_other_write_with_it(tmp_path: Path) -> None:
    path = tmp_path / "games.db"
    store = await started(path)
    existing = record()
    await store.create(existing)
    # Alone in its transaction: the database's own error, and the store goes on.
    with pytest.raises(sqlite3.IntegrityError):
        await store.create(existing)
    assert await store.load(existing.id) == existing

    # In a batch: while another connection holds the lock, the writes queue up and then go in as
    # few transactions (the writer's first job waits alone, the rest share the next commit).
    blocker = sqlite3.connect(path, check_same_thread=False)
    blocker.execute("BEGIN EXCLUSIVE")
    others = [record() for _ in range(6)]
    writes = [asyncio.ensure_future(store.create(game)) for game in others[:3]]
    writes.append(asyncio.ensure_future(store.create(existing)))  # the one that fails
    writes += [asyncio.ensure_future(store.create(game)) for game in others[3:]]
    await asyncio.sleep(0.3)
    commits = store.commits
    blocker.rollback()
    results = await asyncio.gather(*writes, return_exceptions=True)
    blocker.close()
    assert isinstance(results[3], sqlite3.IntegrityError)
    assert results[:3] + results[4:] == [None] * 6
    assert store.commits - commits <= 2
    for game in others:
        assert await store.load(game.id) == game
    await store.close()


async def test_a_replay_key_finds_its_game_and_a_review_is_kept_with_it(store: Store) -> None:
    game = record(replay_key=new_key())
    await store.create(game)
    assert await store.find(game.replay_key or "") == game
    assert await store.load_review(game.id) is None
    await store.save_review(game.id, '{"moves":"4","scores":[[0,0,0,1,0,0,0]]}')
    await store.save_review(game.id, '{"moves":"","scores":[]}')  # a later review replaces the earlier one
    assert await store.load_review(game.id) == '{"moves":"","scores":[]}'
    saved = game.changed(moves="44")
    assert await store.save(saved)
    assert await store.load(game.id) == saved
    assert await store.load_review(game.id) == '{"moves":"","scores":[]}'  # a move leaves the review alone


async def test_a_game_stored_without_a_replay_key_gets_one_on_a_later_save(store: Store) -> None:
    game = record()
    assert game.replay_key is None
    await store.create(game)
    keyed = game.changed(replay_key=new_key())
    assert await store.save(keyed)
    assert await store.find(keyed.replay_key or "") == keyed


async def test_a_review_goes_with_its_game(store: Store) -> None:
    game = GameRecord(**{**record(replay_key=new_key()).__dict__, "updated": time.time() - 100})
    await store.create(game)
    await store.save_review(game.id, "{}")
    assert await store.delete_idle(time.time() - 50) == 1
    assert await store.load_review(game.id) is None
    assert await store.find(game.replay_key or "") is None
    await store.save_review(game.id, "{}")  # a review of a game that is gone is not kept
    assert await store.load_review(game.id) is None


async def test_an_sqlite_file_from_before_replays_gets_a_replay_key_for_every_game(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    columns = (
        "id TEXT PRIMARY KEY, mode TEXT NOT NULL, join_key TEXT NOT NULL UNIQUE, watch_key TEXT NOT NULL UNIQUE,"
        " red TEXT, yellow TEXT, moves TEXT NOT NULL, resigned TEXT, rematch TEXT NOT NULL, round INTEGER NOT NULL,"
        " level TEXT, version INTEGER NOT NULL, created REAL NOT NULL, updated REAL NOT NULL"
    )
    with sqlite3.connect(path) as db:
        db.execute(f"CREATE TABLE games ({columns})")
        for name in ("a", "b"):
            db.execute(
                "INSERT INTO games VALUES (?, 'local', ?, ?, 'x', 'x', '4453', NULL, '', 1, NULL, 3, 0, 0)",
                (name, f"join-{name}", f"watch-{name}"),
            )
    db.close()
    store = await started(path)
    try:
        first, second = await store.load("a"), await store.load("b")
        assert first is not None
        assert second is not None
        assert first.moves == "4453"
        assert first.clock is None  # made before clocks and quick messages: neither
        assert first.said is None
        assert first.replay_key is not None
        assert first.replay_key != second.replay_key
        assert await store.find(first.replay_key) == first
        await store.save_review("a", "{}")
        assert await store.load_review("a") == "{}"
    finally:
        await store.close()
    reopened = await started(path)  # the migration runs once: the keys stay
    try:
        again = await reopened.load("a")
        assert again is not None
        assert again.replay_key == first.replay_key
    finally:
        await reopened.close()


async def test_a_clock_and_a_quick_message_are_kept_and_saved(store: Store) -> None:
    game = record(clock=Clock.new(180).start(1000.0))
    await store.create(game)
    assert await store.load(game.id) == game
    assert game.clock is not None
    later = game.changed(
        clock=game.clock.moved(Player.RED, 1004.5, over=False), said=Said(Player.YELLOW, "Good luck!", 1005.0)
    )
    assert await store.save(later)
    assert not await store.save(later)  # the same version twice
    loaded = await store.load(game.id)
    assert loaded is not None
    assert loaded.clock == Clock(180, 175.5, 180.0, 1004.5)
    assert loaded.said == Said(Player.YELLOW, "Good luck!", 1005.0)


async def test_names_and_tallies_round_trip_and_a_browsers_games_come_newest_first(store: Store) -> None:
    now = time.time()
    older = replace(
        record(), yellow="bob", red_name="Ana", yellow_name="Ben", red_wins=2, yellow_wins=1, updated=now - 10
    )
    newer = replace(record(), mode=Mode.COMPUTER, red="computer", yellow="alice", yellow_name="Ana", updated=now - 5)
    someone_else = replace(record(), red="carol")
    for game in (older, newer, someone_else):
        await store.create(game)
    assert await store.games_of("alice", 50) == [newer, older]
    assert await store.games_of("alice", 1) == [newer]
    assert await store.games_of("bob", 50) == [older]
    assert await store.games_of("dave", 50) == []
    renamed = older.changed(yellow_name="Benny", yellow_wins=2)
    assert await store.save(renamed)
    assert await store.games_of("bob", 50) == [renamed]  # the save made it the newest
    assert await store.load(older.id) == renamed


async def test_an_sqlite_file_from_before_names_keeps_its_games_with_no_names_and_no_score(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    columns = (
        "id TEXT PRIMARY KEY, mode TEXT NOT NULL, join_key TEXT NOT NULL UNIQUE, watch_key TEXT NOT NULL UNIQUE,"
        " red TEXT, yellow TEXT, moves TEXT NOT NULL, resigned TEXT, rematch TEXT NOT NULL, round INTEGER NOT NULL,"
        " level TEXT, version INTEGER NOT NULL, created REAL NOT NULL, updated REAL NOT NULL, replay_key TEXT,"
        " review TEXT"
    )
    with sqlite3.connect(path) as db:
        db.execute(f"CREATE TABLE games ({columns})")
        db.execute(
            "INSERT INTO games VALUES ('a', 'online', 'j', 'w', 'alice', 'bob', '44', NULL, '', 3, NULL, 7, 0, 0, 'r',"
            " NULL)"
        )
    db.close()
    store = await started(path)
    try:
        game = await store.load("a")
        assert game is not None
        assert (game.red_name, game.yellow_name, game.red_wins, game.yellow_wins, game.round) == (None, None, 0, 0, 3)
        assert await store.games_of("bob", 50) == [game]
        assert await store.save(game.changed(red_name="Ana", red_wins=1))
    finally:
        await store.close()
    reopened = await started(path)
    try:
        again = await reopened.load("a")
        assert again is not None
        assert (again.red_name, again.red_wins) == ("Ana", 1)
        indexes = await reopened._call(lambda db: [row[1] for row in db.execute("PRAGMA index_list(games)")])
        assert {"games_red", "games_yellow"} <= set(indexes)
    finally:
        await reopened.close()


async def test_names_scores_and_a_players_games_survive_a_restart(tmp_path: Path) -> None:
    hub = GameHub(SQLiteStore(tmp_path / "games.db"))
    await hub.start()
    live = await hub.create(Mode.ONLINE, "alice", name="Ana")
    await hub.join(live, "bob", name="Ben")
    await hub.resign(live, "bob")
    await hub.rematch(live, "alice")
    await hub.rematch(live, "bob")
    await hub.play(live, "bob", 3)
    await hub.close()
    again = GameHub(SQLiteStore(tmp_path / "games.db"))
    await again.start()
    try:
        (mine,) = await again.games_of("alice")
        assert (mine.red, mine.red_name, mine.yellow_name, mine.yellow_wins) == ("bob", "Ben", "Ana", 1)
        assert mine.moves == "4"
    finally:
        await again.close()
