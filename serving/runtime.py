"""The server process under load: collector pauses, the heartbeat, and giving memory back when browsers leave."""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import gc
import logging
from collections.abc import Callable
from typing import Any

import engineio.async_drivers.asgi as engineio_asgi
from nicegui import Client, app, background_tasks, core
from nicegui.element import Element
from nicegui.persistence import FilePersistentDict, PersistentDict
from starlette.types import Receive, Scope, Send

__all__ = [
    "GC_THRESHOLDS",
    "HEARTBEAT",
    "TAB_STORAGE_SECONDS",
    "MemoryReturner",
    "count_tab_pages",
    "drop_unused_tab_storage",
    "forget_tabs",
    "free_departed_pages",
    "handle_socket_events_in_order",
    "index_tab_pages",
    "let_go_of_page_request",
    "release_memory",
    "slow_heartbeat",
    "tune_gc",
]

log = logging.getLogger(__name__)

GC_THRESHOLDS = (50_000, 5, 1000)
"""Allocations before a young collection, young collections per middle one, middle per full one."""


def tune_gc(thresholds: tuple[int, int, int] = GC_THRESHOLDS) -> None:
    """Keep the cyclic garbage collector on, but stop its passes from stalling every browser.

    Measured in bench/load with 1500 connected pages (``experiments-gc-1500.md``):

    - Python's default (700, 10, 10) runs full collections over millions of objects: p99
      click-to-opponent of seconds.
    - A young collection every 50,000 allocations instead of 700 makes passes rarer without
      letting cyclic garbage pile up.
    - A middle collection every 5 young ones instead of 20 keeps each middle pass small
      (0.2 s at most instead of 0.5-0.7 s, which alone put p99 near 0.8 s).
    - Full passes still run: after 1000 middle ones once a quarter of the old objects are new
      (the interpreter's own rule), and when most pages have left (:class:`MemoryReturner`).
    - Freezing what startup created keeps the modules and the app out of every full pass.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*thresholds)


_UPSTREAM_HANDLE_DELETE = Element._handle_delete
_OBSERVABLES = ("_props", "_classes", "_style")


def _handle_delete_and_let_go(element: Element) -> None:
    _UPSTREAM_HANDLE_DELETE(element)
    for name in _OBSERVABLES:
        observable = getattr(element, name, None)
        handlers = getattr(observable, "_change_handlers", None)
        if isinstance(handlers, list):
            handlers.clear()


_UPSTREAM_TRANSLATE_REQUEST = engineio_asgi.translate_request


class _NoBody:
    """A websocket's request body, for Engine.IO: there is none (a WSGI-style ``wsgi.input``)."""

    async def read(self, length: int | None = None) -> bytes:
        return b""


_NO_BODY = _NoBody()


async def _translate_request(scope: Scope, receive: Receive, send: Send) -> dict[str, Any]:
    environ: dict[str, Any] = await _UPSTREAM_TRANSLATE_REQUEST(scope, receive, send)
    payload = environ.get("wsgi.input")
    if scope["type"] == "websocket" and payload is not None:
        environ["wsgi.input"] = _NO_BODY
        # Upstream's class, now unused, waits for the collector; what its methods closed over
        # (the connection's receive) need not wait with it.
        for function in vars(type(payload)).values():
            for cell in getattr(function, "__closure__", None) or ():
                cell.cell_contents = None
    return environ


def free_departed_pages() -> None:
    """Let a page's objects be freed when NiceGUI deletes it, not by a pass of the cyclic collector.

    After 1440 browsers left at once, a full collection found 0.93 million objects in reference
    cycles and stopped every game still playing for 1.2 s (bench/results/SUMMARY.md). What tied
    a page's objects into cycles, besides the page's own views (``GameView``), is upstream code:

    - a NiceGUI element's props, classes and style each keep their own ``_update`` method as
      change handler, so none of the three is ever freed by reference counting. A deleted
      element is never drawn again: its handlers are dropped with it.
    - python-engineio builds a class for each request it translates (``AwaitablePayload``,
      which reads the request's body); a class is a cycle, and this one's methods refer to the
      connection's ASGI ``receive``, which holds the whole connection (uvicorn's protocol,
      buffers, queues). A websocket has no body to read: its ``wsgi.input`` is replaced by one
      that says so, and the class, unused, lets go of the connection at once.
    """
    Element._handle_delete = _handle_delete_and_let_go  # type: ignore[method-assign,assignment]
    engineio_asgi._async["translate_request"] = _translate_request


TAB_STORAGE_SECONDS = 120.0
"""How long NiceGUI keeps a tab's ``app.storage.tab`` after its last change (NiceGUI's default: 30 days)."""


