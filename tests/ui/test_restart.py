"""Restarting in place once a crowd has gone: when it is due, which pages count, the settings."""

from __future__ import annotations

import os
import socket
import time

import pytest
from nicegui import Client
from nicegui.testing import User

from games.settings import Settings, SettingsError
from tests.fixtures import free_port
from ui.restart import LISTEN_FDS_VARIABLE, IdleRestart, listening_sockets, open_pages

MIB = 2**20


class Watch:
    """An :class:`IdleRestart` whose process size the test sets, and which counts the stops it asks for."""

    def __init__(self, *, growth: float = 0.1, pages: int = 20, idle_checks: int = 2) -> None:
        self.size = 100 * MIB
        self.stops = 0
        self.restart = IdleRestart(
            growth=growth, pages=pages, idle_checks=idle_checks, memory=lambda: self.size, stop=self._stop
        )

    def _stop(self) -> None:
        self.stops += 1


def test_a_restart_waits_for_a_crowd_to_have_gone_and_for_the_memory_it_left() -> None:
    watch = Watch()
    restart = watch.restart
    assert restart.start == 100 * MIB
    watch.size = 300 * MIB
    assert not restart.check(19)  # never a crowd yet
    assert not restart.check(0)
    assert not restart.check(0)
    assert not restart.check(25)  # a crowd, still here
    assert not restart.check(0)  # gone for one look only
    assert not restart.check(3)  # someone came back
    assert not restart.check(0)
    assert watch.stops == 0
    assert restart.check(0)  # gone for two looks in a row, at three times the start
    assert watch.stops == 1
    assert restart.requested
    assert restart.check(0)
    assert watch.stops == 1


def test_a_process_within_its_growth_does_not_restart() -> None:
    watch = Watch(growth=0.1)
    restart = watch.restart
    restart.check(40)
    watch.size = 110 * MIB  # exactly 10 % over: allowed
    for _ in range(5):
        assert not restart.check(0)
    watch.size = 110 * MIB + 1
    assert restart.check(0)
    assert watch.stops == 1


def test_settings_for_the_restart() -> None:
    default = Settings.from_env({})
    assert (default.idle_restart_growth, default.idle_restart_pages) == (0.10, 20)
    assert default.restarts_when_idle
    assert Settings.from_env({"IDLE_RESTART": "25", "IDLE_RESTART_PAGES": "3"}).idle_restart_growth == 0.25
    off = Settings.from_env({"IDLE_RESTART": "off"})
    assert off.idle_restart_growth is None
    assert not off.restarts_when_idle
    # Games that live only in the process would go with it.
    assert not Settings.from_env({"DATABASE_URL": "memory://"}).restarts_when_idle
    assert Settings.from_env({"DATABASE_URL": "memory://", "REDIS_URL": "redis://127.0.0.1:1/0"}).restarts_when_idle


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"IDLE_RESTART": "lots"}, "IDLE_RESTART must be a percentage such as 10, or off, not 'lots'."),
        ({"IDLE_RESTART": "-5"}, "IDLE_RESTART must be a percentage such as 10, or off, not '-5'."),
        ({"IDLE_RESTART": "nan"}, "IDLE_RESTART must be a percentage such as 10, or off, not 'nan'."),
        ({"IDLE_RESTART_PAGES": "0"}, "IDLE_RESTART_PAGES must be a whole number of at least 1, not '0'."),
    ],
)
def test_bad_restart_settings_are_clear_errors(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(env)
    assert str(caught.value) == message


async def test_a_page_that_only_redirected_stops_counting_as_open(user: User) -> None:
    await user.open("/local")  # makes a game and sends the browser to its own address
    await user.should_see("Red's turn")
    now = time.time()
    built = [client for client in Client.instances.values() if client._response_built]
    redirected = [client for client in Client.instances.values() if not client._response_built]
    assert len(built) == 1
    assert len(redirected) == 1
    assert open_pages(now) == 2  # both young: the second could still be building its page
    assert open_pages(now + 11) == 1  # the game's page, sent and waiting for its browser


@pytest.mark.parametrize(("host", "family"), [("127.0.0.1", socket.AF_INET), ("::1", socket.AF_INET6)])
def test_a_new_listening_socket_per_address_and_ipv6_for_ipv6_only(host: str, family: socket.AddressFamily) -> None:
    port = free_port()
    (sock,) = listening_sockets(host, port)
    try:
        assert (sock.family, sock.getsockname()[:2]) == (family, (host, port))
        assert not sock.get_inheritable()
        if family == socket.AF_INET6:
            assert sock.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY) == 1
        with socket.create_connection((host, port), timeout=5):
            pass
    finally:
        sock.close()


def test_the_next_image_takes_the_listening_sockets_over(monkeypatch: pytest.MonkeyPatch) -> None:
    made = [*listening_sockets("127.0.0.1", free_port()), *listening_sockets("::1", free_port())]
    try:
        monkeypatch.setenv(LISTEN_FDS_VARIABLE, ",".join(str(sock.fileno()) for sock in made))
        taken = listening_sockets("127.0.0.1", 1)  # host and port do not matter then
        assert LISTEN_FDS_VARIABLE not in os.environ  # not handed down to the computer's workers
        assert [sock.fileno() for sock in taken] == [sock.fileno() for sock in made]
        assert [(sock.family, sock.getsockname()) for sock in taken] == [
            (sock.family, sock.getsockname()) for sock in made
        ]
        for sock in taken:
            sock.detach()  # the same descriptors as ``made``: closed once, below
    finally:
        for sock in made:
            sock.close()
