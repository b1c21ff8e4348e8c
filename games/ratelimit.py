"""Per-browser limits on how fast moves and new games may come: token buckets, refilled with time."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from games.errors import GameError

__all__ = ["RateLimitedError", "RateLimiter"]


class RateLimitedError(GameError):
    """A browser asked for more than its share; the message says what to do, ``retry_after`` when (in seconds)."""

    def __init__(self, message: str, retry_after: float = 0.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class RateLimiter:
    """Allows ``burst`` actions at once and ``rate`` per second after that, for each key separately.

    Memory stays bounded: buckets that have refilled completely are dropped, because a full
    bucket and a missing one mean the same thing.
    """

    def __init__(self, rate: float, burst: int, message: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self.message = message
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._last_sweep = clock()

    def check(self, key: str) -> None:
        """Take one token for ``key`` or raise :class:`RateLimitedError`."""
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(float(self.burst), now)
        else:
            bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.stamp) * self.rate)
            bucket.stamp = now
        if bucket.tokens < 1:
            raise RateLimitedError(self.message, (1 - bucket.tokens) / self.rate)
        bucket.tokens -= 1
        if now - self._last_sweep > self.burst / self.rate:
            self._sweep(now)

    def sweep(self) -> int:
        """Drop the buckets that have refilled by now (:meth:`check` does it on its own as it goes,
        but only while keys keep coming); returns how many were dropped."""
        before = len(self._buckets)
        self._sweep(self._clock())
        return before - len(self._buckets)

    def _sweep(self, now: float) -> None:
        self._last_sweep = now
        full = [k for k, b in self._buckets.items() if b.tokens + (now - b.stamp) * self.rate >= self.burst]
        for key in full:
            del self._buckets[key]

    def __len__(self) -> int:
        return len(self._buckets)
