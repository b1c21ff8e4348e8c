"""Real parts for tests: the app as a process on a loopback port, and Debian's Chromium via Playwright."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from engine.connect4 import Connect4

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = ROOT / "tests" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class AppServer:
    """``python main.py`` running as a child process on a free loopback port."""

    env: dict[str, str]
    log_path: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    python: str = sys.executable

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> AppServer:
        # NiceGUI treats a process that sees PYTEST_* variables as a screen test; this one is real.
        inherited = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "NICEGUI"))}
        env = {**inherited, **self.env, "HOST": "127.0.0.1", "PORT": str(self.port)}
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [self.python, "main.py"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the app exited with {self.process.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"the app did not answer /healthz within {timeout} s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 15.0) -> int:
        """Send ``sig`` and wait for the exit code."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


@pytest.fixture
def app_server(tmp_path: Path) -> Iterator[AppServer]:
    """A fresh app process with its own working directory's files in ``tmp_path``."""
    server = AppServer(
        env={"STORAGE_SECRET": "test-secret", "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}"},
        log_path=tmp_path / "app.log",
    ).start()
    try:
        yield server
    finally:
        server.stop()


# Module scope: Playwright's sync API keeps an event loop running while it is open, which the
# async NiceGUI tests of other modules must not find.
@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    """Debian's Chromium driven by Playwright (Playwright's own browser download does not work here)."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"Chromium not found at {CHROMIUM}. Install it with `apt-get update && apt-get install -y chromium` "
            "(or point the CHROMIUM environment variable at a Chromium binary).",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def click_column(page: Page, column: int) -> None:
    """Click the control labelled "Column N" (N from 1) in a real browser."""
    page.get_by_role("button", name=f"Column {column}", exact=True).click()


def start_online_game(red: Page, yellow: Page, url: str, columns: list[int]) -> str:
    """Red invites at ``url``, yellow joins, and they play ``columns`` in turn, each move acknowledged.

    Acknowledged: the opponent's board shows it, so the server has stored it. Returns the join link.
    """
    red.goto(url)
    red.get_by_role("button", name="Invite a friend").click()
    join_url = red.get_by_role("link", name="Join link").get_attribute("href")
    assert join_url is not None
    yellow.goto(join_url)
    for index, column in enumerate(columns):
        page, other = (red, yellow) if index % 2 == 0 else (yellow, red)
        click_column(page, column)
        expect(other.get_by_text("Your turn")).to_be_visible()
    return join_url


def screenshot_path(name: str) -> Path:
    """Where a browser test saves what it saw."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / f"{name}.png"


def position_from_choices(choices: list[int]) -> Connect4:
    """A legal game built from arbitrary numbers (as Hypothesis draws them): each picks among the legal columns."""
    game = Connect4()
    for choice in choices:
        if not (legal := game.legal_columns()):
            break
        game.play(game.turn, legal[choice % len(legal)])
    return game
