"""The lobby on the embedded stores (memory, a real SQLite file): pairing exactly once, cancel, lists, restarts."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from engine.connect4 import GameOverError, Player
from games.errors import NotAllowedError, SpectatorError
from games.hub import PRESENCE_TTL, GameEvent, GameHub, LiveGame
from games.lobby import TICKET_KEPT, TICKET_STALE, Lobby, NotOpenError, SeatTakenError, Ticket
from games.model import GameRecord, Mode, Role, new_id, new_key
from games.ratelimit import RateLimitedError, RateLimiter
from games.sqlite_store import SQLiteStore
from games.store import MemoryStore, Store
from games.stores import open_lobby_store


class Place:
    """A hub and its lobby on one store, started and closed by the fixture."""

    def __init__(self, store: Store, **hub_options: float) -> None:
        self.hub = GameHub(store, **hub_options)  # type: ignore[arg-type]
        self.lobby = Lobby(self.hub, open_lobby_store(store), poll_interval=0.02, list_interval=0.05)

    async def start(self) -> Place:
        await self.hub.start()
        await self.lobby.start()
        return self

    async def close(self) -> None:
        await self.lobby.close()
        await self.hub.close()


@pytest.fixture(params=["memory", "sqlite"])
async def place(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Place]:
    store: Store = MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "games.db")
    started = await Place(store).start()
    yield started
    await started.close()


async def open_game(place: Place, identity: str) -> LiveGame:
    """A game open to anyone, its creator's page connected (as it is, right after creating it)."""
    live = await place.lobby.create_open(identity)
    place.hub.connect(live, Role.RED)
    return live


def never(live: LiveGame) -> None:
    raise AssertionError(f"nobody should have been paired into {live.id}")


def seats(live: LiveGame) -> set[str | None]:
    return {live.record.red, live.record.yellow}


async def test_the_second_player_is_paired_with_the_first(place: Place) -> None:
    paired: list[LiveGame] = []
    ticket = await place.lobby.quick_match("ana", paired.append)
    assert isinstance(ticket, Ticket)
    live = await place.lobby.quick_match("ben", never)
    assert isinstance(live, LiveGame)
    assert paired == [live]  # the one who waited is told at once, on the same instance
    assert seats(live) == {"ana", "ben"}
    assert live.record.mode is Mode.ONLINE
    assert live.record.started
    assert place.lobby.waiting == 0


async def test_colours_are_drawn_at_random(place: Place) -> None:
    reds = set()
    for round_ in range(16):
        await place.lobby.quick_match(f"a{round_}", lambda live: None)
        live = await place.lobby.quick_match(f"b{round_}", never)
        assert isinstance(live, LiveGame)
        reds.add(live.record.red == f"a{round_}")
    assert reds == {True, False}  # 16 draws all alike: one chance in 32768


async def test_many_players_at_once_are_each_paired_exactly_once(place: Place) -> None:
    told: dict[str, LiveGame] = {}
    names = [f"p{i}" for i in range(20)]

    async def press(name: str) -> LiveGame | Ticket:
        return await place.lobby.quick_match(name, lambda live: told.__setitem__(name, live))

    found = await asyncio.gather(*(press(name) for name in names))
    games = {live.id: live for live in [*told.values(), *(f for f in found if isinstance(f, LiveGame))]}
    assert len(games) == 10
    seated = [str(identity) for live in games.values() for identity in seats(live)]
    assert sorted(seated) == sorted(names)  # nobody twice, nobody left out


async def test_a_browser_is_never_paired_with_itself(place: Place) -> None:
    told: list[LiveGame] = []
    assert isinstance(await place.lobby.quick_match("ana", told.append), Ticket)
    assert isinstance(await place.lobby.quick_match("ana", told.append), Ticket)  # a second tab waits too
    live = await place.lobby.quick_match("ben", never)
    assert isinstance(live, LiveGame)
    assert seats(live) == {"ana", "ben"}
    assert told == [live]  # the first tab to wait; the other waits on
    assert place.lobby.waiting == 1


