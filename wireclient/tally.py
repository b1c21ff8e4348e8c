"""What the simulated browsers of one run observed, shared by the load generator and the tests."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, fields


@dataclass
class Tally:
    """Everything the browsers of one run observed."""

    opponent: list[float] = field(default_factory=list)
    """Seconds from a click to the opponent's connection receiving that disc."""
    spectator: list[float] = field(default_factory=list)
    moves: int = 0
    rounds: int = 0
    lost: int = 0
    """Moves whose disc never reached the opponent in time (the match stopped there)."""
    spectator_missed: int = 0
    rematch_failures: int = 0
    notifications: Counter[str] = field(default_factory=Counter)
    """Warning and negative notifications (or the baseline's error events), by text."""
    unexpected_disconnects: int = 0
    connect_failures: Counter[str] = field(default_factory=Counter)
    reloads: int = 0
    """Pages reloaded: the server asked (failed outbox rewind) or no longer knew the client after a reconnect."""
    reconnects: int = 0
    match_failures: Counter[str] = field(default_factory=Counter)

    @property
    def errors(self) -> int:
        return sum(self.notifications.values())

    def add(self, other: Tally) -> None:
        """Take in what another process's browsers observed: samples are joined, counts added."""
        for item in fields(self):
            mine, theirs = getattr(self, item.name), getattr(other, item.name)
            if isinstance(mine, Counter):
                mine.update(theirs)
            elif isinstance(mine, list):
                mine.extend(theirs)
            else:
                setattr(self, item.name, mine + theirs)
