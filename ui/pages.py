"""The pages: home and the hot-seat game."""

from __future__ import annotations

import secrets

from nicegui import ui

from games.session import GameSession
from ui.game_view import GameView
from ui.theme import frame

__all__ = ["register"]


def register() -> None:
    """Add the pages to the app (called once per app, so tests can build a fresh one)."""

    @ui.page("/")
    def home() -> None:
        with frame("Connect Four"):
            ui.label("Connect Four").classes("text-3xl font-bold")
            ui.label("Drop discs, get four in a row: across, down or diagonally.")
            with ui.column().classes("items-stretch gap-3 w-full max-w-xs"):
                ui.button("Play on this device", on_click=lambda: ui.navigate.to("/local")).props(
                    'size=lg aria-label="Play on this device"'
                )

    @ui.page("/local")
    def local() -> None:
        session = GameSession(f"local-{secrets.token_hex(6)}")
        with frame("Play on this device"):
            view = GameView(session)
            with ui.row().classes("gap-2"):
                ui.button("New game", icon="restart_alt", on_click=session.new_game).props(
                    'outline aria-label="New game"'
                )
                ui.button("Undo", icon="undo", on_click=lambda: view.attempt(session.undo)).props(
                    'outline aria-label="Undo"'
                )
            ui.label("Click a column or press 1 to 7. Red starts.").classes("text-sm opacity-70")