async def test_a_cancelled_ticket_is_never_paired(place: Place) -> None:
    ticket = await place.lobby.quick_match("ana", never)
    assert isinstance(ticket, Ticket)
    assert await place.lobby.cancel(ticket) is None
    assert isinstance(await place.lobby.quick_match("ben", never), Ticket)


async def test_a_ticket_nobody_refreshed_is_dropped(place: Place) -> None:
    stale = Ticket("old", "ghost", time.time() - TICKET_STALE - 1)
    assert await place.lobby.store.pair(stale, lambda other: pytest.fail("paired with nobody"), 0) is None
    assert isinstance(await place.lobby.quick_match("ben", never), Ticket)


async def test_a_waiting_ticket_is_refreshed_while_its_page_waits(place: Place) -> None:
    ticket = await place.lobby.quick_match("ana", lambda live: None)
    assert isinstance(ticket, Ticket)
    await asyncio.sleep(0.1)  # several polls
    # Counted from its arrival the ticket is stale; its page's polls keep it in the queue.
    live = await place.lobby.store.pair(Ticket("b", "ben", time.time()), _game_for("ben"), ticket.since + 0.05)
    assert live is not None


def _game_for(identity: str) -> Callable[[str], GameRecord]:
    def make(other: str) -> GameRecord:
        return GameRecord(
            id=new_id(), mode=Mode.ONLINE, join_key=new_key(), watch_key=new_key(), red=identity, yellow=other
        )

    return make


async def test_the_queue_is_rate_limited(place: Place) -> None:
    place.lobby.queue_limit = RateLimiter(rate=0.001, burst=2, message="Slow down.")
    for _ in range(2):
        ticket = await place.lobby.quick_match("ana", never)
        assert isinstance(ticket, Ticket)
        await place.lobby.cancel(ticket)
    with pytest.raises(RateLimitedError, match=r"Slow down\."):
        await place.lobby.quick_match("ana", never)


async def test_open_games_are_listed_until_taken_then_listed_to_watch(place: Place) -> None:
    live = await open_game(place, "ana")
    private = await place.hub.create(Mode.ONLINE, "cleo")
    listing = await place.lobby.read_listing()
    assert private.record.join_key != live.record.join_key
    assert [row.key for row in listing.open] == [live.record.join_key]  # the private invitation is not listed
    assert (listing.open[0].name, listing.open[0].waited) == ("Guest", "under a minute")
    assert listing.live == ()
    assert await place.hub.join(live, "ben") is Role.YELLOW
    listing = await place.lobby.read_listing()
    assert listing.open == ()
    assert [row.key for row in listing.live] == [live.record.watch_key]
    place.hub.connect(live, Role.SPECTATOR)
    assert (await place.lobby.read_listing()).live[0].spectators == 1
    await place.hub.resign(live, "ben")
    assert (await place.lobby.read_listing()).live == ()  # over: nothing left to watch


async def test_an_open_game_whose_creator_left_is_not_listed_until_they_are_back(place: Place) -> None:
    live = await open_game(place, "ana")
    place.hub.disconnect(live, Role.RED)
    assert (await place.lobby.read_listing()).open == ()
    place.hub.connect(live, Role.RED)
    assert [row.key for row in (await place.lobby.read_listing()).open] == [live.record.join_key]


async def test_two_players_racing_for_an_open_seat_get_one_seat(place: Place) -> None:
    live = await open_game(place, "ana")
    results = await asyncio.gather(
        *(place.lobby.join_open(live.record.join_key, name) for name in ("ben", "cleo")), return_exceptions=True
    )
    winners = [result for result in results if isinstance(result, LiveGame)]
    losers = [result for result in results if isinstance(result, SeatTakenError)]
    assert len(winners) == len(losers) == 1
    assert str(losers[0]) == "Someone else took that seat."
    assert live.record.yellow in {"ben", "cleo"}
    version = live.record.version
    with pytest.raises(SeatTakenError):
        await place.lobby.join_open(live.record.join_key, "dave")
    assert live.record.version == version  # nothing changed


