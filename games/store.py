"""Where games are kept: one small async interface, an in-memory store, and the choice by URL."""

from __future__ import annotations

import abc
from collections.abc import Callable

from games.model import GameRecord

__all__ = ["MemoryStore", "PresenceCallback", "RecordCallback", "StatusCallback", "Store"]

RecordCallback = Callable[[GameRecord], None]
StatusCallback = Callable[[bool], None]
PresenceCallback = Callable[[str, str, dict[str, int], float], None]
"""Called with a game id, another instance's id, its connected seats ({"red": 1}) and when it said so."""


class Store(abc.ABC):
    """Keeps game records; every write is a compare-and-set on the record's version.

    Stores shared by several server instances also tell each instance about records that
    another instance saved (:meth:`follow`), so every browser sees every change.
    """

    available = True
    """False while the store cannot be reached (a networked store reconnects by itself)."""

    def on_status(self, callback: StatusCallback) -> None:
        """Call ``callback(available)`` whenever the store is lost or comes back."""
        self._status_callbacks = [*getattr(self, "_status_callbacks", []), callback]

    def set_available(self, available: bool) -> None:
        """Record whether the store answers, telling the status callbacks when that changes."""
        if available == self.available:
            return
        self.available = available
        for callback in getattr(self, "_status_callbacks", []):
            callback(available)

    async def start(self, on_remote: RecordCallback) -> None:  # noqa: B027  # optional hook
        """Connect; ``on_remote`` gets records that other instances save for followed games."""

    async def close(self) -> None:  # noqa: B027  # optional hook
        """Finish pending writes and disconnect."""

    @abc.abstractmethod
    async def create(self, record: GameRecord) -> None:
        """Store a new game (version 0)."""

    @abc.abstractmethod
    async def load(self, game_id: str) -> GameRecord | None:
        """The newest version of a game, or ``None``."""

    @abc.abstractmethod
    async def find(self, key: str) -> GameRecord | None:
        """The game whose join, watch or replay key is ``key``, or ``None``."""

    @abc.abstractmethod
    async def save(self, record: GameRecord) -> bool:
        """Store ``record`` if the stored version is ``record.version - 1``; False if it is not."""

    @abc.abstractmethod
    async def save_review(self, game_id: str, review: str) -> None:
        """Keep a game's review (text) with the game, replacing any earlier one; it goes when the game goes."""

    @abc.abstractmethod
    async def load_review(self, game_id: str) -> str | None:
        """The review last saved with this game, or None."""

    @abc.abstractmethod
    async def delete_idle(self, before: float) -> int:
        """Delete games last changed before ``before`` (a Unix time); returns how many."""

    @abc.abstractmethod
    async def ping(self) -> bool:
        """True if the store answers."""

    def on_presence(self, callback: PresenceCallback) -> None:
        """Call ``callback`` when another instance reports who is connected to a followed game there."""
        self._presence_callbacks = [*getattr(self, "_presence_callbacks", []), callback]

    def tell_presence(self, game_id: str, instance: str, seats: dict[str, int], at: float) -> None:
        """Pass another instance's presence report to the presence callbacks."""
        for callback in getattr(self, "_presence_callbacks", []):
            callback(game_id, instance, seats, at)

    async def share_presence(self, game_id: str, instance: str, seats: dict[str, int]) -> None:  # noqa: B027
        """Tell the other instances who is connected to ``game_id`` here (a store of one instance has none)."""

    async def follow(self, game_id: str) -> None:  # noqa: B027  # optional hook
        """Start hearing about other instances' changes to ``game_id``."""

    async def unfollow(self, game_id: str) -> None:  # noqa: B027  # optional hook
        """Stop hearing about ``game_id``."""


class MemoryStore(Store):
    """Games in a dict: for tests and for a server that may forget everything on restart."""

    def __init__(self) -> None:
        self._games: dict[str, GameRecord] = {}
        self._keys: dict[str, str] = {}
        self._reviews: dict[str, str] = {}

    async def create(self, record: GameRecord) -> None:
        self._games[record.id] = record
        self._keys[record.join_key] = record.id
        self._keys[record.watch_key] = record.id
        if record.replay_key:
            self._keys[record.replay_key] = record.id

    async def load(self, game_id: str) -> GameRecord | None:
        return self._games.get(game_id)

    async def find(self, key: str) -> GameRecord | None:
        game_id = self._keys.get(key)
        return self._games.get(game_id) if game_id else None

    async def save(self, record: GameRecord) -> bool:
        stored = self._games.get(record.id)
        if stored is None or stored.version != record.version - 1:
            return False
        self._games[record.id] = record
        if record.replay_key:  # a game stored before replays gets its key later
            self._keys[record.replay_key] = record.id
        return True

    async def delete_idle(self, before: float) -> int:
        idle = [record for record in self._games.values() if record.updated < before]
        for record in idle:
            del self._games[record.id]
            self._keys.pop(record.join_key, None)
            self._keys.pop(record.watch_key, None)
            self._keys.pop(record.replay_key or "", None)
            self._reviews.pop(record.id, None)
        return len(idle)

    async def save_review(self, game_id: str, review: str) -> None:
        if game_id in self._games:
            self._reviews[game_id] = review

    async def load_review(self, game_id: str) -> str | None:
        return self._reviews.get(game_id)

    async def ping(self) -> bool:
        return True
