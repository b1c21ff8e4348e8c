"""Restarting in place once a crowd has gone, so that the memory it took goes back to the system.

CPython's small-object allocator hands a 1 MiB arena back only when every object in it is free. A
crowd of browsers fills hundreds of arenas; when it leaves, the few objects that outlive it (the
next timer of a periodic task, a cursor's weak reference, a cache entry) sit scattered through
them, and the process stays at about its peak size for the rest of its life: +323 % over its start
after 1500 browsers left, with its live objects back where they started (bench/results/SUMMARY.md;
jemalloc, mimalloc and glibc's malloc for every object did no better than +52 %).

So when no page has been open for a while, at least ``pages`` were open at once since the process
started, and it uses more than ``growth`` over its starting size, the server stops as it does on
SIGTERM (pending writes finished, stores closed) and replaces its own image with a fresh one
(``os.execve``): the same process id, the same command line and environment, the same storage
secret, and the same listening socket, kept open across the exec so that a browser connecting
meanwhile waits in the kernel's queue for the new image instead of being refused. Games live in
the store, so nothing a player sees is lost; a computer game whose move was being chosen picks up
again when its page is opened. With ``DATABASE_URL=memory://`` the games live only in the process,
and it never restarts.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import multiprocessing
import os
import socket
import sys
import time
from collections.abc import Callable
from multiprocessing import resource_tracker
from typing import NoReturn

from nicegui import Client, app
from nicegui import server as nicegui_server

__all__ = [
    "LISTEN_FDS_VARIABLE",
    "IdleRestart",
    "KeptSockets",
    "listening_sockets",
    "open_pages",
    "rss_bytes",
    "stop_accepting_then_shut_down",
]

log = logging.getLogger(__name__)

LISTEN_FDS_VARIABLE = "CONNECT4_LISTEN_FDS"
"""Set by a restarting server for its next image: the numbers of the listening sockets it keeps ("3,4")."""

_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
_UVICORN_RUN = nicegui_server.Server.run
_BUILDING_SECONDS = 10.0  # a page younger than this may still be building its response


def rss_bytes() -> int:
    """This process's resident memory, from /proc (0 where there is none)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * _PAGE_SIZE
    except (OSError, ValueError, IndexError):
        return 0


def listening_sockets(host: str, port: int, *, backlog: int = 2048) -> list[socket.socket]:
    """The sockets the server listens on: those a previous image of this process left, or new ones.

    New ones as asyncio's ``create_server`` makes them (which uvicorn would use): one per address
    ``host`` resolves to, IPv6 ones for IPv6 only, an address family the machine lacks skipped.
    """
    inherited = os.environ.pop(LISTEN_FDS_VARIABLE, "")
    if inherited:
        kept = [socket.socket(fileno=int(fd)) for fd in inherited.split(",")]  # family and type from each descriptor
        for sock in kept:
            sock.set_inheritable(False)
        return kept
    made: list[socket.socket] = []
    try:
        for family, kind, proto, _, address in dict.fromkeys(
            socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        ):
            sock = socket.socket(family, kind, proto)
            made.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                sock.bind(address)
            except OSError as exc:
                if exc.errno != errno.EADDRNOTAVAIL:
                    raise
                made.pop().close()  # this machine has no such address family
                continue
            sock.listen(backlog)
        if not made:
            raise OSError(errno.EADDRNOTAVAIL, f"no address of {host!r} can be listened on")
    except OSError:
        for sock in made:
            sock.close()
        raise
    return made


def open_pages(now: float | None = None) -> int:
    """Pages being built, shown, or sent and waiting for their browser's socket.

    Not the pages whose request ended in a redirect (``/local`` makes a game and sends the browser
    to its address): NiceGUI keeps such a page, never to be connected, for a minute.
    """
    now = time.time() if now is None else now
    return sum(
        1
        for client in Client.instances.values()
        if client.has_socket_connection or client._response_built or now - client.created < _BUILDING_SECONDS
    )


