"""Per-address limits on page loads, socket handshakes and open sockets: past them, a small 429 page.

Security behaviour, not tuning: :func:`serving.install` installs it whatever SERVER_TUNING says.
The per-browser limits (games/hub.py) key on the browser's cookie, which a script simply drops; an
address it cannot drop. The address is the one uvicorn puts in the ASGI scope: the peer's, or,
for a peer in ``FORWARDED_ALLOW_IPS`` (the proxy), the one the proxy appended to
``X-Forwarded-For`` (uvicorn takes the last address not in that list, so one a client wrote
itself never counts). IPv6 addresses count by their /64, the block one subscriber gets. The
limits are per process: with several instances behind the proxy an address gets them on each.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from games.ratelimit import RateLimitedError, RateLimiter
from serving.headers import SECURITY_HEADERS

__all__ = ["AddressLimits", "OpenSockets", "Refusal", "address_key", "refusal_page"]


SOCKET_PATH = "/_nicegui_ws/"
"""Where NiceGUI mounts its Socket.IO server (nicegui/nicegui.py)."""

UNLIMITED_PATHS = ("/_nicegui/", "/favicon.ico", "/healthz")
"""Static files, the icon and the health check: answered from memory or one query, they hold nothing."""

OPEN_SOCKETS_RETRY_SECONDS = 10
"""Retry-After for an address at its number of open sockets: when one closes is not known."""

_HANDSHAKE = re.compile(rb"(?:^|&)sid=")


def address_key(client: tuple[str, int] | list[Any] | None) -> str:
    """The key an ASGI scope's ``client`` counts under: the IPv4 address, the IPv6 /64, or ``""`` when unknown."""
    if not client:
        return ""
    host = str(client[0])
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host  # a Unix socket's path or a name: whatever it is, one key
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return host


@dataclass(frozen=True)
class Refusal:
    """Why a request was refused and when to come back (whole seconds, at least 1)."""

    reason: str
    retry_after: int


_PAGE = """<!DOCTYPE html>
<html lang="en-US"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Too many requests - Connect Four</title>
<style>body{{font-family:system-ui,sans-serif;margin:0;background:#fff;color:#1d1d1d}}
header{{background:#1565c0;color:#fff;padding:12px 24px}}h1{{margin:0;font-size:1.5rem}}
main{{padding:24px;max-width:36rem}}a{{color:#0d47a1}}
@media (prefers-color-scheme:dark){{body{{background:#121212;color:#eee}}a{{color:#90caf9}}}}</style>
</head><body><header><h1>Connect Four</h1></header><main>
<h2>Too many requests.</h2><p>{reason} Try again in {wait}.</p>
<p><a href="/">Back to the home page</a></p></main></body></html>
"""


def refusal_page(refusal: Refusal) -> bytes:
    """The game's own short page for HTTP 429, a few hundred bytes built without NiceGUI."""
    wait = "a second" if refusal.retry_after == 1 else f"{refusal.retry_after} seconds"
    return _PAGE.format(reason=refusal.reason, wait=wait).encode()


class OpenSockets:
    """The Engine.IO sockets open per address, for a limit on how many one address holds at once.

    ``alive`` says whether a socket id still names an open socket: a socket that went away
    without its disconnect being seen is dropped when its address reaches the limit.
    """

    def __init__(self, limit: int, alive: Callable[[str], bool]) -> None:
        self.limit = limit
        self._alive = alive
        self._by_address: dict[str, set[str]] = {}
        self._address_of: dict[str, str] = {}

    def opened(self, address: str, sid: str) -> None:
        self._by_address.setdefault(address, set()).add(sid)
        self._address_of[sid] = address

    def closed(self, sid: str) -> None:
        address = self._address_of.pop(sid, None)
        sids = self._by_address.get(address) if address is not None else None
        if sids is not None:
            sids.discard(sid)
            if not sids:
                del self._by_address[address]  # type: ignore[arg-type]

    def full(self, address: str) -> bool:
        """Whether ``address`` holds its limit of open sockets now."""
        sids = self._by_address.get(address)
        if sids is None or len(sids) < self.limit:
            return False
        for sid in [sid for sid in sids if not self._alive(sid)]:
            self.closed(sid)
        return len(self._by_address.get(address, ())) >= self.limit

    def count(self, address: str) -> int:
        return len(self._by_address.get(address, ()))

    def __len__(self) -> int:
        return len(self._address_of)


class AddressLimits:
    """ASGI middleware: refuses, with 429 and ``Retry-After``, what one address asks for beyond its limits.

    Page loads are every HTTP request but static files, the icon and the health check; socket
    handshakes are requests to the socket path without an Engine.IO session id (a new socket,
    either transport), refused too while the address holds ``open_sockets.limit`` sockets. A
    limiter or the open sockets given as None is no limit.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        pages: RateLimiter | None,
        sockets: RateLimiter | None,
        open_sockets: OpenSockets | None,
    ) -> None:
        self.app = app
        self.pages = pages
        self.sockets = sockets
        self.open_sockets = open_sockets
        self.refused = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind in ("http", "websocket"):
            refusal = self.check(scope)
            if refusal is not None:
                self.refused += 1
                await _refuse(scope, receive, send, refusal)
                return
        await self.app(scope, receive, send)

    def check(self, scope: Scope) -> Refusal | None:
        """The refusal for this request, or None to let it through (and count it)."""
        path: str = scope.get("path", "")
        if path.startswith(SOCKET_PATH):
            if _HANDSHAKE.search(scope.get("query_string", b"")):
                return None  # a request of a socket already open, not a new one
            address = address_key(scope.get("client"))
            if self.open_sockets is not None and self.open_sockets.full(address):
                return Refusal("Too many game pages are open from your network at once.", OPEN_SOCKETS_RETRY_SECONDS)
            return _take(self.sockets, address, "Too many connections from your network at once.")
        if scope["type"] != "http" or path.startswith(UNLIMITED_PATHS):
            return None
        address = address_key(scope.get("client"))
        return _take(self.pages, address, "Too many pages requested from your network at once.")


def _take(limiter: RateLimiter | None, address: str, reason: str) -> Refusal | None:
    if limiter is None:
        return None
    try:
        limiter.check(address)
    except RateLimitedError as exc:
        return Refusal(reason, max(1, math.ceil(exc.retry_after)))
    return None


async def _refuse(scope: Scope, receive: Receive, send: Send, refusal: Refusal) -> None:
    body = refusal_page(refusal)
    headers = [
        (b"content-type", b"text/html; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(refusal.retry_after).encode()),
        (b"cache-control", b"no-store"),
    ]
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 429, "headers": headers})
        await send({"type": "http.response.body", "body": body})
    elif "websocket.http.response" in scope.get("extensions", {}):
        # SecurityHeaders lets sockets by, so their one HTTP answer adds the headers itself.
        headers.extend(SECURITY_HEADERS)
        await send({"type": "websocket.http.response.start", "status": 429, "headers": headers})
        await send({"type": "websocket.http.response.body", "body": body})
    else:
        await send({"type": "websocket.close", "code": 1013})  # "try again later"
