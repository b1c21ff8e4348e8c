"""Messages to and from a page without a task each: a real Socket.IO server on 127.0.0.1, counting its tasks."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import threading
import time
from collections import Counter
from collections.abc import Coroutine, Generator, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import engineio.async_server
import pytest
import socketio
import uvicorn
import websockets
from bidict import bidict
from engineio.async_socket import AsyncSocket
from nicegui import core, ui
from nicegui.testing import User
from socketio.async_manager import AsyncManager

from serving import lean_io
from serving.lean_io import (
    LeanManager,
    LeanOutbox,
    LeanSocket,
    check_sockets_in_one_pass,
)
from tests.fixtures import free_port

T = TypeVar("T")


class TaskCounter:
    """A task factory that counts the tasks a loop starts, by the name of their coroutine."""

    def __init__(self) -> None:
        self.started: Counter[str] = Counter()

    def __call__(
        self, loop: asyncio.AbstractEventLoop, coro: Generator[Any, None, T] | Coroutine[Any, Any, T], /, **kwargs: Any
    ) -> asyncio.Task[T]:
        self.started[getattr(coro, "__qualname__", repr(coro))] += 1
        return asyncio.Task(coro, loop=loop, **kwargs)


PAYLOADS: list[Any] = [
    {"update": {"5": {"props": {"innerHTML": "<span>é</span>"}, "classes": ["a"]}}, "_id": 7},
    "text",
    ("two", {"arguments": [1, 2.5, None, True]}),
    b"\x00\x01 binary",
    {"nested": [b"\xff", {"deeper": bytearray(b"\x00")}]},
    None,
    [1, "two"],
]
"""What the servers below emit for ``payloads``: JSON, several arguments, bytes (sent as attachments), nothing."""


class SocketServer:
    """A Socket.IO server as NiceGUI runs it (ASGI on uvicorn with wsproto), in a thread with a loop of its own."""

    def __init__(self, *, lean: bool, ping: float = 25.0, ping_timeout: float | None = None) -> None:
        self.sio = socketio.AsyncServer(
            async_mode="asgi",
            async_handlers=False,  # as handle_socket_events_in_order() sets it
            client_manager=LeanManager() if lean else AsyncManager(),
            ping_interval=ping,
            ping_timeout=ping if ping_timeout is None else ping_timeout,
            max_http_buffer_size=10_000,
        )
        if lean:
            assert check_sockets_in_one_pass(self.sio.eio)
        self.port = free_port()
        self.tasks = TaskCounter()
        self.disconnects = 0
        config = uvicorn.Config(
            socketio.ASGIApp(self.sio), host="127.0.0.1", port=self.port, ws="wsproto", log_level="warning"
        )
        self.server = uvicorn.Server(config)
        self.loop = asyncio.new_event_loop()
        self.loop.set_task_factory(self.tasks)
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(self.server.serve(),), daemon=True)
        self.timers = 0
        call_at = self.loop.call_at

        def counted_call_at(*args: Any, **kwargs: Any) -> asyncio.TimerHandle:
            self.timers += 1
            return call_at(*args, **kwargs)

        self.loop.call_at = counted_call_at  # type: ignore[method-assign,assignment]  # every timer goes through it
        self.sio.on("echo", self._echo)
        self.sio.on("burst", self._burst)
        self.sio.on("payloads", functools.partial(self._payloads, namespace="/"))
        self.sio.on("payloads", functools.partial(self._payloads, namespace="/chat"), namespace="/chat")
        self.sio.on("disconnect", self._disconnect)

    async def _echo(self, sid: str, data: Any) -> None:
        await self.sio.emit("echo", data, to=sid)

    async def _burst(self, sid: str, count: int) -> None:
        for number in range(count):
            await self.sio.emit("burst", number, to=sid)

    async def _payloads(self, sid: str, *, namespace: str) -> None:
        for payload in PAYLOADS:
            await self.sio.emit("payload", payload, to=sid, namespace=namespace)

    def _disconnect(self, sid: str, reason: str) -> None:
        self.disconnects += 1

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> SocketServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:  # the server runs in its own thread: a short blocking wait
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.server.force_exit = True  # a long poll would otherwise hold the shutdown for its whole timeout
        self.thread.join(10)
        assert not self.thread.is_alive()


@pytest.fixture
def lean_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engineio.async_server.async_socket, "AsyncSocket", LeanSocket)


@pytest.fixture
def upstream_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engineio.async_server.async_socket, "AsyncSocket", AsyncSocket)


@contextmanager
def serving(*, lean: bool, **kwargs: Any) -> Iterator[SocketServer]:
    server = SocketServer(lean=lean, **kwargs).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def lean_server(lean_socket: None) -> Iterator[SocketServer]:
    with serving(lean=True) as server:
        yield server


@pytest.fixture
def upstream_server(upstream_socket: None) -> Iterator[SocketServer]:
    with serving(lean=False) as server:
        yield server


async def exchange(
    server: SocketServer, count: int, transports: tuple[str, ...] = ("websocket",)
) -> tuple[list[Any], Counter[str]]:
    """Send ``count`` echo events one after another; the echoes and the tasks the server started meanwhile."""
    client = socketio.AsyncClient()
    echoes: asyncio.Queue[Any] = asyncio.Queue()
    client.on("echo", echoes.put_nowait)
    await client.connect(server.url, transports=list(transports))
    try:
        await client.emit("echo", "warm-up")
        assert await asyncio.wait_for(echoes.get(), 5) == "warm-up"
        before = server.tasks.started.copy()
        received = []
        for number in range(count):
            await client.emit("echo", {"n": number})
            received.append(await asyncio.wait_for(echoes.get(), 5))
        return received, server.tasks.started - before
    finally:
        await client.disconnect()


async def test_a_message_each_way_starts_no_task_on_the_server(lean_server: SocketServer) -> None:
    received, started = await exchange(lean_server, 200)
    assert received == [{"n": number} for number in range(200)]
    assert sum(started.values()) == 0, started


@pytest.mark.usefixtures("lean_socket")
@pytest.mark.parametrize("transports", [("polling",), ("polling", "websocket")], ids=["polling", "upgrade"])
async def test_long_polling_and_the_upgrade_to_a_websocket_still_work(transports: tuple[str, ...]) -> None:
    # A page that cannot open a websocket at once polls first (NiceGUI falls back to it). A short
    # heartbeat: a client leaving by polling waits for its last poll, which ends at the ping timeout.
    with serving(lean=True, ping=1.0) as server:
        received, _ = await exchange(server, 50, transports)
    assert received == [{"n": number} for number in range(50)]


async def test_upstream_starts_tasks_for_every_message_each_way(upstream_server: SocketServer) -> None:
    # The same exchange without serving/lean_io.py: what the counter above would see without it.
    received, started = await exchange(upstream_server, 200)
    assert received == [{"n": number} for number in range(200)]
    assert started["AsyncServer._send_eio_packet"] >= 200  # Socket.IO's emit: a task per recipient
    assert started["Queue.get"] >= 200  # Engine.IO's writer: wait_for(queue.get()) per packet
    assert started["AsyncSocket._websocket_handler.<locals>.websocket_wait"] >= 200  # the reader: a task per read


async def test_a_burst_of_emits_arrives_complete_and_in_order(lean_server: SocketServer) -> None:
    client = socketio.AsyncClient()
    got: list[int] = []
    done = asyncio.Event()

    def burst(number: int) -> None:
        got.append(number)
        if number == 499:
            done.set()

    client.on("burst", burst)
    await client.connect(lean_server.url, transports=["websocket"])
    try:
        await client.emit("burst", 500)
        await asyncio.wait_for(done.wait(), 10)
    finally:
        await client.disconnect()
    assert got == list(range(500))


async def engine_io_socket(server: SocketServer) -> websockets.ClientConnection:
    """A websocket speaking Engine.IO by hand, connected to the default namespace, that answers nothing."""
    ws = await websockets.connect(f"ws://127.0.0.1:{server.port}/socket.io/?EIO=4&transport=websocket")
    opened = str(await ws.recv())
    assert opened.startswith("0"), opened
    await ws.send("40")
    assert str(await ws.recv()).startswith("40")
    return ws


async def closed_within(ws: websockets.ClientConnection, seconds: float) -> list[str]:
    """What the server sent until it closed the connection (fails if it did not within ``seconds``)."""
    frames = []
    async with asyncio.timeout(seconds):
        try:
            while True:
                frames.append(str(await ws.recv()))
        except websockets.ConnectionClosed:
            return frames


async def test_a_silent_client_is_dropped_after_the_ping_timeout(lean_socket: None) -> None:
    with serving(lean=True, ping=0.3) as server:
        ws = await engine_io_socket(server)
        frames = await closed_within(ws, 5.0)  # a ping after 0.3 s, no pong, gone 0.3 s later
        assert "2" in frames  # the ping it never answered
        await asyncio.sleep(0.2)
        assert server.disconnects == 1


async def answer_pings(server: SocketServer, seconds: float, pages: int = 1) -> tuple[int, Counter[str]]:
    """``pages`` connected pages answer every ping for ``seconds``: the pings they got, the tasks the server started."""
    sockets = [await engine_io_socket(server) for _ in range(pages)]
    before = server.tasks.started.copy()
    pings = 0

    async def answer(ws: websockets.ClientConnection) -> None:
        nonlocal pings
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                while True:
                    if str(await ws.recv()) == "2":
                        pings += 1
                        await ws.send("3")

    try:
        await asyncio.gather(*(answer(ws) for ws in sockets))
        assert server.disconnects == 0  # every pong in time: every page stays
        return pings, server.tasks.started - before
    finally:
        for ws in sockets:
            await ws.close()


@pytest.mark.usefixtures("lean_socket")
async def test_a_heartbeat_keeps_coming_without_a_task_per_ping() -> None:
    with serving(lean=True, ping=0.2) as server:
        pings, started = await answer_pings(server, 1.5)
    assert pings >= 5  # one every 0.2 s, each after the previous one's pong
    assert sum(started.values()) == 0, started


@pytest.mark.usefixtures("upstream_socket")
async def test_upstream_starts_a_task_per_ping() -> None:
    with serving(lean=False, ping=0.2) as server:
        pings, started = await answer_pings(server, 1.5)
    assert pings >= 5
    assert started["AsyncSocket._send_ping"] >= pings


@pytest.mark.usefixtures("lean_socket")
async def test_watching_for_silent_pages_starts_no_task_per_page() -> None:
    with serving(lean=True, ping=0.25, ping_timeout=0.5) as server:
        _, started = await answer_pings(server, 1.2, pages=20)
    assert sum(started.values()) == 0, started


@pytest.mark.usefixtures("upstream_socket")
async def test_upstream_starts_a_task_per_page_to_watch_for_silent_ones() -> None:
    with serving(lean=False, ping=0.25, ping_timeout=0.5) as server:
        _, started = await answer_pings(server, 1.2, pages=20)
    # Its service task waits ping_timeout / 20 between two pages, each wait a task of its own.
    assert started["Event.wait"] >= 20, started


@pytest.mark.usefixtures("lean_socket")
async def test_a_page_that_talks_but_never_answers_pings_is_dropped() -> None:
    # Only the check of overdue pongs can tell: it keeps sending, so its reads never time out,
    # and nothing is sent back to it, so no send finds the pong overdue either.
    with serving(lean=True, ping=0.2, ping_timeout=0.3) as server:
        ws = await engine_io_socket(server)
        started = asyncio.get_running_loop().time()
        with contextlib.suppress(websockets.ConnectionClosed):
            async with asyncio.timeout(5.0):
                while True:
                    await ws.send('42["burst",0]')
                    await asyncio.sleep(0.05)
        assert asyncio.get_running_loop().time() - started < 2.0  # a ping at 0.2 s, overdue at 0.5 s
        await asyncio.sleep(0.2)
        assert server.disconnects == 1


async def test_a_packet_over_the_size_limit_ends_the_connection(lean_server: SocketServer) -> None:
    ws = await engine_io_socket(lean_server)
    await ws.send("42" + json.dumps(["echo", "x" * 20_000]))  # max_http_buffer_size is 10,000
    frames = await closed_within(ws, 5.0)
    assert not any("xxxx" in frame for frame in frames)  # never handled
    await asyncio.sleep(0.2)
    assert lean_server.disconnects == 1


async def test_the_running_app_uses_the_lean_outbox_manager_socket_and_service_task(user: User) -> None:
    await user.open("/")  # main.py has set the app up
    assert user.client is not None
    assert type(user.client.outbox) is LeanOutbox
    assert type(core.sio.manager) is LeanManager
    assert engineio.async_server.async_socket.AsyncSocket is LeanSocket
    service_task = core.sio.eio._service_task
    assert isinstance(service_task, functools.partial)
    assert service_task.func is lean_io._check_sockets_in_one_pass


async def test_a_page_sends_its_updates_without_a_task_per_update(user: User) -> None:
    await user.open("/")
    client = user.client
    assert client is not None
    loop = asyncio.get_running_loop()
    counter = TaskCounter()
    factory = loop.get_task_factory()
    sent: list[str] = []
    emit = client.outbox._emit

    async def recorded(message: Any) -> None:
        sent.append(message[1])
        await emit(message)

    client.outbox._emit = recorded  # type: ignore[method-assign]
    loop.set_task_factory(counter)
    try:
        with client:
            label = ui.label("0")
        for number in range(1, 51):
            before = len(sent)
            label.text = str(number)
            async with asyncio.timeout(5):
                while len(sent) == before:  # until the outbox has sent it
                    await asyncio.sleep(0.001)
        await asyncio.sleep(1.2)  # and an idle second: upstream's outbox woke from its timer in it
    finally:
        loop.set_task_factory(factory)
    assert sent.count("update") >= 50
    assert counter.started["Event.wait"] == 0, counter.started  # upstream: one per wake-up (wait_for)


async def raw_frames(server: SocketServer, namespace: str) -> list[str | bytes]:
    """Every frame the server sends for ``payloads`` in ``namespace``, as an Engine.IO socket reads them."""
    ws = await engine_io_socket(server)
    try:
        prefix = "" if namespace == "/" else f"{namespace},"
        if prefix:
            await ws.send(f"40{prefix}")
            assert str(await ws.recv()).startswith(f"40{prefix}")
        await ws.send(f'42{prefix}["payloads"]')
        frames: list[str | bytes] = []
        async with asyncio.timeout(5):
            # Three payloads carry bytes: two attachments, and one more, after their packets.
            while len(frames) < len(PAYLOADS) + 3:
                frame = await ws.recv()
                if frame != "2":  # a heartbeat may come in between
                    frames.append(frame)
        return frames
    finally:
        await ws.close()


@pytest.mark.parametrize("namespace", ["/", "/chat"])
async def test_an_emit_writes_the_very_packets_upstream_writes(
    namespace: str, lean_socket: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    walked: list[Any] = []  # the events whose payload was searched for bytes
    walk = socketio.packet.Packet.data_is_binary.__func__

    def counted(cls: type, data: Any) -> bool:
        if isinstance(data, list) and data[:1] == ["payload"]:
            walked.append(data[1:])
        return bool(walk(cls, data))

    monkeypatch.setattr(socketio.packet.Packet, "data_is_binary", classmethod(counted))
    with serving(lean=False) as upstream:
        expected = await raw_frames(upstream, namespace)
    assert len(walked) == len(PAYLOADS)
    walked.clear()
    with serving(lean=True) as lean:
        got = await raw_frames(lean, namespace)
    assert got == expected
    assert expected[0] == ("42" if namespace == "/" else f"42{namespace},") + json.dumps(
        ["payload", PAYLOADS[0]], separators=(",", ":"), ensure_ascii=False
    )
    assert b"\x00\x01 binary" in expected  # attachments, as binary frames
    assert b"\xff" in expected
    # The lean manager searched only what JSON refused: the two payloads with bytes.
    assert walked == [[PAYLOADS[3]], [PAYLOADS[4]]]


async def test_reading_and_writing_set_no_timer_per_message(lean_server: SocketServer) -> None:
    before = lean_server.timers
    received, _ = await exchange(lean_server, 200)
    assert received == [{"n": number} for number in range(200)]
    assert lean_server.timers - before < 20, lean_server.timers - before  # a timeout per read and write: >= 400


async def test_upstream_sets_timers_for_every_message(upstream_server: SocketServer) -> None:
    before = upstream_server.timers
    await exchange(upstream_server, 200)
    assert upstream_server.timers - before >= 400  # wait_for around each read and each write


async def test_a_deadline_cancels_a_wait_that_lasts_too_long_and_only_that() -> None:
    loop = asyncio.get_running_loop()

    async def waits(pauses: list[float]) -> tuple[int, bool, int]:
        deadline = lean_io._Deadline(0.3)
        done = 0
        try:
            for pause in pauses:
                deadline.start()
                try:
                    await asyncio.sleep(pause)
                except asyncio.CancelledError:
                    deadline.uncancel()
                    break
                finally:
                    deadline.waiting = False
                await asyncio.sleep(0.2)  # work between waits does not count
                done += 1
        finally:
            deadline.close()
        task = asyncio.current_task()
        assert task is not None
        return done, deadline.expired, task.cancelling()

    started = loop.time()
    assert await asyncio.create_task(waits([0.1, 0.2, 0.25, 0.1])) == (4, False, 0)
    assert await asyncio.create_task(waits([0.1, 0.2, 5.0, 0.1])) == (2, True, 0)
    assert loop.time() - started < 3  # the long wait ended at its deadline, not after its 5 s


class CountingRoom(bidict[str, str]):
    """A Socket.IO room that counts the membership tests made on it."""

    tests = 0

    def __contains__(self, key: object) -> bool:
        CountingRoom.tests += 1
        return super().__contains__(key)


def crowd(manager: AsyncManager, pages: int) -> list[str]:
    """``pages`` sids in the default namespace, each in its own room and its page's room, as NiceGUI has them."""
    sids = []
    for i in range(pages):
        sid = f"sid{i}"
        manager.basic_enter_room(sid, "/", None, eio_sid=f"eio{i}")
        manager.basic_enter_room(sid, "/", sid)
        manager.basic_enter_room(sid, "/", f"client{i}")
        sids.append(sid)
    return sids


