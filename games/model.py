"""What a store keeps of a game: one immutable record per version, and the people around it."""

from __future__ import annotations

import enum
import json
import secrets
import time
from dataclasses import dataclass, field, replace
from typing import Any

from engine.connect4 import Connect4, Outcome, Player, Termination
from engine.levels import Level
from games.clock import Clock

__all__ = [
    "COMPUTER",
    "KEY_BYTES",
    "PHRASES",
    "GameRecord",
    "Mode",
    "Role",
    "Said",
    "level_from_text",
    "new_id",
    "new_key",
]

COMPUTER = "computer"
"""The identity that holds the computer's seat."""

# 16 bytes from the operating system's CSPRNG: 128 bits, well above the 96 a guess must beat.
KEY_BYTES = 16


def new_key() -> str:
    """An unguessable URL-safe key for a join or watch link."""
    return secrets.token_urlsafe(KEY_BYTES)


def new_id() -> str:
    """A game's internal id (never shown in a link that grants anything)."""
    return secrets.token_hex(8)


class Mode(enum.StrEnum):
    """How the seats are filled."""

    LOCAL = "local"  # one browser plays both sides (hot seat)
    ONLINE = "online"  # two browsers, one seat each, spectators by the watch link
    COMPUTER = "computer"  # one browser against the engine


class Role(enum.StrEnum):
    """What a browser may do in a game."""

    RED = "red"
    YELLOW = "yellow"
    BOTH = "both"  # the hot-seat browser
    SPECTATOR = "spectator"

    @property
    def players(self) -> tuple[Player, ...]:
        """The sides this role may move for."""
        return _ROLE_PLAYERS[self]


_ROLE_PLAYERS = {
    Role.RED: (Player.RED,),
    Role.YELLOW: (Player.YELLOW,),
    Role.BOTH: (Player.RED, Player.YELLOW),
    Role.SPECTATOR: (),
}
"""The sides each role may move for (looked up on every status line and click)."""


def level_from_text(text: str | None) -> Level | None:
    """The level a store kept by name ("PERFECT"); older rows may hold its value ("perfect").

    A text that names no level reads as no level, so that one odd row never stops a game loading.
    """
    if not text:
        return None
    if text in Level.__members__:
        return Level[text]
    try:
        return Level(text.lower())
    except ValueError:
        return None


PHRASES = ("Good luck!", "Well played", "Thanks for the game", "Oops")
"""What players of an online game may say to each other: fixed phrases, so there is nothing to moderate."""


@dataclass(frozen=True)
class Said:
    """The last quick message of a game: who said which phrase, when (wall time)."""

    player: Player
    phrase: str
    at: float

    def to_json(self) -> str:
        return json.dumps({"player": self.player.value, "phrase": self.phrase, "at": self.at}, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | None) -> Said | None:
        """The message a store kept; ``None`` for none, or for a phrase no longer in :data:`PHRASES`."""
        if not text:
            return None
        data = json.loads(text)
        if data["phrase"] not in PHRASES:
            return None
        return cls(Player(data["player"]), data["phrase"], float(data["at"]))


