"""Load generator for the NiceGUI app: simulated browsers that speak NiceGUI's wire protocol from Python.

Each simulated browser does what ``nicegui.js`` does, without a browser: it keeps its own
cookie jar (so NiceGUI's signed browser id tells the players apart), GETs a page, reads the
client id and the elements the page embeds as JSON (columns by ``aria-label="Column N"`` and
their click listener, cells by ``aria-label="Row r, column c: ..."``), opens a Socket.IO
connection at ``/_nicegui_ws/socket.io`` with the query the page script sends (client_id,
tab_id, document_id, next_message_id, implicit_handshake), applies every ``update`` to its copy
of the elements, acknowledges messages every 3 s, and clicks by emitting ``event`` messages
exactly as the page script does.

Red opens ``/``, clicks "Invite a friend" and follows the ``open`` message to ``/join/<key>``;
yellow opens the join link, a spectator the watch link. See ``harness.py`` for the match
driver and the report.

    python bench/load/loadgen.py --games 50 --duration 60 --json bench/results/nicegui-50.json
    python bench/load/loadgen.py --url http://127.0.0.1:8080 --pid 1234 --games 10
    python bench/load/loadgen.py --games 500 --procs 4 --instances 2   # 4 generator processes, 2 apps + Redis

``--procs`` and ``--instances`` are carried out by ``scale.py``.
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import contextlib
import json
import os
import random
import re
import signal
import ssl
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlparse

import httpx
import socketio

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (
    RESULTS,
    Match,
    RunConfig,
    ServerProcess,
    Tally,
    base_env,
    free_port,
    gather_limited,
    run_benchmark,
    use_fast_loop,
    wait_until,
    write_json,
)
from scale import Instance, RedisServer, run_distributed

_ELEMENTS = re.compile(r"parseElements\(String\.raw`(.*?)`\)", re.S)
_QUERY = re.compile(r"^\s*query: (\{.*\}),\s*$", re.M)
_CELL = re.compile(r"^Row (\d), column (\d): (red|yellow|empty)$")
_COLUMN = re.compile(r"^Column (\d)$")
# A page may draw cells inside one element's HTML instead of one element each (the slim-page experiment).
_INNER_CELL = re.compile(r'aria-label="Row (\d), column (\d): (red|yellow|empty)"')
# The page escapes these in the embedded JSON; parseElements() in nicegui.js undoes them in this order.
_UNESCAPE = (("&#36;", "$"), ("&#96;", "`"), ("&gt;", ">"), ("&lt;", "<"), ("&amp;", "&"))

WARNING_TYPES = {"warning", "negative"}


class PageError(RuntimeError):
    """A page did not look like a NiceGUI page with what the driver needs."""


def parse_page(html: str) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The Socket.IO query and the elements (by id) that a NiceGUI page embeds."""
    elements_match = _ELEMENTS.search(html)
    query_match = _QUERY.search(html)
    if elements_match is None or query_match is None:
        raise PageError("no NiceGUI elements or socket query in the page")
    raw = elements_match.group(1)
    for escaped, plain in _UNESCAPE:
        raw = raw.replace(escaped, plain)
    elements = json.loads(raw)
    # The query is a Python dict literal in the template (True, not true).
    query = ast.literal_eval(query_match.group(1))
    return query, elements


def click_listener(element: dict[str, Any]) -> str | None:
    """The listener id of an element's plain click handler."""
    for event in element.get("events") or []:
        if event.get("type") == "click" and not event.get("specials") and not event.get("js_handler"):
            return str(event["listener_id"])
    return None


def inner_cells(element: dict[str, Any] | None) -> dict[tuple[int, int], str]:
    """Cells drawn inside an element's HTML content, by (row, column), rows and columns from 0."""
    content = str(((element or {}).get("props") or {}).get("innerHTML") or "")
    if 'aria-label="Row ' not in content:
        return {}
    return {(int(r) - 1, int(c) - 1): colour for r, c, colour in _INNER_CELL.findall(content)}


