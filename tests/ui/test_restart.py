"""Restarting in place once a crowd has gone: when it happens, and that nobody notices it."""

from __future__ import annotations

import re
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from games.settings import Settings, SettingsError
from tests.fixtures import AppServer, click_column, start_online_game
from ui.restart import IdleRestart

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


def _listening_inode(pid: int, port: int) -> str:
    """The inode of the socket that ``pid`` listens on ``port`` with: the same socket keeps its inode."""
    listening = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[3] == "0A" and int(fields[1].split(":")[1], 16) == port:  # 0A: LISTEN
            listening.add(fields[9])
    held = {m.group(1) for fd in Path(f"/proc/{pid}/fd").iterdir() if (m := re.match(r"socket:\[(\d+)\]", _link(fd)))}
    (inode,) = listening & held
    return inode


def _link(path: Path) -> str:
    try:
        return str(path.readlink())
    except OSError:  # closed meanwhile
        return ""


@pytest.mark.browser
def test_the_server_restarts_in_place_once_its_pages_are_gone_and_nobody_notices(
    tmp_path: Path, chromium: Browser
) -> None:
    # A random storage secret (none set): the players must still be themselves after the restart.
    env = {
        "STORAGE_SECRET": "",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'games.db'}",
        "IDLE_RESTART": "0",
        "IDLE_RESTART_PAGES": "2",
    }
    server = AppServer(env=env, log_path=tmp_path / "app.log").start()
    assert server.process is not None
    pid = server.process.pid
    inode = _listening_inode(pid, server.port)
    red_context, yellow_context = chromium.new_context(), chromium.new_context()
    red, yellow = red_context.new_page(), yellow_context.new_page()
    failures: list[str] = []
    answered: list[float] = []
    probing = threading.Event()

    def probe() -> None:  # visitors checking in, one after another, all through the restart
        while probing.is_set():
            try:
                with urllib.request.urlopen(f"{server.url}/healthz", timeout=30) as response:
                    assert response.read() == b"OK"
                    answered.append(time.monotonic())
            except Exception as exc:
                failures.append(repr(exc))

    try:
        join_url = start_online_game(red, yellow, server.url, [4, 4, 5])
        red_url = red.url
        red.close()
        yellow.close()

        probing.set()
        probers = [threading.Thread(target=probe) for _ in range(4)]
        for prober in probers:
            prober.start()
        deadline = time.monotonic() + 60
        while server.log().count("Application startup complete") < 2 and time.monotonic() < deadline:
            assert server.process.poll() is None, server.log()
            time.sleep(0.2)
        time.sleep(1.0)
        probing.clear()
        for prober in probers:
            prober.join()
        log = server.log()
        assert re.search(r"restarting in place: no page open, \d+ were", log), log
        assert log.count("Application startup complete") == 2, log
        assert log.count(f"Started server process [{pid}]") == 2  # the same process, a new image
        assert server.process.poll() is None
        assert _listening_inode(pid, server.port) == inode  # the same socket, never closed
        assert failures == []
        assert answered
        assert "Traceback" not in log

        # The same browsers (cookies) in new tabs: the same seats, the same moves, play goes on.
        red, yellow = red_context.new_page(), yellow_context.new_page()
        red.goto(red_url)
        yellow.goto(join_url)
        expect(yellow.get_by_text("Your turn")).to_be_visible()
        for page in (red, yellow):
            for label in ("Row 1, column 4: red", "Row 2, column 4: yellow", "Row 1, column 5: red"):
                expect(page.get_by_label(label)).to_have_count(1)
        click_column(yellow, 1)
        expect(red.get_by_text("Your turn")).to_be_visible()
        expect(red.get_by_label("Row 1, column 1: yellow")).to_have_count(1)
    finally:
        probing.clear()
        red_context.close()
        yellow_context.close()
        assert server.stop() == 0
