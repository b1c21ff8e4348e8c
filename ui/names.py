"""Display names: the home page's name field, where the browser keeps its name, and how names read on a page.

A name lives in NiceGUI's browser storage, the signed cookie that also holds the player's identity:
every instance with the same STORAGE_SECRET reads it, and the server keeps nothing per browser. A
cookie is written only by an HTTP response, so saving a name is a round trip: the field's handler
checks the name and the rate limit, leaves it under a one-time token bound to this browser, and sends
the browser to :data:`NAME_PATH`, which writes the cookie and comes back. The token makes a link from
elsewhere unable to rename anyone. Every game a player sits in keeps the name given when the player
took the seat or last opened the game (:meth:`games.hub.GameHub.set_name`), so the opponent and
spectators see it on any instance. Names are always set as text, never as HTML.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import app, ui

from engine.connect4 import Player
from games.errors import GameError
from games.hub import GameHub, LiveGame
from games.model import COMPUTER, GameRecord, Role
from games.names import InvalidNameError, parse_name
from games.ratelimit import RateLimiter

__all__ = [
    "NAME_PATH",
    "NameForm",
    "add_name_route",
    "claim_name",
    "current_name",
    "list_name",
    "score_text",
    "seat_name",
]

NAME_PATH = "/prefs/name"
"""Where the browser goes to have its new name written into its cookie."""

TOKEN_SECONDS = 60.0
"""How long a saved name waits for its browser to come and fetch it."""

MAX_PENDING = 10_000
"""Names waiting for their browser at most; beyond, the oldest are dropped (the rate limit keeps it far off)."""

name_limit = RateLimiter(rate=1 / 20, burst=5, message="You are changing your name too often; try again in a minute.")
"""A few changes in a row, then one every 20 seconds, per browser."""

_pending: dict[str, tuple[str, str, float]] = {}
"""One-time token -> (browser identity, name, when it expires)."""


def current_name() -> str | None:
    """The name this browser chose, or None (a cookie is signed, but a rule may have changed since)."""
    stored = app.storage.browser.get("name")
    try:
        return parse_name(stored) if stored is not None else None
    except InvalidNameError:
        return None


def seat_name(record: GameRecord, player: Player) -> str:
    """How a board names ``player``'s seat: the chosen name, "Computer", or the colour ("Red")."""
    if record.seat(player) == COMPUTER:
        return "Computer"
    return record.name(player) or player.capitalize()


def list_name(record: GameRecord, player: Player) -> str:
    """How a list names ``player``'s seat: the chosen name, "Computer", or "Guest"."""
    if record.seat(player) == COMPUTER:
        return "Computer"
    return record.name(player) or "Guest"


def score_text(record: GameRecord) -> str:
    """The rounds each player has won so far, the game's creator first: "Ana 2 \N{EN DASH} 1 Ben"."""
    # The creator sits on red in odd rounds: colours swap with every rematch (ui/invite.py says the same).
    first = Player.RED if record.round % 2 == 1 else Player.YELLOW
    wins = dict(zip(Player, record.score(), strict=True))
    second = first.other
    return f"{seat_name(record, first)} {wins[first]} \N{EN DASH} {wins[second]} {seat_name(record, second)}"


async def claim_name(hub: GameHub, live: LiveGame, identity: str) -> None:
    """Show this browser's seat in ``live`` by the browser's name, if it chose one since it sat down."""
    name = current_name()
    if name is not None and live.record.role_of(identity) in (Role.RED, Role.YELLOW):
        with contextlib.suppress(GameError):  # the page shows the game all the same; the next visit tries again
            await hub.set_name(live, identity, name)


def _leave(identity: str, name: str) -> str:
    now = time.monotonic()
    for token in [t for t, (_, _, expires) in _pending.items() if expires < now]:
        del _pending[token]
    while len(_pending) >= MAX_PENDING:
        del _pending[next(iter(_pending))]
    token = secrets.token_urlsafe(16)
    _pending[token] = (identity, name, now + TOKEN_SECONDS)
    return token


class NameForm:
    """The home page's name field: "Your name", a Save button, and the name this browser plays as."""

    def __init__(self, identity: str) -> None:
        self.identity = identity
        name = current_name()
        with ui.row().classes("items-center gap-2 w-full max-w-xs no-wrap").mark("name-form"):
            self.field = (
                ui.input("Your name", value=name or "")
                .props('dense outlined aria-label="Your name"')
                .classes("grow")
                .mark("name-field")
            )
            ui.button("Save", on_click=self.save).props('outline aria-label="Save your name"').mark("save-name")
        self.field.on("keydown.enter", self.save)
        text = f"You play as {name}." if name else "Without a name you play as Red or Yellow."
        ui.label(text).classes("text-sm opacity-80").mark("my-name")

    def save(self) -> None:
        """Check the name and the limit, then have the browser store it; a refusal changes nothing."""
        try:
            name = parse_name(self.field.value or "")  # a cleared field holds None
            name_limit.check(self.identity)
        except GameError as exc:
            ui.notify(str(exc), type="warning")
            return
        ui.navigate.to(f"{NAME_PATH}?{urlencode({'token': _leave(self.identity, name)})}")


def add_name_route() -> None:
    """Serve :data:`NAME_PATH`: write the name left under ``token`` into this browser's cookie, then go home."""

    @app.get(NAME_PATH, include_in_schema=False)
    def store_name(request: Request, token: str = "") -> RedirectResponse:
        pending = _pending.pop(token, None)
        # Only the browser that saved the name, and only once: a link from elsewhere renames nobody.
        if pending is not None and pending[0] == request.session.get("id") and pending[2] >= time.monotonic():
            request.session["name"] = pending[1]
        return RedirectResponse("/", status_code=303)
