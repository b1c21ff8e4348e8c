"""Telling a player whose tab is hidden that it is their turn: the tab's title, and an optional sound.

The title reads "● Your turn" while this browser's side is to move (``ui.page_title`` as the page is
built, the same script on the page's outbox after). The sound, off by default, plays on the
opponent's move and at the end, through NiceGUI's ``ui.audio`` elements, which a page builds only
when its browser turned sound on. The choice lives in the browser's signed cookie like the dark-mode
choice (a cookie is written by an HTTP response, so the speaker button is a round trip to
:data:`SOUND_PATH` that reloads the page).
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import app, ui

from games.hub import GameEvent, MovePlayed
from games.model import Role
from ui.game_view import GameView
from ui.sounds import SOUNDS_DIR
from ui.theme import same_site

__all__ = ["SOUNDS_URL", "SOUND_PATH", "TURN_TITLE", "TurnAlerts", "add_sound_route", "sound_on"]

SOUND_PATH = "/prefs/sound"
"""Where the speaker button sends the browser to store its choice."""

SOUNDS_URL = "/sounds"
"""Where the shipped sound files are served."""

TURN_TITLE = "● Your turn · Connect Four"
"""The tab's title while it is this browser's turn."""


def sound_on() -> bool:
    """Whether this browser turned the sound on (off until it does)."""
    return app.storage.browser.get("sound") is True


def add_sound_route() -> None:
    """Serve the sound files and :data:`SOUND_PATH`, which stores the choice and goes back to the game."""
    app.add_static_files(SOUNDS_URL, SOUNDS_DIR)

    @app.get(SOUND_PATH, include_in_schema=False)
    def store_sound(request: Request, on: bool, next: str = "/") -> RedirectResponse:
        request.session["sound"] = on
        return RedirectResponse(same_site(next), status_code=303)


class TurnAlerts:
    """The tab title and, for a player, the speaker button and the sounds, kept in step with ``view``."""

    def __init__(self, view: GameView) -> None:
        self.view = view
        client = ui.context.client
        self.title = client.title or "Connect Four"
        """The page's own title, shown whenever it is not this browser's turn."""
        self._shown = self.title
        self.player = view.role in (Role.RED, Role.YELLOW)
        self.sound = self.player and sound_on()
        self.button: ui.button | None = None
        self.move_sound: ui.audio | None = None
        self.end_sound: ui.audio | None = None
        if self.player:
            url = client.request.url
            here = url.path + (f"?{url.query}" if url.query else "")
            switch = f"{SOUND_PATH}?{urlencode({'on': str(not self.sound).lower(), 'next': here})}"
            # One name whatever the state ("Sound"), which aria-pressed and the icon tell.
            self.button = (
                ui.button("Sound", on_click=lambda: ui.navigate.to(switch)).classes("self-start").mark("sound")
            )
            props = self.button.props
            props["icon"] = "volume_up" if self.sound else "volume_off"
            props["flat"] = props["dense"] = props["no-caps"] = True
            props["aria-label"] = "Sound"
            props["aria-pressed"] = "true" if self.sound else "false"
            if self.sound:
                # Built only for a browser that wants sound: most pages go without both elements.
                self.move_sound = ui.audio(f"{SOUNDS_URL}/move.wav", controls=False).mark("move-sound")
                self.end_sound = ui.audio(f"{SOUNDS_URL}/end.wav", controls=False).mark("end-sound")
        self._over = view.live.is_over
        self.show_title()
        view.on_change(self._on_change)

    def my_turn(self) -> bool:
        """Whether this browser's side is to move in a game that goes on."""
        live, role = self.view.live, self.view.role
        return (
            role in (Role.RED, Role.YELLOW)
            and live.record.started
            and not live.is_over
            and not live.thinking
            and live.board.turn in role.players
        )

    def wanted_title(self) -> str:
        """The title that fits the game now."""
        return TURN_TITLE if self.my_turn() else self.title

    def show_title(self) -> None:
        """Put the title that fits the game now on the page being built (its HTML carries it)."""
        self._shown = self.wanted_title()
        if self._shown != self.title:
            ui.page_title(self._shown)

    def update_title(self) -> None:
        """Put the title that fits the game now on the open tab (and send nothing when it has not changed)."""
        title = self.wanted_title()
        if title == self._shown:
            return
        self._shown = title
        # What ui.page_title sends, put on the page's outbox here: upstream sends it from a task of
        # its own (run_javascript's AwaitableResponse), a task per move for every player, which then
        # misses the flush that carries the move.
        client = self.view.board.root.client
        if client.is_deleted:
            return
        client.title = title
        client.outbox.enqueue_message("run_javascript", {"code": f"document.title = {json.dumps(title)}"}, client.id)

    def _on_change(self, event: GameEvent) -> None:
        self.update_title()
        over = self.view.live.is_over
        ended, self._over = over and not self._over, over
        if ended and self.end_sound is not None:
            self.end_sound.play()
        elif (
            self.move_sound is not None
            and isinstance(event, MovePlayed)
            and event.move.player not in self.view.role.players
        ):
            self.move_sound.play()
