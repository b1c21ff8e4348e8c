"""NiceGUI's own storage (user, tab, general) in Redis, so every instance behind the proxy shares it."""

from __future__ import annotations

from nicegui import app
from nicegui.persistence import RedisPersistentDict
from nicegui.storage import GENERAL_ID, Storage

__all__ = ["use_redis_for_nicegui_storage"]


def use_redis_for_nicegui_storage(url: str) -> None:
    """Keep NiceGUI's server-side storage in the Redis at ``url`` (call before ``ui.run``).

    NiceGUI reads NICEGUI_REDIS_URL once, when it is imported; REDIS_URL is read later, so
    this sets the same switch by hand. ``app.storage.general`` was already opened on disk at
    import time and is opened again in Redis. The browser storage that holds the player's
    identity is a signed cookie and needs no Redis: every instance with the same
    STORAGE_SECRET reads it.
    """
    if Storage.redis_url == url and isinstance(app.storage.general, RedisPersistentDict):
        return
    Storage.redis_url = url
    general = Storage._create_persistent_dict(GENERAL_ID)  # NiceGUI's own factory, as at import
    general.initialize_sync()
    app.storage._general = general  # no public setter; replaced before the app starts