@pytest.mark.parametrize("forged", [None, 7, ["key"], {"key": 1}, "", "x" * 1000, "no-such-key", "watch"])
async def test_a_forged_join_is_refused_and_changes_nothing(place: Place, forged: object) -> None:
    live = await open_game(place, "ana")
    key = live.record.watch_key if forged == "watch" else forged
    with pytest.raises(NotOpenError, match=r"^That game is no longer open\.$"):
        await place.lobby.join_open(key, "ben")
    assert live.record.yellow is None


async def test_joins_from_the_list_are_rate_limited(place: Place) -> None:
    for _ in range(place.lobby.join_limit.burst):
        with pytest.raises(NotOpenError):
            await place.lobby.join_open("no-such-key", "ben")
    with pytest.raises(RateLimitedError, match="slow down"):
        await place.lobby.join_open("no-such-key", "ben")


async def test_the_lists_follow_every_page_from_one_read(place: Place) -> None:
    seen: list[int] = []
    stop = place.lobby.watch_listing(lambda listing: seen.append(len(listing.open)))
    await open_game(place, "ana")
    deadline = time.monotonic() + 5
    while seen != [1] and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    assert seen == [1]  # told once of the change, not at every read
    await asyncio.sleep(0.2)
    assert seen == [1]
    stop()


async def test_open_games_and_pairings_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "games.db"
    first = await Place(SQLiteStore(path)).start()
    live = await open_game(first, "ana")
    ticket = await first.lobby.quick_match("ben", never)
    assert isinstance(ticket, Ticket)
    paired = await first.lobby.quick_match("cleo", never)
    assert isinstance(paired, LiveGame)

    waiting = await first.lobby.quick_match("dave", never)
    assert isinstance(waiting, Ticket)
    await first.close()

    second = await Place(SQLiteStore(path)).start()
    # Dave's place survived the restart, for his page to take back as it reconnects.
    assert await second.lobby.store.ticket_of("dave", time.time() - TICKET_KEPT) == waiting
    assert (await second.lobby.read_listing()).open == ()  # nobody waits at it until its page is back
    second.hub.connect(await second.hub.find(live.record.join_key), Role.RED)
    listing = await second.lobby.read_listing()
    assert [row.key for row in listing.open] == [live.record.join_key]
    assert [row.key for row in listing.live] == [paired.record.watch_key]
    restored = await second.hub.find(paired.record.join_key)
    assert seats(restored) == {"ben", "cleo"}
    await second.close()


# -- the queue across a restart --------------------------------------------------------------


async def restarted(place: Place, path: Path) -> Place:
    """The server stops (its waiting pages away, their tickets left in the file) and starts again on ``path``."""
    await place.close()
    return await Place(SQLiteStore(path)).start()


async def test_a_player_waiting_before_a_restart_is_paired_after_it_and_their_page_gets_the_game(
    tmp_path: Path,
) -> None:
    path = tmp_path / "games.db"
    first = await Place(SQLiteStore(path)).start()
    ticket = await first.lobby.quick_match("ana", never)
    assert isinstance(ticket, Ticket)
    second = await restarted(first, path)
    assert await second.lobby.store.ticket_of("ana", time.time() - TICKET_KEPT) == ticket  # same id, same since
    live = await second.lobby.quick_match("ben", never)  # ana left moments ago: her page is on its way back
    assert isinstance(live, LiveGame)
    assert seats(live) == {"ana", "ben"}
    found = await second.lobby.resume("ana", never)  # her reloaded page takes the pairing made meanwhile
    assert isinstance(found, LiveGame)
    assert found.id == live.id
    assert await second.lobby.resume("ana", never) is None  # taken once
    await second.close()


