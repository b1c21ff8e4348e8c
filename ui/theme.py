"""The look of the app, set in Python: one :class:`Theme` object and the page chrome around every page."""

from __future__ import annotations

import html
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import app, ui
from nicegui.language import Language

from engine.connect4 import COLUMNS, ROWS

__all__ = ["DARK_PATH", "LANGUAGE", "Theme", "add_dark_mode_route", "frame", "header_html", "same_site", "use_theme"]


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
    primary: str = "#1565c0"
    """The header, filled buttons and, in light mode, links and outlined buttons (white text: 5.8:1)."""
    primary_on_dark: str = "#90caf9"
    """Links, outlined buttons and the focus ring on a dark page (10:1 on #121212)."""
    focus: str = "#0d47a1"
    """The focus ring on a light page (8.6:1 on white)."""
    positive: str = "#2e7d32"
    negative: str = "#c10015"
    info: str = "#01579b"
    warning: str = "#f2c037"
    """Notification backgrounds: white text on the first three, dark text on warning (all above 4.5:1)."""
    win: str = "#1b5e20"
    draw: str = "#455a64"
    loss: str = "#b71c1c"
    """Analysis values by result on a light page; the ``*_on_dark`` ones on a dark page."""
    win_on_dark: str = "#81c784"
    draw_on_dark: str = "#b0bec5"
    loss_on_dark: str = "#ef9a9a"
    disc_size: int = 96
    """Largest disc diameter in pixels; discs shrink to fit narrow and short screens."""
    gap: int = 6
    font_family: str = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
    drop_seconds: float = 0.35
    """How long a disc takes to fall; 0 turns the animation off."""

    def css(self) -> str:
        """The style sheet that draws the board, the page layout and the focus ring in this theme."""
        # Each disc falls from just above the top row to where it lands.
        falls = "\n".join(f".c4-r{row} {{ --c4-fall: {ROWS - row - 0.5}; }}" for row in range(ROWS))
        # The board's class c4-last-R-C marks the cell data-cell="R-C" (ui/board.py, last_move_class).
        last_marks = ",\n".join(
            f'.c4-last-{r}-{c} [data-cell="{r}-{c}"]::before' for r in range(1, ROWS + 1) for c in range(1, COLUMNS + 1)
        )
        full = 7 * self.disc_size + 8 * self.gap
        # Whoever may move sees the preview and the pointer: not a finished board, not one waiting for someone else.
        live = ".c4-board:not(.c4-over):not(.c4-wait)"
        return f"""
:root {{
  --c4-red: {self.red}; --c4-yellow: {self.yellow}; --c4-board: {self.board};
  --c4-hole: {self.hole}; --c4-highlight: {self.highlight}; --c4-gap: {self.gap}px;
  --c4-link: {self.primary}; --c4-focus: {self.focus};
  --c4-win: {self.win}; --c4-draw: {self.draw}; --c4-loss: {self.loss};
  /* As wide as it may be, and short enough that the whole board fits under the header. */
  --c4-board-width: min(100%, {full}px, max(280px, calc((100dvh - 10rem) * 7 / 6)));
}}
.body--dark {{
  --c4-board: {self.board_dark}; --c4-hole: {self.hole_dark}; --c4-link: {self.primary_on_dark};
  --c4-focus: {self.primary_on_dark}; --c4-win: {self.win_on_dark}; --c4-draw: {self.draw_on_dark};
  --c4-loss: {self.loss_on_dark};
}}
body {{ font-family: {self.font_family}; }}
/* Quasar's colour classes and its no-outline are !important in its last layer; an !important in the
   first layer ("theme") is the one thing that wins over them. */
@layer theme {{
  /* Quasar draws links and outlined buttons in the primary colour, too dark on a dark page. */
  .body--dark .text-primary {{ color: var(--c4-link) !important; }}
  /* A ring on whatever the keyboard reaches. */
  a:focus-visible, button:focus-visible, .q-btn:focus-visible, [tabindex]:focus-visible,
  .q-field--focused .q-field__control {{
    outline: 3px solid var(--c4-focus) !important; outline-offset: 2px !important;
  }}
  .q-header a:focus-visible, .c4-column:focus-visible {{ outline-color: #ffffff !important; }}
  .c4-to-light {{ display: none !important; }}
  .body--dark .c4-to-light {{ display: inline-flex !important; }}
  .body--dark .c4-to-dark {{ display: none !important; }}
}}
a.c4-link, .c4-page a:not(.q-btn) {{ color: var(--c4-link); }}
.c4-title {{ font-size: 1.25rem; line-height: 1.75rem; font-weight: 700; margin: 0; min-width: 0;
  overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }}
.c4-title a {{ color: #ffffff; text-decoration: none; }}
.c4-subtitle {{ font-weight: 400; opacity: 0.95; }}
.c4-subtitle::before {{ content: " · "; }}
@media (max-width: 599px) {{
  .c4-title {{ white-space: normal; line-height: 1.2; }}
  .c4-subtitle {{ display: block; font-size: 0.875rem; }}
  .c4-subtitle::before {{ content: none; }}
}}
.c4-board {{
  display: flex; gap: var(--c4-gap); padding: var(--c4-gap); border-radius: calc(var(--c4-gap) * 2);
  /* The board takes the width it has, up to full-size discs, so a 375-pixel phone never scrolls. */
  background: var(--c4-board); width: var(--c4-board-width);
  box-sizing: border-box; touch-action: manipulation;
  user-select: none;
}}
.c4-column {{
  display: flex; flex-direction: column; gap: var(--c4-gap); cursor: default; flex: 1 1 0; min-width: 0;
  border-radius: 999px; outline: none; border: 0; margin: 0; padding: 0; background: none;
  font: inherit; color: inherit; -webkit-appearance: none; appearance: none;
}}
{live} .c4-column {{ cursor: pointer; }}
{live} .c4-column:hover, {live} .c4-column:focus-visible {{ background: rgba(255, 255, 255, 0.15); }}
.c4-cell {{
  display: block; width: 100%; aspect-ratio: 1 / 1; border-radius: 50%; position: relative;
  background: var(--c4-hole); box-shadow: inset 0 3px 6px rgba(0, 0, 0, 0.35);
}}
.c4-cell::after {{
  content: ""; position: absolute; inset: 5%; border-radius: 50%; background: transparent;
}}
.c4-red::after {{ background: var(--c4-red); box-shadow: inset 0 -4px 0 rgba(0, 0, 0, 0.2); }}
.c4-yellow::after {{ background: var(--c4-yellow); box-shadow: inset 0 -4px 0 rgba(0, 0, 0, 0.15); }}
{live}.c4-turn-red .c4-column:is(:hover, :focus-visible) .c4-next::after {{ background: var(--c4-red); opacity: 0.35; }}
{live}.c4-turn-yellow .c4-column:is(:hover, :focus-visible) .c4-next::after {{
  background: var(--c4-yellow); opacity: 0.35;
}}
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
/* The values keep their row whether shown or not, so switching them never moves the board. */
.c4-values {{
  display: flex; gap: var(--c4-gap); padding: 0 var(--c4-gap); box-sizing: border-box;
  width: var(--c4-board-width); min-height: 2.5rem; align-items: flex-start;
}}
.c4-values-off {{ visibility: hidden; }}
.c4-value {{ flex: 1 1 0; min-width: 0; text-align: center; font-size: 0.8rem; line-height: 1.15; font-weight: 600; }}
.c4-value-win {{ color: var(--c4-win); }}
.c4-value-draw {{ color: var(--c4-draw); }}
.c4-value-loss {{ color: var(--c4-loss); }}
.c4-hint {{ background: rgba(255, 255, 255, 0.35); box-shadow: 0 0 0 3px var(--c4-highlight); }}
.c4-status {{ font-size: 1.25rem; font-weight: 600; min-height: 2rem; }}
.c4-invite-card {{ border: 1px solid rgba(127, 127, 127, 0.45); border-radius: 0.5rem; padding: 0.75rem; }}
/* A game page: on a phone one column (what the side panel holds above the board goes above it); from
   1024 pixels the board on the left, as large as the height allows, and the side panel on the right. */
.c4-side {{ display: contents; }}
.c4-side > * {{ order: 3; }}
.c4-side > .c4-above {{ order: 1; }}
.c4-game > .c4-board {{ order: 2; }}
.c4-game > .c4-values {{ order: 2; margin-top: -0.5rem; }}
@media (min-width: 1024px) {{
  .c4-game {{
    display: grid !important; grid-template-columns: minmax(0, 1fr) minmax(18rem, 24rem);
    /* A last row that takes what a tall side panel needs more, so the values stay right under the board. */
    grid-template-rows: auto auto auto 1fr;
    grid-auto-rows: min-content; column-gap: 2rem; row-gap: 0.75rem; align-items: start;
  }}
  .c4-game > * {{ grid-column: 1 / -1; }}
  .c4-game > .c4-board {{ grid-column: 1; grid-row: 2; justify-self: center; }}
  .c4-game > .c4-values {{ grid-column: 1; grid-row: 3; justify-self: center; margin-top: 0; }}
  .c4-game > .c4-side {{
    grid-column: 2; grid-row: 2 / span 3; display: flex; flex-direction: column; gap: 0.75rem;
    padding: 1rem; border-radius: 0.75rem; border: 1px solid rgba(127, 127, 127, 0.35);
  }}
  .c4-game > .c4-side > * {{ order: 0; }}
  .c4-game > .c4-side .c4-controls {{ justify-content: flex-start; }}
}}
"""


