"""Fewer asyncio tasks per message to and from a page: NiceGUI's outbox, Socket.IO's emit, Engine.IO's socket.

A move reaches three pages (two players and a spectator). Upstream, every message on its way
out started tasks that did nothing but wait: the page's outbox woke through ``asyncio.wait_for``
(a new task each time, and a timer that also woke every idle page once a second), Socket.IO's
emit started a task per recipient and waited for them with ``asyncio.wait``, and Engine.IO's
writer took each packet from its queue through another ``wait_for``; every message coming in
went through a new task and a ``wait_for`` too. Measured in bench/load (``SUMMARY.md``), this is
a large part of the server's time per move.

The replacements below do the same work in the same order with the same timeouts, awaiting
directly (``asyncio.timeout`` where upstream has a timeout). Each one replaces code of a known
upstream version (:data:`REPLACED`): serving/patches.py checks the source of what each replaces and
leaves a changed upstream alone, with a warning, rather than replace code it was not written against.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable
from typing import Any

import engineio.async_server
import nicegui.client
from engineio import exceptions as eio_exceptions
from engineio import packet as eio_packet
from engineio.async_socket import AsyncSocket
from nicegui import core
from nicegui.dependencies import JsComponent
from nicegui.outbox import Deleted, Outbox
from socketio import packet as sio_packet
from socketio.async_manager import AsyncManager

__all__ = [
    "REPLACED",
    "LeanManager",
    "LeanOutbox",
    "LeanSocket",
    "check_sockets_in_one_pass",
    "install_manager",
    "install_outbox",
    "install_service_task",
    "install_socket",
]

log = logging.getLogger(__name__)


class LeanOutbox(Outbox):
    """NiceGUI's outbox, waiting for something to send without ``asyncio.wait_for``.

    Upstream waits with a one-second timeout whose only use is to look at ``_should_stop``
    again, but :meth:`Outbox.stop` sets the event it waits for, so the timeout only costs a task
    per wake-up and a wake-up per idle page every second (1500 a second at 1500 pages).
    """

    async def loop(self) -> None:
        """Send updates and messages to the client until stopped (upstream's loop, minus the timeout)."""
        self._enqueue_event = asyncio.Event()
        self._enqueue_event.set()

        while not self._should_stop:
            try:
                if not self._enqueue_event.is_set():
                    await self._enqueue_event.wait()
                    continue  # look at _should_stop before sending

                client = self.client
                if not client or not client.has_socket_connection:
                    await asyncio.sleep(0.1)
                    continue

                self._enqueue_event.clear()
                await self._send_pending(client)
            except asyncio.CancelledError:
                break
            except Exception as e:
                core.app.handle_exception(e)
                await asyncio.sleep(0.1)

    async def _send_pending(self, client: nicegui.client.Client) -> None:
        # Upstream's body of the loop, unchanged: element updates first (with any JavaScript
        # components they need loaded before), then the messages, in the order they came.
        coros = []
        if self.updates:
            data = {
                element_id: None if isinstance(element, Deleted) else element._to_dict()
                for element_id, element in self.updates.items()
            }
            js_components = [
                component
                for element in self.updates.values()
                if not isinstance(element, Deleted)
                and isinstance((component := element.component), JsComponent)
                and component.name not in self._loaded_components
            ]
            if js_components:
                coros.append(
                    self._emit(
                        (
                            client.id,
                            "load_js_components",
                            {"components": [{"key": c.key, "tag": c.tag} for c in js_components]},
                        )
                    )
                )
                self._loaded_components.update(c.name for c in js_components)
            coros.append(self._emit((client.id, "update", data)))
            self.updates.clear()

        if self.messages:
            for message in self.messages:
                coros.append(self._emit(message))
            self.messages.clear()

        for coro in coros:
            try:
                await coro
            except Exception as e:
                core.app.handle_exception(e)


class LeanManager(AsyncManager):  # type: ignore[misc]  # python-socketio has no type hints
    """Socket.IO's client manager, sending an emit's packets one after another instead of a task each.

    Upstream starts a task per recipient and waits for all of them with ``asyncio.wait``; what
    each does is put a packet on the recipient's Engine.IO queue, which does not wait. NiceGUI
    emits to one page at a time (its room is the page's id). An emit with a callback (a distinct
    packet per recipient) is left to upstream.
    """

    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str,
        room: Any = None,
        skip_sid: Any = None,
        callback: Callable[..., Any] | None = None,
        to: Any = None,
        **kwargs: Any,
    ) -> None:
        if callback is not None:
            await super().emit(event, data, namespace, room=room, skip_sid=skip_sid, callback=callback, to=to, **kwargs)
            return
        room = to or room
        if namespace not in self.rooms:
            return
        if isinstance(data, tuple):  # a tuple is several arguments, anything else one
            data = list(data)
        elif data is not None:
            data = [data]
        else:
            data = []
        if not isinstance(skip_sid, list):
            skip_sid = [skip_sid]
        encoded = self._encode(event, data, namespace)
        eio_pkts = [
            eio_packet.Packet(eio_packet.MESSAGE, p) for p in (encoded if isinstance(encoded, list) else [encoded])
        ]
        # The recipients first: a send can close a timed-out socket, which leaves its rooms.
        for sid, eio_sid in list(self.get_participants(namespace, room)):
            if sid in skip_sid:
                continue
            for p in eio_pkts:
                try:
                    await self.server._send_eio_packet(eio_sid, p)
                except Exception:  # upstream's tasks fail alone too; the other recipients still get theirs
                    log.exception("sending to %s failed", sid)

    encode_directly = True
    """Write an event's packet without building a :class:`socketio.packet.Packet` (see :meth:`_encode`)."""

    index_rooms = True
    """Keep the rooms of each sid, so a disconnect need not look through every room (see :meth:`get_rooms`)."""

    def __init__(self) -> None:
        super().__init__()
        self._rooms_of: dict[str | None, dict[str, dict[Any, None]]] = {}
        """``_rooms_of[namespace][sid]``: the rooms of ``sid``, in the order it entered them."""

    # Upstream finds a sid's rooms by looking in every room of the namespace: on each disconnect,
    # twice (NiceGUI asks for the rooms, then the manager leaves them), over a copy the second time.
    # NiceGUI gives every page a room of its own, and Socket.IO every sid one: with 1500 pages
    # open a disconnect looked through 3000 rooms, and 1440 pages leaving at once stalled the
    # server for seconds (bench/results/leave.md). The index is kept where rooms are entered and left.

    def basic_enter_room(self, sid: str, namespace: str | None, room: Any, eio_sid: str | None = None) -> None:
        super().basic_enter_room(sid, namespace, room, eio_sid=eio_sid)
        if self.index_rooms:
            self._rooms_of.setdefault(namespace, {}).setdefault(sid, {})[room] = None

    def basic_leave_room(self, sid: str, namespace: str | None, room: Any) -> None:
        super().basic_leave_room(sid, namespace, room)
        sids = self._rooms_of.get(namespace)
        rooms = sids.get(sid) if sids is not None else None
        if rooms is None:
            return
        rooms.pop(room, None)
        if not rooms:
            del sids[sid]  # type: ignore[union-attr]  # sids is not None when rooms is not
            if not sids:
                del self._rooms_of[namespace]

    def get_rooms(self, sid: str, namespace: str | None) -> list[Any]:
        """The rooms ``sid`` is in, but not the ``None`` room of all connected sids (as upstream)."""
        if not self.index_rooms:
            return list(super().get_rooms(sid, namespace))
        return [room for room in self._rooms_of.get(namespace, {}).get(sid, ()) if room is not None]

    def basic_disconnect(self, sid: str, namespace: str | None, **kwargs: Any) -> None:
        """Upstream's, leaving the rooms the index knows instead of looking through a copy of every room."""
        if not self.index_rooms:
            super().basic_disconnect(sid, namespace, **kwargs)
            return
        if namespace not in self.rooms:
            return
        for room in list(self._rooms_of.get(namespace, {}).get(sid, ())):
            self.basic_leave_room(sid, namespace, room)
        if sid in self.callbacks:
            del self.callbacks[sid]
        for pending in (self.pending_connect, self.pending_disconnect):
            if namespace in pending and sid in pending[namespace]:
                pending[namespace].remove(sid)
                if len(pending[namespace]) == 0:
                    del pending[namespace]

    def _encode(self, event: str, data: list[Any], namespace: str) -> str | list[Any]:
        """The Socket.IO packet of an event, as ``Packet(EVENT, ...).encode()`` writes it.

        Upstream's packet first walks the whole payload looking for bytes (to send them as
        attachments), then encodes it as JSON. NiceGUI's updates are dictionaries of every changed
        element, so the walk costs as much as the encoding. JSON has no bytes: encoding first and
        taking upstream's way only when JSON refuses the payload (bytes, or anything else it cannot
        hold) writes the same packet, or raises the same error.
        """
        packet_class = self.server.packet_class
        if self.encode_directly and packet_class is sio_packet.Packet:
            try:
                body: str = packet_class.json.dumps([event, *data], separators=(",", ":"))
            except TypeError:
                pass
            else:
                prefix = str(sio_packet.EVENT) if namespace in (None, "/") else f"{sio_packet.EVENT}{namespace},"
                return prefix + body
        encoded: str | list[Any] = packet_class(sio_packet.EVENT, namespace=namespace, data=[event, *data]).encode()
        return encoded


