"""NiceGUI's websockets skip the middleware that leaves them alone, and only then; the limits still come first."""

from __future__ import annotations

import asyncio
import logging
import ssl
from pathlib import Path
from typing import Any, ClassVar

import pytest
from fastapi import FastAPI
from nicegui.middlewares import RedirectWithPrefixMiddleware, SetCacheControlMiddleware
from nicegui.storage import RequestTrackingMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from serving.patches import fingerprint
from serving.sockets import SOCKET_PREFIX, UPSTREAM, SocketRoute, acting_on_websockets, route_sockets
from tests.fixtures import AppServer
from wireclient import Browser, Tally


class SocketApp:
    """A stand-in for the Socket.IO app behind the mount: it writes down each scope it is given."""

    def __init__(self) -> None:
        self.scopes: list[Scope] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.scopes.append(scope)


class OriginCheck:
    """A middleware of the kind added later for security: it looks at every websocket."""

    seen: ClassVar[list[str]] = []

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            OriginCheck.seen.append(scope["path"])
        await self.app(scope, receive, send)


def nicegui_like(socket_app: SocketApp, *extra: type[OriginCheck]) -> FastAPI:
    """A FastAPI app with the socket mount first and the middleware NiceGUI's ui.run adds, plus ``extra``."""
    web_app = FastAPI()
    web_app.mount(f"{SOCKET_PREFIX}/", socket_app)

    @web_app.get("/")
    def home() -> PlainTextResponse:
        return PlainTextResponse("home")

    web_app.add_middleware(RequestTrackingMiddleware)
    web_app.add_middleware(SessionMiddleware, secret_key="test")
    web_app.add_middleware(GZipMiddleware)
    web_app.add_middleware(RedirectWithPrefixMiddleware)
    web_app.add_middleware(SetCacheControlMiddleware)
    for middleware in extra:
        web_app.add_middleware(middleware)
    return web_app


def websocket(path: str, root_path: str = "") -> Scope:
    return {
        "type": "websocket",
        "path": root_path + path,
        "raw_path": (root_path + path).encode(),
        "root_path": root_path,
        "query_string": b"EIO=4&transport=websocket",
        "headers": [(b"host", b"127.0.0.1"), (b"cookie", b"session=nothing-signed")],
        "scheme": "ws",
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8080),
        "subprotocols": [],
    }


async def call(app: ASGIApp, scope: Scope) -> list[Message]:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "websocket.connect"} if scope["type"] == "websocket" else {"type": "http.request"}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(dict(scope), receive, send)
    return sent


@pytest.mark.parametrize("root_path", ["", "/behind/a/prefix"])
def test_a_socket_reaches_the_socket_app_with_the_scope_the_mount_would_give_it(root_path: str) -> None:
    routed_app, plain_app = SocketApp(), SocketApp()
    routed_web, plain_web = nicegui_like(routed_app), nicegui_like(plain_app)
    routed = route_sockets(routed_web.build_middleware_stack(), routed_web, routed_app)
    assert isinstance(routed, SocketRoute)

    scope = websocket(f"{SOCKET_PREFIX}/socket.io/", root_path)
    asyncio.run(call(routed, scope))
    asyncio.run(call(plain_web.build_middleware_stack(), scope))

    (through_route,), (through_stack,) = routed_app.scopes, plain_app.scopes
    assert through_route["root_path"] == through_stack["root_path"] == root_path + SOCKET_PREFIX
    for key in ("path", "app_root_path", "query_string", "headers", "client"):
        assert through_route[key] == through_stack[key], key


def test_pages_and_other_websockets_still_pass_through_the_middleware() -> None:
    socket_app = SocketApp()
    web_app = nicegui_like(socket_app)
    routed = route_sockets(web_app.build_middleware_stack(), web_app, socket_app)

    http = {**websocket("/"), "type": "http", "method": "GET", "scheme": "http", "http_version": "1.1"}
    sent = asyncio.run(call(routed, http))
    assert sent[0]["status"] == 200
    cookies = [value for name, value in sent[0]["headers"] if name == b"set-cookie"]
    assert len(cookies) == 1
    assert cookies[0].startswith(b"session=")  # the session and NiceGUI's request tracking saw it

    sent = asyncio.run(call(routed, websocket("/elsewhere")))
    assert sent == [{"type": "websocket.close", "code": 1000, "reason": ""}]  # the router's answer: no such route
    assert socket_app.scopes == []


def test_a_middleware_that_may_act_on_websockets_turns_the_route_off_and_the_log_names_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    socket_app = SocketApp()
    web_app = nicegui_like(socket_app, OriginCheck)
    stack = web_app.build_middleware_stack()
    with caplog.at_level(logging.WARNING, logger="serving.sockets"):
        assert route_sockets(stack, web_app, socket_app) is stack
    assert "OriginCheck" in caplog.text

    OriginCheck.seen.clear()
    asyncio.run(call(stack, websocket(f"{SOCKET_PREFIX}/socket.io/")))
    assert OriginCheck.seen == [f"{SOCKET_PREFIX}/socket.io/"]
    assert len(socket_app.scopes) == 1


def test_only_middleware_known_to_leave_websockets_alone_counts_as_such() -> None:
    web_app = nicegui_like(SocketApp(), OriginCheck)
    web_app.add_middleware(lambda app: GZipMiddleware(app))  # a factory: what it builds is unknown
    assert acting_on_websockets(web_app.user_middleware) == ["<lambda>", "OriginCheck"]
    assert acting_on_websockets(nicegui_like(SocketApp()).user_middleware) == []


def test_a_websocket_route_before_the_mount_turns_the_route_off() -> None:
    socket_app = SocketApp()
    web_app = FastAPI()

    @web_app.websocket(f"{SOCKET_PREFIX}/socket.io/")
    async def first(_: Any) -> None:
        pass

    web_app.mount(f"{SOCKET_PREFIX}/", socket_app)
    stack = web_app.build_middleware_stack()
    assert route_sockets(stack, web_app, socket_app) is stack


def test_the_code_the_route_rests_on_is_the_code_it_was_written_against() -> None:
    changed = [f.__qualname__ for f, expected in UPSTREAM if fingerprint(f) != expected]
    assert changed == [], f"upstream changed under socket-route: {changed}; check serving/sockets.py against it"


def test_the_game_server_routes_its_sockets_and_a_page_plays_over_them(tmp_path: Path) -> None:
    env = {"STORAGE_SECRET": "sockets", "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}"}
    server = AppServer(env=env, log_path=tmp_path / "app.log").start()
    try:

        async def play() -> str:
            red = Browser(server.url, Tally(), ssl.create_default_context(), deflate=False)
            await red.open("/")
            join = await red.invite()  # a click over the socket and the page's answer over it
            await red.close()
            return join

        assert "/join/" in asyncio.run(play())
    finally:
        server.stop()
    log = (tmp_path / "app.log").read_text()
    assert "socket-route on" in log
    assert "socket-route off" not in log
