"""Restarting in place in real browsers: nobody notices, and a stop signal still stops."""

from __future__ import annotations

import re
import signal
import sys
import sysconfig
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.fixtures import AppServer, click_column, start_online_game

pytestmark = pytest.mark.browser


@contextmanager
def _restarting_server(
    tmp_path: Path, *, secret: str, pages: int, python: str = sys.executable, redis_url: str = ""
) -> Iterator[AppServer]:
    """The app, restarting in place as soon as ``pages`` pages were open and none is (any growth will do).

    With ``redis_url`` the games live in Redis and the app has no SQLite file at all (``memory://``).
    Stopped at the end, whatever the test found.
    """
    env = {
        "STORAGE_SECRET": secret,
        "DATABASE_URL": "memory://" if redis_url else f"sqlite:///{tmp_path / 'games.db'}",
        "REDIS_URL": redis_url,
        "IDLE_RESTART": "0",
        "IDLE_RESTART_PAGES": str(pages),
    }
    server = AppServer(env=env, log_path=tmp_path / "app.log", python=python).start()
    try:
        yield server
    finally:
        server.stop()


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


@pytest.mark.parametrize("store", ["sqlite", "redis"])
def test_the_server_restarts_in_place_once_its_pages_are_gone_and_nobody_notices(
    tmp_path: Path, chromium: Browser, store: str, request: pytest.FixtureRequest
) -> None:
    redis_url = request.getfixturevalue("redis_server").url if store == "redis" else ""
    # A random storage secret (none set): the players must still be themselves after the restart.
    with _restarting_server(tmp_path, secret="", pages=2, redis_url=redis_url) as server:
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


def test_sigterm_while_a_restart_is_on_its_way_stops_the_server(tmp_path: Path, chromium: Browser) -> None:
    with _restarting_server(tmp_path, secret="s", pages=1) as server:
        assert server.process is not None
        page = chromium.new_page()
        page.goto(f"{server.url}/local")
        expect(page.get_by_role("button", name="Column 4", exact=True)).to_be_visible()
        page.close()
        deadline = time.monotonic() + 60
        while "restarting in place" not in server.log() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "restarting in place" in server.log()
        assert server.stop(signal.SIGTERM) == 0  # within the second the restart gives the connections it took
        log = server.log()
        assert "stopped by SIGTERM" in log
        assert log.count("Application startup complete") == 1, log


def test_a_restart_whose_interpreter_is_gone_stops_with_a_clear_message(tmp_path: Path, chromium: Browser) -> None:
    # This test's environment under another name, whose interpreter can be taken away.
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}").mkdir(parents=True)
    (venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages").symlink_to(
        sysconfig.get_paths()["purelib"]
    )
    base = Path(sys.executable).resolve()  # the interpreter behind this environment
    (venv / "pyvenv.cfg").write_text(f"home = {base.parent}\ninclude-system-site-packages = false\n")
    python = venv / "bin" / "python"
    python.symlink_to(base.resolve())
    with _restarting_server(tmp_path, secret="s", pages=1, python=str(python)) as server:
        assert server.process is not None
        page = chromium.new_page()
        page.goto(f"{server.url}/local")
        expect(page.get_by_role("button", name="Column 4", exact=True)).to_be_visible()
        python.unlink()
        page.close()
        assert server.process.wait(60) == 1
        log = server.log()
        assert f"connect4: could not restart in place ({python} main.py): No such file or directory" in log
        assert "Traceback" not in log


def _children(pid: int) -> list[tuple[int, str]]:
    """(pid, state) of every child process of ``pid``, from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # ended meanwhile
                continue
            if int(fields[1]) == pid:
                found.append((int(entry.name), fields[0]))
    return found


def test_a_restart_leaves_no_child_process_behind(tmp_path: Path, chromium: Browser) -> None:
    with _restarting_server(tmp_path, secret="s", pages=1) as server:
        assert server.process is not None
        pid = server.process.pid
        page = chromium.new_page()
        page.goto(f"{server.url}/analyze?pos=4444")  # analysis starts the computer's worker processes
        expect(page.get_by_label(re.compile(r"Column 4 value: (win|loss|draw)"))).to_have_count(1, timeout=30_000)
        assert len(_children(pid)) >= 2  # a worker, and multiprocessing's resource tracker
        page.close()
        deadline = time.monotonic() + 60
        while server.log().count("Application startup complete") < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert server.log().count("Application startup complete") == 2
        time.sleep(2.0)  # a helper that outlived the old image would have ended by now, as a zombie
        assert _children(pid) == []
        assert server.stop() == 0
