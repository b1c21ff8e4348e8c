"""Games in Redis, shared by every server instance, with each change published to the others.

Layout, under a prefix (``c4:`` by default)::

    c4:game:<id>       hash   record (JSON), version, join, watch, replay, red, yellow (the seats' identities),
                              review (JSON, once reviewed)
    c4:key:<key>       string the game id, for the join, the watch and the replay key
    c4:updated         zset   game ids scored by their last change (for delete_idle)
    c4:player:<id>     zset   the games a browser identity has a seat in, scored by their last change
    c4:indexed:seats   string set once the games stored before that index have their places in it
    c4:changes:<id>    channel: every saved record of the game, as JSON

A save is one Lua script, so checking the stored version, writing the record and publishing
it happen as one step: two instances racing on a game cannot both win, and the records on a
game's channel arrive in version order.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import redis.asyncio as redis
from redis.asyncio.client import Pipeline, PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError

from games.errors import StoreUnavailableError
from games.model import GameRecord
from games.store import RecordCallback, Store

__all__ = ["RedisStore"]

log = logging.getLogger(__name__)

T = TypeVar("T")

# KEYS: the game's hash, the updated index. ARGV: record JSON, its version, its updated time, id, channel,
# the replay key ('' if none), the prefix, then the identities seated ('' for none or the computer).
# A game stored before replays may get its replay key in any save, and one stored before the seats'
# index its place in it.
_SAVE = """
local stored = redis.call('HGET', KEYS[1], 'version')
if not stored or tonumber(stored) ~= tonumber(ARGV[2]) - 1 then
    return 0
end
redis.call('HSET', KEYS[1], 'record', ARGV[1], 'version', ARGV[2], 'red', ARGV[8], 'yellow', ARGV[9])
if ARGV[6] ~= '' and redis.call('HGET', KEYS[1], 'replay') ~= ARGV[6] then
    redis.call('HSET', KEYS[1], 'replay', ARGV[6])
    redis.call('SET', ARGV[7] .. 'key:' .. ARGV[6], ARGV[4])
end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
for i = 8, 9 do
    if ARGV[i] ~= '' then
        redis.call('ZADD', ARGV[7] .. 'player:' .. ARGV[i], ARGV[3], ARGV[4])
    end
end
redis.call('PUBLISH', ARGV[5], ARGV[1])
return 1
"""

# KEYS: the updated index. ARGV: the time (exclusive), the prefix, the batch size.
_DELETE_IDLE = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(ids) do
    local game = ARGV[2] .. 'game:' .. id
    local keys = redis.call('HMGET', game, 'join', 'watch', 'replay', 'red', 'yellow')
    for i = 1, 3 do
        if keys[i] then
            redis.call('DEL', ARGV[2] .. 'key:' .. keys[i])
        end
    end
    for i = 4, 5 do
        if keys[i] and keys[i] ~= '' then
            redis.call('ZREM', ARGV[2] .. 'player:' .. keys[i], id)
        end
    end
    redis.call('DEL', game)
    redis.call('ZREM', KEYS[1], id)
end
return #ids
"""

_DELETE_BATCH = 500

# KEYS: the game's hash. ARGV: the review. Only a game that is still there keeps a review.
_SAVE_REVIEW = """
if redis.call('EXISTS', KEYS[1]) == 1 then
    redis.call('HSET', KEYS[1], 'review', ARGV[1])
end
return 1
"""


PRESENCE_KEY_TTL = 300.0
"""Seconds a game's presence reports outlive the last one (instances repeat theirs while anyone is here)."""


