"""The "Claim the win" button of an online game: shown to a player whose opponent has left during their own turn.

The server decides (:meth:`games.hub.GameHub.claim_wait`); the button only appears when a claim
would be accepted, and one timer per page wakes it for the moment that comes, not a poll.
"""

from __future__ import annotations

import asyncio

from nicegui import ui

from engine.connect4 import Player
from games.hub import PRESENCE_TTL, GameEvent
from ui.game_view import GameView

__all__ = ["ClaimButton"]


class ClaimButton:
    """One button per seat's page, hidden until its opponent has been away long enough."""

    def __init__(self, view: GameView) -> None:
        self.view = view
        # Built the first time a claim is due: most games never have one, and every element costs
        # memory in every player's page (tests/ui/test_online.py keeps the budget).
        self.button: ui.button | None = None
        self._parent = ui.context.slot.parent
        self._index = len(ui.context.slot.children)
        self._wake: asyncio.TimerHandle | None = None
        view.on_change(self._changed)
        ui.context.client.on_delete(self._cancel_wake)
        self.refresh()

    def _changed(self, _: GameEvent) -> None:
        self.refresh()

    def refresh(self) -> None:
        """Show the button if a claim is due now, and wake up when one will be."""
        self._cancel_wake()
        side = self.view.my_side()
        wait = None if side is None else self.view.hub.claim_wait(self.view.live, side.other)
        due = wait is not None and wait <= 0
        if due and self.button is None:
            with self._parent:
                self.button = (
                    ui.button("Claim the win", icon="emoji_events", on_click=self.claim)
                    .props('color=primary aria-label="Claim the win"')
                    .mark("claim-win")
                )
            self.button.move(target_index=self._index)
        if self.button is not None and self.button.visible != due:
            self.button.set_visibility(due)
        if wait is not None and wait > 0:
            self._wake = asyncio.get_running_loop().call_later(wait + 0.05, self.refresh)
        elif wait is None and side is not None and self._vouched_for_elsewhere(side.other):
            # Only another instance's report says the opponent is here: if that instance died, no report
            # will say they left, so look again when the report would have been repeated.
            self._wake = asyncio.get_running_loop().call_later(PRESENCE_TTL / 3, self.refresh)

    def _vouched_for_elsewhere(self, player: Player) -> bool:
        live = self.view.live
        return live.presence[player] == 0 and live.is_connected(player) and live.board.turn is player

    def _cancel_wake(self) -> None:
        if self._wake is not None:
            self._wake.cancel()
            self._wake = None

    async def claim(self) -> None:
        await self.view.attempt(lambda: self.view.hub.claim_win(self.view.live, self.view.identity))
        self.refresh()