class KeptSockets:
    """The listening sockets of NiceGUI's server (started by ``ui.run``), which outlive the server.

    :meth:`install` makes the server accept on these sockets, made (or taken over from the previous
    image of this process) when the server starts, not when the app is built: NiceGUI's simulated
    users run ``main.py`` without serving anything. Uvicorn closes the sockets it is given when it
    shuts down, so it gets duplicates, and :attr:`socks` stay open and listening until the process
    ends or hands them to its next image.
    """

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.socks: list[socket.socket] = []

    def install(self) -> None:
        original = _UVICORN_RUN  # not whatever an earlier install left (NiceGUI's simulated users run main.py often)

        def run(server: nicegui_server.Server, sockets: list[socket.socket] | None = None) -> None:
            if sockets is None:
                if not self.socks:
                    try:
                        self.socks = listening_sockets(self.host, self.port)
                    except OSError as exc:
                        sys.exit(f"connect4: cannot listen on {self.host}:{self.port}: {exc.strerror or exc}")
                sockets = [sock.dup() for sock in self.socks]
            original(server, sockets=sockets)

        nicegui_server.Server.run = run  # type: ignore[method-assign, assignment]


def stop_accepting_then_shut_down(grace: float = 1.0) -> None:
    """Stop taking connections, serve the ones taken for ``grace`` seconds, then shut down (as on SIGTERM).

    Uvicorn's shutdown closes every connection without a request in progress, including one it
    accepted a moment ago whose request is still on its way: that visitor would get "connection
    reset". Stopping the accepting first leaves new visitors in the listening socket's queue, for
    the next image, and gives those already taken the time to be answered.
    """
    for listener in getattr(nicegui_server.Server.instance, "servers", []):
        listener.close()
    asyncio.get_running_loop().call_later(grace, app.shutdown)


class IdleRestart:
    """Decides, every ``interval`` seconds, whether to restart the process in place; then does it.

    The process must be over ``growth`` above its starting size (0.1 for 10 %; the size when
    :meth:`run` starts, once the app has started), with no page open for ``idle_checks`` looks in
    a row, after at least ``pages`` pages were open at once. :meth:`check` asks NiceGUI's server
    to stop; ``main.py`` calls :meth:`execute` once ``ui.run`` has returned.
    """

    def __init__(
        self,
        *,
        growth: float,
        pages: int = 20,
        interval: float = 5.0,
        idle_checks: int = 1,
        memory: Callable[[], int] = rss_bytes,
        stop: Callable[[], None] = stop_accepting_then_shut_down,
    ) -> None:
        self.growth, self.pages, self.interval, self.idle_checks = growth, pages, interval, idle_checks
        self._memory, self._stop = memory, stop
        self.start = memory()
        self.peak_pages = 0
        self.idle = 0
        self.requested = False

    def check(self, open_pages: int) -> bool:
        """Look once, with ``open_pages`` pages open now; True if the restart is due (and asked for)."""
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
        log.warning(  # at WARNING: an operator sees every restart, whatever LOG_LEVEL says
            "restarting in place: no page open, %d were; %.0f MiB against %.0f MiB at the start",
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

    def execute(self, socks: list[socket.socket], env: dict[str, str] | None = None) -> NoReturn:
        """Replace this process's image with a fresh one listening on ``socks`` (``env`` added to its environment)."""
        for child in multiprocessing.active_children():  # the computer's workers, already told to stop
            child.join(timeout=5.0)
            if child.is_alive():
                child.kill()
                child.join()
        # The helper process that multiprocessing starts for them: left running, it would end as a
        # zombie child of the next image, which never waits for it.
        stop_tracker = getattr(getattr(resource_tracker, "_resource_tracker", None), "_stop", None)
        if callable(stop_tracker):
            stop_tracker()
        for sock in socks:
            sock.set_inheritable(True)
        fds = ",".join(str(sock.fileno()) for sock in socks)
        environment: dict[str, str] = {**os.environ, **(env or {}), LISTEN_FDS_VARIABLE: fds}
        argv = [sys.executable, *sys.orig_argv[1:]]
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            os.execve(sys.executable, argv, environment)
        except OSError as exc:  # the interpreter went away (a deleted venv): stop, for a supervisor to start again
            sys.exit(f"connect4: could not restart in place ({' '.join(argv)}): {exc.strerror or exc}")