def _safe_url(url: str) -> str:
    """``url`` without its password, for the log."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def _seats(record: GameRecord) -> tuple[str, str]:
    """The identities on red and yellow for the seats' index ('' for an empty seat or the computer's)."""
    seated = record.seated()
    return (
        record.red if record.red in seated else "",
        record.yellow if record.yellow in seated else "",
    )


class RedisStore(Store):
    """Games in Redis, for several instances behind one proxy.

    Every call fails as :class:`StoreUnavailableError` while Redis cannot be reached, and
    marks the store unavailable. A background task then tries again every ``retry_interval``
    seconds; when Redis answers it subscribes to the followed games again, marks the store
    available, and reloads each followed game as its subscription is confirmed, so the views
    catch up with the changes that were published while nobody here was listening.
    """

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "c4:",
        retry_interval: float = 0.5,
        max_connections: int = 64,
        pool_timeout: float | None = None,
    ) -> None:
        self.url = url
        self.max_connections = max_connections
        """Connections to Redis at most, the subscriptions' one included; calls beyond wait their turn."""
        self.pool_timeout = pool_timeout
        """How long a call may wait for a free connection (None: until one is free).

        Waiting is bounded anyway: every call on a connection ends within the socket timeout
        (5 s) whether Redis answers or not. A limit here would fail calls that Redis answers,
        once enough queue behind a busy event loop: at 1500 browsers on one instance, calls
        waited more than 5 s and the store reported Redis as lost while it was fine.
        """
        self.prefix = prefix
        self.retry_interval = retry_interval
        self._redis: redis.Redis | None = None
        self._save: AsyncScript
        self._delete_idle: AsyncScript
        self._save_review: AsyncScript
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._on_remote: RecordCallback | None = None
        self._followed: set[str] = set()
        self._lost = asyncio.Event()
        self._supervisor: asyncio.Task[None] | None = None
        self._refreshes: set[asyncio.Task[None]] = set()
        self._own_channel = f"{prefix}instance:{secrets.token_hex(8)}"

    # -- names -------------------------------------------------------------------------------

    def _game(self, game_id: str) -> str:
        return f"{self.prefix}game:{game_id}"

    def _key(self, key: str) -> str:
        return f"{self.prefix}key:{key}"

    @property
    def _updated(self) -> str:
        return f"{self.prefix}updated"

    def _player(self, identity: str) -> str:
        return f"{self.prefix}player:{identity}"

    def _channel(self, game_id: str) -> str:
        return f"{self.prefix}changes:{game_id}"

    def _presence(self, game_id: str) -> str:
        return f"{self.prefix}presence:{game_id}"

    def _game_of_channel(self, channel: str) -> str | None:
        prefix = f"{self.prefix}changes:"
        return channel.removeprefix(prefix) if channel.startswith(prefix) else None

    # -- connecting --------------------------------------------------------------------------

    async def start(self, on_remote: RecordCallback) -> None:
        """Connect, and keep reconnecting; returns after the first attempt, whether Redis answered or not."""
        if self._supervisor is not None:
            return
        self._on_remote = on_remote
        # A pool that makes a call wait for a free connection when all are busy: the default pool
        # fails such a call ("Too many connections"), which under load (1500 browsers, 500 moves a
        # second) refused moves with "connection lost" while Redis was fine.
        pool = redis.BlockingConnectionPool.from_url(
            self.url,
            max_connections=self.max_connections,
            timeout=self.pool_timeout,
            decode_responses=True,
            socket_connect_timeout=2,
            socket_timeout=5,
            # One immediate retry replaces a pooled connection that died with a restarted Redis;
            # anything longer would keep a player's click waiting on a Redis that is gone.
            retry=Retry(NoBackoff(), 1),
        )
        self._redis = redis.Redis.from_pool(pool)  # closing the client closes the pool
        self._save = self._redis.register_script(_SAVE)
        self._delete_idle = self._redis.register_script(_DELETE_IDLE)
        self._save_review = self._redis.register_script(_SAVE_REVIEW)
        first_attempt: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._supervisor = asyncio.create_task(self._supervise(first_attempt), name="redis store")
        await first_attempt
        task = asyncio.create_task(self._index_old_seats(), name="redis store: index old seats")
        self._refreshes.add(task)
        task.add_done_callback(self._refreshes.discard)

    async def _index_old_seats(self) -> None:
        """Give the games stored before the seats' index their places in it, once per Redis.

        Every instance may run it at the same time (each step is idempotent); the mark is set when
        one finished, and a run that Redis interrupted is repeated by the next start.
        """
        mark = f"{self.prefix}indexed:seats"

        async def run(client: redis.Redis) -> int:
            if await client.exists(mark):
                return 0
            indexed = 0
            async for key in client.scan_iter(match=f"{self.prefix}game:*", count=500):
                red, yellow, text = await client.hmget(str(key), ["red", "yellow", "record"])
                if red is not None or yellow is not None or not text:
                    continue  # stored (or saved once) since the index exists
                record = GameRecord.from_json(text)
                seats = _seats(record)
                async with client.pipeline(transaction=True) as pipe:
                    pipe.hset(str(key), mapping={"red": seats[0], "yellow": seats[1]})
                    for identity in set(seats) - {""}:
                        pipe.zadd(self._player(identity), {record.id: record.updated})
                    await pipe.execute()
                indexed += 1
            await client.set(mark, "1")
            return indexed

        with contextlib.suppress(StoreUnavailableError):
            if indexed := await self._call(run):
                log.info("indexed the seats of %d games stored before the index", indexed)

    async def close(self) -> None:
        supervisor, self._supervisor = self._supervisor, None
        if supervisor is not None:
            supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await supervisor
        for task in list(self._refreshes):
            task.cancel()
        await asyncio.gather(*self._refreshes, return_exceptions=True)
        await self._close_pubsub()
        client, self._redis = self._redis, None
        if client is not None:
            await client.aclose()

    async def _supervise(self, first_attempt: asyncio.Future[None]) -> None:
        """Keep a subscription to the followed games' channels; rebuild it whenever Redis was lost."""
        while True:
            self._lost.clear()
            try:
                await self._subscribe()
            except (RedisError, OSError) as exc:
                self._connection_lost(exc)
            else:
                if not self._lost.is_set():  # a call may have failed while we subscribed
                    log.info("connected to Redis at %s", _safe_url(self.url))
                    self.set_available(True)
            if not first_attempt.done():
                first_attempt.set_result(None)
            await self._lost.wait()
            await self._close_pubsub()
            await asyncio.sleep(self.retry_interval)

    async def _subscribe(self) -> None:
        """A new subscription to every followed game (each confirmation reloads its game)."""
        assert self._redis is not None
        await self._redis.ping()
        pubsub = self._redis.pubsub()
        followed = set(self._followed)
        try:
            # A channel of our own keeps the subscription open while no game is followed.
            await pubsub.subscribe(self._own_channel, *map(self._channel, followed))
        except BaseException:
            with contextlib.suppress(RedisError, OSError):
                await pubsub.aclose()
            raise
        # From here on follow() subscribes by itself; games followed while we waited are added now.
        self._pubsub = pubsub
        self._reader = asyncio.create_task(self._read(pubsub), name="redis store: messages")
        if missing := self._followed - followed:
            await pubsub.subscribe(*map(self._channel, missing))

    async def _read(self, pubsub: PubSub) -> None:
        try:
            while True:
                message = await pubsub.get_message(timeout=None)
                if message is not None:
                    self._handle(message)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # whatever broke the subscription, the supervisor builds a new one
            self._connection_lost(exc)

    def _handle(self, message: dict[str, Any]) -> None:
        game_id = self._game_of_channel(str(message["channel"]))
        if game_id is None:
            return
        if message["type"] == "subscribe":
            # Changes saved before the subscription took effect were not heard: read the game once.
            task = asyncio.create_task(self._refresh(game_id), name=f"redis store: refresh {game_id}")
            self._refreshes.add(task)
            task.add_done_callback(self._refreshes.discard)
        elif message["type"] == "message" and game_id in self._followed:
            data = str(message["data"])
            if data.startswith('{"presence"'):
                self._tell_presence(game_id, data)
                return
            try:
                record = GameRecord.from_json(data)
            except (ValueError, KeyError, TypeError):
                log.exception("game %s: ignoring a malformed record on its channel", game_id)
                return
            self._tell(record)

    def _tell_presence(self, game_id: str, data: str) -> None:
        try:
            report = json.loads(data)
            seats = {str(seat): int(count) for seat, count in report["presence"].items()}
            instance, at = str(report["instance"]), float(report["at"])
        except (ValueError, KeyError, TypeError, AttributeError):
            log.warning("game %s: ignoring a malformed presence report", game_id)
            return
        self.tell_presence(game_id, instance, seats, at)

    async def _refresh(self, game_id: str) -> None:
        with contextlib.suppress(StoreUnavailableError):  # the next reconnection refreshes it again
            record = await self.load(game_id)
            if record is not None and game_id in self._followed:
                self._tell(record)
            reports = await self._call(lambda client: client.hgetall(self._presence(game_id)))
            if game_id in self._followed:
                for report in reports.values():
                    self._tell_presence(game_id, str(report))

    async def share_presence(self, game_id: str, instance: str, seats: dict[str, int]) -> None:
        report = json.dumps({"presence": seats, "instance": instance, "at": time.time()}, separators=(",", ":"))

        async def publish(client: redis.Redis) -> None:
            async with client.pipeline(transaction=True) as pipe:
                pipe.hset(self._presence(game_id), instance, report)
                pipe.expire(self._presence(game_id), int(PRESENCE_KEY_TTL))
                pipe.publish(self._channel(game_id), report)
                await pipe.execute()

        await self._call(publish)

    def _tell(self, record: GameRecord) -> None:
        if self._on_remote is None:
            return
        try:
            self._on_remote(record)
        except Exception:
            log.exception("game %s: showing a change from another instance failed", record.id)

    async def _close_pubsub(self) -> None:
        reader, self._reader = self._reader, None
        pubsub, self._pubsub = self._pubsub, None
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
        if pubsub is not None:
            with contextlib.suppress(RedisError, OSError):
                await pubsub.aclose()

    def _connection_lost(self, exc: BaseException) -> None:
        if self.available:
            log.warning(
                "lost the connection to Redis at %s (%s); trying again every %g s",
                _safe_url(self.url),
                exc,
                self.retry_interval,
            )
        self.set_available(False)
        self._lost.set()

    async def _call(self, call: Callable[[redis.Redis], Awaitable[T]]) -> T:
        """Run ``call`` on the client; any failure of Redis becomes StoreUnavailableError."""
        if self._redis is None:
            raise StoreUnavailableError
        try:
            return await call(self._redis)
        except (RedisError, OSError) as exc:
            self._connection_lost(exc)
            raise StoreUnavailableError from None

    # -- the Store interface -----------------------------------------------------------------

    async def create(self, record: GameRecord) -> None:
        async def store(client: redis.Redis) -> None:
            async with client.pipeline(transaction=True) as pipe:
                self.add_create(pipe, record)
                await pipe.execute()

        await self._call(store)

    def add_create(self, pipe: Pipeline, record: GameRecord) -> None:
        """Queue on ``pipe`` the commands that store a new game (so a transaction can create one among other steps)."""
        mapping: dict[str, str | int] = {
            "record": record.to_json(),
            "version": record.version,
            "join": record.join_key,
            "watch": record.watch_key,
        }
        if record.replay_key:
            mapping["replay"] = record.replay_key
        red, yellow = _seats(record)
        mapping["red"], mapping["yellow"] = red, yellow
        pipe.hset(self._game(record.id), mapping=mapping)  # type: ignore[arg-type]
        pipe.set(self._key(record.join_key), record.id)
        pipe.set(self._key(record.watch_key), record.id)
        if record.replay_key:
            pipe.set(self._key(record.replay_key), record.id)
        pipe.zadd(self._updated, {record.id: record.updated})
        for identity in {red, yellow} - {""}:
            pipe.zadd(self._player(identity), {record.id: record.updated})

    async def load(self, game_id: str) -> GameRecord | None:
        text = await self._call(lambda client: client.hget(self._game(game_id), "record"))
        return GameRecord.from_json(text) if text else None

    async def find(self, key: str) -> GameRecord | None:
        game_id = await self._call(lambda client: client.get(self._key(key)))
        return await self.load(str(game_id)) if game_id else None

    async def save(self, record: GameRecord) -> bool:
        keys = [self._game(record.id), self._updated]
        args: list[str | int] = [
            record.to_json(),
            record.version,
            repr(record.updated),
            record.id,
            self._channel(record.id),
            record.replay_key or "",
            self.prefix,
            *_seats(record),
        ]
        saved = await self._call(lambda client: self._save(keys=keys, args=args))
        return bool(saved)

    async def games_of(self, identity: str, limit: int) -> list[GameRecord]:
        async def read(client: redis.Redis) -> list[GameRecord]:
            ids = [str(game_id) for game_id in await client.zrevrange(self._player(identity), 0, limit - 1)]
            if not ids:
                return []
            async with client.pipeline(transaction=False) as pipe:
                for game_id in ids:
                    pipe.hget(self._game(game_id), "record")
                texts = await pipe.execute()
            gone = [game_id for game_id, text in zip(ids, texts, strict=True) if not text]
            if gone:  # deleted some other way than delete_idle: the index lets go of them too
                await client.zrem(self._player(identity), *gone)
            return [GameRecord.from_json(text) for text in texts if text]

        return await self._call(read)

    async def delete_idle(self, before: float) -> int:
        args: list[str | int] = [repr(before), self.prefix, _DELETE_BATCH]
        deleted = 0
        while True:
            batch = int(await self._call(lambda client: self._delete_idle(keys=[self._updated], args=args)))
            deleted += batch
            if batch < _DELETE_BATCH:
                return deleted

    async def save_review(self, game_id: str, review: str) -> None:
        await self._call(lambda client: self._save_review(keys=[self._game(game_id)], args=[review]))

    async def load_review(self, game_id: str) -> str | None:
        text = await self._call(lambda client: client.hget(self._game(game_id), "review"))
        return str(text) if text else None

    async def ping(self) -> bool:
        """True if Redis answers; False (not an error) if it does not, as a health check wants."""
        try:
            return bool(await self._call(lambda client: client.ping()))
        except StoreUnavailableError:
            return False

    async def follow(self, game_id: str) -> None:
        self._followed.add(game_id)
        pubsub = self._pubsub
        if pubsub is None:
            return  # the reconnection subscribes to every followed game
        try:
            await pubsub.subscribe(self._channel(game_id))
        except (RedisError, OSError) as exc:
            if pubsub is self._pubsub:  # not a subscription that is being replaced anyway
                self._connection_lost(exc)

    async def unfollow(self, game_id: str) -> None:
        self._followed.discard(game_id)
        pubsub = self._pubsub
        if pubsub is None:
            return
        try:
            await pubsub.unsubscribe(self._channel(game_id))
        except (RedisError, OSError) as exc:
            if pubsub is self._pubsub:
                self._connection_lost(exc)
