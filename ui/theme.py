"""The look of the app, set in Python: one :class:`Theme` object and the page chrome around every page."""

from __future__ import annotations

import html
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import app, ui

from engine.connect4 import COLUMNS, ROWS

__all__ = ["DARK_PATH", "Theme", "add_dark_mode_route", "frame"]


@dataclass(frozen=True)
class Theme:
    """Colours, sizes and fonts of the board; pass your own to :func:`ui.app.setup`.

    >>> Theme(red="#c62828", board="#37474f", disc_size=72)  # doctest: +ELLIPSIS
    Theme(...)
    """

    red: str = "#e53935"
    yellow: str = "#fdd835"
    board: str = "#1565c0"
    board_dark: str = "#0d2c5e"
    hole: str = "#ffffff"
    hole_dark: str = "#121212"
    highlight: str = "#00e676"
    disc_size: int = 56
    """Largest disc diameter in pixels; discs shrink to fit narrow screens."""
    gap: int = 6
    font_family: str = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
    drop_seconds: float = 0.35
    """How long a disc takes to fall; 0 turns the animation off."""

    def css(self) -> str:
        """The style sheet that draws the board in this theme."""
        # Each disc falls from just above the top row to where it lands.
        falls = "\n".join(f".c4-r{row} {{ --c4-fall: {ROWS - row - 0.5}; }}" for row in range(ROWS))
        # The board's class c4-last-R-C marks the cell data-cell="R-C" (ui/board.py, last_move_class).
        last_marks = ",\n".join(
            f'.c4-last-{r}-{c} [data-cell="{r}-{c}"]::before' for r in range(1, ROWS + 1) for c in range(1, COLUMNS + 1)
        )
        return f"""
:root {{
  --c4-red: {self.red}; --c4-yellow: {self.yellow}; --c4-board: {self.board};
  --c4-hole: {self.hole}; --c4-highlight: {self.highlight}; --c4-gap: {self.gap}px;
}}
.body--dark {{ --c4-board: {self.board_dark}; --c4-hole: {self.hole_dark}; }}
body {{ font-family: {self.font_family}; }}
.c4-board {{
  display: flex; gap: var(--c4-gap); padding: var(--c4-gap); border-radius: calc(var(--c4-gap) * 2);
  /* The board takes the width it has, up to full-size discs, so a 375-pixel phone never scrolls. */
  background: var(--c4-board); width: min(100%, {7 * self.disc_size + 8 * self.gap}px);
  box-sizing: border-box; touch-action: manipulation;
  user-select: none;
}}
.c4-column {{
  display: flex; flex-direction: column; gap: var(--c4-gap); cursor: pointer; flex: 1 1 0; min-width: 0;
  border-radius: 999px; outline: none; border: 0; margin: 0; padding: 0; background: none;
  font: inherit; color: inherit; -webkit-appearance: none; appearance: none;
}}
.c4-column:hover, .c4-column:focus-visible {{ background: rgba(255, 255, 255, 0.15); }}
.c4-over .c4-column {{ cursor: default; background: none; }}
.c4-cell {{
  display: block; width: 100%; aspect-ratio: 1 / 1; border-radius: 50%; position: relative;
  background: var(--c4-hole); box-shadow: inset 0 3px 6px rgba(0, 0, 0, 0.35);
}}
.c4-cell::after {{
  content: ""; position: absolute; inset: 5%; border-radius: 50%; background: transparent;
}}
.c4-red::after {{ background: var(--c4-red); box-shadow: inset 0 -4px 0 rgba(0, 0, 0, 0.2); }}
.c4-yellow::after {{ background: var(--c4-yellow); box-shadow: inset 0 -4px 0 rgba(0, 0, 0, 0.15); }}
.c4-turn-red:not(.c4-over) .c4-column:hover .c4-next::after {{ background: var(--c4-red); opacity: 0.35; }}
.c4-turn-yellow:not(.c4-over) .c4-column:hover .c4-next::after {{ background: var(--c4-yellow); opacity: 0.35; }}
{falls}
.c4-drop::after {{ z-index: 1; animation: c4-fall {self.drop_seconds}s cubic-bezier(0.55, 0, 1, 0.45); }}
@keyframes c4-fall {{
  /* The disc is 90 % of its cell, so one cell down is 111 % of the disc plus a gap. */
  from {{ transform: translateY(calc(var(--c4-fall) * -1 * (111% + var(--c4-gap)))); }}
  to {{ transform: none; }}
}}
@media (prefers-reduced-motion: reduce) {{ .c4-drop::after {{ animation: none; }} }}
{last_marks} {{
  content: ""; position: absolute; z-index: 2; left: 50%; top: 50%; width: 22%; height: 22%;
  transform: translate(-50%, -50%); border-radius: 50%; background: rgba(0, 0, 0, 0.45);
}}
.c4-win {{ box-shadow: 0 0 0 4px var(--c4-highlight); }}
.c4-win::after {{ animation: c4-pulse 1s ease-in-out infinite alternate; }}
@keyframes c4-pulse {{ to {{ transform: scale(0.82); }} }}
.c4-values {{
  display: flex; gap: var(--c4-gap); padding: 0 var(--c4-gap); box-sizing: border-box;
  width: min(100%, {7 * self.disc_size + 8 * self.gap}px);
}}
.c4-value {{ flex: 1 1 0; min-width: 0; text-align: center; font-size: 0.75rem; line-height: 1.1; }}
.c4-hint {{ background: rgba(255, 255, 255, 0.35); box-shadow: 0 0 0 3px var(--c4-highlight); }}
.c4-status {{ font-size: 1.25rem; font-weight: 600; min-height: 2rem; }}
.c4-chip {{ display: inline-block; width: 1rem; height: 1rem; border-radius: 50%; vertical-align: middle; }}
.c4-chip-red {{ background: var(--c4-red); }}
.c4-chip-yellow {{ background: var(--c4-yellow); }}
"""