def label_of(element: dict[str, Any] | None) -> str:
    return str(((element or {}).get("props") or {}).get("aria-label", ""))


class Browser:
    """One simulated browser: a cookie jar, the current page's elements and its Socket.IO connection."""

    def __init__(self, base_url: str, tally: Tally, ssl_context: ssl.SSLContext, *, deflate: bool) -> None:
        self.base_url = base_url
        self.tally = tally
        self.deflate = deflate
        self.http = httpx.AsyncClient(base_url=base_url, timeout=120.0, verify=ssl_context)
        self.tab_id = str(uuid.uuid4())  # one tab for the browser's whole life, like sessionStorage
        self.sio: socketio.AsyncClient | None = None
        self.client_id = ""
        self.next_message_id = 0
        self._acked = -1
        self.elements: dict[str, dict[str, Any]] = {}
        self.cells: dict[str, tuple[int, int]] = {}
        self.html_cells: dict[str, dict[tuple[int, int], str]] = {}
        self.columns: dict[int, tuple[int, str]] = {}
        self.match: Match | None = None
        self.discs: list[tuple[int, int, str]] = []
        """The discs this page has shown, in the order they arrived (a rematch clears them)."""
        self._opened: asyncio.Future[str] | None = None
        self._ack_task: asyncio.Task[None] | None = None
        self._leaving = False
        self._reloading = False
        self._connects = 0
        self.path = "/"

    # -- pages and the connection ---------------------------------------------------------------

    async def open(self, path: str) -> None:
        """Load ``path`` and connect to it, as a browser does on navigation (the old page's socket closes)."""
        await self._disconnect()
        self.path = path
        response = await self.http.get(path)
        if response.status_code != 200:
            raise PageError(f"GET {path}: {response.status_code}")
        query, self.elements = parse_page(response.text)
        self.client_id = str(query["client_id"])
        self.next_message_id = int(query.get("next_message_id", 0))
        self._acked = -1
        self.cells.clear()
        self.html_cells.clear()
        self.columns.clear()
        self.discs.clear()
        for element_id, element in self.elements.items():
            if drawn := inner_cells(element):
                self.html_cells[element_id] = drawn
                for (row, column), colour in drawn.items():
                    if colour != "empty" and self.match is not None:
                        self.match.seen(self, row, column, colour)
            label = label_of(element)
            if cell := _CELL.match(label):
                self.cells[element_id] = (int(cell[1]) - 1, int(cell[2]) - 1)
                if cell[3] != "empty" and self.match is not None:
                    # After a reload the page itself may be the first to show a disc a click waits for.
                    self.match.seen(self, int(cell[1]) - 1, int(cell[2]) - 1, cell[3])
            elif (control := _COLUMN.match(label)) and (listener := click_listener(element)):
                self.columns[int(control[1]) - 1] = (int(element_id), listener)
        # socket.io-client's defaults in the page: reconnect after 1 s, up to 5 s apart, +-50 %.
        options: dict[str, Any] = {"websocket_extra_options": {"compress": 15}} if self.deflate else {}
        sio = socketio.AsyncClient(
            reconnection=True,
            reconnection_attempts=8,
            reconnection_delay=1,
            reconnection_delay_max=5,
            randomization_factor=0.5,
            **options,
        )
        sio.on("update", self._on_update)
        sio.on("notify", self._on_notify)
        sio.on("open", self._on_open)
        sio.on("run_javascript", self._on_javascript)
        sio.on("connect", self._on_connect)
        sio.on("disconnect", self._on_disconnect)
        sio.on("connect_error", self._on_connect_error)
        document_id = str(uuid.uuid4())
        implicit = "true" if query.get("implicit_handshake", True) else "false"

        def url() -> str:
            # Like nicegui.js, a reconnect tells the server the next message it expects.
            socket_query = {
                "client_id": self.client_id,
                "next_message_id": self.next_message_id,
                "implicit_handshake": implicit,
                "document_id": document_id,
                "tab_id": self.tab_id,
            }
            return f"{self.base_url}/?{urlencode(socket_query)}"

        cookie = "; ".join(f"{name}={value}" for name, value in self.http.cookies.items())
        self._leaving = False
        self._connects = 0
        await sio.connect(
            url,
            headers={"Cookie": cookie} if cookie else {},
            transports=["websocket"],
            socketio_path="/_nicegui_ws/socket.io",
            wait_timeout=60,
        )
        self.sio = sio
        self._ack_task = asyncio.get_running_loop().create_task(self._ack_forever())

    async def _disconnect(self) -> None:
        self._leaving = True
        if self._ack_task is not None:
            self._ack_task.cancel()
            self._ack_task = None
        if self.sio is not None:
            with contextlib.suppress(Exception):
                await self.sio.disconnect()
            self.sio = None

    async def close(self) -> None:
        await self._disconnect()
        await self.http.aclose()

    async def _ack_forever(self) -> None:
        # nicegui.js acknowledges every 3 s, and only when something new arrived.
        await asyncio.sleep(random.uniform(0, 3))
        while True:
            if self.sio is not None and self._acked < self.next_message_id:
                with contextlib.suppress(Exception):
                    await self.sio.emit("ack", {"client_id": self.client_id, "next_message_id": self.next_message_id})
                self._acked = self.next_message_id
            await asyncio.sleep(3.0)

    async def emit_event(self, element_id: int, listener_id: str, args: list[str | None] | None = None) -> None:
        """Send an element's event the way nicegui.js does (args are JSON strings)."""
        assert self.sio is not None, "not connected"
        await self.sio.emit(
            "event",
            {"id": element_id, "client_id": self.client_id, "listener_id": listener_id, "args": args or []},
        )

    # -- what arrives ---------------------------------------------------------------------------

    def _fresh(self, message: dict[str, Any]) -> bool:
        # Like nicegui.js: drop what was already seen (replayed after a rewind), remember the newest id.
        message_id = message.pop("_id", None)
        if message_id is None:
            return True
        if message_id < self.next_message_id:
            return False
        self.next_message_id = message_id + 1
        return True

    async def _on_update(self, message: dict[str, Any]) -> None:
        if not self._fresh(message):
            return
        for element_id, element in message.items():
            if element is None:
                self.elements.pop(element_id, None)
                continue
            before = label_of(self.elements.get(element_id))
            self.elements[element_id] = element
            if element_id in self.html_cells:
                old, new = self.html_cells[element_id], inner_cells(element)
                self.html_cells[element_id] = new
                for (row, column), colour in new.items():
                    if colour == old.get((row, column)):
                        continue
                    if colour == "empty":
                        self.discs = [d for d in self.discs if d[:2] != (row, column)]
                        continue
                    self.discs.append((row, column, colour))
                    if self.match is not None:
                        self.match.seen(self, row, column, colour)
                continue
            if element_id in self.cells:
                found = _CELL.match(label_of(element))
                if found is None:
                    continue
                row, column = self.cells[element_id]
                if found[3] == "empty":
                    self.discs = [d for d in self.discs if d[:2] != (row, column)]
                elif not before.endswith(found[3]):
                    self.discs.append((row, column, found[3]))
                if found[3] != "empty" and self.match is not None:
                    self.match.seen(self, row, column, found[3])

    async def _on_notify(self, message: dict[str, Any]) -> None:
        if self._fresh(message) and message.get("type") in WARNING_TYPES:
            self.tally.notifications[str(message.get("message", ""))[:120]] += 1

    async def _on_open(self, message: dict[str, Any]) -> None:
        if self._fresh(message) and self._opened is not None and not self._opened.done():
            self._opened.set_result(str(message.get("path", "")))

    async def _on_javascript(self, message: dict[str, Any]) -> None:
        if self._fresh(message) and "location.reload" in str(message.get("code", "")) and not self._reloading:
            self._reloading = True
            self.tally.reloads += 1
            asyncio.get_running_loop().create_task(self._reload())

    async def _on_connect(self) -> None:
        self._connects += 1
        if self._connects > 1:
            self.tally.reconnects += 1

    async def _on_disconnect(self, *_: Any) -> None:
        if not self._leaving:
            self.tally.unexpected_disconnects += 1

    async def _on_connect_error(self, data: Any = None) -> None:
        # nicegui.js reloads the page when the server no longer knows its client.
        if not self._leaving and "handshake failed" in str(data).lower() and not self._reloading:
            self._reloading = True
            self.tally.reloads += 1
            asyncio.get_running_loop().create_task(self._reload())

    async def _reload(self) -> None:
        try:
            await self.open(self.path)
        except Exception:
            self.tally.connect_failures["reload failed"] += 1
        finally:
            self._reloading = False

    # -- what a person does ---------------------------------------------------------------------

    def find(self, label: str) -> tuple[str, dict[str, Any]] | None:
        """The element with this aria-label on the current page (a shown one first)."""
        hidden = None
        for element_id, element in self.elements.items():
            if label_of(element) == label:
                if "hidden" not in (element.get("class") or []):
                    return element_id, element
                hidden = hidden or (element_id, element)
        return hidden

    async def click_label(self, label: str, timeout: float = 30.0) -> None:
        """Click the element labelled ``label`` as soon as the page shows one."""
        await wait_until(lambda: self._clickable(label) is not None, timeout)
        found = self._clickable(label)
        assert found is not None
        await self.emit_event(*found)

    def _clickable(self, label: str) -> tuple[int, str] | None:
        found = self.find(label)
        # A hidden element ignores events on the server, as a person cannot click what is not shown.
        if found is None or "hidden" in (found[1].get("class") or []):
            return None
        listener = click_listener(found[1])
        return (int(found[0]), listener) if listener else None

    async def invite(self, timeout: float = 60.0) -> str:
        """On the home page: click "Invite a friend" and return the path the server navigates to."""
        self._opened = asyncio.get_running_loop().create_future()
        await self.click_label("Invite a friend", timeout)
        return await asyncio.wait_for(self._opened, timeout)

    def link(self, label: str) -> str:
        """The path of the link labelled ``label`` ("Join link", "Watch link")."""
        found = self.find(label)
        if found is not None:
            return urlparse(str(found[1]["props"]["href"])).path
        # A page may also draw its links inside an element's HTML.
        pattern = re.compile(rf'aria-label="{re.escape(label)}" href="([^"]+)"')
        for element in self.elements.values():
            if link := pattern.search(str((element.get("props") or {}).get("innerHTML") or "")):
                return urlparse(link[1]).path
        raise PageError(f"no {label!r} on the page")

    async def click(self, column: int) -> None:
        # A person clicks on what the page shows; while it reconnects, the click waits.
        await wait_until(lambda: self.sio is not None and self.sio.connected and not self._reloading, 30.0)
        element_id, listener_id = self.columns[column]
        await self.emit_event(element_id, listener_id)

    async def rematch(self, *, first: bool) -> None:
        await self.click_label("Rematch" if first else "Accept rematch")

    def board(self) -> dict[tuple[int, int], str]:
        """What every cell on the page shows, by (row, column) from 0: red, yellow or empty."""
        shown = {cell: _CELL.match(label_of(self.elements.get(element_id))) for element_id, cell in self.cells.items()}
        board = {cell: match[3] for cell, match in shown.items() if match}
        for drawn in self.html_cells.values():
            board.update(drawn)
        return board

    def board_empty(self) -> bool:
        return all(colour == "empty" for colour in self.board().values())