_ROUND_FLAT_BUTTON = (
    "q-btn q-btn-item non-selectable no-outline q-btn--flat q-btn--round text-white q-btn--actionable"
    " q-focusable q-hoverable"
)
"""Quasar's classes of a ``flat round color=white`` button, for a link that looks like one."""

LANGUAGE: Language = "en-US"
"""The language of every page: Quasar's texts and the ``lang`` attribute of ``<html>``."""

DARK_PATH = "/prefs/dark"
"""Where the dark-mode switch sends the browser to store its choice (see :func:`add_dark_mode_route`)."""


def use_theme(theme: Theme) -> None:
    """Draw every page in ``theme``: its style sheet, and its colours for Quasar's header, buttons and toasts."""
    ui.add_css(theme.css(), shared=True)
    # Application-wide, so no page carries an element for it.
    app.colors(
        primary=theme.primary,
        positive=theme.positive,
        negative=theme.negative,
        info=theme.info,
        warning=theme.warning,
    )


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
        return RedirectResponse(same_site(next), status_code=303)


def same_site(next: str) -> str:
    """``next`` if it is a path on this site, else "/": never a redirect elsewhere ("//host" or "https://...")."""
    return next if next.startswith("/") and not next.startswith("//") and "\\" not in next else "/"


def _switch_html(here: str, *, dark: bool) -> str:
    # The server cannot know which side a page that follows the system shows; the browser does. So
    # there are two links, each saying what it does, and the style sheet shows the one that changes something.
    switch = f"{DARK_PATH}?{urlencode({'on': str(dark).lower(), 'next': here})}"
    name, icon, kind = (
        ("Switch to dark mode", "dark_mode", "c4-to-dark")
        if dark
        else (
            "Switch to light mode",
            "light_mode",
            "c4-to-light",
        )
    )
    return (
        f'<a href="{html.escape(switch, quote=True)}" class="{_ROUND_FLAT_BUTTON} {kind}" aria-label="{name}"'
        f' title="{name}"><span class="q-focus-helper"></span>'
        '<span class="q-btn__content col items-center justify-center row">'
        f'<i class="q-icon notranslate material-icons" aria-hidden="true">{icon}</i></span></a>'
    )


