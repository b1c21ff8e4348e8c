"""Both players' clocks on the page of a timed online game, the mover's counting down.

The server's clock decides (:mod:`games.clock`); the page only shows it: one label for both
clocks, redrawn by the app's ticker (:mod:`ui.ticker`) while one runs. A page of a game without a
clock builds nothing.
"""

from __future__ import annotations

import time

from nicegui import ui

from engine.connect4 import Player
from games.clock import CHOICES, clock_text
from games.hub import GameEvent
from ui.game_view import GameView
from ui.layout import ABOVE_BOARD
from ui.ticker import tick_me

__all__ = ["CSS", "GameClocks", "clock_choice"]

CSS = """
.c4-clocks { font-variant-numeric: tabular-nums; font-size: 1.125rem; font-weight: 500; }
"""


def clock_choice() -> ui.select:
    """The time control a new online game is created with (seconds per player, 0 for none)."""
    # Its label names the combobox for a screen reader (Quasar ties them together).
    return ui.select(CHOICES, value=0, label="Clock for online games").classes("w-full").mark("clock-choice")


class GameClocks:
    """The clocks of ``view``'s game: "Red 2:41 (to move) · Yellow 3:00"."""

    def __init__(self, view: GameView) -> None:
        self.view = view
        self.label = ui.label().classes(f"c4-clocks {ABOVE_BOARD}").mark("clocks")
        self.label.props["role"] = "timer"
        self._shown = ""
        view.on_change(self._on_event)
        self.show()

    def _on_event(self, _: GameEvent) -> None:
        self.show()

    def tick(self) -> bool:
        return not self.label.is_deleted and self.show()

    def show(self) -> bool:
        """Draw both clocks as they read now; True while one runs."""
        live = self.view.live
        clock = live.record.clock
        if clock is None:
            return False
        now = time.time()
        turn = live.board.turn
        running = clock.since is not None and not live.is_over
        parts = []
        for player in Player:
            left = clock_text(clock.left(player, turn, now))
            parts.append(f"{player.capitalize()} {left}" + (" (to move)" if running and player is turn else ""))
        text = " · ".join(parts)
        if text != self._shown:
            self._shown = text
            self.label.set_text(text)
        if running:
            tick_me(self)
        return running
