"""One ticker for the whole app: what a page shows that changes with time alone, redrawn once a second.

A timer per page would be a task per page; pages that need the tick (running clocks, a quick
message that fades) register an object here, held weakly, so a page that is gone drops out by itself.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from typing import Protocol

__all__ = ["Ticking", "tick_forever", "tick_me"]

log = logging.getLogger(__name__)


class Ticking(Protocol):
    def tick(self) -> bool:
        """Redraw for the time now; False once it needs no more ticks."""


_TICKING: weakref.WeakSet[Ticking] = weakref.WeakSet()


def tick_me(ticking: Ticking) -> None:
    """Call ``ticking.tick()`` every second until it returns False or its page is gone."""
    _TICKING.add(ticking)


def _tick() -> None:
    for ticking in list(_TICKING):
        try:
            if not ticking.tick():
                _TICKING.discard(ticking)
        except Exception:
            log.exception("a ticking element failed; it ticks no more")
            _TICKING.discard(ticking)


async def tick_forever() -> None:
    """The ticker (one background task per app, started with it)."""
    while True:
        await asyncio.sleep(1.0)
        _tick()
