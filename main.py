"""Connect Four on NiceGUI: ``python main.py`` serves the game (HOST, PORT, LOG_LEVEL, STORAGE_SECRET)."""

from __future__ import annotations

import logging
import signal
import sys
from types import FrameType

from nicegui import app, background_tasks, ui

from games.settings import Settings, SettingsError
from ui.app import setup
from ui.lean_io import speed_up_messages
from ui.restart import IdleRestart, KeptSockets
from ui.runtime import (
    MemoryReturner,
    forget_tabs,
    free_departed_pages,
    handle_socket_events_in_order,
    index_tab_pages,
    let_go_of_page_request,
    parse_props_once,
    send_sockets_around_middleware,
    slow_heartbeat,
    tune_gc,
)
from ui.theme import Theme

log = logging.getLogger("connect4")

# The look of every page: edit it here, e.g. Theme(red="#d81b60", board="#263238", disc_size=72).
THEME = Theme()


def main() -> None:
    """Read the environment, build the app and serve it until SIGINT or SIGTERM."""
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        sys.exit(f"connect4: {exc}")
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("games").setLevel(settings.log_level)
    if settings.storage_secret_is_random:
        log.warning("STORAGE_SECRET is not set: using a random one, so player sessions will not survive a restart.")
    setup(settings, THEME)
    # Collector pauses and memory after browsers leave: ui/runtime.py, measured in bench/load.
    app.on_startup(tune_gc)
    forget_tabs()
    index_tab_pages()
    app.on_connect(let_go_of_page_request)
    app.on_startup(send_sockets_around_middleware)
    app.on_startup(slow_heartbeat)
    handle_socket_events_in_order()
    # Each props("...") string parsed once, not on every page (cyclic garbage otherwise).
    parse_props_once()
    free_departed_pages()
    # Fewer asyncio tasks per message in NiceGUI, python-socketio and python-engineio (ui/lean_io.py).
    speed_up_messages()
    app.on_startup(lambda: background_tasks.create(MemoryReturner().run(), name="return memory"))
    # What a crowd leaves in CPython's allocator goes back only with the process: once it has
    # gone, the server restarts in place on the same socket (ui/restart.py).
    restart: IdleRestart | None = None
    if settings.restarts_when_idle and settings.idle_restart_growth is not None:
        watcher = restart = IdleRestart(growth=settings.idle_restart_growth, pages=settings.idle_restart_pages)
        app.on_startup(lambda: background_tasks.create(watcher.run(), name="restart when idle"))
        app.on_connect(watcher.page_connected)
    listeners = KeptSockets(settings.host, settings.port)
    listeners.install()
    # Uvicorn shuts down gracefully on SIGTERM and then re-raises the signal to the handler it
    # found; this one lets the process end with status 0 instead of dying by the signal.
    signal.signal(signal.SIGTERM, _stopped)
    ui.run(
        host=settings.host,
        port=settings.port,
        title="Connect Four",
        storage_secret=settings.storage_secret,
        reload=False,
        show=False,
        favicon="🔴",
        dark=None,  # follow the system until the player picks a side (ui/theme.py)
        uvicorn_logging_level=settings.log_level.lower(),
        # A compression context per socket costs about 180 KB of server memory per browser
        # (bench/results/experiments-memory.md) to save a few hundred bytes per update.
        ws_per_message_deflate=False,
        # How long a page that lost its socket keeps its place (NiceGUI's default: 3 s). NiceGUI
        # derives Socket.IO's heartbeat from it; slow_heartbeat() sets that on its own.
        reconnect_timeout=10.0,
        # Uvicorn's own websocket ping would duplicate that heartbeat.
        ws_ping_interval=None,
    )
    # A SIGTERM or SIGINT while the restart was on its way means stop, not restart.
    if restart is not None and restart.requested and listeners.socks and not _STOP_SIGNALS:
        restart.execute(listeners.socks, {"STORAGE_SECRET": settings.storage_secret})


_STOP_SIGNALS: list[int] = []


def _stopped(signum: int, _frame: FrameType | None) -> None:
    _STOP_SIGNALS.append(signum)
    log.info("stopped by %s", signal.Signals(signum).name)


if __name__ == "__main__":
    main()