class NiceGUIBackend:
    """Opens matches on a running NiceGUI app the way three people with three browsers would.

    Given several instances of the app (sharing one Redis), the browsers of match ``m`` are
    spread over them as a load balancer would: red on instance ``m % N``, yellow on
    ``(m + 1) % N``, the spectator on ``(m + 2) % N``, so every move crosses between instances.
    """

    name = "nicegui"

    def __init__(self, base_url: str | Sequence[str], *, deflate: bool = True, timeout: float = 60.0) -> None:
        urls = [base_url] if isinstance(base_url, str) else list(base_url)
        if not urls:
            raise ValueError("no base URL")
        self.base_urls = [url.rstrip("/") for url in urls]
        self.base_url = self.base_urls[0]
        self.deflate = deflate
        self.timeout = timeout
        # One TLS context for all (only http:// is used); httpx would build one per client otherwise.
        self.ssl_context = ssl.create_default_context()
        self.browsers: list[Browser] = []
        self._next_match = 0

    def browser(self, tally: Tally, instance: int = 0) -> Browser:
        """A new browser talking to instance ``instance`` (modulo the number of instances)."""
        browser = Browser(self.base_urls[instance % len(self.base_urls)], tally, self.ssl_context, deflate=self.deflate)
        self.browsers.append(browser)
        return browser

    async def open_match(self, tally: Tally, number: int | None = None) -> Match:
        """Open match ``number`` (the next one if not given); its number picks the instances its browsers use."""
        if number is None:
            number = self._next_match
            self._next_match += 1
        red, yellow, spectator = (self.browser(tally, number + seat) for seat in range(3))
        try:
            await red.open("/")
            # Links are absolute URLs on the creator's instance: every browser opens the path on its own.
            join_path = urlparse(await red.invite(self.timeout)).path
            await red.open(join_path)
            watch_path = red.link("Watch link")
            if red.link("Join link") != join_path:
                raise PageError("the join link on the page is not the one the server navigated to")
            await yellow.open(join_path)
            await spectator.open(watch_path)
        except BaseException:
            for browser in (red, yellow, spectator):
                await browser.close()
            raise
        match = Match(red, yellow, spectator, tally, timeout=self.timeout)
        match.key = join_path.rsplit("/", 1)[-1]
        for browser in (red, yellow, spectator):
            browser.match = match
        return match

    async def aclose(self) -> None:
        await gather_limited([b.close for b in self.browsers], 64)


