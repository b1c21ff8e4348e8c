"""The home page's lobby: "Play someone now", and the open and live games anyone may join or watch.

Each list is one table element, built with the page: a change of the lists replaces its rows (one
message to each page that shows them), never the page. The rows come from :class:`games.lobby.Lobby`,
which reads the store once a second for every page of this process together.

A page waiting in the quick-match queue keeps its place when the server restarts: the pages that
disconnect because the server stops leave their tickets in the store, and the home page (or the
computer's page) that the browser reloads takes this browser's ticket back as it connects.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict

from nicegui import app, events, ui
from nicegui import server as nicegui_server

from engine.levels import Level
from games.errors import GameError
from games.hub import LiveGame
from games.lobby import Listing, Lobby, Ticket
from games.model import Mode

__all__ = ["COMPUTER_OFFER_AFTER", "PublicGames", "QuickMatch", "open_choice"]

COMPUTER_OFFER_AFTER = 20.0
"""Seconds of waiting alone after which the computer is offered meanwhile."""

_JOIN = r"""
<q-td :props="props">
  <q-btn dense unelevated no-caps color="primary" label="Join"
         :aria-label="'Join the game of ' + props.row.name + ', waiting ' + props.row.waited"
         @click="() => $parent.$emit('join', props.row.key)" />
</q-td>
"""
_WATCH = r"""
<q-td :props="props">
  <q-btn dense outline no-caps color="primary" label="Watch" :href="'/watch/' + props.row.key"
         :aria-label="'Watch ' + props.row.players" />
