"""Games in a SQLite file (WAL), written by one thread that commits bursts of changes together."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

from engine.connect4 import Player
from games.clock import Clock
from games.errors import StoreUnavailableError
from games.model import GameRecord, Mode, Said, level_from_text
from games.store import Store

__all__ = ["SQLiteStore"]

log = logging.getLogger(__name__)

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS games (
    id TEXT PRIMARY KEY,
    mode TEXT NOT NULL,
    join_key TEXT NOT NULL UNIQUE,
    watch_key TEXT NOT NULL UNIQUE,
    red TEXT,
    yellow TEXT,
    moves TEXT NOT NULL,
    resigned TEXT,
    rematch TEXT NOT NULL,
    round INTEGER NOT NULL,
    level TEXT,
    version INTEGER NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    replay_key TEXT,
    review TEXT,
    clock TEXT,
    said TEXT,
    red_name TEXT,
    yellow_name TEXT,
    red_wins INTEGER NOT NULL DEFAULT 0,
    yellow_wins INTEGER NOT NULL DEFAULT 0,
    abandoned INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS games_updated ON games (updated);
"""
# Files made before replays lack the replay_key and review columns (their games get a replay key
# each, random like new ones), files made before clocks, quick messages, names and claims the columns
# that came with them.
_MIGRATIONS = {
    "replay_key": (
        "ALTER TABLE games ADD COLUMN replay_key TEXT",
        "UPDATE games SET replay_key = lower(hex(randomblob(16))) WHERE replay_key IS NULL",
    ),
    "review": ("ALTER TABLE games ADD COLUMN review TEXT",),
    "clock": ("ALTER TABLE games ADD COLUMN clock TEXT",),
    "said": ("ALTER TABLE games ADD COLUMN said TEXT",),
    # Files made before names and scores: their players have no name yet and every tally starts at 0.
    "red_name": ("ALTER TABLE games ADD COLUMN red_name TEXT",),
    "yellow_name": ("ALTER TABLE games ADD COLUMN yellow_name TEXT",),
    "red_wins": ("ALTER TABLE games ADD COLUMN red_wins INTEGER NOT NULL DEFAULT 0",),
    "yellow_wins": ("ALTER TABLE games ADD COLUMN yellow_wins INTEGER NOT NULL DEFAULT 0",),
    "abandoned": ("ALTER TABLE games ADD COLUMN abandoned INTEGER NOT NULL DEFAULT 0",),
}
# The seats' indexes answer "my games"; a move leaves the seats as they were.
_INDEXES = """
CREATE UNIQUE INDEX IF NOT EXISTS games_replay_key ON games (replay_key);
CREATE INDEX IF NOT EXISTS games_red ON games (red);
CREATE INDEX IF NOT EXISTS games_yellow ON games (yellow);
"""
_COLUMNS = (
    "id, mode, join_key, watch_key, red, yellow, moves, resigned, rematch, round, level, version, created, updated,"
    " replay_key, clock, said, red_name, yellow_name, red_wins, yellow_wins, abandoned"
)

_Job = Callable[[sqlite3.Connection], Any]
_Settled = tuple["asyncio.Future[Any]", Any, BaseException | None]
_STOP = object()


def _settle(settled: list[_Settled]) -> None:
    """In the event loop: hand each caller its job's result (a caller that gave up is skipped)."""
    for future, value, error in settled:
        if future.cancelled():
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value)


def _row(record: GameRecord) -> tuple[Any, ...]:
    return (
        record.id,
        record.mode.value,
        record.join_key,
        record.watch_key,
        record.red,
        record.yellow,
        record.moves,
        record.resigned.value if record.resigned else None,
        ",".join(sorted(player.value for player in record.rematch)),
        record.round,
        record.level.name if record.level else None,
        record.version,
        record.created,
        record.updated,
        record.replay_key,
        record.clock.to_json() if record.clock else None,
        record.said.to_json() if record.said else None,
        record.red_name,
        record.yellow_name,
        record.red_wins,
        record.yellow_wins,
        int(record.abandoned),
    )


def _migrate(db: sqlite3.Connection) -> None:
    """Bring a file made by an older version up to this schema."""
    present = {row[1] for row in db.execute("PRAGMA table_info(games)")}
    for column, statements in _MIGRATIONS.items():
        if column not in present:
            log.info("adding the column %s to the games in the SQLite file", column)
            for statement in statements:
                db.execute(statement)
    db.executescript(_INDEXES)