async def test_a_page_back_after_a_restart_waits_in_its_place_and_is_told_of_its_pairing(tmp_path: Path) -> None:
    path = tmp_path / "games.db"
    first = await Place(SQLiteStore(path)).start()
    ticket = await first.lobby.quick_match("ana", never)
    assert isinstance(ticket, Ticket)
    later = await first.lobby.quick_match("ana", never)  # a second tab of hers, behind her first ticket
    assert isinstance(later, Ticket)
    second = await restarted(first, path)
    told: list[LiveGame] = []
    back = await second.lobby.resume("ana", told.append)
    assert back == ticket  # her place: the count goes on from its since
    assert second.lobby.waiting == 1
    assert await second.lobby.resume("ana", never) is None  # another page here took it back already
    live = await second.lobby.quick_match("ben", never)
    assert isinstance(live, LiveGame)
    assert told == [live]
    assert seats(live) == {"ana", "ben"}
    await second.close()


async def test_a_ticket_not_refreshed_within_the_staleness_window_is_not_paired_until_its_page_is_back(
    tmp_path: Path,
) -> None:
    path = tmp_path / "games.db"
    first = await Place(SQLiteStore(path)).start()
    ticket = await first.lobby.quick_match("ana", never)
    assert isinstance(ticket, Ticket)
    second = await restarted(first, path)
    await second.lobby.store.poll([ticket], time.time() - TICKET_STALE - 1)  # her page was last seen 6 s ago
    told: list[LiveGame] = []
    waiting = await second.lobby.quick_match("ben", told.append)
    assert isinstance(waiting, Ticket)  # not paired with an empty chair
    found = await second.lobby.resume("ana", never)  # her page comes back: the pairing it missed is made now
    assert isinstance(found, LiveGame)
    assert seats(found) == {"ana", "ben"}
    assert told == [found]
    await second.close()


async def test_a_ticket_abandoned_longer_than_it_is_kept_leaves_the_queue(tmp_path: Path) -> None:
    path = tmp_path / "games.db"
    first = await Place(SQLiteStore(path)).start()
    ticket = await first.lobby.quick_match("ana", never)
    assert isinstance(ticket, Ticket)
    second = await restarted(first, path)
    await second.lobby.store.poll([ticket], time.time() - TICKET_KEPT - 1)
    assert await second.lobby.resume("ana", never) is None  # too late: her page starts afresh
    assert isinstance(await second.lobby.quick_match("ben", never), Ticket)
    assert await second.lobby.store.ticket_of("ana", 0) is None  # the pairing dropped it
    await second.close()


async def test_a_file_from_before_kept_tickets_gets_the_columns_its_notes_lack(tmp_path: Path) -> None:
    path = tmp_path / "games.db"
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute("CREATE TABLE lobby_matches (ticket TEXT PRIMARY KEY, game_id TEXT NOT NULL, at REAL NOT NULL)")
        db.execute("INSERT INTO lobby_matches VALUES ('old', 'gone', ?)", (time.time(),))
    place = await Place(SQLiteStore(path)).start()
    assert await place.lobby.resume("ana", never) is None  # the old note names nobody
    ticket = await place.lobby.quick_match("ana", never)
    assert isinstance(ticket, Ticket)
    place.lobby.hold(ticket)  # her page went with a stopping server
    live = await place.lobby.quick_match("ben", never)
    assert isinstance(live, LiveGame)
    found = await place.lobby.resume("ana", never)
    assert isinstance(found, LiveGame)
    assert found.id == live.id
    await place.close()


# -- claiming the win --------------------------------------------------------------------------


@pytest.fixture
async def quick_claims(tmp_path: Path) -> AsyncIterator[Place]:
    started = await Place(SQLiteStore(tmp_path / "games.db"), claim_after=0.2).start()
    yield started
    await started.close()


async def game_where_yellow_is_to_move(place: Place) -> LiveGame:
    live = await place.hub.create(Mode.ONLINE, "ana")
    await place.hub.join(live, "ben")
    place.hub.connect(live, Role.RED)
    place.hub.connect(live, Role.YELLOW)
    await place.hub.play(live, "ana", 3)
    return live