def forget_tabs(seconds: float = TAB_STORAGE_SECONDS) -> None:
    """Let NiceGUI drop each browser tab's storage soon instead of after 30 days.

    NiceGUI makes an ``app.storage.tab`` for every tab that connects, used or not, and prunes it
    only ``max_tab_storage_age`` after its last change: with the default, every tab that ever
    connected stays in memory for a month. The game keeps nothing there (a seat follows the
    browser's signed id, the dark-mode choice is in the same signed cookie), so two minutes are plenty.
    """
    app.storage.max_tab_storage_age = seconds


HEARTBEAT = (20.0, 10.0)
"""Seconds between Socket.IO pings to a page, and how long its pong may take."""


def slow_heartbeat(interval: float = HEARTBEAT[0], timeout: float = HEARTBEAT[1]) -> None:
    """Ping every page every ``interval`` seconds instead of NiceGUI's 0.8 of the reconnect timeout.

    NiceGUI ties the heartbeat to the reconnect timeout (10 s here: a ping every 8 s, a pong
    due within 4 s). Each ping and pong goes through the whole socket stack on both ends: at 1500
    pages the heartbeat alone cost the server 0.10 of a core (bench/results/SUMMARY.md, idle
    run). A heartbeat only finds connections that died without closing (a page that closes, or
    a network that resets, is noticed at once); Socket.IO's own default is 25 s and 20 s. With
    20 s and 10 s such a page is let go within 30 s (and its seat then waits the reconnect
    timeout as always), and a page survives an event-loop stall of up to 10 s. Call it at
    startup, after NiceGUI has set its own (its startup runs before the app's handlers).
    """
    core.sio.eio.ping_interval = interval
    core.sio.eio.ping_timeout = timeout


def handle_socket_events_in_order() -> None:
    """Run a socket's Socket.IO events one after another on its own reader, not each in a new task.

    python-socketio starts a task for every event a browser sends (its ``async_handlers``): a
    click, and the acknowledgement every page sends every 3 s (500 a second at 1500 pages). The
    handlers NiceGUI registers return at once (a click's handler is started as a task of its
    own, the acknowledgement prunes a list), so the extra task buys nothing but its cost, and
    without it a socket's events are also handled in the order they were sent.
    """
    core.sio.async_handlers = False


_PAGES_OF_TAB: dict[str, set[str]] = {}
"""The pages (client ids) of each browser tab that connected, for :func:`drop_unused_tab_storage`."""


def count_tab_pages(client: Client) -> None:
    """On connect: note the page's tab (NiceGUI pins a page to its tab at the first handshake)."""
    if client._pinned_tab_id is not None:
        _PAGES_OF_TAB.setdefault(client._pinned_tab_id, set()).add(client.id)


_UPSTREAM_HANDLE_DISCONNECT = Client.handle_disconnect


def _handle_disconnect(self: Client, socket_id: str) -> None:
    """NiceGUI's ``Client.handle_disconnect``, asking :data:`_PAGES_OF_TAB` whether the tab is still used.

    Upstream looks through every page for one pinned to the same tab when a page is deleted: with
    1440 pages deleted together, a million looks. Otherwise the same code. (A page counts for its
    tab from its first completed connection, where upstream counts it from the handshake: a page
    whose socket went while its tab storage was being made is not counted. Closing a tab storage
    matters only for one kept in Redis, which this app does not use.)
    """
    if socket_id not in self._socket_to_document_id:
        return
    document_id = self._socket_to_document_id.pop(socket_id)
    self._cancel_delete_task(document_id)
    self._num_connections[document_id] -= 1
    tab_id_to_close = self.tab_id
    # keep the tab_id as long as any socket is live, e.g. one that reconnected before this one was reaped
    if not self._socket_to_document_id:
        self.tab_id = None

    for t in self.disconnect_handlers:
        self.safe_invoke(t)
    for t in core.app._disconnect_handlers:
        self.safe_invoke(t)

    async def delete_content() -> None:
        await asyncio.sleep(self.page.resolve_reconnect_timeout())
        if self._num_connections[document_id] == 0:
            self._num_connections.pop(document_id)
            self._delete_tasks.pop(document_id)
            self.delete()  # before closing the tab storage, so a reconnect in between cannot create a new one
            if tab_id_to_close and not _PAGES_OF_TAB.get(tab_id_to_close):
                await app.storage.close_tab(tab_id_to_close)  # unless still in use, e.g. after a reload

    self._delete_tasks[document_id] = background_tasks.create(delete_content(), name=f"delete content {document_id}")


def index_tab_pages() -> None:
    """Keep each tab's pages (:func:`count_tab_pages`, :func:`drop_unused_tab_storage`) and use them on disconnect."""
    app.on_connect(count_tab_pages)
    app.on_delete(drop_unused_tab_storage)
    Client.handle_disconnect = _handle_disconnect  # type: ignore[method-assign]