def _record(row: tuple[Any, ...]) -> GameRecord:
    (
        id_,
        mode,
        join_key,
        watch_key,
        red,
        yellow,
        moves,
        resigned,
        rematch,
        round_,
        level,
        version,
        created,
        updated,
        replay_key,
        clock,
        said,
        red_name,
        yellow_name,
        red_wins,
        yellow_wins,
        abandoned,
    ) = row
    return GameRecord(
        id=id_,
        mode=Mode(mode),
        join_key=join_key,
        watch_key=watch_key,
        red=red,
        yellow=yellow,
        moves=moves,
        resigned=Player(resigned) if resigned else None,
        rematch=frozenset(Player(p) for p in rematch.split(",") if p),
        round=round_,
        level=level_from_text(level),
        version=version,
        created=created,
        updated=updated,
        replay_key=replay_key,
        clock=Clock.from_json(clock),
        said=Said.from_json(said),
        red_name=red_name,
        yellow_name=yellow_name,
        red_wins=red_wins,
        yellow_wins=yellow_wins,
        abandoned=bool(abandoned),
    )


class SQLiteStore(Store):
    """A SQLite file in WAL mode behind one writer thread.

    The event loop never touches the database: each call becomes a job on a queue, and the
    thread runs every job waiting at that moment in one transaction, so a burst of moves from
    many games costs one commit. A call returns only after its transaction committed, so a
    move is on disk before any browser is told about it.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._jobs: queue.SimpleQueue[tuple[_Job, asyncio.Future[Any]] | object] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self.commits = 0
        """How many transactions were committed (one per batch of jobs)."""

    async def start(self, on_remote: Callable[[GameRecord], None]) -> None:
        if self._thread is not None:
            return
        ready: Future[None] = Future()
        self._thread = threading.Thread(target=self._run, args=(ready,), name="sqlite-store", daemon=True)
        self._thread.start()
        await asyncio.wrap_future(ready)

    async def close(self) -> None:
        if self._thread is None:
            return
        self._jobs.put(_STOP)
        await asyncio.to_thread(self._thread.join)
        self._thread = None

    def _run(self, ready: Future[None]) -> None:
        try:
            db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode survives a killed process (the WAL is written before commit returns);
            # only a power cut could lose the last transactions.
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA busy_timeout=5000")
            db.executescript(_SCHEMA)
            _migrate(db)
        except sqlite3.Error as exc:
            ready.set_exception(exc)
            return
        ready.set_result(None)
        stopping = False
        while not stopping:
            batch = [self._jobs.get()]
            while True:
                try:
                    batch.append(self._jobs.get_nowait())
                except queue.Empty:
                    break
            jobs: list[tuple[_Job, asyncio.Future[Any]]] = []
            for item in batch:
                if item is _STOP:
                    stopping = True
                else:
                    jobs.append(item)  # type: ignore[arg-type]
            if jobs:
                self._run_batch(db, jobs)
        db.close()

    def _run_batch(self, db: sqlite3.Connection, jobs: list[tuple[_Job, asyncio.Future[Any]]]) -> None:
        results: list[_Settled] = []
        # A failing job (a constraint, say) must not take the others' writes with it: in a batch,
        # each job runs in a savepoint of its own. A job alone needs none (three statements fewer
        # for the writer, which under load runs once per move): its failure rolls back only itself.
        isolate = len(jobs) > 1
        try:
            db.execute("BEGIN IMMEDIATE")
            for job, future in jobs:
                if isolate:
                    db.execute("SAVEPOINT job")
                try:
                    results.append((future, job(db), None))
                except sqlite3.Error as exc:
                    db.execute("ROLLBACK TO job" if isolate else "ROLLBACK")
                    results.append((future, None, exc))
                if isolate:
                    db.execute("RELEASE job")
            if db.in_transaction:
                db.execute("COMMIT")
                self.commits += 1
        except sqlite3.Error as exc:
            log.exception("SQLite transaction failed")
            if db.in_transaction:
                db.execute("ROLLBACK")
            results = [(future, None, StoreUnavailableError()) for _, future in jobs]
            del exc
        # One wake-up of each caller's event loop for the whole batch, not one per job.
        by_loop: dict[asyncio.AbstractEventLoop, list[_Settled]] = {}
        for settled in results:
            by_loop.setdefault(settled[0].get_loop(), []).append(settled)
        for loop, settled_here in by_loop.items():
            with contextlib.suppress(RuntimeError):  # that loop is closed: nobody is waiting any more
                loop.call_soon_threadsafe(_settle, settled_here)

    async def _call(self, job: Callable[[sqlite3.Connection], T]) -> T:
        if self._thread is None:
            raise StoreUnavailableError
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._jobs.put((job, future))
        return await future

    # -- the Store interface -----------------------------------------------------------------

    async def create(self, record: GameRecord) -> None:
        row = _row(record)
        insert = f"INSERT INTO games ({_COLUMNS}) VALUES ({', '.join('?' * len(row))})"
        await self._call(lambda db: db.execute(insert, row))

    async def load(self, game_id: str) -> GameRecord | None:
        def select(db: sqlite3.Connection) -> tuple[Any, ...] | None:
            row: tuple[Any, ...] | None = db.execute(
                f"SELECT {_COLUMNS} FROM games WHERE id = ?", (game_id,)
            ).fetchone()
            return row

        row = await self._call(select)
        return _record(row) if row else None

    async def find(self, key: str) -> GameRecord | None:
        def select(db: sqlite3.Connection) -> tuple[Any, ...] | None:
            row: tuple[Any, ...] | None = db.execute(
                f"SELECT {_COLUMNS} FROM games WHERE join_key = ? OR watch_key = ? OR replay_key = ?", (key, key, key)
            ).fetchone()
            return row

        row = await self._call(select)
        return _record(row) if row else None

    async def save(self, record: GameRecord) -> bool:
        row = _row(record)

        def update(db: sqlite3.Connection) -> bool:
            # A move leaves the indexed columns (the seats, the replay key) as they were, and an UPDATE
            # that names them rewrites their index entries all the same: about 40 % of its work.
            indexed = db.execute(
                "SELECT red, yellow, replay_key FROM games WHERE id = ? AND version = ?",
                (record.id, record.version - 1),
            ).fetchone()
            if indexed is None:
                return False
            if indexed == (record.red, record.yellow, record.replay_key):
                db.execute(
                    "UPDATE games SET moves = ?, resigned = ?, rematch = ?, round = ?, level = ?, version = ?,"
                    " updated = ?, clock = ?, said = ?, red_name = ?, yellow_name = ?, red_wins = ?,"
                    " yellow_wins = ?, abandoned = ? WHERE id = ?",
                    (*row[6:12], row[13], *row[15:22], record.id),
                )
                return True
            db.execute(
                "UPDATE games SET red = ?, yellow = ?, moves = ?, resigned = ?, rematch = ?, round = ?, level = ?,"
                " version = ?, updated = ?, replay_key = ?, clock = ?, said = ?, red_name = ?, yellow_name = ?,"
                " red_wins = ?, yellow_wins = ?, abandoned = ? WHERE id = ?",
                (*row[4:12], *row[13:22], record.id),
            )
            return True

        return await self._call(update)

    async def games_of(self, identity: str, limit: int) -> list[GameRecord]:
        def select(db: sqlite3.Connection) -> list[tuple[Any, ...]]:
            rows: list[tuple[Any, ...]] = db.execute(
                f"SELECT {_COLUMNS} FROM games WHERE red = ? OR yellow = ? ORDER BY updated DESC LIMIT ?",
                (identity, identity, limit),
            ).fetchall()
            return rows

        return [_record(row) for row in await self._call(select)]

    async def delete_idle(self, before: float) -> int:
        return await self._call(lambda db: db.execute("DELETE FROM games WHERE updated < ?", (before,)).rowcount)

    async def save_review(self, game_id: str, review: str) -> None:
        await self._call(lambda db: db.execute("UPDATE games SET review = ? WHERE id = ?", (review, game_id)))

    async def load_review(self, game_id: str) -> str | None:
        def select(db: sqlite3.Connection) -> str | None:
            row = db.execute("SELECT review FROM games WHERE id = ?", (game_id,)).fetchone()
            return str(row[0]) if row and row[0] is not None else None

        return await self._call(select)

    async def ping(self) -> bool:
        return bool(await self._call(lambda db: db.execute("SELECT 1").fetchone()))
