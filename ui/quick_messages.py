"""Quick messages in an online game: a player picks a fixed phrase; both boards and spectators see it briefly."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from nicegui import ui

from games.hub import PHRASES, MessageSent
from games.model import Role

if TYPE_CHECKING:  # the view shows messages through show_message: no import cycle at run time
    from ui.game_view import GameView

__all__ = ["QuickMessages", "message_text"]

SHOWN_MS = 4000
"""How long a quick message stays on screen."""


def message_text(event: MessageSent, role: Role) -> str:
    """A quick message as ``role`` reads it: "You: Oops", "Opponent: Good luck!", or "Red: Well played"."""
    if role in (Role.RED, Role.YELLOW):
        return f"{'You' if event.player in role.players else 'Opponent'}: {event.phrase}"
    return f"{event.player.capitalize()}: {event.phrase}"


def show_message(view: GameView, event: MessageSent) -> None:
    """Show a quick message on this page for a moment (a notification: nothing stays in the page)."""
    with view.board.root:
        ui.notify(message_text(event, view.role), position="top", timeout=SHOWN_MS, type="info")


class QuickMessages:
    """A seat's "Say…" button; its menu of phrases is built on the first click (most players never open it)."""

    def __init__(self, view: GameView) -> None:
        self.view = view
        self.menu: ui.menu | None = None
        self.button = (
            ui.button("Say…", icon="chat_bubble_outline", on_click=self.open)
            .props('flat no-caps aria-label="Send a quick message"')
            .mark("quick-messages")
        )

    def open(self) -> None:
        if self.menu is None:
            with self.button, ui.menu() as self.menu:
                for number, phrase in enumerate(PHRASES, start=1):
                    ui.menu_item(phrase, on_click=functools.partial(self.send, phrase)).props(
                        f'aria-label="Say: {phrase}"'
                    ).mark(f"phrase-{number}")
        self.menu.open()

    async def send(self, phrase: str) -> None:
        await self.view.attempt(lambda: self.view.hub.send_message(self.view.live, self.view.identity, phrase))