</q-td>
"""


def _identity() -> str:
    return str(app.storage.browser["id"])


def _started(waited: float) -> float:
    """The monotonic time a wait of ``waited`` seconds began (a clock's jump or a forged number kept within a day)."""
    return time.monotonic() - min(max(waited, 0), 24 * 3600)


def _server_stopping() -> bool:
    """Whether this process is shutting down (SIGTERM, ``app.shutdown()``), so its pages disconnect for a restart."""
    # Uvicorn closes the sockets before it runs the app's shutdown, when app.is_stopping is still False.
    server = getattr(nicegui_server.Server, "instance", None)
    return app.is_stopping or bool(getattr(server, "should_exit", False))


def open_choice() -> ui.checkbox:
    """The option, beside "Invite a friend", to list the new game for anyone to join."""
    return ui.checkbox("Open to anyone (listed on this page)").props('aria-label="Open to anyone"').mark("open-choice")


def go_to(live: LiveGame) -> None:
    """Take this page to its seat in ``live``."""
    ui.navigate.to(f"/join/{live.record.join_key}")


class QuickMatch:
    """The "Play someone now" button and, while this page waits in the queue, the count, Cancel and the offer."""

    def __init__(self, lobby: Lobby, *, waited: int | None = None) -> None:
        """``waited``: the seconds this browser has waited already, on the page of the game it plays meanwhile;
        the page then joins the queue as it connects, and offers no computer game."""
        self.lobby = lobby
        self.identity = _identity()
        self.ticket: Ticket | None = None
        """This page's place in the queue, while it has one."""
        self.wanted = waited is not None
        """Whether this page is looking for an opponent (it keeps looking when its connection comes back)."""
        self.meanwhile = waited is not None
        self.started = _started(waited or 0)
        self.paired: str | None = None
        """The game a pairing made for this page while it waited."""
        with ui.column().classes("gap-2 items-stretch w-full") as self.root:
            self.button = (
                ui.button("Play someone now", on_click=self.start)
                .props('aria-label="Play someone now"' + ("" if self.meanwhile else " size=lg"))
                .mark("quick-match")
            )
        # Built on the first press: most visitors of the home page never wait in the queue.
        self._panel: ui.element | None = None
        self._count: ui.label
        self._offer: ui.element
        self._next_tick: asyncio.TimerHandle | None = None
        # A press waits for the page's look for its kept ticket (as it connects), so that the page has one place.
        self._turn = asyncio.Lock()
        client = ui.context.client
        client.on_disconnect(self._leave)
        client.on_delete(self._leave)
        client.on_delete(self._stop_count)
        client.on_connect(self._come_back)

    async def start(self) -> None:
        """Pair with whoever waits, or wait for the next one."""
        async with self._turn:
            if self.wanted:
                return
            self.wanted, self.started = True, time.monotonic()
            await self._enter()

    async def _enter(self) -> None:
        try:
            found = await self.lobby.quick_match(self.identity, self._paired)
        except GameError as exc:
            self._stop()
            ui.notify(str(exc), type="warning")
            return
        await self._take(found)

    async def _take(self, found: LiveGame | Ticket) -> None:
        if isinstance(found, LiveGame):
            self._stop()
            go_to(found)
        elif self.wanted:
            self.ticket = found
            self._show_waiting()
        else:  # cancelled while the pairing was on its way
            await self.lobby.cancel(found)

    def _show_waiting(self) -> None:
        if self._panel is None:
            with self.root, ui.column().classes("gap-1 items-stretch") as self._panel:
                self._count = ui.label().props('aria-live="polite"').mark("queue-count")
                ui.button("Cancel", on_click=self.cancel).props('outline aria-label="Cancel"').mark("cancel-queue")
                with ui.column().classes("gap-1 items-stretch") as self._offer:
                    ui.label("Nobody yet. Play the computer meanwhile?").classes("text-sm")
                    ui.button("Play the computer", on_click=self.play_computer).props(
                        'outline aria-label="Play the computer meanwhile"'
                    ).mark("computer-meanwhile")
        self._panel.set_visibility(True)
        self.button.set_visibility(False)
        self._stop_count()
        self._tick()

    def _tick(self) -> None:
        # One timer of the event loop per waiting page, at each whole second of its wait (no element, no task).
        waited = time.monotonic() - self.started
        self._count.set_text(f"Looking for an opponent… {int(waited)} s")
        self._offer.set_visibility(waited >= COMPUTER_OFFER_AFTER and not self.meanwhile)
        self._next_tick = asyncio.get_running_loop().call_later(1.0 - waited % 1.0, self._tick)

    def _stop_count(self) -> None:
        if self._next_tick is not None:
            self._next_tick.cancel()
            self._next_tick = None

    def _stop(self) -> None:
        self.wanted, self.ticket = False, None
        self._stop_count()
        if self._panel is not None:
            self._panel.set_visibility(False)
        self.button.set_visibility(True)

    async def cancel(self, *, say: bool = True) -> bool:
        """Leave the queue; False (and off to the game) if a pairing came first."""
        ticket = self.ticket
        self._stop()
        if ticket is None:
            return True
        try:
            paired = await self.lobby.cancel(ticket)
        except GameError as exc:
            ui.notify(str(exc), type="warning")
            return True
        if paired is not None:  # the pairing came first: the opponent is already on their way to the game
            go_to(paired)
            return False
        if say:
            ui.notify("You left the queue.")
        return True

    async def play_computer(self) -> None:
        """Play the computer meanwhile: its page takes this page's place in the queue."""
        waited = int(time.monotonic() - self.started)
        if not await self.cancel(say=False):
            return
        try:
            live = await self.lobby.hub.create(Mode.COMPUTER, self.identity, level=Level.CASUAL)
        except GameError as exc:
            ui.notify(str(exc), type="warning")
            return
        ui.navigate.to(f"/computer/{live.record.join_key}?queue={waited}")

    def _paired(self, live: LiveGame) -> None:
        # Called by the lobby, outside this page's handlers: the root names the page. The link is for a
        # browser that does not follow the navigation (scripts off, a reader that announces first).
        self._stop()
        url = self.paired = f"/join/{live.record.join_key}"
        with self.root:
            ui.link("Opponent found: open your game", url).props('aria-label="Open your game"').mark("paired-link")
            ui.navigate.to(url)

    async def _leave(self) -> None:
        # A page that closes or loses its connection leaves the queue at once: nobody is paired with an empty chair.
        ticket, self.ticket = self.ticket, None
        if ticket is None:
            return
        if _server_stopping():  # the browser reloads the page when the server is back: the page takes its ticket back
            self.lobby.hold(ticket)
            return
        try:
            paired = await self.lobby.cancel(ticket)
        except GameError:
            return
        if paired is not None:
            self._paired(paired)

    async def _come_back(self) -> None:
        async with self._turn:
            if self.ticket is not None:
                return
            try:
                found = await self.lobby.resume(self.identity, self._paired)
            except GameError:
                found = None  # the store is away: a page that wants an opponent asks again as it enters the queue
            if found is None:
                if self.wanted:
                    await self._enter()
                return
            if isinstance(found, Ticket):  # the wait goes on from where it was, whatever this page was told
                self.wanted, self.started = True, _started(time.time() - found.since)
            await self._take(found)


def _table(columns: list[tuple[str, str, str]], marker: str, empty: str, action: str) -> ui.table:
    """One list: a table whose last column, ``action``, holds each row's button (its header is for screen readers)."""
    table = (
        ui.table(
            columns=[
                {"name": name, "label": label, "field": "key" if name == "action" else name, "align": align}
                for name, label, align in columns
            ],
            rows=[],
            row_key="key",
        )
        .props("flat bordered hide-pagination")
        .classes("w-full")
        .mark(marker)
    )
    table.add_slot("body-cell-action", action)
    table.add_slot("header-cell-action", f'<q-th :props="props"><span class="sr-only">{columns[-1][1]}</span></q-th>')
    table.add_slot("no-data", f"<span>{empty}</span>")  # Quasar's own puts a warning icon before it
    return table


class PublicGames:
    """The open games (with "Join") and the live public games (with "Watch"), kept up to date by the lobby."""

    def __init__(self, lobby: Lobby) -> None:
        self.lobby = lobby
        self.identity = _identity()
        with ui.column().classes("w-full max-w-xl gap-2"):
            ui.html("Open games", tag="h2").classes("text-xl font-bold")
            self.open = _table(
                [("name", "Player", "left"), ("waited", "Waiting", "left"), ("action", "Join", "right")],
                "open-games",
                "No open games right now.",
                _JOIN,
            )
            self.open.on("join", self.join)
            ui.html("Live games", tag="h2").classes("text-xl font-bold mt-2")
            self.live = _table(
                [
                    ("players", "Players", "left"),
                    ("playing", "Playing for", "left"),
                    ("spectators", "Spectators", "right"),
                    ("action", "Watch", "right"),
                ],
                "live-games",
                "No games to watch right now.",
                _WATCH,
            )
        self._shown = Listing()
        self.show(lobby.listing)
        ui.context.client.on_delete(lobby.watch_listing(self.show))

    def show(self, listing: Listing) -> None:
        """Replace the rows of the lists that changed (the other list sends nothing)."""
        shown, self._shown = self._shown, listing
        if listing.open != shown.open or (not self.open.rows and listing.open):
            self.open.rows = [asdict(row) for row in listing.open]
        if listing.live != shown.live or (not self.live.rows and listing.live):
            self.live.rows = [asdict(row) for row in listing.live]

    async def join(self, event: events.GenericEventArguments) -> None:
        """Take the free seat of the open game the row names, unless someone was quicker."""
        try:
            live = await self.lobby.join_open(event.args, self.identity)
        except GameError as exc:
            ui.notify(str(exc), type="warning")
            return
        go_to(live)
