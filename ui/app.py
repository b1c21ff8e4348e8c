"""Wires the pages, the theme and the health check into NiceGUI's app."""

from __future__ import annotations

from fastapi.responses import PlainTextResponse
from nicegui import app, ui

from ui import pages
from ui.theme import Theme

__all__ = ["setup"]


def setup(theme: Theme | None = None) -> None:
    """Register everything on NiceGUI's app; ``theme`` sets the look (the default one if omitted)."""
    ui.add_css((theme or Theme()).css(), shared=True)
    pages.register()

    @app.get("/healthz", response_class=PlainTextResponse)
    def healthz() -> str:
        return "OK"
