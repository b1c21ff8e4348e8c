"""Picks the store the settings ask for (REDIS_URL, else DATABASE_URL)."""

from __future__ import annotations

from games.settings import Settings
from games.sqlite_store import SQLiteStore
from games.store import MemoryStore, Store

__all__ = ["open_store"]


def open_store(settings: Settings) -> Store:
    """A new, not yet started store for ``settings``: Redis shared by every instance, or a local one."""
    if settings.redis_url:
        # Imported here: a single instance on SQLite never needs the Redis client.
        from games.redis_store import RedisStore

        return RedisStore(settings.redis_url)
    if settings.database_url == "memory://":
        return MemoryStore()
    return SQLiteStore(settings.database_url.removeprefix("sqlite:///"))