async def test_the_win_is_claimed_after_the_opponent_was_away_long_enough(quick_claims: Place) -> None:
    hub = quick_claims.hub
    live = await game_where_yellow_is_to_move(quick_claims)
    assert hub.claim_wait(live, Player.YELLOW) is None  # here: nothing to wait for
    with pytest.raises(NotAllowedError, match="Your opponent is here"):
        await hub.claim_win(live, "ana")
    hub.disconnect(live, Role.YELLOW)
    wait = hub.claim_wait(live, Player.YELLOW)
    assert wait is not None
    assert 0 < wait <= 0.2
    with pytest.raises(NotAllowedError, match=r"the win can be claimed in 1 second\.$"):
        await hub.claim_win(live, "ana")
    version = live.record.version
    await asyncio.sleep(0.25)
    with pytest.raises(SpectatorError):
        await hub.claim_win(live, "cleo")
    with pytest.raises(NotAllowedError, match="It is your turn"):
        await hub.claim_win(live, "ben")  # the one away cannot claim either: it is their turn
    assert live.record.version == version  # every refusal changed nothing
    await hub.claim_win(live, "ana")
    assert live.outcome is not None
    assert live.outcome.winner is Player.RED
    assert live.record.abandoned
    with pytest.raises(GameOverError):
        await hub.claim_win(live, "ana")
    # The result is stored: a restart reads a game won by claim.
    record = await hub.store.load(live.id)
    assert record is not None
    assert (record.resigned, record.abandoned) == (Player.YELLOW, True)


async def test_coming_back_in_time_stops_the_count(quick_claims: Place) -> None:
    hub = quick_claims.hub
    live = await game_where_yellow_is_to_move(quick_claims)
    hub.disconnect(live, Role.YELLOW)
    await asyncio.sleep(0.1)
    hub.connect(live, Role.YELLOW)
    await asyncio.sleep(0.15)
    with pytest.raises(NotAllowedError, match="Your opponent is here"):
        await hub.claim_win(live, "ana")
    hub.disconnect(live, Role.YELLOW)  # leaving again starts the count anew
    wait = hub.claim_wait(live, Player.YELLOW)
    assert wait is not None
    assert wait > 0.15
    await hub.play(live, "ben", 4)  # a move from elsewhere (another tab) is the game going on
    assert hub.claim_wait(live, Player.YELLOW) is None


async def test_spectators_elsewhere_are_counted_without_a_word_to_the_boards() -> None:
    store = MemoryStore()
    hub = GameHub(store)
    live = await hub.create(Mode.ONLINE, "ana")
    await hub.join(live, "ben")
    events: list[GameEvent] = []
    live.subscribe(events.append)
    now = time.time()
    store.tell_presence(live.id, "other", {"red": 0, "yellow": 1, "spectators": 1}, now)
    assert len(events) == 1  # a first report: yellow is connected there
    store.tell_presence(live.id, "other", {"red": 0, "yellow": 1, "spectators": 2}, now + 1)
    store.tell_presence(live.id, "other", {"red": 0, "yellow": 1, "spectators": 2}, now + 30)  # a repeat
    assert len(events) == 1
    store.tell_presence(live.id, "other", {"red": 0, "yellow": 0, "spectators": 2}, now + 31)
    assert len(events) == 2  # yellow left: the boards say so
    assert live.remote_presence["other"][0]["spectators"] == 2


async def test_a_report_from_an_instance_that_fell_silent_stops_vouching(quick_claims: Place) -> None:
    hub = quick_claims.hub
    live = await game_where_yellow_is_to_move(quick_claims)
    hub.disconnect(live, Role.YELLOW)
    hub.store.tell_presence(live.id, "other", {"red": 0, "yellow": 1}, time.time())
    assert hub.claim_wait(live, Player.YELLOW) is None  # yellow is on the other instance
    # That instance died: its last report grows old and no longer counts.
    hub.store.tell_presence(live.id, "other", {"red": 0, "yellow": 1}, time.time() - PRESENCE_TTL - 1)
    wait = hub.claim_wait(live, Player.YELLOW)
    assert wait is not None
    await asyncio.sleep(max(wait, 0) + 0.05)
    await hub.claim_win(live, "ana")
    assert live.record.abandoned
