"""A browser without a browser: speaks NiceGUI's wire protocol from Python, for the load generator and the tests.

It does what ``nicegui.js`` does: keeps a cookie jar (so NiceGUI's signed browser id tells the
players apart), GETs a page, reads the client id and the elements the page embeds as JSON, opens
the Socket.IO connection with the query the page script sends, applies every ``update`` to its
copy of the elements, acknowledges messages and clicks by emitting ``event`` messages.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import json
import random
import re
import ssl
import time
import uuid
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import urlencode, urlparse

import aiohttp
import httpx
import socketio

from wireclient.tally import Tally


class Observer(Protocol):
    """Who is told of every disc a browser sees arrive (the load generator's match driver)."""

    def seen(self, viewer: Browser, row: int, column: int, colour: str) -> None: ...


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


async def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.05) -> None:
    """Poll ``condition`` until it holds; TimeoutError after ``timeout`` seconds."""
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError
        await asyncio.sleep(interval)


async def server_has_page(base_url: str, client_id: str, timeout: float = 10.0) -> bool:
    """Whether the server still holds the page ``client_id``: it accepts a socket for it, as nicegui.js opens one."""
    sio = socketio.AsyncClient(reconnection=False)
    query = {"client_id": client_id, "tab_id": str(uuid.uuid4()), "document_id": str(uuid.uuid4())}
    try:
        await sio.connect(
            f"{base_url}/?{urlencode({**query, 'next_message_id': 0, 'implicit_handshake': 'true'})}",
            transports=["websocket"],
            socketio_path="/_nicegui_ws/socket.io",
            wait_timeout=timeout,
        )
    except socketio.exceptions.ConnectionError:
        return False  # NiceGUI refuses the handshake of a page it no longer has (the page script reloads)
    await sio.disconnect()
    return True


class Browser:
    """One simulated browser: a cookie jar, the current page's elements and its Socket.IO connection."""

    def __init__(
        self, base_url: str, tally: Tally, ssl_context: ssl.SSLContext, *, deflate: bool, source: str | None = None
    ) -> None:
        """``source``: the local address its connections come from (any of 127.0.0.0/8 for a loopback server)."""
        self.base_url = base_url
        self.tally = tally
        self.deflate = deflate
        self.source = source
        transport = httpx.AsyncHTTPTransport(verify=ssl_context, local_address=source) if source else None
        self.http = httpx.AsyncClient(base_url=base_url, timeout=120.0, verify=ssl_context, transport=transport)
        self._socket_session: aiohttp.ClientSession | None = None
        self.tab_id = str(uuid.uuid4())  # one tab for the browser's whole life, like sessionStorage
        self.sio: socketio.AsyncClient | None = None
        self.client_id = ""
        self.next_message_id = 0
        self._acked = -1
        self.elements: dict[str, dict[str, Any]] = {}
        self.cells: dict[str, tuple[int, int]] = {}
        self.html_cells: dict[str, dict[tuple[int, int], str]] = {}
        self.columns: dict[int, tuple[int, str]] = {}
        self.match: Observer | None = None
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
        if self.source:
            if self._socket_session is None:
                connector = aiohttp.TCPConnector(local_addr=(self.source, 0))
                self._socket_session = aiohttp.ClientSession(connector=connector)
            options["http_session"] = self._socket_session
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
        if self._socket_session is not None:
            await self._socket_session.close()

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

    async def check(self, label: str, timeout: float = 30.0) -> None:
        """Tick the checkbox labelled ``label`` as a person would (Quasar sends its new value)."""
        await wait_until(lambda: self.find(label) is not None, timeout)
        found = self.find(label)
        assert found is not None
        for event in found[1].get("events") or []:
            if event.get("type") in ("update:modelValue", "update:model-value"):
                await self.emit_event(int(found[0]), str(event["listener_id"]), ["true"])
                return
        raise PageError(f"{label!r} is not a checkbox")

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
