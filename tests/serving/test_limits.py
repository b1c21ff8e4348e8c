"""Per-address limits on a real server: past them a small 429 page; other addresses and a forged header unaffected."""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import socketio

from serving.headers import SECURITY_HEADERS
from serving.limits import OpenSockets, address_key
from serving.settings import ServingSettings, ServingSettingsError
from tests.fixtures import AppServer
from wireclient import Browser, PageError, Tally
from wireclient.browser import parse_page, server_has_page

SMALL = {
    "ADDRESS_PAGES_BURST": "5",
    "ADDRESS_PAGES_PER_SECOND": "0.1",
    "ADDRESS_SOCKETS_BURST": "4",
    "ADDRESS_SOCKETS_PER_SECOND": "0.1",
    "ADDRESS_OPEN_SOCKETS": "2",
}


@pytest.fixture(scope="module")
def small_limits(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    """One server with small limits; each test comes from loopback addresses of its own (127.0.0.0/8)."""
    tmp = tmp_path_factory.mktemp("limits")
    env = {"STORAGE_SECRET": "limits", "DATABASE_URL": f"sqlite:///{tmp / 'app.db'}", **SMALL}
    server = AppServer(env=env, log_path=tmp / "app.log").start()
    yield server
    server.stop()


def client(server: AppServer, source: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=server.url, transport=httpx.AsyncHTTPTransport(local_address=source))


def browser(server: AppServer, source: str) -> Browser:
    return Browser(server.url, Tally(), ssl.create_default_context(), deflate=False, source=source)


@pytest.mark.parametrize(
    ("client_address", "key"),
    [
        (("203.0.113.7", 5000), "203.0.113.7"),
        (("2001:db8:1:2:3:4:5:6", 5000), "2001:db8:1:2::/64"),
        (("2001:db8:1:2:ffff::1", 5000), "2001:db8:1:2::/64"),
        (("::ffff:203.0.113.7", 5000), "203.0.113.7"),
        (None, ""),
    ],
)
def test_an_address_counts_alone_and_ipv6_by_its_64(client_address: tuple[str, int] | None, key: str) -> None:
    assert address_key(client_address) == key


def test_the_limits_come_from_the_environment_with_generous_defaults() -> None:
    default = ServingSettings.from_env({})
    assert (default.page_burst, default.page_rate, default.socket_burst, default.socket_rate) == (120, 2.0, 120, 2.0)
    assert default.open_sockets == 200
    env = {"ADDRESS_PAGES_BURST": "0", "ADDRESS_SOCKETS_PER_SECOND": "0.5", "ADDRESS_OPEN_SOCKETS": " 50 "}
    custom = ServingSettings.from_env(env)
    assert (custom.page_burst, custom.socket_rate, custom.open_sockets) == (0, 0.5, 50)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"ADDRESS_PAGES_BURST": "many"}, "ADDRESS_PAGES_BURST must be a whole number (0 for no limit), not 'many'."),
        ({"ADDRESS_OPEN_SOCKETS": "-1"}, "ADDRESS_OPEN_SOCKETS must be a whole number (0 for no limit), not '-1'."),
        (
            {"ADDRESS_PAGES_PER_SECOND": "0"},
            "ADDRESS_PAGES_PER_SECOND must be a number of requests per second above 0, such as 2, not '0'.",
        ),
        (
            {"ADDRESS_SOCKETS_PER_SECOND": "nan"},
            "ADDRESS_SOCKETS_PER_SECOND must be a number of requests per second above 0, such as 2, not 'nan'.",
        ),
    ],
)
def test_a_limit_that_is_not_a_number_stops_the_server_with_a_sentence(env: dict[str, str], message: str) -> None:
    with pytest.raises(ServingSettingsError) as refused:
        ServingSettings.from_env(env)
    assert str(refused.value) == message


def test_a_socket_gone_without_a_disconnect_is_forgotten_when_its_address_is_full() -> None:
    alive = {"a", "b"}
    sockets = OpenSockets(2, lambda sid: sid in alive)
    sockets.opened("1.2.3.4", "a")
    sockets.opened("1.2.3.4", "b")
    assert sockets.full("1.2.3.4")
    alive.discard("b")
    assert not sockets.full("1.2.3.4")
    sockets.closed("a")
    assert len(sockets) == 0


