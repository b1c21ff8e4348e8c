"""Quick messages between the players of an online game: fixed phrases, shown briefly on every board.

The players get a native button per phrase, all in one element with one listener (every element
costs memory in every page, like the move list's); everyone watching the game (the other player
and the spectators) reads the last message for a few seconds, as a status a screen reader announces.
"""

from __future__ import annotations

import html
import time

from nicegui import ui
from nicegui.events import GenericEventArguments

from games.errors import GameError
from games.hub import GameChanged, GameEvent
from games.model import PHRASES, Role
from ui.game_view import GameView
from ui.labels import named
from ui.layout import ABOVE_BOARD
from ui.ticker import tick_me

__all__ = ["CSS", "SHOWN_SECONDS", "QuickMessages"]

SHOWN_SECONDS = 6.0
"""How long a quick message stays on the boards."""

CSS = """
.c4-phrases { display: flex; flex-wrap: wrap; gap: 0.25rem; justify-content: center; }
@media (min-width: 1024px) { .c4-side .c4-phrases { justify-content: flex-start; } }
.c4-phrase { border: 1px solid var(--c4-link); border-radius: 1rem; background: none; color: var(--c4-link);
  font: inherit; font-size: 0.8125rem; padding: 0.15rem 0.6rem; cursor: pointer; }
.c4-phrase:hover { background: rgba(127, 127, 127, 0.18); }
"""

# A click on a phrase sends its number (as text: the socket guard takes strings).
_CLICKED_PHRASE = "(e) => { const b = e.target.closest('[data-phrase]'); if (b) emit(b.dataset.phrase); }"

_PHRASES_HTML = "".join(
    f'<button type="button" class="c4-phrase" data-phrase="{index}" aria-label="Say: {html.escape(phrase)}">'
    f"{html.escape(phrase)}</button>"
    for index, phrase in enumerate(PHRASES)
)


class QuickMessages:
    """The last quick message of ``view``'s game, and for a player the buttons that send one."""

    def __init__(self, view: GameView) -> None:
        self.view = view
        # The message's label is built with the first message: most pages never need it.
        self._parent = ui.context.slot.parent
        self._index = len(ui.context.slot.children)
        self.label: ui.label | None = None
        self._shown_at: float | None = None
        if view.role in (Role.RED, Role.YELLOW):
            buttons = named(ui.element("div"), "Quick messages").classes("c4-phrases").mark("phrases")
            buttons.props["role"] = "group"
            buttons.props["innerHTML"] = _PHRASES_HTML
            buttons.on("click", self._clicked, js_handler=_CLICKED_PHRASE)
        view.on_change(self._on_event)
        self.tick()

    async def _clicked(self, event: GenericEventArguments) -> None:
        # The browser sends the text of a data-phrase attribute; anything else is passed on for the hub to refuse.
        index = event.args
        phrase = PHRASES[int(index)] if isinstance(index, str) and index in ("0", "1", "2", "3") else index
        await self.send(phrase)

    async def send(self, phrase: object) -> None:
        """Send ``phrase`` as this browser's player; a refusal is shown to this browser only."""
        try:
            await self.view.hub.say(self.view.live, self.view.identity, phrase)
        except GameError as exc:
            with self._parent:
                ui.notify(str(exc), type="warning")

    def _on_event(self, event: GameEvent) -> None:
        if isinstance(event, GameChanged):
            self.tick()

    def tick(self) -> bool:
        """Show the last message while it is fresh; False once nothing is shown."""
        if self._parent.is_deleted:
            return False
        said = self.view.live.record.said
        fresh = said is not None and time.time() - said.at < SHOWN_SECONDS
        if said is not None and fresh:
            label = self._label()
            if said.at != self._shown_at:
                self._shown_at = said.at
                mine = self.view.my_side()
                who = "You" if said.player is mine else "Your opponent" if mine else said.player.capitalize()
                label.set_text(f"{who}: “{said.phrase}”")
            label.set_visibility(True)
            tick_me(self)
            return True
        if self.label is not None:
            self.label.set_visibility(False)
        return False

    def _label(self) -> ui.label:
        if self.label is None:
            with self._parent:
                self.label = ui.label().classes(f"text-base font-medium {ABOVE_BOARD}").mark("said")
            self.label.props["role"] = "status"
            self.label.move(target_index=self._index)
        return self.label