def header_html(title: str, here: str) -> str:
    """The header: the page's one ``h1`` (the way home, and the page's name) and the dark-mode switch."""
    subtitle = "" if title == "Connect Four" else f'<span class="c4-subtitle">{html.escape(title)}</span>'
    return (
        f'<h1 class="c4-title"><a href="/" aria-label="Connect Four, home page">Connect Four</a>{subtitle}</h1>'
        f'<span class="row no-wrap">{_switch_html(here, dark=True)}{_switch_html(here, dark=False)}</span>'
    )


@contextmanager
def frame(title: str) -> Iterator[Callable[[str], None]]:
    """The chrome around every page: a header with the page's title, the way home and the dark-mode switch.

    It gives the function that tells the header the page's address changed (the dark-mode switch comes back there).
    """
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
    with ui.header().classes("items-center px-4 py-2"):
        header = (
            ui.html(
                header_html(title, here),
                sanitize=False,  # built here; the outside parts, the page's own path and its title, are escaped
            )
            .classes("w-full flex items-center justify-between no-wrap gap-2")
            .mark("header")
        )
    # The page's own content element is the column: a wrapper would be one more element per browser.
    ui.context.client.content.classes("w-full max-w-3xl mx-auto items-center gap-4 p-3 c4-page")

    def readdress(path: str) -> None:
        header.set_content(header_html(title, path))

    yield readdress
