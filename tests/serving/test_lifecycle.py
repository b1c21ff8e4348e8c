"""Serving on a supervisor's socket and exiting when idle and bloated: when it is due, and no visitor refused."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from fastapi.responses import RedirectResponse
from nicegui import Client, ui
from nicegui.testing import User

from serving.lifecycle import IdleExit, inherited_socket, open_pages
from serving.settings import ServingSettings, ServingSettingsError
from tests.fixtures import ROOT, free_port

MIB = 2**20


class Watch:
    """An :class:`IdleExit` whose process size the test sets, and which counts the stops it asks for."""

    def __init__(self, *, growth: float = 0.1, pages: int = 20, idle_checks: int = 2) -> None:
        self.size = 100 * MIB
        self.stops = 0
        self.exit = IdleExit(
            growth=growth, pages=pages, idle_checks=idle_checks, memory=lambda: self.size, stop=self._stop
        )

    def _stop(self) -> None:
        self.stops += 1


def test_an_exit_waits_for_a_crowd_to_have_gone_and_for_the_memory_it_left() -> None:
    watch = Watch()
    idle = watch.exit
    assert idle.start == 100 * MIB
    watch.size = 300 * MIB
    assert not idle.check(19)  # never a crowd yet
    assert not idle.check(0)
    assert not idle.check(0)
    assert not idle.check(25)  # a crowd, still here
    assert not idle.check(0)  # gone for one look only
    assert not idle.check(3)  # someone came back
    assert not idle.check(0)
    assert watch.stops == 0
    assert idle.check(0)  # gone for two looks in a row, at three times the start
    assert watch.stops == 1
    assert idle.requested
    assert idle.check(0)
    assert watch.stops == 1


def test_a_process_within_its_growth_does_not_exit() -> None:
    watch = Watch(growth=0.1)
    idle = watch.exit
    idle.check(40)
    watch.size = 110 * MIB  # exactly 10 % over: allowed
    for _ in range(5):
        assert not idle.check(0)
    watch.size = 110 * MIB + 1
    assert idle.check(0)
    assert watch.stops == 1


def test_settings_for_the_idle_exit() -> None:
    default = ServingSettings.from_env({})
    assert (default.tuning, default.idle_exit_growth, default.idle_exit_pages) == (True, None, 20)
    on = ServingSettings.from_env({"IDLE_EXIT": "25", "IDLE_EXIT_PAGES": "3", "SERVER_TUNING": "OFF"})
    assert (on.tuning, on.idle_exit_growth, on.idle_exit_pages) == (False, 0.25, 3)


def test_patches_to_skip_are_a_comma_separated_list() -> None:
    assert ServingSettings.from_env({}).skip == ()
    assert ServingSettings.from_env({"SERVER_TUNING_SKIP": " gc-thresholds, no-deflate ,"}).skip == (
        "gc-thresholds",
        "no-deflate",
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"IDLE_EXIT": "lots"}, "IDLE_EXIT must be a percentage such as 10, or off, not 'lots'."),
        ({"IDLE_EXIT": "-5"}, "IDLE_EXIT must be a percentage such as 10, or off, not '-5'."),
        ({"IDLE_EXIT": "nan"}, "IDLE_EXIT must be a percentage such as 10, or off, not 'nan'."),
        ({"SERVER_TUNING": "fast"}, "SERVER_TUNING must be on or off, not 'fast'."),
        ({"IDLE_EXIT_PAGES": "0"}, "IDLE_EXIT_PAGES must be a whole number of at least 1, not '0'."),
    ],
)
def test_bad_serving_settings_are_clear_errors(env: dict[str, str], message: str) -> None:
    with pytest.raises(ServingSettingsError) as caught:
        ServingSettings.from_env(env)
    assert str(caught.value) == message


async def test_a_page_that_only_redirected_stops_counting_as_open(user: User) -> None:
    @ui.page("/test-redirect")
    def redirect() -> RedirectResponse:
        return RedirectResponse("/local", status_code=303)

    await user.open("/test-redirect")  # a page that only sends the browser elsewhere
    await user.should_see("Red's turn")
    now = time.time()
    built = [client for client in Client.instances.values() if client._response_built]
    redirected = [client for client in Client.instances.values() if not client._response_built]
    assert len(built) == 1
    assert len(redirected) == 1
    assert open_pages(now) == 2  # both young: the second could still be building its page
    assert open_pages(now + 11) == 1  # the game's page, sent and waiting for its browser


def test_a_socket_passed_as_systemd_passes_it_is_found() -> None:
    assert inherited_socket({}) is None
    assert inherited_socket({"LISTEN_FDS": "1", "LISTEN_PID": "1"}, pid=2) is None  # meant for another process
    with socket.create_server(("127.0.0.1", 0)) as listener:
        saved = os.dup(3) if _open(3) else None
        os.dup2(listener.fileno(), 3)
        try:
            assert inherited_socket({"LISTEN_FDS": "1", "LISTEN_PID": "7"}, pid=7) == 3
            assert inherited_socket({"LISTEN_FDS": "1"}) == 3
        finally:
            if saved is None:
                os.close(3)
            else:
                os.dup2(saved, 3)
                os.close(saved)


def _open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def _wait_for_listener(port: int, supervisor: subprocess.Popen[bytes]) -> None:
    """Until the supervisor listens (the app behind it may still be starting)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert supervisor.poll() is None
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("the supervisor did not listen within 30 s")


def test_the_app_exits_when_idle_and_bloated_and_its_supervisor_restarts_it_refusing_nobody(tmp_path: Path) -> None:
    port = free_port()
    log_path = tmp_path / "supervisor.log"
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "NICEGUI"))}
    env = {
        **inherited,
        "STORAGE_SECRET": "s",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'games.db'}",
        "IDLE_EXIT": "0",  # any growth will do
        "IDLE_EXIT_PAGES": "1",
        "PORT": "1",  # unused: the app serves the supervisor's socket
    }
    command = [sys.executable, "deploy/supervise.py", str(port), "--", sys.executable, "main.py"]
    with log_path.open("ab") as log:
        supervisor = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    failures: list[str] = []
    answered: list[float] = []
    probing = threading.Event()

    def probe() -> None:  # visitors checking in, one after another, all through the restart
        while probing.is_set():
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=30) as response:
                    assert response.read() == b"OK"
                    answered.append(time.monotonic())
            except Exception as exc:
                failures.append(repr(exc))

    probers = [threading.Thread(target=probe) for _ in range(4)]
    try:
        _wait_for_listener(port, supervisor)
        with urllib.request.urlopen(f"{url}/local", timeout=30) as response:  # waits in the queue for the app
            assert response.status == 200
        probing.set()
        for prober in probers:
            prober.start()
        deadline = time.monotonic() + 90
        while log_path.read_text().count("Application startup complete") < 2 and time.monotonic() < deadline:
            assert supervisor.poll() is None, log_path.read_text()
            time.sleep(0.2)
        time.sleep(1.0)
        probing.clear()
        for prober in probers:
            prober.join()
        text = log_path.read_text()
        assert "exiting for a fresh process: no page open" in text, text
        assert "supervise: the app exited with status 0" in text, text
        assert text.count("Application startup complete") == 2, text
        assert failures == []
        assert answered
        assert "Traceback" not in text
    finally:
        probing.clear()
        supervisor.send_signal(signal.SIGTERM)
        try:
            supervisor.wait(30)
        except subprocess.TimeoutExpired:
            supervisor.kill()
            supervisor.wait()
    assert supervisor.returncode == 0
