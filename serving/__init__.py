"""Everything that changes how NiceGUI, Socket.IO, Engine.IO and uvicorn behave, entered through :func:`install`.

``ui/`` and ``games/`` know nothing of this package: without it the app runs on stock NiceGUI.
:data:`PATCHES` is the table of the tuning (serving/README.md has it with its figures); the
hardening against forged socket messages is installed whatever SERVER_TUNING says.
"""

from __future__ import annotations

import errno
import logging
import signal
import socket
import sys
from types import FrameType
from typing import Any

import engineio.async_drivers.asgi as engineio_asgi
import engineio.async_server
from nicegui import app, background_tasks, helpers
from nicegui.outbox import Outbox

from serving import hardening, lean_io, lifecycle, runtime, sockets
from serving.patches import Patch, PatchState, RunOptions, format_table, install_patches
from serving.settings import ServingSettings, ServingSettingsError

__all__ = ["PATCHES", "ServingSettings", "ServingSettingsError", "install"]

log = logging.getLogger(__name__)

_NICEGUI = "nicegui 3.18.0"
_SIO = "python-socketio 5.18.1"
_EIO = "python-engineio 4.15.1"
_UVICORN = "uvicorn 0.55.0"
_LEAN = "bench/results/lean-io.md"
_SUMMARY = "docs/performance.md"


def _on_startup(function: Any) -> Any:
    return lambda _options: app.on_startup(function)


def _set(**values: Any) -> Any:
    return lambda options: options.update(values)


def _call(function: Any) -> Any:
    return lambda _options: function()


def _route_sockets(_options: RunOptions) -> None:
    hardening.build_inside_the_door(sockets.route_sockets)


def _return_memory(_options: RunOptions) -> None:
    app.on_startup(lambda: background_tasks.create(runtime.MemoryReturner().run(), name="return memory"))


PATCHES: tuple[Patch, ...] = (
    Patch(
        "gc-thresholds",
        "CPython gc thresholds (700, 10, 10)",
        "gc.set_threshold and gc.freeze at startup",
        "CPython 3.11",
        "p99 click-to-opponent at 1500 browsers from seconds to under 100 ms; middle pass 0.2 s instead of 0.5-0.7 s",
        "bench/results/experiments-gc-1500.md",
        _on_startup(runtime.tune_gc),
    ),
    Patch(
        "tab-storage-age",
        "nicegui app.storage.max_tab_storage_age (30 days)",
        "attribute set to 120 s",
        _NICEGUI,
        "every tab's empty storage no longer kept for a month",
        "bench/results/visitors.md",
        _call(runtime.forget_tabs),
    ),
    Patch(
        "tab-page-index",
        "nicegui Client.handle_disconnect",
        "method replaced by a copy that asks an index of each tab's pages; connect and delete handlers",
        _NICEGUI,
        "1440 pages leaving together: 2 million looks through every page avoided; tab storage freed at once",
        "bench/results/leave.md",
        _call(runtime.index_tab_pages),
        ((runtime._UPSTREAM_HANDLE_DISCONNECT, "b015c485f51fe8de"),),
    ),
    Patch(
        "page-request-release",
        "nicegui Client.request (a Starlette Request's private _receive/_send)",
        "connect handler",
        _NICEGUI,
        "about 20 KiB per open page",
        _SUMMARY,
        lambda _options: app.on_connect(runtime.let_go_of_page_request),
    ),
    Patch(
        "departed-pages",
        "nicegui Element._handle_delete; engineio asgi translate_request",
        "method wrapped; engineio's driver table entry wrapped",
        f"{_NICEGUI}, {_EIO}",
        "after 1440 browsers left: 0.93 million objects in cycles, a 1.2 s stall of every game, avoided",
        _SUMMARY,
        _call(runtime.free_departed_pages),
        ((runtime._UPSTREAM_HANDLE_DELETE, "1f2379fb4810ab29"), (engineio_asgi.translate_request, "39e74733f1fe46aa")),
    ),
    Patch(
        "memory-returner",
        "nicegui app.storage._users; glibc malloc_trim",
        "background task from startup",
        _NICEGUI,
        "empty user storages (1.05 KiB per visitor, kept forever upstream) pruned; heap pages returned after a crowd",
        "bench/results/visitors.md",
        _return_memory,
    ),
    Patch(
        "slow-heartbeat",
        "engineio AsyncServer.ping_interval/ping_timeout (NiceGUI: 0.8 and 0.4 of reconnect_timeout)",
        "attributes set at startup to 20 s and 10 s",
        f"{_NICEGUI}, {_EIO}",
        "0.10 of a core at 1500 idle pages",
        _SUMMARY,
        _on_startup(runtime.slow_heartbeat),
    ),
    Patch(
        "in-order-events",
        "socketio AsyncServer.async_handlers",
        "attribute set to False",
        _SIO,
        "a task per event (500 a second at 1500 pages) avoided; a socket's events handled in order",
        _LEAN,
        _call(runtime.handle_socket_events_in_order),
    ),
    Patch(
        "lean-outbox",
        "nicegui Outbox.loop",
        "nicegui.client.Outbox replaced by a subclass",
        _NICEGUI,
        "with the three below: 30 % less CPU per move, 6 KiB less per browser at 1500 browsers",
        _LEAN,
        _call(lean_io.install_outbox),
        ((Outbox.loop, "efb7d8934c322314"),),
    ),
    Patch(
        "lean-manager",
        "socketio AsyncManager.emit, rooms, disconnect; Packet.encode",
        "NiceGUI's server given a subclass as its manager",
        _SIO,
        "no task per recipient; a disconnect no longer looks through every room (seconds when 1440 left)",
        _LEAN,
        _call(lean_io.install_manager),
        tuple(
            (function, lean_io.REPLACED[name][1])
            for name, (function, _) in lean_io.REPLACED.items()
            if name.startswith("manager") or name == "packet encode"
        ),
    ),
    Patch(
        "lean-socket",
        "engineio AsyncSocket.poll, _websocket_handler, schedule_ping, _send_ping",
        "engineio.async_server.async_socket.AsyncSocket replaced by a subclass",
        _EIO,
        "no task or timer per packet or ping",
        _LEAN,
        _call(lean_io.install_socket),
        tuple(
            (function, expected) for name, (function, expected) in lean_io.REPLACED.items() if name.startswith("socket")
        ),
    ),
    Patch(
        "one-pass-service-task",
        "engineio AsyncServer._service_task",
        "instance attribute on NiceGUI's server",
        _EIO,
        "375 tasks and timers a second at 1500 pages avoided",
        _LEAN,
        _call(lean_io.install_service_task),
        ((engineio.async_server.AsyncServer._service_task, lean_io.REPLACED["service task"][1]),),
    ),
    Patch(
        "socket-route",
        "starlette/fastapi middleware stack, for websockets under /_nicegui_ws",
        "built stack wrapped inside the per-address limits; off while a middleware may act on websockets",
        "fastapi 0.165.0, starlette 1.10.0, " + _NICEGUI,
        "each socket past a dozen suspended layers and their per-frame wrappers: 2.8 % CPU per move, 4.9 KiB a browser",
        "bench/results/ab-socket-route.md",
        _route_sockets,
        sockets.UPSTREAM,
    ),
    Patch(
        "no-deflate",
        "uvicorn ws_per_message_deflate (on)",
        "ui.run option",
        _UVICORN,
        "about 180 KB of server memory per browser",
        "bench/results/experiments-memory.md",
        _set(ws_per_message_deflate=False),
    ),
)


