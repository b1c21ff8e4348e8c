"""The lobby: quick match (a queue that pairs strangers) and the public games the home page lists.

A pairing is one atomic step of the store (a SQLite transaction, a Redis WATCH/MULTI): it takes
the oldest live ticket of another browser out of the queue, stores the new game with both seats
and leaves a note for the waiting ticket, or else puts the caller's ticket in the queue. Two
instances pressing at once cannot both take the same waiting player. Waiting tickets are
refreshed while their page is open; a ticket nobody refreshed for :data:`TICKET_STALE` seconds
is paired with nobody, and one not refreshed for :data:`TICKET_KEPT` seconds is dropped by the next
pairing, so the queue forgets the players of a crashed instance. In between, the ticket keeps its
place for its page to take back (:meth:`Lobby.resume`): a server that restarts leaves its tickets in
the store, and the pages its browsers reload find them there, or the game a pairing made meanwhile.

Public games are open games (created "open to anyone") and quick-match games. Every instance
reads them from the store at most once per :attr:`Lobby.list_interval`, while some page here
shows the lists, and tells the pages only when what they show changed.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from engine.connect4 import Player
from games.errors import GameError, GameNotFoundError
from games.hub import PRESENCE_TTL, GameHub, LiveGame
from games.model import GameRecord, Mode, Role, new_id, new_key
from games.ratelimit import RateLimiter
from games.store import MemoryStore

__all__ = [
    "LIST_LIMIT",
    "TICKET_KEPT",
    "TICKET_STALE",
    "Listing",
    "Lobby",
    "LobbyStore",
    "MemoryLobbyStore",
    "NotOpenError",
    "OpenGame",
    "Pairing",
    "SeatTakenError",
    "Ticket",
    "WatchableGame",
    "player_name",
    "waited_text",
]

log = logging.getLogger(__name__)


class NotOpenError(GameError):
    """A join from the list names no open game (it ended, was cleaned up, or the request was forged)."""

    def __init__(self) -> None:
        super().__init__("That game is no longer open.")


class SeatTakenError(GameError):
    """Another player took the open seat first."""

    def __init__(self) -> None:
        super().__init__("Someone else took that seat.")


TICKET_STALE = 5.0
"""Seconds after its last refresh (every :attr:`Lobby.poll_interval`) that a waiting ticket is paired with nobody."""

# A restart behind the supervisor takes seconds and a browser's socket tries again at least every 5 s, so half
# a minute keeps a restarted server's tickets for their reloaded pages while an abandoned one goes soon after.
TICKET_KEPT = 30.0
"""Seconds after its last refresh that a waiting ticket leaves the queue (until then its page may take it back)."""

LIST_LIMIT = 8
"""Games shown in each list of the home page."""

PresenceReports = dict[str, tuple[dict[str, int], float]]
"""Instance id -> (views per seat and of spectators, when reported), as the hub's presence reports."""


def player_name(record: GameRecord, identity: str | None) -> str:
    """The name the lists show for ``identity`` in ``record``: the one its seat keeps, or "Guest"."""
    if identity is not None and identity == record.red:
        return record.red_name or "Guest"
    if identity is not None and identity == record.yellow:
        return record.yellow_name or "Guest"
    return "Guest"