def drop_unused_tab_storage(client: Client) -> None:
    """When a page is deleted, drop its tab's storage at once if nothing is in it and no other page uses it.

    NiceGUI makes an (empty) ``app.storage.tab`` for every tab that connects and keeps it for
    :data:`TAB_STORAGE_SECONDS` after its page is gone. The game keeps nothing there, so after a
    crowd leaves, 1500 empty dictionaries would outlive it by minutes, scattered over the memory
    the crowd's pages used and keeping the allocator from handing that memory back. A tab that
    comes back (a reload) gets a new one, as NiceGUI makes one for every connecting tab. The other
    pages of a tab are those :func:`count_tab_pages` saw connect (not a look through every page:
    1440 pages deleted together would make that 2 million looks).
    """
    tab_id = client._pinned_tab_id
    if tab_id is None:
        return
    pages = _PAGES_OF_TAB.get(tab_id, set())
    pages.discard(client.id)
    if pages:
        return  # another page of the tab still uses it
    _PAGES_OF_TAB.pop(tab_id, None)
    tabs = app.storage._tabs
    tab = tabs.get(tab_id)
    if tab is None or len(tab) or isinstance(tab, PersistentDict):
        return
    del tabs[tab_id]


_FASTAPI_SCOPE_STACKS = ("fastapi_astack", "fastapi_inner_astack", "fastapi_function_astack")


async def _finished(*_: Any) -> Any:
    return {"type": "http.disconnect"}


def let_go_of_page_request(client: Client) -> None:
    """Once a page's socket is connected, drop what its finished HTTP request still holds on to.

    NiceGUI keeps the request that built the page for as long as the page is open (its session
    id, headers and address are read later). That request still holds the channels of the HTTP
    exchange, long over by now: the ASGI ``receive``/``send`` callables with the middleware's
    streams, tasks and uvicorn's request cycle behind them, and FastAPI's exit stacks in the
    scope. About 20 KiB per open page (bench/load); the session, headers and address stay.
    """
    request = client.request
    for key in _FASTAPI_SCOPE_STACKS:
        request.scope.pop(key, None)
    # Starlette has no public way to detach these: a finished request reads as disconnected.
    request._receive = _finished
    request._send = _finished


def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or None where the C library has none (musl, macOS)."""
    name = ctypes.util.find_library("c")
    try:
        trim = ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):
        return None
    if trim is None:
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


_TRIM = _malloc_trim()


def release_memory() -> bool:
    """Collect what the departed pages left, and hand the C heap's free pages back to the system.

    Python frees objects into the C library's heap, which keeps the pages for later use: after a
    thousand browsers leave, the process would stay at its peak size. ``malloc_trim`` returns
    every free page of that heap. True if it returned any.
    """
    gc.collect()
    return bool(_TRIM(0)) if _TRIM is not None else False


def _session_of(client: Client) -> str | None:
    session = client.request.scope.get("session") if client.request is not None else None
    return session.get("id") if isinstance(session, dict) else None


def prune_user_storage() -> int:
    """Drop the empty ``app.storage.user`` of every browser session with no page open and no request running.

    NiceGUI makes a user storage (a file-backed dictionary, about 1 KiB) for each new browser
    session on its first request and never lets go of it: every visitor, every client without
    cookies (a health check, a crawler) adds one to memory for as long as the server runs. The
    game keeps nothing there. An empty one is nothing but its file name: when its browser comes
    back, NiceGUI's middleware makes it again (reading the file if one was written). Storages that
    hold anything, and those kept in Redis, stay as NiceGUI keeps them (bench/results/visitors.md).
    Returns how many went.
    """
    users = app.storage._users
    if not users:
        return 0
    busy = app.storage._active_request_sessions
    open_sessions = {_session_of(client) for client in Client.instances.values()}
    idle = [
        session
        for session, storage in users.items()
        if session not in open_sessions
        and not busy.get(session)
        and isinstance(storage, FilePersistentDict)
        and not storage
    ]
    for session in idle:
        del users[session]
    return len(idle)


class MemoryReturner:
    """Watches the number of connected pages and releases memory once most of them have gone.

    Checking is a dictionary's length every ``interval`` seconds (and :func:`prune_user_storage`,
    a look at each browser session's storage). Releasing runs a full
    collection, whose pause grows with what is still alive: with 1500 pages open it takes
    seconds (measured in bench/load), with a few dozen it takes milliseconds. So it happens only
    when at most ``fraction`` of the peak is left (and at least ``minimum`` pages went).
    """

    def __init__(self, *, interval: float = 10.0, fraction: float = 0.25, minimum: int = 20) -> None:
        self.interval, self.fraction, self.minimum = interval, fraction, minimum
        self.peak = 0
        self.releases = 0

    def check(self) -> bool:
        """Prune idle user storage; release memory if most pages left since the peak; True if it did."""
        prune_user_storage()
        clients = len(Client.instances)
        self.peak = max(self.peak, clients)
        gone = self.peak - clients
        if gone < self.minimum or clients > self.fraction * self.peak:
            return False
        self.peak = clients
        release_memory()
        self.releases += 1
        log.debug("released memory after %d pages left (%d remain)", gone, clients)
        return True

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            self.check()
