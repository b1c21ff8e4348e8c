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


def test_sweep_forgets_refilled_buckets_without_further_checks_and_keeps_the_others() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=10, burst=5, message="x", clock=clock)
    for key in range(100):
        limiter.check(str(key))
    for _ in range(5):
        limiter.check("flood")  # empty: needs half a second to refill
    clock.now += 0.2  # the others are full again after 0.1 s
    assert limiter.sweep() == 100
    assert len(limiter) == 1
    limiter.check("flood")  # two tokens back at 10 per second: the flood's bucket was kept
    limiter.check("flood")
    with pytest.raises(RateLimitedError):
        limiter.check("flood")
    clock.now += 1
    assert limiter.sweep() == 1
    assert len(limiter) == 0


def test_a_refusal_says_when_the_next_token_comes() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=2, burst=1, message="x", clock=clock)
    limiter.check("a")
    clock.now += 0.125
    with pytest.raises(RateLimitedError) as refused:
        limiter.check("a")
    assert refused.value.retry_after == pytest.approx(0.375)
