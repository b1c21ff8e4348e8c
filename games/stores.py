"""Picks the store the settings ask for (REDIS_URL, else DATABASE_URL), and the lobby that goes with it."""

from __future__ import annotations

from games.lobby import LobbyStore, MemoryLobbyStore
from games.settings import Settings
from games.sqlite_lobby import SQLiteLobbyStore
from games.sqlite_store import SQLiteStore
from games.store import MemoryStore, Store

__all__ = ["open_lobby_store", "open_store"]


def open_store(settings: Settings) -> Store:
    """A new, not yet started store for ``settings``: Redis shared by every instance, or a local one."""
    if settings.redis_url:
        # Imported here: a single instance on SQLite never needs the Redis client.
        from games.redis_store import RedisStore

        return RedisStore(settings.redis_url)
    if settings.database_url == "memory://":
        return MemoryStore()
    return SQLiteStore(settings.database_url.removeprefix("sqlite:///"))


def open_lobby_store(store: Store) -> LobbyStore:
    """The lobby that keeps its queue and lists beside ``store``'s games."""
    if isinstance(store, MemoryStore):
        return MemoryLobbyStore(store)
    if isinstance(store, SQLiteStore):
        return SQLiteLobbyStore(store)
    # Imported here: a single instance on SQLite never needs the Redis client.
    from games.redis_lobby import RedisLobbyStore
    from games.redis_store import RedisStore

    if isinstance(store, RedisStore):
        return RedisLobbyStore(store)
    raise TypeError(f"no lobby for a {type(store).__name__}")
