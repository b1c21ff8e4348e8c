"""Token buckets: bursts allowed, steady floods refused, memory bounded."""

from __future__ import annotations

import pytest

from games.ratelimit import RateLimitedError, RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_refill() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=2, burst=3, message="slow down", clock=clock)
    for _ in range(3):
        limiter.check("a")
    with pytest.raises(RateLimitedError, match=r"^slow down$"):
        limiter.check("a")
    limiter.check("b")  # keys are separate
    clock.now += 0.5  # one token back at 2 per second
    limiter.check("a")
    with pytest.raises(RateLimitedError):
        limiter.check("a")


def test_full_buckets_are_forgotten() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=10, burst=5, message="x", clock=clock)
    for key in range(1000):
        limiter.check(str(key))
    assert len(limiter) == 1000
    clock.now += 10
    limiter.check("new")
    assert len(limiter) == 1
