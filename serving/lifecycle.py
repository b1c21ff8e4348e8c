"""Serving on a listening socket a supervisor holds, and exiting cleanly once a crowd has gone.

CPython's small-object allocator hands a 1 MiB arena back only when every object in it is free. A
crowd of browsers fills hundreds of arenas; when it leaves, the few objects that outlive it sit
scattered through them, and the process stays near its peak size for the rest of its life
(docs/performance.md). Only a new process gives that memory back. This module does not start one:
with :class:`IdleExit` enabled the process exits with status 0 when it is idle and bloated, and its
supervisor (systemd with ``Restart=always``, see deploy/) starts the next one. The supervisor also
holds the listening socket (socket activation) and hands it to each process, so a browser that
connects between two processes waits in the kernel's queue instead of being refused.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Callable, Mapping

from nicegui import Client, app
from nicegui import server as nicegui_server

__all__ = ["SD_LISTEN_FDS_START", "IdleExit", "inherited_socket", "open_pages", "rss_bytes", "stop_accepting_then_exit"]

log = logging.getLogger(__name__)

SD_LISTEN_FDS_START = 3
"""The first descriptor systemd passes (``sd_listen_fds(3)``)."""

_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
_BUILDING_SECONDS = 10.0  # a page younger than this may still be building its response


def rss_bytes() -> int:
    """This process's resident memory, from /proc (0 where there is none)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * _PAGE_SIZE
    except (OSError, ValueError, IndexError):
        return 0


def inherited_socket(env: Mapping[str, str] | None = None, pid: int | None = None) -> int | None:
    """The listening socket's descriptor that a supervisor passed (``LISTEN_FDS``, as systemd does), or None.

    ``LISTEN_PID``, when set, must name this process (a variable inherited by a grandchild is not
    meant for it). The app serves one socket: the first one passed.
    """
    env = os.environ if env is None else env
    count = env.get("LISTEN_FDS", "")
    if not count.isdigit() or int(count) < 1:
        return None
    listen_pid = env.get("LISTEN_PID", "")
    if listen_pid and listen_pid != str(os.getpid() if pid is None else pid):
        return None
    fd = SD_LISTEN_FDS_START
    kind = socket.socket(fileno=os.dup(fd))  # family and type from the descriptor
    try:
        if kind.type != socket.SOCK_STREAM:
            raise ValueError(f"LISTEN_FDS: descriptor {fd} is not a stream socket")
    finally:
        kind.close()
    return fd


def open_pages(now: float | None = None) -> int:
    """Pages being built, shown, or sent and waiting for their browser's socket.

    Not the pages whose request ended in a redirect: such a page, never to be connected, is
    kept until it is pruned (after 10 s: serving.hardening.forget_unconnected_pages).
    """
    now = time.time() if now is None else now
    return sum(
        1
        for client in Client.instances.values()
        if client.has_socket_connection or client._response_built or now - client.created < _BUILDING_SECONDS
    )


def stop_accepting_then_exit(grace: float = 1.0) -> None:
    """Stop taking connections, serve the ones taken for ``grace`` seconds, then shut down (as on SIGTERM).

    Uvicorn's shutdown closes every connection without a request in progress, including one it
    accepted a moment ago whose request is still on its way: that visitor would get "connection
    reset". Stopping the accepting first leaves new visitors in the listening socket's queue, for
    the next process, and gives those already taken the time to be answered.
    """
    for listener in getattr(nicegui_server.Server.instance, "servers", []):
        listener.close()
    asyncio.get_running_loop().call_later(grace, app.shutdown)


class IdleExit:
    """Decides, every ``interval`` seconds, whether the process should exit for its supervisor to start a fresh one.

    The process must be over ``growth`` above its starting size (0.1 for 10 %; the size when
    :meth:`run` starts, once the app has started), with no page open for ``idle_checks`` looks in
    a row, after at least ``pages`` pages were open at once.
    """

    def __init__(
        self,
        *,
        growth: float,
        pages: int = 20,
        interval: float = 5.0,
        idle_checks: int = 1,
        memory: Callable[[], int] = rss_bytes,
        stop: Callable[[], None] = stop_accepting_then_exit,
    ) -> None:
        self.growth, self.pages, self.interval, self.idle_checks = growth, pages, interval, idle_checks
        self._memory, self._stop = memory, stop
        self.start = memory()
        self.peak_pages = 0
        self.idle = 0
        self.requested = False

    def check(self, open_pages: int) -> bool:
        """Look once, with ``open_pages`` pages open now; True if the exit is due (and asked for)."""
        if self.requested:
            return True
        self.peak_pages = max(self.peak_pages, open_pages)
        if open_pages or self.peak_pages < self.pages:
            self.idle = 0
            return False
        self.idle += 1
        now = self._memory()
        if self.idle < self.idle_checks or now <= self.start * (1 + self.growth):
            return False
        log.warning(  # at WARNING: an operator sees every exit, whatever LOG_LEVEL says
            "exiting for a fresh process: no page open, %d were; %.0f MiB against %.0f MiB at the start",
            self.peak_pages,
            now / 2**20,
            self.start / 2**20,
        )
        self.requested = True
        self._stop()
        return True

    def page_connected(self) -> None:
        """Count the pages open now (NiceGUI calls this on every connect): a visit between two looks counts."""
        self.peak_pages = max(self.peak_pages, len(Client.instances))

    async def run(self) -> None:
        self.start = self._memory()
        while not self.requested:
            await asyncio.sleep(self.interval)
            self.check(open_pages())