def gc_during(stats_path: Path, window: list[float]) -> dict[str, Any]:
    """The probe's GC statistics, with the long pauses that fell into the play window."""
    if not stats_path.exists():
        return {}
    stats = json.loads(stats_path.read_text())
    start, end = window
    during = [p for p in stats.get("long_pauses", []) if start <= p["at"] <= end]
    gen2 = [p["ms"] for p in during if p["gen"] == 2]
    return {
        "threshold": stats.get("threshold"),
        "frozen": stats.get("frozen"),
        "by_generation_whole_run": stats.get("by_generation"),
        "pauses_over_5ms_in_play": len(during),
        "gen2_pauses_in_play": len(gen2),
        "gen2_max_ms_in_play": max(gen2, default=0.0),
        "longest_in_play": sorted(during, key=lambda p: -p["ms"])[:5],
        "loop_stalls_in_play": _stall_summary(
            [p["ms"] for p in stats.get("loop_stalls", []) if start <= p["at"] <= end]
        ),
    }


def _stall_summary(stalls: list[float]) -> dict[str, Any]:
    """How often and how long the server's event loop could not run anything (20 ms or more)."""
    ordered = sorted(stalls)
    return {
        "count": len(ordered),
        "total_ms": round(sum(ordered), 1),
        "p50_ms": ordered[len(ordered) // 2] if ordered else None,
        "max_ms": ordered[-1] if ordered else None,
        "over_100ms": sum(1 for ms in ordered if ms >= 100),
    }


def server_command(python: str, app_dir: Path) -> list[str]:
    return [python, str(app_dir / "main.py")]


async def start_app(
    *,
    database: str,
    log_path: Path,
    app_dir: Path,
    python: str = sys.executable,
    extra_env: dict[str, str] | None = None,
    argv: list[str] | None = None,
) -> tuple[ServerProcess, str, Path | None]:
    """Start ``main.py`` on a free loopback port; returns the process, its URL and the SQLite file (if any)."""
    port = free_port()
    db_file: Path | None = None
    if database == "sqlite":
        db_file = Path(tempfile.mkdtemp(prefix="c4load-")) / "games.db"
        url = f"sqlite:///{db_file}"
    else:
        url = "memory://"
    env = base_env(
        HOST="127.0.0.1",
        PORT=str(port),
        DATABASE_URL=url,
        STORAGE_SECRET="load-test-secret",
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(app_dir),
        **(extra_env or {}),
    )
    server = ServerProcess(argv or server_command(python, app_dir), env=env, log_path=log_path, cwd=app_dir)
    base = f"http://127.0.0.1:{port}"
    await server.start(f"{base}/healthz")
    return server, base, db_file


async def warm_up(base_url: str | Sequence[str]) -> None:
    """Build a few pages first, so one-time costs (templates, first imports) are not counted per browser.

    With several instances, one match per instance at least, so every instance builds every page.
    """
    tally = Tally()
    backend = NiceGUIBackend(base_url)
    for _ in range(max(2, len(backend.base_urls))):
        match = await backend.open_match(tally)
        for browser in match.browsers:
            await browser.close()
    await backend.aclose()
    await asyncio.sleep(5.0)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--games", type=int, default=50, help="online games, each with 2 players and 1 spectator")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of play after everyone connected")
    parser.add_argument("--pace", type=float, default=1.0, help="seconds between moves in a game")
    parser.add_argument("--url", help="benchmark a running app instead of starting one")
    parser.add_argument("--pid", type=int, help="with --url: the server's pid, for memory and CPU")
    parser.add_argument("--database", choices=["sqlite", "memory"], default="sqlite", help="store of a started app")
    parser.add_argument("--app-dir", type=Path, default=Path(__file__).resolve().parents[2], help="where main.py is")
    parser.add_argument("--no-deflate", action="store_true", help="do not offer permessage-deflate (browsers do)")
    parser.add_argument("--ramp", type=int, default=16, help="matches connecting at once (over all --procs)")
    parser.add_argument(
        "--leave-wait",
        type=float,
        default=25.0,
        help="seconds to wait after leaving before RSS (the app keeps a page 10 s for a reconnect)",
    )
    parser.add_argument("--ramp-timeout", type=float, default=300.0, help="stop connecting new games after this")
    parser.add_argument("--soak", type=float, default=0.0, help="play this long, sampling RSS every 10 s")
    parser.add_argument("--waves", type=int, default=1, help="connect, play and leave this many times in a row")
    parser.add_argument("--procs", type=int, default=1, help="load generator processes sharing the games")
    parser.add_argument(
        "--instances", type=int, default=1, help="app instances on one started redis-server (>1 implies --redis)"
    )
    parser.add_argument("--redis", action="store_true", help="keep the games in a started redis-server")
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE for a started app (experiments)")
    parser.add_argument("--probe", action="store_true", help="start the app under gcprobe.py (GC pause statistics)")
    parser.add_argument("--freeze-signal", action="store_true", help="with --probe: SIGUSR1 once all are connected")
    parser.add_argument(
        "--memory-report", type=Path, help="with --probe: heap report (SIGUSR2) before, connected, after leaving"
    )
    parser.add_argument("--json", type=Path, help="write the report here")
    parser.add_argument(
        "--ready-file", type=Path, help="create this file once every browser is connected, just before play"
    )
    args = parser.parse_args(argv)
    if args.procs < 1 or args.instances < 1:
        parser.error("--procs and --instances must be at least 1")
    if args.url and (args.instances > 1 or args.redis):
        parser.error("--instances and --redis start their own servers; they do not go with --url")
    if args.instances > 1 and (args.probe or args.freeze_signal or args.memory_report):
        parser.error("--probe, --freeze-signal and --memory-report watch one instance; use --instances 1")
    return args


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    """One run as the arguments describe it; the Redis it starts is stopped at the end, whatever happens."""
    redis: RedisServer | None = None
    try:
        if args.redis or args.instances > 1:
            redis = RedisServer(RESULTS / "logs" / f"redis-{args.games}-{int(time.time())}.log")
            await redis.start()
        if args.procs > 1 or args.instances > 1:
            report = await _scaled(args, redis)
        else:
            report = await _one_process(args, redis)
        if redis is not None:
            report["database"] = "redis"
            report["redis_alive_at_end"] = redis.alive()
    finally:
        if redis is not None:
            status = redis.stop()
            print(f"redis-server stopped with status {status}; log: {redis.log_path}", file=sys.stderr)
    return report


