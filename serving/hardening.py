"""Hostile clients kept small: forged socket messages dropped, per-address limits, pages never connected let go.

Security behaviour, not tuning: :func:`serving.install` installs it whatever SERVER_TUNING says.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from nicegui import Client, app, background_tasks, core
from starlette.applications import Starlette
from starlette.types import ASGIApp

from games.ratelimit import RateLimiter
from serving.headers import SecurityHeaders
from serving.limits import AddressLimits, OpenSockets, address_key
from serving.settings import ServingSettings

__all__ = [
    "UNCONNECTED_PAGE_SECONDS",
    "build_inside_the_door",
    "forget_unconnected_pages",
    "guard_socket_events",
    "guard_the_door",
]

log = logging.getLogger(__name__)

_MAX_ARGS = 16
_MAX_ARG_LENGTH = 64 * 1024  # a real click or key sends a few hundred bytes at most


def _well_formed(message: Any) -> bool:
    if not isinstance(message, dict):
        return False
    args = message.get("args", [])
    return (
        isinstance(message.get("client_id"), str)
        and type(message.get("id")) is int
        and isinstance(message.get("listener_id"), str)
        and isinstance(args, list)
        and len(args) <= _MAX_ARGS
        and all(arg is None or (isinstance(arg, str) and len(arg) <= _MAX_ARG_LENGTH) for arg in args)
    )


class _QuietWarnings:
    """Logs a warning per socket at most once a minute, so that a flood cannot flood the log too."""

    def __init__(self, interval: float = 60.0) -> None:
        self.interval = interval
        self._last: dict[str, float] = {}

    def warn(self, sid: str, message: str, *args: object) -> None:
        now = time.monotonic()
        if now - self._last.get(sid, -self.interval) >= self.interval:
            if len(self._last) > 10_000:
                self._last.clear()
            self._last[sid] = now
            log.warning(message, *args)


def guard_socket_events() -> None:
    """Wrap NiceGUI's socket handlers so that only well-formed messages from the page's own socket reach them.

    NiceGUI trusts what a page script sends: a forged message with a missing key, an unknown
    listener, arguments that are not JSON or an acknowledgement whose message number is not a
    number would end in a traceback in the log, and an event or acknowledgement that names
    another browser's client id would act on that browser's page. A real page never sends
    one, so such a message is dropped with a warning (once a minute per socket at most).
    """
    handlers = core.sio.handlers.get("/", {})
    quiet = _QuietWarnings()
    _guard_packets(quiet)
    for name in ("event", "ack", "log", "javascript_response"):
        original = handlers.get(name)
        if original is None or getattr(original, "_guarded", False):
            continue
        core.sio.on(name, _guard(name, original, quiet))


def _guard_packets(quiet: _QuietWarnings) -> None:
    """Drop, with a warning, what the Socket.IO decoder cannot read, instead of logging a traceback.

    Engine.IO hands every message of a socket to Socket.IO, which decodes it before anything
    else; a packet no page script sends (JSON cut short or nested too deep, an unknown packet
    type) fails there with a ValueError, which Engine.IO would log as an error with its traceback,
    twice, for every such packet. Event handlers run as tasks of their own, so what is caught
    here is the decoding of the client's packet, not the app's handling of it.
    """
    eio = core.sio.eio
    original = eio.handlers.get("message")
    if original is None or getattr(original, "_guarded", False):
        return

    async def message(eio_sid: str, data: Any) -> Any:
        try:
            return await original(eio_sid, data)
        except ValueError as exc:  # orjson's JSONDecodeError is a ValueError too
            quiet.warn(eio_sid, "dropped a Socket.IO packet from %s that could not be read: %r", eio_sid, exc)
            return None

    message._guarded = True  # type: ignore[attr-defined]
    eio.on("message", message)


def _in_room(sid: str, room: object) -> bool:
    """Whether socket ``sid`` joined ``room`` (a client's id): one lookup.

    ``sio.rooms(sid)`` would answer too, but it walks every room of the server, one per
    connected page: with 1500 pages that walk took a third of the server's time under load.
    """
    members = core.sio.manager.rooms.get("/", {}).get(room) if isinstance(room, str) else None
    return members is not None and sid in members


def _guard(name: str, original: Callable[..., Any], quiet: _QuietWarnings) -> Callable[..., Any]:
    def guarded(sid: str, message: Any = None, *_: Any) -> Any:
        if name == "event" and not _well_formed(message):
            quiet.warn(sid, "dropped a malformed event from socket %s", sid)
            return None
        if name == "ack" and not (isinstance(message, dict) and type(message.get("next_message_id")) is int):
            # A page acknowledges the messages it has by the next one's number (NiceGUI compares it).
            quiet.warn(sid, "dropped a malformed acknowledgement from socket %s", sid)
            return None
        if not isinstance(message, dict) or not _in_room(sid, message.get("client_id")):
            # The handshake put the socket in the room of its own client; any other client is not its to act for.
            quiet.warn(sid, "dropped a %s message from socket %s for a client that is not its own", name, sid)
            return None
        try:
            return original(sid, message)
        except (KeyError, ValueError, TypeError, AttributeError) as exc:
            quiet.warn(sid, "dropped a %s message from socket %s that did not fit: %r", name, sid, exc)
            return None

    guarded._guarded = True  # type: ignore[attr-defined]
    return guarded


UNCONNECTED_PAGE_SECONDS = 10.0
"""How long a rendered page waits for its browser's socket before it is let go (NiceGUI: 60 s)."""


def forget_unconnected_pages(seconds: float = UNCONNECTED_PAGE_SECONDS, interval: float = 2.0) -> None:
    """Let go of every page whose browser has not opened its socket ``seconds`` after it was rendered.

    NiceGUI prunes such pages (a crawler's, a link preview's, a script's) after 60 s; a flood of
    them is then held for a minute. Its own :meth:`Client.prune_instances` with a shorter age,
    every ``interval`` seconds, lets them go within ``seconds + interval``; a page whose socket
    dropped is left to NiceGUI's reconnect timeout as before. Size of such a page:
    bench/results/unconnected-pages.md.
    """

    async def prune_forever() -> None:
        while True:
            await asyncio.sleep(interval)
            Client.prune_instances(client_age_threshold=seconds)

    app.on_startup(lambda: background_tasks.create(prune_forever(), name="forget unconnected pages"))


def guard_the_door(settings: ServingSettings, web_app: Starlette | None = None) -> AddressLimits:
    """Put the per-address limits and the security headers outside everything else the app does.

    Outermost, around the middleware NiceGUI adds in ``ui.run`` and Starlette's error handler, so a
    refusal costs none of their work (no session cookie, no task) and every response, the 429
    and the 500 included, carries the headers. Starlette's public way, ``add_middleware``,
    would put them inside NiceGUI's. Call before the app starts.
    """
    web_app = core.app if web_app is None else web_app
    if web_app.middleware_stack is not None:
        raise RuntimeError("guard_the_door must be called before the app serves its first request")
    eio = core.sio.eio

    def alive(sid: str) -> bool:
        socket = eio.sockets.get(sid)
        return socket is not None and not socket.closed

    open_sockets = OpenSockets(settings.open_sockets, alive) if settings.open_sockets else None
    limits = AddressLimits(
        _not_built,
        pages=_limiter(settings.page_burst, settings.page_rate),
        sockets=_limiter(settings.socket_burst, settings.socket_rate),
        open_sockets=open_sockets,
    )
    # Installed again (NiceGUI's simulated users run main.py per test), it replaces itself.
    build = getattr(web_app.build_middleware_stack, "_unguarded", web_app.build_middleware_stack)
    inside: list[Callable[[ASGIApp], ASGIApp]] = []

    def build_guarded() -> ASGIApp:
        stack = build()
        for wrap in inside:
            stack = wrap(stack)
        limits.app = stack
        return SecurityHeaders(limits)

    build_guarded._unguarded = build  # type: ignore[attr-defined]
    build_guarded._inside = inside  # type: ignore[attr-defined]
    web_app.build_middleware_stack = build_guarded  # type: ignore[method-assign]
    if open_sockets is not None:
        _count_open_sockets(open_sockets)
    return limits


def build_inside_the_door(wrap: Callable[[ASGIApp], ASGIApp], web_app: Starlette | None = None) -> None:
    """Have ``wrap`` put around the app's own stack when it is built: inside the limits and the headers.

    For tuning that changes how requests reach the app: whatever it does, every request has met
    the limits first. Call after :func:`guard_the_door` and before the app serves.
    """
    web_app = core.app if web_app is None else web_app
    inside = getattr(web_app.build_middleware_stack, "_inside", None)
    if inside is None or web_app.middleware_stack is not None:
        raise RuntimeError("build_inside_the_door needs guard_the_door first, before the app serves")
    if wrap not in inside:
        inside.append(wrap)


async def _not_built(scope: Any, receive: Any, send: Any) -> None:
    raise RuntimeError("the app's middleware stack is not built yet")


def _limiter(burst: int, rate: float) -> RateLimiter | None:
    return RateLimiter(rate=rate, burst=burst, message="") if burst else None


def _count_open_sockets(open_sockets: OpenSockets) -> None:
    """Follow Engine.IO's connects and disconnects, each socket under its address (after the proxy's)."""
    eio = core.sio.eio
    connect, disconnect = eio.handlers.get("connect"), eio.handlers.get("disconnect")
    if connect is None or disconnect is None:
        return
    connect, disconnect = getattr(connect, "_unguarded", connect), getattr(disconnect, "_unguarded", disconnect)

    async def counted_connect(eio_sid: str, environ: dict[str, Any]) -> Any:
        accepted = await connect(eio_sid, environ)
        if accepted is None or accepted is True:
            scope = environ.get("asgi.scope") or {}
            open_sockets.opened(address_key(scope.get("client")), eio_sid)
        return accepted

    async def counted_disconnect(eio_sid: str, *args: Any) -> Any:
        open_sockets.closed(eio_sid)
        return await disconnect(eio_sid, *args)

    counted_connect._unguarded = connect  # type: ignore[attr-defined]
    counted_disconnect._unguarded = disconnect  # type: ignore[attr-defined]
    eio.on("connect", counted_connect)
    eio.on("disconnect", counted_disconnect)
