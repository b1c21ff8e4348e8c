"""NiceGUI's websockets handed to its Socket.IO app past HTTP middleware that does nothing for them.

A page's websocket lives as long as the page, and every layer of FastAPI's stack it passes
(errors, telemetry, the body limit, the app's middleware, exceptions, the exit stack, the router,
the mount) stays suspended around it all that time, and some wrap each frame it sends. The route
sits inside the per-address limits and the security headers (:func:`serving.hardening.build_inside_the_door`),
so a socket still meets every security check, and it engages only when every middleware the app
added is one known to leave websockets alone: a middleware added later that could act on a
socket (an origin check, say) turns it off, and the log says which.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from fastapi import FastAPI
from nicegui import core
from nicegui.nicegui import SocketIoApp, sio_app
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.routing import Match, Mount
from starlette.types import ASGIApp, Receive, Scope, Send

from serving.limits import SOCKET_PATH

__all__ = ["SOCKET_PREFIX", "SocketRoute", "acting_on_websockets", "route_sockets"]

log = logging.getLogger(__name__)

SOCKET_PREFIX = SOCKET_PATH.rstrip("/")
"""Where NiceGUI mounts its Socket.IO app (``app.mount('/_nicegui_ws/', sio_app)``), as the limits know it."""

# SessionMiddleware does read a socket's cookie into its scope, but nothing behind the mount reads
# it: NiceGUI's storage keys on the page's HTTP request, which the handshake already found.
_LEAVE_WEBSOCKETS_ALONE: tuple[type, ...] = (GZipMiddleware, SessionMiddleware)

UPSTREAM: tuple[tuple[Callable[..., Any], str], ...] = (
    (BaseHTTPMiddleware.__call__, "a8390f3b9374199c"),
    (GZipMiddleware.__call__, "39309e2ec3db7a3f"),
    (SessionMiddleware.__call__, "d9d8f7569df18d73"),
    (FastAPI.build_middleware_stack, "4d76b65957b20f90"),  # the framework's own layers, outside and inside the app's
    (Mount.matches, "ac97bc77afeab550"),  # the scope the mount would give the socket app
    (SocketIoApp.__call__, "3fd745c5330f1ad0"),  # which takes the mount's root path off the path
)
"""The code the route's judgement rests on, with its fingerprints (serving.patches)."""


def _leaves_websockets_alone(middleware: Middleware) -> bool:
    cls = middleware.cls
    if not isinstance(cls, type):
        return False  # a factory function: what it builds is unknown
    if issubclass(cls, BaseHTTPMiddleware) and cls.__call__ is BaseHTTPMiddleware.__call__:
        return True  # it hands every scope but HTTP straight on
    return cls in _LEAVE_WEBSOCKETS_ALONE


def acting_on_websockets(middleware: Iterable[Middleware]) -> list[str]:
    """The names of the middleware in ``middleware`` that may act on a websocket (the route then stays off)."""
    return [getattr(m.cls, "__name__", repr(m.cls)) for m in middleware if not _leaves_websockets_alone(m)]


class SocketRoute:
    """An ASGI app that hands websockets under ``prefix`` to ``socket_app`` with the scope the mount would give it."""

    def __init__(self, app: ASGIApp, socket_app: ASGIApp, prefix: str = SOCKET_PREFIX) -> None:
        self.app, self.socket_app, self.prefix = app, socket_app, prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            root = scope.get("root_path", "")
            if scope["path"].startswith(root + self.prefix + "/"):
                child = {**scope, "app_root_path": scope.get("app_root_path", root), "root_path": root + self.prefix}
                await self.socket_app(child, receive, send)
                return
        await self.app(scope, receive, send)


_WARNED: set[tuple[str, ...]] = set()


def _mounted_first(web_app: FastAPI, socket_app: ASGIApp) -> bool:
    """Whether the router would hand a socket under the prefix to ``socket_app`` (the first route matching it)."""
    scope = {"type": "websocket", "path": f"{SOCKET_PREFIX}/socket.io/", "root_path": ""}
    for route in web_app.router.routes:
        match, _ = route.matches(scope)
        if match is not Match.NONE:
            return isinstance(route, Mount) and route.app is socket_app
    return False


def route_sockets(stack: ASGIApp, web_app: FastAPI | None = None, socket_app: ASGIApp | None = None) -> ASGIApp:
    """``stack`` with NiceGUI's websockets routed around it, or ``stack`` itself if a middleware may act on them."""
    web_app = core.app if web_app is None else web_app
    socket_app = sio_app if socket_app is None else socket_app
    acting = acting_on_websockets(web_app.user_middleware)
    if not _mounted_first(web_app, socket_app):
        acting = [f"a route before NiceGUI's socket mount at {SOCKET_PREFIX}"]
    if acting:
        if tuple(acting) not in _WARNED:
            _WARNED.add(tuple(acting))
            log.warning(
                "socket-route off: %s may act on websockets, so NiceGUI's sockets pass through all middleware",
                ", ".join(acting),
            )
        return stack
    log.info("socket-route on: NiceGUI's websockets go from the per-address limits straight to its Socket.IO app")
    return SocketRoute(stack, socket_app)