def _app_env(args: argparse.Namespace, redis: RedisServer | None) -> dict[str, str]:
    extra = dict(item.split("=", 1) for item in args.env)
    if redis is not None:
        extra["REDIS_URL"] = redis.url
    return extra


def _probe_argv(args: argparse.Namespace, log_path: Path, extra: dict[str, str]) -> list[str] | None:
    """With --probe: the command that starts the app under gcprobe.py (and its switches in ``extra``)."""
    if not args.probe:
        return None
    stats_path = log_path.with_suffix(".gc.json")
    extra["PROBE_STATS"] = str(stats_path)
    if args.freeze_signal:
        extra["PROBE_GC_FREEZE"] = "signal"
    if args.memory_report:
        extra["PROBE_MEMORY"] = str(args.memory_report.resolve())
        args.memory_report.unlink(missing_ok=True)
    return [sys.executable, str(Path(__file__).resolve().parent / "gcprobe.py"), str(args.app_dir / "main.py")]


def _hooks(
    args: argparse.Namespace, pid: int | None
) -> tuple[Callable[[], Awaitable[None]], Callable[[], Awaitable[None]]]:
    """What --memory-report, --freeze-signal and --ready-file do before and after the browsers connect."""

    async def before_ramp() -> None:
        if args.memory_report and pid:
            os.kill(pid, signal.SIGUSR2)
            await asyncio.sleep(3.0)

    async def after_ramp() -> None:
        if args.ready_file:  # another script (abuse.py) starts its own work alongside the play phase
            args.ready_file.write_text(f"{time.time()}\n")
        if args.freeze_signal and pid:
            os.kill(pid, signal.SIGUSR1)
            await asyncio.sleep(2.0)
        if args.memory_report and pid:
            os.kill(pid, signal.SIGUSR2)
            await asyncio.sleep(5.0)

    return before_ramp, after_ramp