_ROUND_FLAT_BUTTON = (
    "q-btn q-btn-item non-selectable no-outline q-btn--flat q-btn--round text-white q-btn--actionable"
    " q-focusable q-hoverable"
)
"""Quasar's classes of a ``flat round color=white`` button, for a link that looks like one."""

DARK_PATH = "/prefs/dark"
"""Where the dark-mode switch sends the browser to store its choice (see :func:`add_dark_mode_route`)."""


def add_dark_mode_route() -> None:
    """Serve :data:`DARK_PATH`: store the browser's dark-mode choice in its cookie, then go back.

    The choice lives in NiceGUI's browser storage, the signed session cookie that also holds the
    player's identity: it costs the server nothing per browser, and every instance with the same
    STORAGE_SECRET reads it, with no server-side storage per browser or tab (NiceGUI's user and
    tab storage in Redis would cost each page two Redis connections). A cookie can only be
    written by an HTTP response, so the switch is a short round trip that reloads the page.
    """

    @app.get(DARK_PATH, include_in_schema=False)
    def store_dark_mode(request: Request, on: bool, next: str = "/") -> RedirectResponse:
        request.session["dark"] = on
        # Only a path on this site: never a redirect to somewhere else ("//host" or "https://...").
        safe = next if next.startswith("/") and not next.startswith("//") and "\\" not in next else "/"
        return RedirectResponse(safe, status_code=303)


@contextmanager
def frame(title: str) -> Iterator[None]:
    """The chrome around every page: a header with the way home and the dark-mode switch."""
    ui.page_title(f"{title} · Connect Four" if title != "Connect Four" else title)
    # A page follows the system setting (ui.run(dark=None)) until the player picks a side, and the
    # element that sets it is built only then: most players never pick one.
    stored: bool | None = app.storage.browser.get("dark")
    if stored is not None:
        ui.dark_mode(stored)

    # The switch is a link to the route that stores the choice and comes back here: no listener on the
    # server, so the header is one element of HTML (every element costs memory in every open page).
    url = ui.context.client.request.url
    here = url.path + (f"?{url.query}" if url.query else "")
    switch = f"{DARK_PATH}?{urlencode({'on': str(not stored).lower(), 'next': here})}"
    with ui.header().classes("items-center px-4 py-2"):
        ui.html(
            '<a href="/" class="text-xl font-bold text-white no-underline" aria-label="Home">Connect Four</a>'
            f'<a href="{html.escape(switch, quote=True)}" class="{_ROUND_FLAT_BUTTON}" aria-label="Toggle dark mode">'
            '<span class="q-focus-helper"></span><span class="q-btn__content col items-center justify-center row">'
            '<i class="q-icon notranslate material-icons" aria-hidden="true">dark_mode</i></span></a>',
            sanitize=False,  # built here; the only outside part, the page's own path, is escaped
        ).classes("w-full flex items-center justify-between").mark("header")
    # The page's own content element is the column: a wrapper would be one more element per browser.
    ui.context.client.content.classes("w-full max-w-3xl mx-auto items-center gap-4 p-3")
    yield
