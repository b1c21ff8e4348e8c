"""The lobby's queue and public games in the Redis of the games, shared by every instance.

Layout, under the store's prefix (``c4:``)::

    c4:lobby:queue          zset   waiting tickets, scored by when they came
    c4:lobby:tickets        hash   ticket -> {"identity", "seen"} (JSON)
    c4:lobby:match:<ticket> string the game a pairing made for a waiting ticket (expires after 5 minutes)
    c4:lobby:of:<identity>  zset   the identity's tickets, waiting or paired, scored by when they came
                                   (for a page that comes back; expires 5 minutes after the last refresh)
    c4:lobby:open           zset   open games waiting for an opponent, scored by creation
    c4:lobby:live           zset   public games going on, scored by creation

A pairing is a WATCH on the queue and one MULTI/EXEC: it reads the queue, then takes the waiting
ticket, stores the game and leaves the note in one transaction, which fails if any other
instance changed the queue meanwhile (a pairing, a cancel, a new ticket) and is then tried again.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from typing import Any

import redis.asyncio as redis
from redis.exceptions import WatchError

from games.lobby import LobbyStore, Pairing, PresenceReports, Ticket
from games.model import GameRecord
from games.redis_store import RedisStore

__all__ = ["RedisLobbyStore"]

log = logging.getLogger(__name__)

_MATCH_KEPT = 300
"""Seconds a pairing's note waits for its ticket's instance to read it."""
_QUEUE_READ = 50
"""Waiting tickets a pairing reads at most (older stale ones are dropped as it goes)."""


class RedisLobbyStore(LobbyStore):
    """The lobby beside the games of a :class:`RedisStore`."""

    def __init__(self, store: RedisStore) -> None:
        self.store = store
        prefix = f"{store.prefix}lobby:"
        self._queue, self._tickets = f"{prefix}queue", f"{prefix}tickets"
        self._open, self._live = f"{prefix}open", f"{prefix}live"
        self._match_prefix = f"{prefix}match:"
        self._of_prefix = f"{prefix}of:"
        self.retries = 0
        """Pairings tried again because another instance changed the queue first."""

    async def pair(
        self,
        ticket: Ticket,
        make: Callable[[str], GameRecord],
        stale_before: float,
        *,
        seen: float | None = None,
        forget_before: float | None = None,
    ) -> Pairing | None:
        refreshed = ticket.since if seen is None else seen
        forget = stale_before if forget_before is None else forget_before

        async def attempt(client: redis.Redis) -> Pairing | None:
            while True:
                try:
                    return await self._pair_once(client, ticket, make, stale_before, refreshed, forget)
                except WatchError:
                    self.retries += 1

        return await self.store._call(attempt)

    async def _pair_once(
        self,
        client: redis.Redis,
        ticket: Ticket,
        make: Callable[[str], GameRecord],
        stale_before: float,
        seen: float,
        forget_before: float,
    ) -> Pairing | None:
        async with client.pipeline(transaction=True) as pipe:
            await pipe.watch(self._queue)
            waiting = [str(ticket_id) for ticket_id in await pipe.zrange(self._queue, 0, _QUEUE_READ - 1)]
            infos = list(await pipe.hmget(self._tickets, waiting)) if waiting else []
            stale: list[tuple[str, str | None]] = []
            chosen: tuple[str, str] | None = None
            for waiting_id, info in zip(waiting, infos, strict=True):
                data = json.loads(info) if info else None
                if data is None or float(data["seen"]) < forget_before:
                    stale.append((waiting_id, None if data is None else str(data["identity"])))
                elif data["identity"] != ticket.identity and float(data["seen"]) >= stale_before:
                    chosen = (waiting_id, str(data["identity"]))
                    break
            pipe.multi()  # type: ignore[no-untyped-call]
            if stale:
                pipe.zrem(self._queue, *(waiting_id for waiting_id, _ in stale))
                pipe.hdel(self._tickets, *(waiting_id for waiting_id, _ in stale))
                for waiting_id, identity in stale:
                    if identity is not None:
                        pipe.zrem(self._of(identity), waiting_id)
            if chosen is None:
                pipe.zadd(self._queue, {ticket.id: ticket.since})
                pipe.hset(self._tickets, ticket.id, json.dumps({"identity": ticket.identity, "seen": seen}))
                pipe.zadd(self._of(ticket.identity), {ticket.id: ticket.since})
                pipe.expire(self._of(ticket.identity), _MATCH_KEPT)
                await pipe.execute()
                return None
            waiting_id, waiting_identity = chosen
            record = make(waiting_identity)
            pipe.zrem(self._queue, waiting_id)
            pipe.hdel(self._tickets, waiting_id)
            self.store.add_create(pipe, record)
            pipe.set(f"{self._match_prefix}{waiting_id}", record.id, ex=_MATCH_KEPT)
            pipe.expire(self._of(waiting_identity), _MATCH_KEPT)  # the waiting one's entry lasts as long as the note
            pipe.zadd(self._live, {record.id: record.created})
            await pipe.execute()
            return Pairing(record, waiting_id)

    def _of(self, identity: str) -> str:
        return f"{self._of_prefix}{identity}"

    async def cancel(self, ticket: Ticket) -> str | None:
        async def cancel(client: redis.Redis) -> str | None:
            # ZREM is atomic against a pairing's transaction: exactly one of the two takes the ticket.
            if await client.zrem(self._queue, ticket.id):
                await client.hdel(self._tickets, ticket.id)
                game_id = None
            else:
                game_id = await client.getdel(f"{self._match_prefix}{ticket.id}")
            await client.zrem(self._of(ticket.identity), ticket.id)
            return str(game_id) if game_id else None

        return await self.store._call(cancel)

    async def ticket_of(self, identity: str, kept_since: float) -> Ticket | None:
        async def find(client: redis.Redis) -> Ticket | None:
            scored: list[Any] = await client.zrange(self._of(identity), 0, -1, withscores=True)
            entries = [(str(ticket_id), float(since)) for ticket_id, since in scored]
            if not entries:
                return None
            async with client.pipeline(transaction=False) as pipe:
                for ticket_id, _ in entries:
                    pipe.hget(self._tickets, ticket_id)
                    pipe.exists(f"{self._match_prefix}{ticket_id}")
                answers = await pipe.execute()
            found: Ticket | None = None
            gone: list[str] = []
            for index, (ticket_id, since) in enumerate(entries):
                info, paired = answers[2 * index], answers[2 * index + 1]
                if paired or (info and float(json.loads(info)["seen"]) >= kept_since):
                    found = found or Ticket(ticket_id, identity, since)
                elif not info:
                    gone.append(ticket_id)  # cancelled, or its note expired unread: nothing to take back
            if gone:
                await client.zrem(self._of(identity), *gone)
            return found

        return await self.store._call(find)

    async def poll(self, tickets: Sequence[Ticket], now: float) -> dict[str, str]:
        if not tickets:
            return {}

        async def poll(client: redis.Redis) -> dict[str, str]:
            async with client.pipeline(transaction=False) as pipe:
                for ticket in tickets:
                    pipe.zscore(self._queue, ticket.id)
                for ticket in tickets:
                    pipe.get(f"{self._match_prefix}{ticket.id}")
                answers = await pipe.execute()
            queued, games = answers[: len(tickets)], answers[len(tickets) :]
            found = {ticket.id: str(game_id) for ticket, game_id in zip(tickets, games, strict=True) if game_id}
            async with client.pipeline(transaction=False) as pipe:
                for ticket, score in zip(tickets, queued, strict=True):
                    if score is not None and ticket.id not in found:
                        pipe.hset(self._tickets, ticket.id, json.dumps({"identity": ticket.identity, "seen": now}))
                        pipe.expire(self._of(ticket.identity), _MATCH_KEPT)
                if found:
                    pipe.delete(*(f"{self._match_prefix}{ticket_id}" for ticket_id in found))
                    pipe.hdel(self._tickets, *found)
                    for ticket in tickets:
                        if ticket.id in found:
                            pipe.zrem(self._of(ticket.identity), ticket.id)
                await pipe.execute()
            return found

        return await self.store._call(poll)

    async def add_open(self, record: GameRecord) -> None:
        await self.store._call(lambda client: client.zadd(self._open, {record.id: record.created}))

    async def candidates(self, limit: int) -> tuple[list[GameRecord], list[GameRecord]]:
        async def read(client: redis.Redis) -> tuple[list[GameRecord], list[GameRecord]]:
            open_ids = [str(game_id) for game_id in await client.zrange(self._open, 0, limit - 1)]
            live_ids = [str(game_id) for game_id in await client.zrange(self._live, 0, limit - 1, desc=True)]
            ids = [*open_ids, *live_ids]
            if not ids:
                return [], []
            async with client.pipeline(transaction=False) as pipe:
                for game_id in ids:
                    pipe.hget(self.store._game(game_id), "record")
                texts = await pipe.execute()
            records = dict(zip(ids, texts, strict=True))
            gone = [game_id for game_id, text in records.items() if not text]
            if gone:
                async with client.pipeline(transaction=False) as pipe:
                    pipe.zrem(self._open, *gone)
                    pipe.zrem(self._live, *gone)
                    await pipe.execute()
            found = {game_id: GameRecord.from_json(text) for game_id, text in records.items() if text}
            return (
                [found[game_id] for game_id in open_ids if game_id in found],
                [found[game_id] for game_id in live_ids if game_id in found],
            )

        return await self.store._call(read)

    async def sort_out(self, started: Sequence[GameRecord], ended: Sequence[str]) -> None:
        async def sort_out(client: redis.Redis) -> None:
            async with client.pipeline(transaction=True) as pipe:
                for record in started:
                    pipe.zrem(self._open, record.id)
                    pipe.zadd(self._live, {record.id: record.created})
                if ended:
                    pipe.zrem(self._open, *ended)
                    pipe.zrem(self._live, *ended)
                await pipe.execute()

        await self.store._call(sort_out)

    async def presence(self, game_ids: Sequence[str]) -> dict[str, PresenceReports]:
        async def read(client: redis.Redis) -> list[dict[str, str]]:
            async with client.pipeline(transaction=False) as pipe:
                for game_id in game_ids:
                    pipe.hgetall(self.store._presence(game_id))
                return list(await pipe.execute())

        answers = await self.store._call(read)
        reports: dict[str, PresenceReports] = {}
        for game_id, answer in zip(game_ids, answers, strict=True):
            for instance, text in answer.items():
                try:
                    report = json.loads(text)
                    seats = {str(seat): int(count) for seat, count in report["presence"].items()}
                    reports.setdefault(game_id, {})[str(instance)] = (seats, float(report["at"]))
                except (ValueError, KeyError, TypeError, AttributeError):
                    log.warning("game %s: ignoring a malformed presence report", game_id)
        return reports