def _finish(args: argparse.Namespace, report: dict[str, Any], servers: Sequence[ServerProcess]) -> None:
    """The run's settings in the report, as every run has them."""
    report["deflate_offered"] = not args.no_deflate
    report["database"] = "external" if args.url else args.database
    if args.env:
        report["env"] = args.env
    if servers:
        report["server_alive_at_end"] = all(server.alive() for server in servers)


async def _one_process(args: argparse.Namespace, redis: RedisServer | None) -> dict[str, Any]:
    """The browsers in this process, against one server (as before --procs and --instances)."""
    config = RunConfig.from_args(args)
    server: ServerProcess | None = None
    log_path: Path | None = None
    if args.url:
        base, pid = args.url.rstrip("/"), args.pid
    else:
        log_path = RESULTS / "logs" / f"nicegui-{args.games}-{int(time.time())}.log"
        extra = _app_env(args, redis)
        argv = _probe_argv(args, log_path, extra)
        server, base, _ = await start_app(
            database=args.database, log_path=log_path, app_dir=args.app_dir, extra_env=extra, argv=argv
        )
        pid = server.pid
    try:
        await warm_up(base)
        backend = NiceGUIBackend(base, deflate=not args.no_deflate)
        before_ramp, after_ramp = _hooks(args, pid)
        report = await run_benchmark(
            backend, config, pid=pid, log_path=log_path, before_ramp=before_ramp, after_ramp=after_ramp
        )
        # Later waves tell a leak (RSS grows again) from memory the process keeps but reuses (it does not).
        report["later_waves"] = []
        for _ in range(args.waves - 1):
            wave = await run_benchmark(NiceGUIBackend(base, deflate=not args.no_deflate), config, pid=pid)
            report["later_waves"].append(
                {"latency_ms": wave["latency_ms"], "memory": wave["memory"], "errors": wave["errors"]}
            )
        if args.memory_report and pid:  # what is still alive once everyone left
            os.kill(pid, signal.SIGUSR2)
            await asyncio.sleep(5.0)
        if args.probe and log_path is not None:
            await asyncio.sleep(2.5)  # the probe rewrites its file every 2 s
            report["gc"] = gc_during(log_path.with_suffix(".gc.json"), report["play_window"])
        _finish(args, report, [server] if server else [])
    finally:
        if server is not None:
            report_status = server.stop()
            print(f"server stopped with status {report_status}; log: {log_path}", file=sys.stderr)
    return report


