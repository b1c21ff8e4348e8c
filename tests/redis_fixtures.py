"""A real Redis for tests: Debian's redis-server on a free loopback port, stopped and restarted at will."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.fixtures import AppServer, free_port

REDIS_SERVER = "redis-server"


async def eventually(condition: Callable[[], bool], timeout: float = 5.0, what: str = "the condition") -> None:
    """Wait until ``condition()`` holds, or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.01)


@dataclass
class RedisServer:
    """``redis-server`` as a child process; ``stop()`` and ``start()`` keep its port and its data.

    No periodic snapshots and no append-only file: ``stop()`` is a ``SHUTDOWN SAVE``, which
    writes one snapshot into ``directory`` for the next ``start()`` to load, the way a
    maintenance restart of a real Redis keeps its data.
    """

    directory: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, timeout: float = 10.0) -> RedisServer:
        """Start (or restart) on the same port and wait until it answers PING."""
        assert not self.running, "redis-server is already running"
        command = [
            REDIS_SERVER,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.directory),
            "--logfile",
            str(self.directory / "redis.log"),
        ]
        self.process = subprocess.Popen(command, cwd=self.directory, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.process.returncode}:\n{self.log()}")
            if self.command("PING") == "+PONG":
                return self
            time.sleep(0.02)
        raise RuntimeError(f"redis-server did not answer PING within {timeout} s:\n{self.log()}")

    def stop(self, timeout: float = 10.0) -> None:
        """Shut down after writing the data to disk; returns once the port is closed."""
        if not self.running:
            return
        assert self.process is not None
        self.command("SHUTDOWN SAVE")
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def kill(self) -> None:
        """End without a word, the way a crash would (unsaved data is lost)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def command(self, line: str) -> str | None:
        """Send one inline command and return the first line of the reply (None if nothing answers)."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2) as sock:
                sock.sendall(line.encode() + b"\r\n")
                reply = sock.makefile("rb").readline()
        except OSError:
            return None
        return reply.decode().rstrip("\r\n") if reply else None

    def log(self) -> str:
        path = self.directory / "redis.log"
        return path.read_text(errors="replace") if path.exists() else ""


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A fresh, empty Redis for one test, in ``tmp_path``."""
    if shutil.which(REDIS_SERVER) is None:
        pytest.fail(
            "redis-server not found: install it with `apt-get update && apt-get install -y redis-server`.",
            pytrace=False,
        )
    directory = tmp_path / "redis"
    directory.mkdir()
    server = RedisServer(directory).start()
    try:
        yield server
    finally:
        server.kill()


SHARED_SECRET = "scale-out-test-secret"


def start_instances(
    redis: RedisServer, directory: Path, count: int = 2, extra_env: dict[str, str] | None = None
) -> list[AppServer]:
    """``count`` app processes sharing ``redis`` and one STORAGE_SECRET, started side by side.

    Each gets a DATABASE_URL of its own that must stay unused: with REDIS_URL set, games live in Redis.
    """
    apps = [
        AppServer(
            env={
                "REDIS_URL": redis.url,
                "STORAGE_SECRET": SHARED_SECRET,
                "DATABASE_URL": f"sqlite:///{directory / f'unused-{index}.db'}",
                "LOG_LEVEL": "INFO",
                **(extra_env or {}),
            },
            log_path=directory / f"app-{index}.log",
        )
        for index in range(count)
    ]
    with ThreadPoolExecutor(count) as pool:
        futures = [pool.submit(app.start) for app in apps]
    try:
        for future in futures:
            future.result()
    except BaseException:
        for app in apps:
            if app.process is not None:
                app.stop()
        raise
    return apps


@pytest.fixture
def two_apps(redis_server: RedisServer, tmp_path: Path) -> Iterator[list[AppServer]]:
    """Two app instances on one Redis, as behind a load balancer (without the load balancer)."""
    apps = start_instances(redis_server, tmp_path)
    try:
        yield apps
    finally:
        for app in apps:
            app.stop()


def health(app: AppServer) -> int | None:
    """The status of ``/healthz``, or None if nothing answers."""
    try:
        with urllib.request.urlopen(f"{app.url}/healthz", timeout=2) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


def wait_for_health(app: AppServer, status: int, timeout: float = 10.0) -> None:
    """Wait until ``/healthz`` answers ``status``, or fail."""
    deadline = time.monotonic() + timeout
    while (answer := health(app)) != status:
        if time.monotonic() > deadline:
            pytest.fail(f"{app.url}/healthz answered {answer}, not {status}, for {timeout} s")
        time.sleep(0.05)
