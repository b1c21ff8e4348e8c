"""The clocks of a timed online game: a number of seconds per player for the whole game.

The server's clock decides. A record keeps each player's time left when the running clock last
started (``since``, wall time, so that every instance and a restarted server read the same
clocks); whoever is to move loses the time since then. A move stops the mover's clock and starts
the other's; the game's end stops both. A player whose time is gone loses, whether or not they
try to move (:meth:`games.hub.GameHub.time_out`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace

from engine.connect4 import Player

__all__ = ["CHOICES", "MAX_SECONDS", "Clock", "clock_text"]

CHOICES: dict[int, str] = {0: "No clock", 60: "1 minute each", 180: "3 minutes each", 300: "5 minutes each"}
"""The time controls a game may be created with (seconds per player; 0 for none)."""

MAX_SECONDS = 3600


@dataclass(frozen=True)
class Clock:
    """Both players' time, and since when the mover's clock runs (``None``: stopped)."""

    seconds: int
    red: float
    yellow: float
    since: float | None = None
    out: Player | None = None
    """The player whose time ran out (and who lost by it)."""

    @classmethod
    def new(cls, seconds: int) -> Clock:
        """Full clocks, stopped until both seats are taken (the pages offer :data:`CHOICES`)."""
        if not isinstance(seconds, int) or isinstance(seconds, bool) or not 0 < seconds <= MAX_SECONDS:
            raise ValueError(f"A game's clock is 1 to {MAX_SECONDS} seconds per player.")
        return cls(seconds, float(seconds), float(seconds))

    def left(self, player: Player, turn: Player, now: float) -> float:
        """The seconds ``player`` has at ``now`` when ``turn`` is to move (never below 0)."""
        left = self.red if player is Player.RED else self.yellow
        if self.since is not None and player is turn:
            left -= now - self.since
        return max(0.0, left)

    def start(self, now: float) -> Clock:
        """The mover's clock runs from ``now``."""
        return replace(self, since=now)

    def moved(self, mover: Player, now: float, *, over: bool) -> Clock:
        """``mover`` played at ``now``: their time is charged; the other's runs unless the game is over."""
        return replace(self._with(mover, self.left(mover, mover, now)), since=None if over else now)

    def stopped(self, turn: Player, now: float) -> Clock:
        """Both clocks stopped at ``now`` (the game ended otherwise than by a move)."""
        return replace(self._with(turn, self.left(turn, turn, now)), since=None)

    def timed_out(self, turn: Player) -> Clock:
        """``turn``'s time is gone: they lose, and the clocks stop."""
        return replace(self._with(turn, 0.0), since=None, out=turn)

    def _with(self, player: Player, left: float) -> Clock:
        return replace(self, red=left) if player is Player.RED else replace(self, yellow=left)

    def due(self, turn: Player, now: float) -> float | None:
        """When ``turn``'s time runs out (wall time), or ``None`` when no clock runs."""
        if self.since is None or self.out is not None:
            return None
        return now + self.left(turn, turn, now)

    def reset(self) -> Clock:
        """Full clocks again (a rematch), stopped until it starts."""
        return Clock.new(self.seconds)

    def to_json(self) -> str:
        return json.dumps(
            {
                "seconds": self.seconds,
                "red": self.red,
                "yellow": self.yellow,
                "since": self.since,
                "out": self.out.value if self.out else None,
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str | None) -> Clock | None:
        """The clock a store kept, ``None`` for a game without one."""
        if not text:
            return None
        data = json.loads(text)
        return cls(
            int(data["seconds"]),
            float(data["red"]),
            float(data["yellow"]),
            data["since"],
            Player(data["out"]) if data["out"] else None,
        )


def clock_text(seconds: float) -> str:
    """A clock as players read it, minutes and seconds; it shows 0:00 only once the time is gone."""
    whole = math.ceil(seconds)
    return f"{whole // 60}:{whole % 60:02d}"