@pytest.mark.parametrize(("manager_class", "lean"), [(LeanManager, True), (AsyncManager, False)])
def test_a_disconnect_finds_its_rooms_without_looking_in_every_room(
    monkeypatch: pytest.MonkeyPatch, manager_class: type[AsyncManager], lean: bool
) -> None:
    # NiceGUI asks for a leaving socket's rooms and the manager then leaves them: upstream looks
    # in each of the namespace's rooms both times (3000 of them with 1500 pages open).
    monkeypatch.setattr(socketio.base_manager, "bidict", CountingRoom)
    manager = manager_class()
    sids = crowd(manager, 500)
    manager.basic_enter_room("sid7", "/", "game-a")
    CountingRoom.tests = 0
    assert sorted(manager.get_rooms("sid7", "/")) == ["client7", "game-a", "sid7"]
    manager.basic_disconnect("sid7", "/")
    assert manager.get_rooms("sid7", "/") == []
    assert (CountingRoom.tests < 20) is lean
    # What is left is what upstream leaves: every other sid in its rooms, sid7 in none.
    assert "sid7" not in manager.rooms["/"][None]
    assert "game-a" not in manager.rooms["/"]
    assert "client7" not in manager.rooms["/"]
    for sid in sids[:7] + sids[8:20]:
        assert sorted(manager.get_rooms(sid, "/")) == sorted([sid, f"client{sid[3:]}"])
        assert sorted(AsyncManager.get_rooms(manager, sid, "/")) == sorted(manager.get_rooms(sid, "/"))


def test_rooms_entered_and_left_read_as_upstream_reads_them() -> None:
    manager = LeanManager()
    crowd(manager, 3)
    manager.basic_enter_room("sid1", "/", "game")
    manager.basic_enter_room("sid2", "/", "game")
    manager.basic_leave_room("sid1", "/", "game")
    manager.basic_leave_room("sid1", "/", "no such room")
    manager.basic_close_room("game", "/")
    with pytest.raises(ValueError, match="sid room"):
        manager.basic_enter_room("sid0", "/", "sid1")
    for sid in ("sid0", "sid1", "sid2", "nobody"):
        assert manager.get_rooms(sid, "/") == AsyncManager.get_rooms(manager, sid, "/")
        assert manager.get_rooms(sid, "/other") == AsyncManager.get_rooms(manager, sid, "/other") == []
