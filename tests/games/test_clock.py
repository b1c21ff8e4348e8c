"""Clocks of timed online games: the arithmetic, the server deciding a loss on time, a restart."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.connect4 import GameOverError, Player, Termination
from games.clock import CHOICES, Clock, clock_text
from games.errors import NotAllowedError, OutOfTimeError
from games.hub import GameHub
from games.model import GameRecord, Mode
from games.redis_store import RedisStore
from games.sqlite_store import SQLiteStore
from games.store import MemoryStore
from tests.redis_fixtures import RedisServer

RED, YELLOW = Player.RED, Player.YELLOW


def test_a_new_clock_is_full_and_stopped() -> None:
    clock = Clock.new(180)
    assert (clock.red, clock.yellow, clock.since, clock.out) == (180.0, 180.0, None, None)
    assert clock.left(RED, RED, now=1e9) == 180.0
    assert clock.due(RED, now=1e9) is None


def test_only_the_movers_clock_runs_and_a_move_hands_it_over() -> None:
    clock = Clock.new(60).start(now=100.0)
    assert clock.left(RED, RED, now=110.0) == 50.0
    assert clock.left(YELLOW, RED, now=110.0) == 60.0
    assert clock.due(RED, now=110.0) == 160.0
    after = clock.moved(RED, now=112.5, over=False)
    assert (after.red, after.yellow, after.since) == (47.5, 60.0, 112.5)
    assert after.left(YELLOW, YELLOW, now=122.5) == 50.0
    assert after.left(RED, YELLOW, now=122.5) == 47.5


def test_the_end_stops_both_clocks() -> None:
    clock = Clock.new(60).start(now=0.0)
    assert clock.moved(RED, now=5.0, over=True).since is None
    stopped = clock.stopped(RED, now=7.0)
    assert (stopped.red, stopped.since) == (53.0, None)
    assert stopped.left(RED, RED, now=1000.0) == 53.0


def test_time_never_reads_below_zero_and_a_timed_out_clock_names_the_loser() -> None:
    clock = Clock.new(60).start(now=0.0)
    assert clock.left(RED, RED, now=500.0) == 0.0
    out = clock.timed_out(RED)
    assert (out.red, out.since, out.out) == (0.0, None, RED)
    assert out.due(RED, now=500.0) is None


@given(
    seconds=st.sampled_from([s for s in CHOICES if s]),
    red=st.floats(0, 300),
    yellow=st.floats(0, 300),
    since=st.none() | st.floats(0, 2e9),
    out=st.none() | st.sampled_from(list(Player)),
)
def test_a_clock_is_stored_and_read_back_whole(
    seconds: int, red: float, yellow: float, since: float | None, out: Player | None
) -> None:
    clock = Clock(seconds, red, yellow, since, out)
    assert Clock.from_json(clock.to_json()) == clock


@pytest.mark.parametrize("seconds", [0, -5, 3601, True, 1.5])
def test_a_clock_outside_what_a_game_may_have_is_refused(seconds: int) -> None:
    with pytest.raises(ValueError, match="1 to 3600 seconds per player"):
        Clock.new(seconds)


@pytest.mark.parametrize(
    ("seconds", "text"), [(180, "3:00"), (59.2, "1:00"), (9.01, "0:10"), (0.4, "0:01"), (0, "0:00")]
)
def test_clock_text_rounds_up_so_0_00_means_the_time_is_gone(seconds: float, text: str) -> None:
    assert clock_text(seconds) == text


async def timed_game(hub: GameHub, seconds: int) -> GameRecord:
    live = await hub.create(Mode.ONLINE, "alice", clock=seconds)
    assert live.record.clock is not None
    assert live.record.clock.since is None
    await hub.join(live, "bob")
    return live.record


async def test_the_clock_starts_with_the_second_player_and_a_move_charges_the_mover() -> None:
    hub = GameHub(MemoryStore())
    record = await timed_game(hub, 60)
    live = await hub.get(record.id)
    assert live.record.clock is not None
    assert live.record.clock.since is not None
    await asyncio.sleep(0.2)
    await hub.play(live, "alice", 3)
    clock = live.record.clock
    assert clock is not None
    assert 59.0 < clock.red <= 59.8
    assert clock.yellow == 60.0
    await hub.close()


async def test_a_player_out_of_time_loses_and_nothing_more_is_played() -> None:
    hub = GameHub(MemoryStore())
    record = await timed_game(hub, 1)
    live = await hub.get(record.id)
    await hub.play(live, "alice", 3)  # red moves at once: yellow's second runs
    assert not await hub.time_out(live)  # not due yet: refused, nothing changes
    assert not live.is_over
    await asyncio.sleep(1.3)  # the server's timer decides, without anyone clicking
    outcome = live.outcome
    assert outcome is not None
    assert (outcome.termination, outcome.winner) == (Termination.TIME, RED)
    assert live.record.clock is not None
    assert live.record.clock.yellow == 0.0
    with pytest.raises(GameOverError):
        await hub.play(live, "bob", 4)
    with pytest.raises(GameOverError):
        await hub.resign(live, "bob")
    await hub.close()


async def test_a_move_after_the_time_ran_out_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    hub = GameHub(MemoryStore())
    record = await timed_game(hub, 60)
    live = await hub.get(record.id)
    later = time.time() + 61
    monkeypatch.setattr(time, "time", lambda: later)  # the move arrives a second after red's minute ended
    with pytest.raises(OutOfTimeError, match="Your time is up"):
        await hub.play(live, "alice", 3)
    assert live.record.moves == ""
    monkeypatch.undo()
    await hub.close()


async def test_a_rematch_gives_both_full_clocks_again() -> None:
    hub = GameHub(MemoryStore())
    record = await timed_game(hub, 1)
    live = await hub.get(record.id)
    await asyncio.sleep(1.3)
    assert live.is_over
    await hub.rematch(live, "alice")
    await hub.rematch(live, "bob")
    clock = live.record.clock
    assert clock is not None
    assert (clock.red, clock.yellow, clock.out) == (1.0, 1.0, None)
    assert clock.since is not None
    await hub.close()


@pytest.mark.parametrize(("mode", "seconds"), [(Mode.LOCAL, 60), (Mode.ONLINE, 7200), (Mode.ONLINE, -1)])
async def test_a_clock_a_game_may_not_have_is_refused_and_stores_nothing(mode: Mode, seconds: int) -> None:
    store = MemoryStore()
    hub = GameHub(store)
    with pytest.raises(NotAllowedError):
        await hub.create(mode, "alice", clock=seconds)
    assert hub.live_games == 0


async def test_clocks_survive_a_restart_and_a_clock_that_ran_out_meanwhile_ends_the_game(tmp_path: Path) -> None:
    database = tmp_path / "games.db"
    store = SQLiteStore(database)
    hub = GameHub(store)
    await hub.start()
    record = await timed_game(hub, 1)
    await hub.play(await hub.get(record.id), "alice", 4)
    await hub.close()  # the server stops with yellow's clock running

    await asyncio.sleep(1.2)
    store = SQLiteStore(database)
    hub = GameHub(store)
    await hub.start()
    live = await hub.get(record.id)
    assert live.record.moves == "5"
    assert live.record.clock is not None
    assert live.record.clock.seconds == 1
    await asyncio.sleep(0.2)  # the restarted server finds the clock due and decides
    outcome = live.outcome
    assert outcome is not None
    assert (outcome.termination, outcome.winner) == (Termination.TIME, RED)
    reloaded = await store.load(record.id)
    assert reloaded is not None
    assert reloaded.clock is not None
    assert reloaded.clock.out is YELLOW
    await hub.close()


async def test_two_instances_on_redis_record_one_loss_on_time(redis_server: RedisServer) -> None:
    first, second = GameHub(RedisStore(redis_server.url)), GameHub(RedisStore(redis_server.url))
    await first.start()
    await second.start()
    try:
        record = await timed_game(first, 1)
        here, there = await first.get(record.id), await second.get(record.id)  # both show the game
        await first.play(here, "alice", 3)
        await asyncio.sleep(1.5)  # both instances' timers come due
        for live in (here, there):
            outcome = live.outcome
            assert outcome is not None
            assert (outcome.termination, outcome.winner) == (Termination.TIME, RED)
        stored = await first.store.load(record.id)
        assert stored is not None
        assert stored.version == here.record.version == there.record.version
        # created, joined, one move, one loss on time: no second record of it
        assert stored.version == record.version + 2
    finally:
        await first.close()
        await second.close()