class _Deadline:
    """Upstream's timeout on each wait for a packet, kept as a deadline that one timer looks at.

    ``asyncio.timeout`` (or ``wait_for``) around every wait schedules a timer and cancels it again
    for every packet read or written: two heap operations per packet, thousands a second at 1500
    pages. A packet comes at least once per heartbeat, so this timer wakes about once per
    ``seconds`` and only looks: it cancels the task if the current wait has lasted ``seconds``,
    and otherwise sets itself for when the current (or next) wait would.
    """

    __slots__ = ("_handle", "_loop", "_task", "expired", "seconds", "since", "waiting")

    def __init__(self, seconds: float) -> None:
        self._loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None, "a deadline belongs to a task"
        self._task = task
        self.seconds = seconds
        self.since = self._loop.time()
        self.waiting = False
        self.expired = False
        self._handle: asyncio.TimerHandle | None = self._loop.call_at(self.since + seconds, self._check)

    def start(self) -> None:
        """A wait begins now (the caller sets ``waiting`` back to False when it ends)."""
        self.since = self._loop.time()
        self.waiting = True

    def _check(self) -> None:
        now = self._loop.time()
        if self.waiting and now - self.since >= self.seconds:
            self._handle = None
            self.expired = True
            self._task.cancel()
            return
        self._handle = self._loop.call_at((self.since if self.waiting else now) + self.seconds, self._check)

    def uncancel(self) -> None:
        """After the wait ended in a cancellation: take back this deadline's own (not anyone else's)."""
        if self.expired:
            self._task.uncancel()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None


