"""The app as a process: configuration from the environment, health check, logging, clean shutdown."""

from __future__ import annotations

import logging
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from nicegui.testing import User

from games.settings import Settings, SettingsError
from tests.fixtures import ROOT, AppServer
from tests.ui.helpers import play


def test_healthz_answers_ok(app_server: AppServer) -> None:
    with urllib.request.urlopen(f"{app_server.url}/healthz", timeout=5) as response:
        assert response.status == 200
        assert response.read() == b"OK"


def test_sigterm_stops_the_server_cleanly(tmp_path: Path) -> None:
    server = AppServer(
        env={"STORAGE_SECRET": "s", "DATABASE_URL": f"sqlite:///{tmp_path}/a.db"}, log_path=tmp_path / "app.log"
    ).start()
    assert server.stop(signal.SIGTERM) == 0
    assert "Application shutdown complete" in server.log()
    assert "Traceback" not in server.log()


def test_a_random_storage_secret_is_announced(tmp_path: Path) -> None:
    server = AppServer(
        env={"STORAGE_SECRET": "", "DATABASE_URL": f"sqlite:///{tmp_path}/a.db"}, log_path=tmp_path / "app.log"
    ).start()
    server.stop()
    assert "STORAGE_SECRET is not set" in server.log()


def test_a_bad_port_is_a_clear_error_not_a_traceback() -> None:
    env = {"PATH": "/usr/bin:/bin", "PORT": "eighty"}
    result = subprocess.run([sys.executable, "main.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip() == "connect4: PORT must be a number from 1 to 65535, not 'eighty'."


def test_a_port_in_use_is_a_clear_error_not_a_traceback(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {"PATH": "/usr/bin:/bin", "PORT": str(port), "DATABASE_URL": f"sqlite:///{tmp_path}/a.db"}
        result = subprocess.run(
            [sys.executable, "main.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
        )
    assert result.returncode == 1
    assert result.stderr.strip().endswith(f"connect4: cannot listen on 127.0.0.1:{port}: Address already in use")
    assert "Traceback" not in result.stderr


def test_settings_defaults_and_environment() -> None:
    default = Settings.from_env({})
    assert (default.host, default.port, default.log_level) == ("127.0.0.1", 8080, "INFO")
    assert default.storage_secret_is_random
    assert len(default.storage_secret) >= 32
    custom = Settings.from_env({"HOST": "0.0.0.0", "PORT": "9000", "LOG_LEVEL": "debug", "STORAGE_SECRET": "x"})
    assert (custom.host, custom.port, custom.log_level, custom.storage_secret) == (
        "0.0.0.0",
        9000,
        "DEBUG",
        "x",
    )
    assert not custom.storage_secret_is_random


@pytest.mark.parametrize("env", [{"PORT": "70000"}, {"PORT": "-1"}, {"LOG_LEVEL": "LOUD"}])
def test_settings_refuse_bad_values(env: dict[str, str]) -> None:
    with pytest.raises(SettingsError):
        Settings.from_env(env)


async def test_debug_logging_records_every_move(user: User, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="games")
    await user.open("/local")
    await play(user, "45")
    moves = [r.getMessage() for r in caplog.records if "plays column" in r.getMessage()]
    assert len(moves) == 2
    assert "red plays column 4 (row 1)" in moves[0]
    assert "yellow plays column 5 (row 1)" in moves[1]


def test_main_reads_in_one_screen() -> None:
    # main.py is where a reader starts: settings, app, tuning, run; everything else lives in a layer.
    lines = (ROOT / "main.py").read_text().splitlines()
    assert len(lines) <= 40, f"main.py has {len(lines)} lines"
