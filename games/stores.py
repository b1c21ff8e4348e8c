"""Picks the store the settings ask for (DATABASE_URL)."""

from __future__ import annotations

from games.settings import Settings
from games.sqlite_store import SQLiteStore
from games.store import MemoryStore, Store

__all__ = ["open_store"]


def open_store(settings: Settings) -> Store:
    """A new, not yet started store for ``settings``."""
    if settings.database_url == "memory://":
        return MemoryStore()
    return SQLiteStore(settings.database_url.removeprefix("sqlite:///"))