class LeanSocket(AsyncSocket):  # type: ignore[misc]  # nor has python-engineio
    """Engine.IO's socket, reading and writing its websocket without a task and ``wait_for`` per packet."""

    last_ping: float | None
    """When the unanswered ping was sent (None while the next one waits), as upstream keeps it."""

    async def poll(self) -> list[eio_packet.Packet]:
        """Wait for packets to send to the client (upstream's, with ``asyncio.timeout``)."""
        try:
            async with asyncio.timeout(self.server.ping_interval + self.server.ping_timeout):
                packets = [await self.queue.get()]
            self.queue.task_done()
        except (TimeoutError, asyncio.CancelledError):
            raise eio_exceptions.QueueEmpty() from None
        if packets == [None]:
            return []
        return self._drain(packets)

    def _drain(self, packets: list[eio_packet.Packet]) -> list[eio_packet.Packet]:
        """``packets`` and whatever else is queued already, up to a closing ``None`` (left queued)."""
        while not self.queue.empty():
            pkt = self.queue.get_nowait()
            self.queue.task_done()
            if pkt is None:
                self.queue.put_nowait(None)
                break
            packets.append(pkt)
        return packets

    def schedule_ping(self) -> None:
        """Upstream's heartbeat without a task per ping: a timer puts the next ping on the queue.

        Upstream starts a task for every ping that sleeps ``ping_interval`` and then sends it: a
        task, a coroutine and a timer per page per heartbeat (190 a second at 1500 pages).
        """
        if self.last_ping:  # only after the previous ping was answered (or at the start), as upstream
            self.last_ping = None
            asyncio.get_running_loop().call_later(self.server.ping_interval, self._ping)

    def _ping(self) -> None:
        # Upstream's send() of the ping, which cannot time out here (last_ping is now) and whose
        # queue has no bound, so putting it there never waits.
        if not self.closing and not self.closed:
            self.last_ping = time.time()
            self.queue.put_nowait(eio_packet.Packet(eio_packet.PING))

    async def _websocket_handler(self, ws: Any) -> None:
        """Upstream's handler; the read loop awaits each message in place instead of in a new task."""
        if self.connected:  # type: ignore[has-type]  # a polling connection upgrading: upstream's handshake, unchanged
            await super()._websocket_handler(ws)
            return
        self.connected = True
        self.upgraded = True
        writer_task = asyncio.ensure_future(self._write(ws))
        self.server.logger.info("%s: Upgrade to websocket successful", self.sid)
        await self._read(ws)
        await self.queue.put(None)  # unlock the writer task so it can exit
        await writer_task
        await self.close(wait=False, abort=True, reason=self.server.reason.TRANSPORT_CLOSE)

    async def _write(self, ws: Any) -> None:
        deadline = _Deadline(self.server.ping_interval + self.server.ping_timeout)
        try:
            while True:
                packets = await self._next_packets(deadline)
                if not packets:  # the connection is closing, or nothing came in time
                    break
                try:
                    for pkt in packets:
                        await ws.send(pkt.encode())
                except Exception:
                    break
        finally:
            deadline.close()
        await ws.close()

    async def _next_packets(self, deadline: _Deadline) -> list[eio_packet.Packet]:
        """:meth:`poll` for the websocket's writer, under ``deadline`` instead of a timeout per wait ([] for none)."""
        deadline.start()
        try:
            first = await self.queue.get()
        except asyncio.CancelledError:  # upstream's poll: a timeout or a cancellation ends the writer
            deadline.uncancel()
            return []
        finally:
            deadline.waiting = False
        self.queue.task_done()
        if first is None:
            return []
        return self._drain([first])

    async def _read(self, ws: Any) -> None:
        limit = self.server.max_http_buffer_size
        deadline = _Deadline(self.server.ping_interval + self.server.ping_timeout)
        try:
            await self._read_until_closed(ws, deadline, limit)
        finally:
            deadline.close()

    async def _read_until_closed(self, ws: Any, deadline: _Deadline, limit: int) -> None:
        while True:
            deadline.start()
            try:
                p = await ws.wait()
            except asyncio.CancelledError:  # upstream: a timeout or a cancellation ends it
                deadline.uncancel()
                break
            except Exception:  # a closed socket
                break
            finally:
                deadline.waiting = False
            if p is None:  # connection closed by client
                break
            if len(p) > limit:
                break  # upstream raises 'packet is too large' in the reading task, which ends the loop
            try:
                await self.receive(eio_packet.Packet(encoded_packet=p))
            except eio_exceptions.UnknownPacketError:
                pass
            except eio_exceptions.SocketIsClosedError:
                self.server.logger.info("Receive error -- socket is closed")
                break
            except Exception:
                self.server.logger.exception("Unknown receive error")