def waited_text(seconds: float) -> str:
    """A duration as the lists show it; minutes, so that the lists do not change every second."""
    minutes = int(seconds // 60)
    if minutes < 1:
        return "under a minute"
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"


@dataclass(frozen=True)
class Ticket:
    """One press of "Play someone now": a place in the queue."""

    id: str
    identity: str
    since: float


@dataclass(frozen=True)
class Pairing:
    """A pairing made by a store: the new game, and the ticket of the player who was waiting."""

    record: GameRecord
    waiting_ticket: str


@dataclass(frozen=True)
class OpenGame:
    """A row of the open games: an online game waiting for an opponent."""

    key: str
    name: str
    waited: str


@dataclass(frozen=True)
class WatchableGame:
    """A row of the live games: a public game going on, with its watch key."""

    key: str
    players: str
    spectators: int
    playing: str


@dataclass(frozen=True)
class Listing:
    """What the home page's two lists show."""

    open: tuple[OpenGame, ...] = ()
    live: tuple[WatchableGame, ...] = ()


class LobbyStore(abc.ABC):
    """The queue and the public games, kept where the games are kept."""

    async def start(self) -> None:  # noqa: B027  # optional hook
        """Prepare the store (the store of the games is started already)."""

    @abc.abstractmethod
    async def pair(
        self,
        ticket: Ticket,
        make: Callable[[str], GameRecord],
        stale_before: float,
        *,
        seen: float | None = None,
        forget_before: float | None = None,
    ) -> Pairing | None:
        """In one atomic step: pair ``ticket`` with the oldest waiting ticket of another identity refreshed since
        ``stale_before`` (store ``make(its identity)`` as a quick-match game), or queue ``ticket`` as refreshed at
        ``seen`` (default: its ``since``). Tickets not refreshed since ``forget_before`` (default: ``stale_before``)
        leave the queue."""

    @abc.abstractmethod
    async def cancel(self, ticket: Ticket) -> str | None:
        """Take a ticket out of the queue; the id of its game if it had been paired already."""

    @abc.abstractmethod
    async def ticket_of(self, identity: str, kept_since: float) -> Ticket | None:
        """The oldest ticket of ``identity`` still waiting (refreshed since ``kept_since``) or paired with a game
        its page has not taken yet: what a page that comes back (after a restart) takes back."""

    @abc.abstractmethod
    async def poll(self, tickets: Sequence[Ticket], now: float) -> dict[str, str]:
        """Refresh waiting tickets; returns those paired meanwhile (ticket id -> game id), which stop waiting."""

    @abc.abstractmethod
    async def add_open(self, record: GameRecord) -> None:
        """List a new online game as open to anyone."""

    @abc.abstractmethod
    async def candidates(self, limit: int) -> tuple[list[GameRecord], list[GameRecord]]:
        """The oldest listed open games and the newest listed live ones (games that are gone are dropped)."""

    @abc.abstractmethod
    async def sort_out(self, started: Sequence[GameRecord], ended: Sequence[str]) -> None:
        """Move open games whose seats were taken to the live ones, and unlist games that ended."""

    async def presence(self, game_ids: Sequence[str]) -> dict[str, PresenceReports]:
        """Every instance's last presence report for these games (a store of one instance has none)."""
        return {}


class MemoryLobbyStore(LobbyStore):
    """The lobby of a :class:`~games.store.MemoryStore`: one process, so every step is atomic by itself."""

    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self._queue: dict[str, tuple[Ticket, float]] = {}  # in order of arrival, with the last refresh
        self._matches: dict[str, str] = {}
        self._paired: dict[str, Ticket] = {}  # the tickets of the matches, for a page that comes back to take
        self._open: dict[str, float] = {}
        self._live: dict[str, float] = {}

    async def pair(
        self,
        ticket: Ticket,
        make: Callable[[str], GameRecord],
        stale_before: float,
        *,
        seen: float | None = None,
        forget_before: float | None = None,
    ) -> Pairing | None:
        forget_before = stale_before if forget_before is None else forget_before
        # In order of arrival: a ticket taken back after a restart comes back to its place.
        for waiting_id, (waiting, last_seen) in sorted(self._queue.items(), key=lambda item: item[1][0].since):
            if last_seen < forget_before:
                del self._queue[waiting_id]
            elif waiting.identity != ticket.identity and last_seen >= stale_before:
                del self._queue[waiting_id]
                record = make(waiting.identity)
                await self.store.create(record)
                self._matches[waiting_id] = record.id
                self._paired[waiting_id] = waiting
                self._live[record.id] = record.created
                return Pairing(record, waiting_id)
        self._queue[ticket.id] = (ticket, ticket.since if seen is None else seen)
        return None

    async def cancel(self, ticket: Ticket) -> str | None:
        if self._queue.pop(ticket.id, None) is not None:
            return None
        self._paired.pop(ticket.id, None)
        return self._matches.pop(ticket.id, None)

    async def ticket_of(self, identity: str, kept_since: float) -> Ticket | None:
        found = [ticket for ticket, seen in self._queue.values() if ticket.identity == identity and seen >= kept_since]
        found += [ticket for ticket in self._paired.values() if ticket.identity == identity]
        return min(found, key=lambda ticket: ticket.since, default=None)

    async def poll(self, tickets: Sequence[Ticket], now: float) -> dict[str, str]:
        for ticket in tickets:
            if ticket.id in self._queue:
                self._queue[ticket.id] = (ticket, now)
        found = {ticket.id: self._matches.pop(ticket.id) for ticket in tickets if ticket.id in self._matches}
        for ticket_id in found:
            self._paired.pop(ticket_id, None)
        return found

    async def add_open(self, record: GameRecord) -> None:
        self._open[record.id] = record.created

    async def candidates(self, limit: int) -> tuple[list[GameRecord], list[GameRecord]]:
        found: list[list[GameRecord]] = []
        for listed, newest_first in ((self._open, False), (self._live, True)):
            records: list[GameRecord] = []
            for game_id in sorted(listed, key=listed.__getitem__, reverse=newest_first):
                record = await self.store.load(game_id)
                if record is None:
                    del listed[game_id]
                elif len(records) < limit:
                    records.append(record)
            found.append(records)
        return found[0], found[1]

    async def sort_out(self, started: Sequence[GameRecord], ended: Sequence[str]) -> None:
        for record in started:
            if self._open.pop(record.id, None) is not None:
                self._live[record.id] = record.created
        for game_id in ended:
            self._open.pop(game_id, None)
            self._live.pop(game_id, None)


PairedCallback = Callable[[LiveGame], None]
ListingCallback = Callable[[Listing], None]


class Lobby:
    """Quick match and the home page's lists, for every page of this process."""

    def __init__(
        self,
        hub: GameHub,
        store: LobbyStore,
        *,
        queue_limit: RateLimiter | None = None,
        poll_interval: float = 0.25,
        list_interval: float = 1.0,
    ) -> None:
        self.hub = hub
        self.store = store
        if queue_limit is None:
            queue_limit = RateLimiter(rate=0.2, burst=10, message="You are joining the queue too often; wait a minute.")
        self.queue_limit = queue_limit
        self.join_limit = RateLimiter(rate=1, burst=10, message="Too many tries at once: slow down.")
        self.poll_interval = poll_interval
        self.list_interval = list_interval
        self.listing = Listing()
        """What the lists show now (the pages that open meanwhile show it at once)."""
        self._waiting: dict[str, tuple[Ticket, PairedCallback]] = {}
        self._listeners: list[ListingCallback] = []
        self._poller: asyncio.Task[None] | None = None
        self._lister: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.store.start()

    async def close(self) -> None:
        for task in (self._poller, self._lister):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    # -- quick match ---------------------------------------------------------------------------

    async def quick_match(self, identity: str, on_paired: PairedCallback) -> LiveGame | Ticket:
        """Pair ``identity`` with whoever waits (their game) or queue them (their ticket).

        ``on_paired(game)`` is called once a later player pairs with the ticket, here or on another instance.
        """
        self.queue_limit.check(identity)
        return await self._pair(Ticket(new_id(), identity, time.time()), on_paired)

    async def resume(self, identity: str, on_paired: PairedCallback) -> LiveGame | Ticket | None:
        """Take back the place ``identity`` kept in the queue (its page came back, e.g. after a restart).

        The game a pairing made meanwhile, or the ticket, waiting again in its place (and paired at once if
        someone came while it was away); None if ``identity`` was not waiting, or another page here took it back.
        """
        ticket = await self.store.ticket_of(identity, time.time() - TICKET_KEPT)
        if ticket is None or ticket.id in self._waiting:
            return None
        # Out of the queue and back in, with its arrival: a pairing it missed while it was away is made now.
        game_id = await self.store.cancel(ticket)
        if game_id is not None:
            return await self.hub.get(game_id)
        return await self._pair(ticket, on_paired)

    def hold(self, ticket: Ticket) -> None:
        """Stop following ``ticket`` here and leave it in the queue, for its page to take back after a restart."""
        self._waiting.pop(ticket.id, None)

    async def _pair(self, ticket: Ticket, on_paired: PairedCallback) -> LiveGame | Ticket:
        identity = ticket.identity

        def make(waiting: str) -> GameRecord:
            # Colours drawn at random: the one who waited is no likelier to start than the one who came.
            red, yellow = (identity, waiting) if secrets.randbelow(2) else (waiting, identity)
            return GameRecord(
                id=new_id(),
                mode=Mode.ONLINE,
                join_key=new_key(),
                watch_key=new_key(),
                replay_key=new_key(),
                red=red,
                yellow=yellow,
            )

        now = time.time()
        pairing = await self.store.pair(ticket, make, now - TICKET_STALE, seen=now, forget_before=now - TICKET_KEPT)
        if pairing is None:
            self._waiting[ticket.id] = (ticket, on_paired)
            if self._poller is None or self._poller.done():
                self._poller = asyncio.get_running_loop().create_task(self._poll(), name="lobby: queue")
            return ticket
        log.info("game %s: quick match", pairing.record.id)
        live = await self.hub.get(pairing.record.id)
        waiting = self._waiting.pop(pairing.waiting_ticket, None)
        if waiting is not None:  # the one who waited is on this instance: no need to wait for the poll
            with contextlib.suppress(GameError):
                await self.store.poll([waiting[0]], time.time())  # takes the note, so no poll finds it again
            self._tell(waiting[1], live)
        return live

    async def cancel(self, ticket: Ticket) -> LiveGame | None:
        """Leave the queue; the game instead if a pairing came first."""
        self._waiting.pop(ticket.id, None)
        game_id = await self.store.cancel(ticket)
        return None if game_id is None else await self.hub.get(game_id)

    @property
    def waiting(self) -> int:
        """Tickets of this process in the queue."""
        return len(self._waiting)

    async def _poll(self) -> None:
        while self._waiting:
            await asyncio.sleep(self.poll_interval)
            tickets = [ticket for ticket, _ in self._waiting.values()]
            try:
                matches = await self.store.poll(tickets, time.time())
                for ticket_id, game_id in matches.items():
                    waiting = self._waiting.pop(ticket_id, None)
                    if waiting is not None:
                        self._tell(waiting[1], await self.hub.get(game_id))
            except GameError as exc:  # the store is away: the tickets wait on, and the next poll asks again
                log.warning("lobby: polling the queue failed (%s)", exc)
            except Exception:
                log.exception("lobby: polling the queue failed")

    @staticmethod
    def _tell(callback: PairedCallback, live: LiveGame) -> None:
        try:
            callback(live)
        except Exception:
            log.exception("game %s: a page failed to take its quick match", live.id)

    # -- open games and the lists --------------------------------------------------------------

    async def join_open(self, key: object, identity: str) -> LiveGame:
        """Take the free seat of the open game whose join key is ``key`` (as a browser sent it), or say why not."""
        self.join_limit.check(identity)
        if not isinstance(key, str):
            raise NotOpenError
        try:
            live = await self.hub.find(key)
        except GameNotFoundError:
            raise NotOpenError from None
        if key != live.record.join_key or live.record.mode is not Mode.ONLINE:
            raise NotOpenError  # a watch or replay key seats nobody, whatever page sends it
        if await self.hub.join(live, identity) is Role.SPECTATOR:
            raise SeatTakenError
        return live

    async def create_open(self, identity: str, *, clock: int = 0, name: str | None = None) -> LiveGame:
        """A new online game with ``identity`` as red (``clock`` and ``name`` as for ``GameHub.create``), listed."""
        live = await self.hub.create(Mode.ONLINE, identity, clock=clock, name=name)
        await self.store.add_open(live.record)
        return live

    def watch_listing(self, callback: ListingCallback) -> Callable[[], None]:
        """Call ``callback(listing)`` whenever the lists change, from now on; returns the function that stops it."""
        self._listeners.append(callback)
        if self._lister is None or self._lister.done():
            self._lister = asyncio.get_running_loop().create_task(self._list(), name="lobby: lists")

        def stop() -> None:
            if callback in self._listeners:
                self._listeners.remove(callback)

        return stop

    async def _list(self) -> None:
        while self._listeners:
            try:
                listing = await self.read_listing()
            except GameError as exc:
                log.warning("lobby: reading the public games failed (%s)", exc)
            except Exception:
                log.exception("lobby: reading the public games failed")
            else:
                if listing != self.listing:
                    self.listing = listing
                    for callback in list(self._listeners):
                        try:
                            callback(listing)
                        except Exception:
                            log.exception("lobby: a page failed to show the lists")
            await asyncio.sleep(self.list_interval)

    async def read_listing(self) -> Listing:
        """The lists as the store has them now (one read of the store, whatever the number of pages)."""
        open_records, live_records = await self.store.candidates(LIST_LIMIT * 2)
        started = [record for record in open_records if record.started]
        ended = [record.id for record in [*open_records, *live_records] if record.outcome() is not None]
        waiting = [record for record in open_records if not record.started and record.outcome() is None]
        playing = [record for record in [*live_records, *started] if record.outcome() is None]
        if started or ended:
            await self.store.sort_out(started, ended)
        shown = [record.id for record in [*waiting, *playing]]
        reports = await self.store.presence(shown) if shown else {}
        now = time.time()
        # A game whose creator closed its page waits for nobody: it is listed again when they come back.
        waiting = [record for record in waiting if self._creator_here(record.id, reports.get(record.id, {}), now)]
        open_rows = tuple(
            OpenGame(record.join_key, player_name(record, record.red), waited_text(now - record.created))
            for record in waiting[:LIST_LIMIT]
        )
        live_rows = [
            WatchableGame(
                record.watch_key,
                f"{player_name(record, record.red)} vs {player_name(record, record.yellow)}",
                self._spectators(record.id, reports.get(record.id, {}), now),
                waited_text(now - record.created),
            )
            for record in playing
        ]
        live_rows.sort(key=lambda row: -row.spectators)  # stable: the newest first among equals
        return Listing(open_rows, tuple(live_rows[:LIST_LIMIT]))

    def _creator_here(self, game_id: str, reports: PresenceReports, now: float) -> bool:
        if self.hub.connected_here(game_id, Player.RED):
            return True
        return any(
            instance != self.hub.instance and at > now - PRESENCE_TTL and seats.get(Player.RED.value, 0) > 0
            for instance, (seats, at) in reports.items()
        )

    def _spectators(self, game_id: str, reports: PresenceReports, now: float) -> int:
        count = self.hub.spectators_here(game_id)
        for instance, (seats, at) in reports.items():
            if instance != self.hub.instance and at > now - PRESENCE_TTL:
                count += max(0, seats.get("spectators", 0))
        return count