def install(settings: ServingSettings) -> RunOptions:
    """Install the hardening, the tuning (unless ``settings.tuning`` is off) and the idle exit.

    The hardening: the socket guard, the per-address limits, the security headers, and pages that
    never connect let go after 10 s.

    Call it once the app is set up and before ``ui.run``; returns the options to pass to ``ui.run``.
    Logs the table of patches. Exits with a clear message if the port is taken.
    """
    hardening.guard_socket_events()
    hardening.guard_the_door(settings)
    hardening.forget_unconnected_pages()
    options: RunOptions = {}
    try:
        states = install_patches(PATCHES, options, enabled=settings.tuning, skip=settings.skip)
    except ValueError as exc:
        sys.exit(f"connect4: {exc}")
    log.info("server tuning %s:\n%s", "on" if settings.tuning else "off", format_table(states))
    fd = lifecycle.inherited_socket()
    if fd is not None:
        options["fd"] = fd  # the supervisor's listening socket (deploy/connect4.socket)
    elif not helpers.is_user_simulation():  # NiceGUI's simulated users run main.py without serving
        check_port(settings.host, settings.port)
    if settings.idle_exit_growth is not None:
        watcher = lifecycle.IdleExit(
            growth=settings.idle_exit_growth, pages=settings.idle_exit_pages, interval=settings.idle_exit_interval
        )
        app.on_startup(lambda: background_tasks.create(watcher.run(), name="exit when idle"))
        app.on_connect(watcher.page_connected)
    # Uvicorn shuts down gracefully on SIGTERM and then re-raises the signal to the handler it
    # found; this one lets the process end with status 0 instead of dying by the signal.
    signal.signal(signal.SIGTERM, _stopped)
    return options


def installed_names(states: list[PatchState]) -> list[str]:
    """The names of the installed patches."""
    return [state.patch.name for state in states if state.installed]


def check_port(host: str, port: int) -> None:
    """Exit with a clear message if ``host:port`` cannot be listened on (before uvicorn tries, with a traceback)."""
    for family, kind, proto, _, address in socket.getaddrinfo(
        host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    ):
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
            except OSError as exc:
                if exc.errno == errno.EADDRNOTAVAIL:
                    continue
                sys.exit(f"connect4: cannot listen on {host}:{port}: {exc.strerror or exc}")


def _stopped(signum: int, _frame: FrameType | None) -> None:
    log.info("stopped by %s", signal.Signals(signum).name)
