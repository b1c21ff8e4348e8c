"""The store the settings ask for, and the lobby that keeps its queue beside that store's games."""

from __future__ import annotations

from pathlib import Path

import pytest

from games.lobby import MemoryLobbyStore
from games.redis_lobby import RedisLobbyStore
from games.redis_store import RedisStore
from games.settings import Settings
from games.sqlite_lobby import SQLiteLobbyStore
from games.sqlite_store import SQLiteStore
from games.store import MemoryStore, Store
from games.stores import open_lobby_store, open_store


def test_redis_when_its_url_is_set_else_the_database_url(tmp_path: Path) -> None:
    sqlite = open_store(Settings(database_url=f"sqlite:///{tmp_path / 'games.db'}"))
    assert isinstance(sqlite, SQLiteStore)
    assert isinstance(open_store(Settings(database_url="memory://")), MemoryStore)
    redis = open_store(Settings(redis_url="redis://127.0.0.1:6399/0", database_url="memory://"))
    assert isinstance(redis, RedisStore)  # not started: nothing connects yet


@pytest.mark.parametrize(
    ("settings", "lobby"),
    [
        (Settings(database_url="memory://"), MemoryLobbyStore),
        (Settings(database_url="sqlite:///{tmp}/games.db"), SQLiteLobbyStore),
        (Settings(redis_url="redis://127.0.0.1:6399/0"), RedisLobbyStore),
    ],
)
def test_each_store_gets_the_lobby_of_its_kind(settings: Settings, lobby: type, tmp_path: Path) -> None:
    settings = Settings(database_url=settings.database_url.format(tmp=tmp_path), redis_url=settings.redis_url)
    assert type(open_lobby_store(open_store(settings))) is lobby


def test_a_store_of_no_known_kind_has_no_lobby() -> None:
    class Elsewhere(Store):
        """A store the lobby was never written for (its methods are never called)."""

    Elsewhere.__abstractmethods__ = frozenset()
    with pytest.raises(TypeError, match="no lobby for a Elsewhere"):
        open_lobby_store(Elsewhere())  # type: ignore[abstract]
