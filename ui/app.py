"""Wires the store, the game hub, the pages, the theme and the health check into NiceGUI's app."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from fastapi.responses import PlainTextResponse
from nicegui import app, background_tasks

from games.computer import Analyst, ComputerPlayer
from games.hub import GameHub
from games.lobby import Lobby
from games.settings import Settings
from games.store import Store
from games.stores import open_lobby_store, open_store
from ui import pages
from ui.errors import add_error_pages
from ui.names import add_name_route
from ui.theme import Theme, add_dark_mode_route, use_theme
from ui.ticker import tick_forever
from ui.turn_alerts import add_sound_route

__all__ = ["run_options", "setup"]

log = logging.getLogger(__name__)


def setup(settings: Settings | None = None, theme: Theme | None = None, store: Store | None = None) -> GameHub:
    """Register everything on NiceGUI's app and return the hub that holds the games."""
    settings = settings or Settings()
    hub = GameHub(store or open_store(settings), claim_after=settings.claim_after)
    lobby = Lobby(hub, open_lobby_store(hub.store))
    analyst = Analyst(workers=settings.computer_workers)
    computer = ComputerPlayer(hub, analyst)
    use_theme(theme or Theme())
    add_dark_mode_route()
    add_name_route()
    add_sound_route()
    add_error_pages()
    pages.register(hub, analyst, computer, lobby)

    async def clean_up_forever() -> None:
        while True:
            await asyncio.sleep(min(60.0, settings.game_ttl / 4))
            try:
                await hub.cleanup(settings.game_ttl)
            except Exception:
                log.exception("cleaning up idle games failed; trying again later")

    async def warm_computer() -> None:
        try:
            await analyst.warm()
        except Exception:
            log.exception("the computer's worker did not start; it starts with the first move instead")

    async def start() -> None:
        await hub.start()
        await lobby.start()
        background_tasks.create(clean_up_forever(), name="clean up idle games")
        background_tasks.create(tick_forever(), name="clocks and messages ticker")
        # In the background: the server answers at once while the worker loads the book.
        background_tasks.create(warm_computer(), name="warm the computer")

    async def stop() -> None:
        await computer.close()
        await lobby.close()
        analyst.close()
        await hub.close()

    app.on_startup(start)
    app.on_shutdown(stop)

    @app.get("/healthz", response_class=PlainTextResponse)
    async def healthz() -> PlainTextResponse:
        with contextlib.suppress(Exception):
            if await hub.store.ping():
                return PlainTextResponse("OK")
        return PlainTextResponse("store unavailable", status_code=503)

    return hub


def run_options(settings: Settings) -> dict[str, Any]:
    """What ``ui.run`` needs to serve these pages: address, title, icon, session secret, dark-mode default."""
    return {
        "host": settings.host,
        "port": settings.port,
        "title": "Connect Four",
        "storage_secret": settings.storage_secret,
        "reload": False,
        "show": False,
        "favicon": "🔴",
        "dark": None,  # follow the system until the player picks a side (ui/theme.py)
        "uvicorn_logging_level": settings.log_level.lower(),
        "reconnect_timeout": 10.0,  # how long a page that lost its socket keeps its place (NiceGUI's default: 3 s)
    }