@dataclass(frozen=True)
class GameRecord:
    """One version of a game as stored: keys, seats, moves and the flags around them.

    Every change makes a new record with ``version + 1``; a store accepts it only if it
    still holds ``version``, which is how two instances racing on one game are told apart.
    """

    id: str
    mode: Mode
    join_key: str
    watch_key: str
    red: str | None = None
    """The browser identity holding red (for the computer mode, the human may sit either side)."""
    yellow: str | None = None
    moves: str = ""
    """Solver notation of the current round."""
    resigned: Player | None = None
    rematch: frozenset[Player] = frozenset()
    """Who has asked for a rematch of a finished round."""
    round: int = 1
    level: Level | None = None
    """The computer's level in a computer game (stored by its name, ``"PERFECT"``)."""
    version: int = 0
    created: float = field(default_factory=time.time)
    updated: float = field(default_factory=time.time)
    replay_key: str | None = None
    """The key of the game's replay link: it shows the moves and grants no seat (None if stored before replays)."""
    clock: Clock | None = None
    """The time control of a timed online game (:mod:`games.clock`); ``None`` for none."""
    said: Said | None = None
    """The last quick message between the players."""
    red_name: str | None = None
    """The display name red's browser chose (None: none chosen, or stored before names)."""
    yellow_name: str | None = None
    red_wins: int = 0
    """Rounds before this one won by whoever sits on red now (the tally follows the seat in a rematch)."""
    yellow_wins: int = 0
    abandoned: bool = False
    """With ``resigned``: that side did not resign but left the game, and the other claimed the win."""

    # -- reading -----------------------------------------------------------------------------

    def board(self) -> Connect4:
        """The engine's board for the current round."""
        return Connect4.from_moves(self.moves)

    def seat(self, player: Player) -> str | None:
        """Who sits on ``player``'s side."""
        return self.red if player is Player.RED else self.yellow

    def name(self, player: Player) -> str | None:
        """The display name of ``player``'s seat, or None if it has none."""
        return self.red_name if player is Player.RED else self.yellow_name

    def seated(self) -> frozenset[str]:
        """The browser identities holding a seat (the computer holds none)."""
        return frozenset(seat for seat in (self.red, self.yellow) if seat is not None and seat != COMPUTER)

    def score(self) -> tuple[int, int]:
        """Rounds won by red's and by yellow's seat so far, this round counted once it is over."""
        red, yellow = self.red_wins, self.yellow_wins
        outcome = self.outcome()
        if outcome is not None and outcome.winner is Player.RED:
            red += 1
        elif outcome is not None and outcome.winner is Player.YELLOW:
            yellow += 1
        return red, yellow

    def role_of(self, identity: str | None) -> Role:
        """What ``identity`` may do here; anyone without a seat is a spectator."""
        if identity is None:
            return Role.SPECTATOR
        if self.mode is Mode.LOCAL and identity == self.red:
            return Role.BOTH
        if identity == self.red:
            return Role.RED
        if identity == self.yellow:
            return Role.YELLOW
        return Role.SPECTATOR

    @property
    def started(self) -> bool:
        """True once both seats are filled (always for hot seat and computer games)."""
        return self.mode is not Mode.ONLINE or (self.red is not None and self.yellow is not None)

    def outcome(self, board: Connect4 | None = None) -> Outcome | None:
        """The board's outcome, or a win by resignation."""
        if self.resigned is not None:
            return Outcome(Termination.RESIGNATION, self.resigned.other)
        if self.clock is not None and self.clock.out is not None:
            return Outcome(Termination.TIME, self.clock.out.other)
        return (board or self.board()).outcome

    # -- changing ----------------------------------------------------------------------------

    def changed(self, **changes: Any) -> GameRecord:
        """The next version with ``changes`` applied."""
        return replace(self, **changes, version=self.version + 1, updated=time.time())

    # -- storing -----------------------------------------------------------------------------

    def to_json(self) -> str:
        """The record as a JSON object (for stores that keep text)."""
        data = {
            "id": self.id,
            "mode": self.mode.value,
            "join_key": self.join_key,
            "watch_key": self.watch_key,
            "red": self.red,
            "yellow": self.yellow,
            "moves": self.moves,
            "resigned": self.resigned.value if self.resigned else None,
            "rematch": sorted(player.value for player in self.rematch),
            "round": self.round,
            "level": self.level.name if self.level else None,
            "version": self.version,
            "created": self.created,
            "updated": self.updated,
            "replay_key": self.replay_key,
            "clock": self.clock.to_json() if self.clock else None,
            "said": self.said.to_json() if self.said else None,
            "red_name": self.red_name,
            "yellow_name": self.yellow_name,
            "red_wins": self.red_wins,
            "yellow_wins": self.yellow_wins,
            "abandoned": self.abandoned,
        }
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> GameRecord:
        """The inverse of :meth:`to_json`."""
        data = json.loads(text)
        return cls(
            id=data["id"],
            mode=Mode(data["mode"]),
            join_key=data["join_key"],
            watch_key=data["watch_key"],
            red=data["red"],
            yellow=data["yellow"],
            moves=data["moves"],
            resigned=Player(data["resigned"]) if data["resigned"] else None,
            rematch=frozenset(Player(p) for p in data["rematch"]),
            round=data["round"],
            level=level_from_text(data["level"]),
            version=data["version"],
            created=data["created"],
            updated=data["updated"],
            replay_key=data.get("replay_key"),  # records saved before replays have none
            clock=Clock.from_json(data.get("clock")),  # nor before clocks
            said=Said.from_json(data.get("said")),
            # Records saved before names and scores have neither.
            red_name=data.get("red_name"),
            yellow_name=data.get("yellow_name"),
            red_wins=data.get("red_wins", 0),
            yellow_wins=data.get("yellow_wins", 0),
            abandoned=bool(data.get("abandoned", False)),  # nor before claims
        )