async def test_page_loads_past_the_limit_get_429_with_retry_after_and_the_games_page(small_limits: AppServer) -> None:
    async with client(small_limits, "127.0.0.11") as script, client(small_limits, "127.0.0.12") as other:
        answers = [await script.get("/") for _ in range(5)]
        assert [a.status_code for a in answers] == [200] * 5
        refused = await script.get("/local")
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) >= 1
        assert refused.headers["content-type"] == "text/html; charset=utf-8"
        assert "Too many requests." in refused.text
        assert 'href="/"' in refused.text
        assert len(refused.content) < 2000
        assert "set-cookie" not in refused.headers  # nothing of NiceGUI's ran for it
        # Static files and the health check are not page loads; another address has its own limit.
        assert (await script.get("/healthz")).status_code == 200
        assert (await other.get("/")).status_code == 200
        # The server on 127.0.0.1 trusts X-Forwarded-For from 127.0.0.1 only (FORWARDED_ALLOW_IPS):
        # a client elsewhere that names another address is still itself.
        forged = await script.get("/", headers={"X-Forwarded-For": "198.51.100.1"})
        assert forged.status_code == 429


async def test_behind_the_trusted_proxy_the_address_is_the_one_it_reports(small_limits: AppServer) -> None:
    async with client(small_limits, "127.0.0.1") as proxy:
        # A client's own X-Forwarded-For comes first in the list; the proxy appends the address it saw.
        for _ in range(5):
            answer = await proxy.get("/", headers={"X-Forwarded-For": "198.51.100.9, 203.0.113.20"})
            assert answer.status_code == 200
        assert (await proxy.get("/", headers={"X-Forwarded-For": "198.51.100.10, 203.0.113.20"})).status_code == 429
        assert (await proxy.get("/", headers={"X-Forwarded-For": "203.0.113.21"})).status_code == 200


async def test_socket_handshakes_past_the_limit_get_429_on_either_transport(small_limits: AppServer) -> None:
    handshake = "/_nicegui_ws/socket.io/?EIO=4&transport=polling"
    async with client(small_limits, "127.0.0.13") as script:
        for _ in range(4):
            opened = await script.get(handshake)
            # Engine.IO answers a handshake without a client's page (NiceGUI refuses it later, on connect).
            assert opened.status_code == 200
            sid = opened.text.split('"sid":"', 1)[1].split('"', 1)[0]
            # A request of a socket already open is not a new socket: here, its close packet.
            assert (await script.post(f"{handshake}&sid={sid}", content=b"1")).status_code == 200
        refused = await script.get(handshake)
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) >= 1
    reader, writer = await asyncio.open_connection("127.0.0.1", small_limits.port, local_addr=("127.0.0.13", 0))
    writer.write(
        b"GET /_nicegui_ws/socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    status = await asyncio.wait_for(reader.readline(), 10)
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    writer.close()
    assert status.startswith(b"HTTP/1.1 429"), status
    # The socket's refusal is an HTTP answer like any other: it carries the security headers too.
    names = {line.split(b":", 1)[0].strip().lower() for line in head.split(b"\r\n") if b":" in line}
    assert {name for name, _ in SECURITY_HEADERS} <= names, head


async def test_an_address_holds_only_so_many_open_sockets_and_gets_one_back_when_one_closes(
    small_limits: AppServer,
) -> None:
    first, second, third = (browser(small_limits, "127.0.0.14") for _ in range(3))
    try:
        await first.open("/")
        await second.open("/")
        with pytest.raises((socketio.exceptions.ConnectionError, PageError)):
            await third.open("/")
        await first.close()
        await asyncio.sleep(0.5)
        await third.open("/")
        assert third.sio is not None
        assert third.sio.connected
    finally:
        for page in (first, second, third):
            await page.close()


async def test_a_page_whose_browser_never_connects_is_let_go_within_about_10_s(tmp_path: Path) -> None:
    # With the tuning off: letting such pages go is hardening, not tuning.
    env = {"STORAGE_SECRET": "x", "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}", "SERVER_TUNING": "off"}
    server = AppServer(env=env, log_path=tmp_path / "app.log").start()
    try:
        early, late = browser(server, "127.0.0.15"), browser(server, "127.0.0.15")
        started = time.monotonic()
        late_page = await late.http.get("/local")
        await early.open("/")  # a socket a few seconds after its page is welcome
        assert early.sio is not None
        assert early.sio.connected
        await asyncio.sleep(13 - (time.monotonic() - started))
        client_id = parse_page(late_page.text)[0]["client_id"]
        assert not await server_has_page(server.url, client_id)
        assert early.sio.connected  # a connected page stays
        await early.close()
        await late.close()
    finally:
        server.stop()
