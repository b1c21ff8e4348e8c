"""The lobby's queue and public games in the SQLite file of the games, written by the store's one writer thread.

Each step is one job of :class:`~games.sqlite_store.SQLiteStore`, so it runs inside one transaction
(``BEGIN IMMEDIATE``) of the only thread that writes: a pairing reads the queue, takes the waiting
ticket and stores the game with nothing in between. The queue and the pairings' notes survive a
restart with the games, for the pages that come back to take them.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from games.lobby import LobbyStore, Pairing, Ticket
from games.model import GameRecord
from games.sqlite_store import _COLUMNS, SQLiteStore, _record, _row

__all__ = ["SQLiteLobbyStore"]

T = TypeVar("T")

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS lobby_queue"
    " (ticket TEXT PRIMARY KEY, identity TEXT NOT NULL, since REAL NOT NULL, seen REAL NOT NULL)",
    "CREATE INDEX IF NOT EXISTS lobby_queue_since ON lobby_queue (since)",
    "CREATE INDEX IF NOT EXISTS lobby_queue_identity ON lobby_queue (identity)",
    "CREATE TABLE IF NOT EXISTS lobby_matches"
    " (ticket TEXT PRIMARY KEY, game_id TEXT NOT NULL, at REAL NOT NULL, identity TEXT, since REAL)",
    "CREATE TABLE IF NOT EXISTS lobby_games (game_id TEXT PRIMARY KEY, state TEXT NOT NULL, created REAL NOT NULL)",
    "CREATE INDEX IF NOT EXISTS lobby_games_state ON lobby_games (state, created)",
)
# Files made before pages took their tickets back: their notes name no identity, and no page comes back for them.
_MIGRATIONS = {
    "identity": "ALTER TABLE lobby_matches ADD COLUMN identity TEXT",
    "since": "ALTER TABLE lobby_matches ADD COLUMN since REAL",
}
_INDEXES = ("CREATE INDEX IF NOT EXISTS lobby_matches_identity ON lobby_matches (identity)",)
_GAME_COLUMNS = ", ".join(f"g.{column.strip()}" for column in _COLUMNS.split(","))
_MATCH_KEPT = 300.0
"""Seconds a pairing's note waits for its ticket's page to read it."""


class SQLiteLobbyStore(LobbyStore):
    """The lobby beside the games of a :class:`SQLiteStore` (three small tables of its own)."""

    def __init__(self, store: SQLiteStore) -> None:
        self.store = store
        self._ready = False  # read and set only in the store's thread

    async def start(self) -> None:
        await self._call(lambda db: None)

    async def _call(self, job: Callable[[sqlite3.Connection], T]) -> T:
        def run(db: sqlite3.Connection) -> T:
            # The tables come with the first job, whichever it is: a page may ask before start() has run.
            if not self._ready:
                for statement in _SCHEMA:
                    db.execute(statement)
                present = {row[1] for row in db.execute("PRAGMA table_info(lobby_matches)")}
                for column, statement in _MIGRATIONS.items():
                    if column not in present:
                        db.execute(statement)
                for statement in _INDEXES:
                    db.execute(statement)
                self._ready = True
                try:
                    return job(db)
                except sqlite3.Error:
                    self._ready = False  # the job's rollback took the tables with it
                    raise
            return job(db)

        return await self.store._call(run)

    async def pair(
        self,
        ticket: Ticket,
        make: Callable[[str], GameRecord],
        stale_before: float,
        *,
        seen: float | None = None,
        forget_before: float | None = None,
    ) -> Pairing | None:
        def pair(db: sqlite3.Connection) -> Pairing | None:
            db.execute(
                "DELETE FROM lobby_queue WHERE seen < ?", (stale_before if forget_before is None else forget_before,)
            )
            row = db.execute(
                "SELECT ticket, identity, since FROM lobby_queue WHERE identity != ? AND seen >= ?"
                " ORDER BY since LIMIT 1",
                (ticket.identity, stale_before),
            ).fetchone()
            if row is None:
                db.execute(
                    "INSERT INTO lobby_queue (ticket, identity, since, seen) VALUES (?, ?, ?, ?)",
                    (ticket.id, ticket.identity, ticket.since, ticket.since if seen is None else seen),
                )
                return None
            waiting_ticket, waiting_identity, waiting_since = row
            record = make(waiting_identity)
            db.execute("DELETE FROM lobby_queue WHERE ticket = ?", (waiting_ticket,))
            db.execute(f"INSERT INTO games ({_COLUMNS}) VALUES ({', '.join('?' * len(_row(record)))})", _row(record))
            db.execute(
                "INSERT INTO lobby_matches (ticket, game_id, at, identity, since) VALUES (?, ?, ?, ?, ?)",
                (waiting_ticket, record.id, time.time(), waiting_identity, waiting_since),
            )
            db.execute(
                "INSERT INTO lobby_games (game_id, state, created) VALUES (?, 'live', ?)", (record.id, record.created)
            )
            return Pairing(record, str(waiting_ticket))

        return await self._call(pair)

    async def cancel(self, ticket: Ticket) -> str | None:
        ticket_id = ticket.id

        def cancel(db: sqlite3.Connection) -> str | None:
            if db.execute("DELETE FROM lobby_queue WHERE ticket = ?", (ticket_id,)).rowcount:
                return None
            row = db.execute("SELECT game_id FROM lobby_matches WHERE ticket = ?", (ticket_id,)).fetchone()
            db.execute("DELETE FROM lobby_matches WHERE ticket = ?", (ticket_id,))
            return str(row[0]) if row else None

        return await self._call(cancel)

    async def ticket_of(self, identity: str, kept_since: float) -> Ticket | None:
        def find(db: sqlite3.Connection) -> tuple[Any, ...] | None:
            row: tuple[Any, ...] | None = db.execute(
                "SELECT ticket, since FROM lobby_queue WHERE identity = ? AND seen >= ?"
                " UNION ALL SELECT ticket, since FROM lobby_matches WHERE identity = ? AND at >= ?"
                " ORDER BY since LIMIT 1",
                (identity, kept_since, identity, time.time() - _MATCH_KEPT),
            ).fetchone()
            return row

        row = await self._call(find)
        return None if row is None else Ticket(str(row[0]), identity, float(row[1]))

    async def poll(self, tickets: Sequence[Ticket], now: float) -> dict[str, str]:
        ids = [ticket.id for ticket in tickets]
        marks = ", ".join("?" * len(ids))

        def poll(db: sqlite3.Connection) -> dict[str, str]:
            db.execute(f"UPDATE lobby_queue SET seen = ? WHERE ticket IN ({marks})", (now, *ids))
            found = {
                str(ticket): str(game_id)
                for ticket, game_id in db.execute(
                    f"SELECT ticket, game_id FROM lobby_matches WHERE ticket IN ({marks})", ids
                )
            }
            db.execute(f"DELETE FROM lobby_matches WHERE ticket IN ({marks}) OR at < ?", (*ids, now - _MATCH_KEPT))
            return found

        return await self._call(poll) if ids else {}

    async def add_open(self, record: GameRecord) -> None:
        await self._call(
            lambda db: db.execute(
                "INSERT OR IGNORE INTO lobby_games (game_id, state, created) VALUES (?, 'open', ?)",
                (record.id, record.created),
            )
        )

    async def candidates(self, limit: int) -> tuple[list[GameRecord], list[GameRecord]]:
        def select(db: sqlite3.Connection) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
            db.execute("DELETE FROM lobby_games WHERE game_id NOT IN (SELECT id FROM games)")
            query = f"SELECT {_GAME_COLUMNS} FROM lobby_games l JOIN games g ON g.id = l.game_id WHERE l.state = ?"
            return (
                db.execute(f"{query} ORDER BY l.created ASC LIMIT ?", ("open", limit)).fetchall(),
                db.execute(f"{query} ORDER BY l.created DESC LIMIT ?", ("live", limit)).fetchall(),
            )

        open_rows, live_rows = await self._call(select)
        return [_record(row) for row in open_rows], [_record(row) for row in live_rows]

    async def sort_out(self, started: Sequence[GameRecord], ended: Sequence[str]) -> None:
        def sort_out(db: sqlite3.Connection) -> None:
            db.executemany("UPDATE lobby_games SET state = 'live' WHERE game_id = ?", [(r.id,) for r in started])
            db.executemany("DELETE FROM lobby_games WHERE game_id = ?", [(game_id,) for game_id in ended])

        await self._call(sort_out)