async def _check_sockets_in_one_pass(server: Any) -> None:
    """Engine.IO's service task, looking at every socket once per ``ping_timeout`` in one pass.

    Upstream spreads the pass over ``ping_timeout``: it waits ``ping_timeout / sockets`` between
    two sockets, each wait an ``asyncio.wait_for`` with a task and a timer of its own (375 a
    second at 1500 pages and a 4 s timeout). The checks are the same (a closed socket leaves the
    server's list, an open one is closed if its pong is overdue), as is how often each socket is
    checked; a pass over 1500 sockets takes about a millisecond.
    """
    server.service_task_event = event = server.create_event()
    while not event.is_set():
        try:
            async with asyncio.timeout(server.ping_timeout):  # awaited in place: no task, one timer
                await event.wait()
            break  # shutdown() set it
        except TimeoutError:
            pass
        try:
            for socket in list(server.sockets.values()):
                if socket.closed:
                    server.sockets.pop(socket.sid, None)
                elif not socket.closing:
                    await socket.check_ping_timeout()
        except asyncio.CancelledError:
            break
        except Exception:
            server.logger.exception("service task exception")


REPLACED: dict[str, tuple[Callable[..., Any], str]] = {
    # What each class above replaces, and the source it was written against
    # (nicegui 3.18.0, python-socketio 5.18.1, python-engineio 4.15.1).
    "outbox": (Outbox.loop, "efb7d8934c322314"),
    "manager": (AsyncManager.emit, "01ccd5b82b4f955e"),
    "socket poll": (AsyncSocket.poll, "826f58a9f3606db2"),
    "socket handler": (AsyncSocket._websocket_handler, "27f120df4d717a24"),
    "socket ping": (AsyncSocket.schedule_ping, "fe316639159cd70d"),
    "socket ping send": (AsyncSocket._send_ping, "67db82a704ea49d0"),
    "service task": (engineio.async_server.AsyncServer._service_task, "b6358bda51d0b34b"),
    "packet encode": (sio_packet.Packet.encode, "513c45be75181da2"),
    "manager enter room": (AsyncManager.basic_enter_room, "3f509586d2d7f47e"),
    "manager leave room": (AsyncManager.basic_leave_room, "e27f3eea06d1c6a6"),
    "manager rooms": (AsyncManager.get_rooms, "56a1017f85af9f91"),
    "manager disconnect": (AsyncManager.basic_disconnect, "2933b50bc4b2ea7b"),
}


def check_sockets_in_one_pass(server: engineio.async_server.AsyncServer) -> bool:
    """Give ``server`` the one-pass service task, before its first connection starts one.

    False if it will not start one any more (it has, or it does not watch its clients).
    """
    if not server.start_service_task:
        return False
    server._service_task = functools.partial(_check_sockets_in_one_pass, server)
    return True


def install_outbox() -> None:
    """Every page built from now on sends through :class:`LeanOutbox`."""
    nicegui.client.Outbox = LeanOutbox  # type: ignore[attr-defined]


def install_manager() -> None:
    """NiceGUI's Socket.IO server emits through :class:`LeanManager` (before it accepts connections)."""
    if type(core.sio.manager) is AsyncManager:
        manager = LeanManager()
        manager.set_server(core.sio)
        core.sio.manager = manager
        core.sio.manager_initialized = False


def install_socket() -> None:
    """Every Engine.IO connection from now on is a :class:`LeanSocket`."""
    engineio.async_server.async_socket.AsyncSocket = LeanSocket


def install_service_task() -> None:
    """NiceGUI's Engine.IO server watches its sockets in one pass (:func:`check_sockets_in_one_pass`)."""
    check_sockets_in_one_pass(core.sio.eio)