async def _scaled(args: argparse.Namespace, redis: RedisServer | None) -> dict[str, Any]:
    """``--procs`` worker processes drive the browsers; ``--instances`` app instances share ``redis``."""
    config = RunConfig.from_args(args)
    servers: list[ServerProcess] = []
    instances: list[Instance] = []
    stamp = int(time.time())
    try:
        if args.url:
            instances.append(Instance(args.url.rstrip("/"), args.pid))
        for index in range(0 if args.url else args.instances):
            suffix = f"-{index}" if args.instances > 1 else ""
            log_path = RESULTS / "logs" / f"nicegui-{args.games}-{stamp}{suffix}.log"
            extra = _app_env(args, redis)
            argv = _probe_argv(args, log_path, extra)
            server, base, _ = await start_app(
                database=args.database, log_path=log_path, app_dir=args.app_dir, extra_env=extra, argv=argv
            )
            servers.append(server)
            instances.append(Instance(base, server.pid, log_path))
        urls = [instance.url for instance in instances]
        await warm_up(urls)
        before_ramp, after_ramp = _hooks(args, instances[0].pid)

        async def run_once(first: bool) -> dict[str, Any]:
            return await run_distributed(
                instances,
                config,
                procs=args.procs,
                deflate=not args.no_deflate,
                redis_pid=redis.pid if redis is not None else None,
                before_ramp=before_ramp if first else None,
                after_ramp=after_ramp if first else None,
            )

        report = await run_once(True)
        report["later_waves"] = []
        for _ in range(args.waves - 1):
            wave = await run_once(False)
            report["later_waves"].append(
                {"latency_ms": wave["latency_ms"], "memory": wave["memory"], "errors": wave["errors"]}
            )
        first_log = instances[0].log_path
        if args.probe and first_log is not None:
            await asyncio.sleep(2.5)  # the probe rewrites its file every 2 s
            report["gc"] = gc_during(first_log.with_suffix(".gc.json"), report["play_window"])
        report["instance_urls"] = urls
        _finish(args, report, servers)
    finally:
        for server in servers:
            status = server.stop()
            print(f"server {server.pid} stopped with status {status}; log: {server.log_path}", file=sys.stderr)
    return report


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    use_fast_loop()
    # SIGTERM (run.py's timeout, kill) ends the run like Ctrl-C: the servers, Redis and workers are stopped.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    report = asyncio.run(main_async(args))
    write_json(args.json, report)


if __name__ == "__main__":
    main()
