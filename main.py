"""Connect Four on NiceGUI: ``python main.py`` serves the game (HOST, PORT, LOG_LEVEL, STORAGE_SECRET)."""

from __future__ import annotations

import gc
import logging
import signal
import sys
from types import FrameType

from nicegui import app, ui

from games.settings import Settings, SettingsError
from ui.app import setup
from ui.redis_storage import use_redis_for_nicegui_storage
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
    if settings.redis_url:
        use_redis_for_nicegui_storage(settings.redis_url)
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("games").setLevel(settings.log_level)
    if settings.storage_secret_is_random:
        log.warning("STORAGE_SECRET is not set: using a random one, so player sessions will not survive a restart.")
    setup(settings, THEME)
    app.on_startup(tune_gc)
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
        uvicorn_logging_level=settings.log_level.lower(),
        # A compression context per socket costs about 180 KB of server memory per browser
        # (bench/results/experiments-memory.md) to save a few hundred bytes per update.
        ws_per_message_deflate=False,
    )


def tune_gc() -> None:
    """Keep the cyclic garbage collector on, but stop its full passes from stalling every browser.

    With a thousand connected pages the heap holds millions of objects, and a full collection
    walks all of them while no event is handled: p99 click-to-opponent went from 0.3 s to 1.8 s
    in bench/load. Collecting the young generation every 50,000 allocations instead of 700 makes
    the passes rarer without letting cyclic garbage pile up (the collector still runs, and full
    passes still happen once enough has survived), and freezing what startup created keeps
    the modules and the app out of every full pass.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


def _stopped(signum: int, _frame: FrameType | None) -> None:
    log.info("stopped by %s", signal.Signals(signum).name)


if __name__ == "__main__":
    main()
