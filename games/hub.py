"""The game layer: creates games, seats browsers, checks and stores every change, and tells the views.

A :class:`GameHub` owns one :class:`LiveGame` per game that some page in this process shows.
Every change goes the same way: build the next record (the engine refuses illegal moves),
save it with a compare-and-set on its version (so a change is stored before any browser is
told, and two servers racing on one game cannot both win), then announce it to the views.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, replace
from typing import Any

from engine.connect4 import Connect4, GameOverError, Move, NotYourTurnError, Outcome, Player
from engine.levels import Level
from games.clock import Clock
from games.errors import (
    ConflictError,
    GameError,
    GameNotFoundError,
    NotAllowedError,
    NotStartedError,
    OutOfTimeError,
    SpectatorError,
)
from games.model import COMPUTER, PHRASES, GameRecord, Mode, Role, Said, new_id, new_key
from games.names import parse_name
from games.ratelimit import RateLimiter
from games.store import Store

__all__ = [
    "COMPUTER",
    "GameChanged",
    "GameEvent",
    "GameHub",
    "Listener",
    "LiveGame",
    "MovePlayed",
    "MoveUndone",
    "NewGame",
]

log = logging.getLogger(__name__)

PRESENCE_TTL = 90.0
"""Seconds after which another instance's silent presence report counts as gone (it repeats every third of it)."""


@dataclass(frozen=True)
class MovePlayed:
    """A disc was dropped; ``outcome`` is set when it ended the game."""

    move: Move
    outcome: Outcome | None


@dataclass(frozen=True)
class MoveUndone:
    """The last move was taken back."""

    move: Move


@dataclass(frozen=True)
class NewGame:
    """The board was cleared: a new game, or a rematch."""


@dataclass(frozen=True)
class GameChanged:
    """Something beside the board changed: a seat, presence, a resignation, a rematch offer."""


GameEvent = MovePlayed | MoveUndone | NewGame | GameChanged
Listener = Callable[[GameEvent], None]


class LiveGame:
    """A game as this process shows it: the newest record, its board, its views and who is here."""

    def __init__(self, record: GameRecord) -> None:
        self.record = record
        self.board = record.board()
        self.presence: Counter[Player] = Counter()
        """Views of each seat connected to this instance."""
        self.remote_presence: dict[str, tuple[dict[str, int], float]] = {}
        """Other instances' reports: instance id -> (views per seat, when reported)."""
        self.spectators = 0
        """Spectators' views of this game connected to this instance."""
        self.away_since: dict[Player, float | None] = dict.fromkeys(Player, time.time())
        """Since when each side has had no browser connected anywhere (None while it has one)."""
        self.thinking = False
        """True while the computer chooses its move in this game."""
        self.stored = True
        """False for a draft (:meth:`GameHub.draft`): shown on a page, stored only by its first change."""
        self.lock = asyncio.Lock()
        self._listeners: list[Listener] = []

    @property
    def id(self) -> str:
        return self.record.id

    @property
    def outcome(self) -> Outcome | None:
        """How the current round ended (including by resignation), or ``None``."""
        return self.record.outcome(self.board)

    @property
    def is_over(self) -> bool:
        return self.outcome is not None

    @property
    def listener_count(self) -> int:
        return len(self._listeners)

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` on every change from now on; returns the function that stops it."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def is_connected(self, player: Player) -> bool:
        """Whether a browser holding ``player``'s seat has this game open."""
        seat = self.record.seat(player)
        if seat == COMPUTER or self.presence[player] > 0:
            return True
        fresh = time.time() - PRESENCE_TTL
        return any(seats.get(player.value, 0) > 0 and at > fresh for seats, at in self.remote_presence.values())

    def note_presence(self, now: float | None = None) -> None:
        """Start or stop each side's away time after a change of who is connected (here or elsewhere)."""
        now = time.time() if now is None else now
        for player in Player:
            if self.is_connected(player):
                self.away_since[player] = None
            elif self.away_since[player] is None:
                self.away_since[player] = now

    def apply(self, record: GameRecord) -> None:
        """Bring this game up to ``record`` and announce what changed; older records are ignored."""
        old = self.record
        if record.version <= old.version:
            return
        self.record = record
        events: list[GameEvent] = []
        if (record.red, record.yellow) == (old.yellow, old.red) != (old.red, old.yellow):
            # A rematch swaps colours: the browsers present stay present on their new side.
            self.presence[Player.RED], self.presence[Player.YELLOW] = (
                self.presence[Player.YELLOW],
                self.presence[Player.RED],
            )
            self.remote_presence = {
                instance: ({**seats, "red": seats.get("yellow", 0), "yellow": seats.get("red", 0)}, at)
                for instance, (seats, at) in self.remote_presence.items()
            }
            self.away_since[Player.RED], self.away_since[Player.YELLOW] = (
                self.away_since[Player.YELLOW],
                self.away_since[Player.RED],
            )
        if record.round != old.round or not (record.moves.startswith(old.moves) or old.moves.startswith(record.moves)):
            self.board = record.board()
            events.append(NewGame())
        elif len(record.moves) > len(old.moves):
            for char in record.moves[len(old.moves) :]:
                player = self.board.turn
                row = self.board.play(player, int(char) - 1)
                events.append(MovePlayed(Move(player, int(char) - 1, row), self.board.outcome))
        else:
            for _ in range(len(old.moves) - len(record.moves)):
                events.append(MoveUndone(self.board.undo()))
        if (
            old.red,
            old.yellow,
            old.resigned,
            old.rematch,
            old.clock and old.clock.out,
            old.said,
            old.red_name,
            old.yellow_name,
            old.abandoned,
        ) != (
            record.red,
            record.yellow,
            record.resigned,
            record.rematch,
            record.clock and record.clock.out,  # a loss on time
            record.said,  # a quick message
            record.red_name,
            record.yellow_name,
            record.abandoned,
        ):
            events.append(GameChanged())
        for event in events:
            self.announce(event)

    def announce(self, event: GameEvent) -> None:
        """Tell every view; one broken view must not keep the change from the others."""
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                log.exception("game %s: a view failed on %s", self.id, event)


class GameHub:
    """Every game this process knows, and every change to them."""

    def __init__(
        self,
        store: Store,
        *,
        move_limit: RateLimiter | None = None,
        create_limit: RateLimiter | None = None,
        claim_after: float = 60.0,
    ) -> None:
        self.store = store
        self.claim_after = claim_after
        """Seconds a player must have been away during their own turn before the opponent may claim the win."""
        self.instance = new_id()
        """This process's name among the instances sharing the store."""
        self._background: set[asyncio.Task[None]] = set()
        store.on_presence(self._remote_presence)
        # A person clicks a few times a second at most; a script flooding clicks gets told to slow down.
        # (``is None``, not ``or``: a limiter with no buckets yet has a length of 0.)
        if move_limit is None:
            move_limit = RateLimiter(rate=5, burst=20, message="Too many moves at once: slow down.")
        if create_limit is None:
            create_limit = RateLimiter(
                rate=0.2, burst=10, message="You are starting games too quickly; try again in a minute."
            )
        self.move_limit, self.create_limit = move_limit, create_limit
        # A few quick messages a minute is a conversation; more is spam.
        self.message_limit = RateLimiter(rate=0.1, burst=4, message="Too many messages at once: wait a little.")
        self._live: dict[str, LiveGame] = {}
        self._keys: dict[str, str] = {}  # join and watch keys of the live games
        self._change_hooks: list[Callable[[LiveGame], None]] = []
        self._clock_timers: dict[str, asyncio.TimerHandle] = {}

    async def start(self) -> None:
        """Connect the store; changes other instances make arrive through :meth:`receive`."""
        await self.store.start(self.receive)
        self._spawn(self._repeat_presence())

    async def close(self) -> None:
        """Let pending writes finish and disconnect the store."""
        for timer in self._clock_timers.values():
            timer.cancel()
        self._clock_timers.clear()
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        await self.store.close()

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def on_change(self, hook: Callable[[LiveGame], None]) -> None:
        """Call ``hook(live)`` after every change to a game this process shows, wherever it was made."""
        self._change_hooks.append(hook)

    def _changed(self, live: LiveGame) -> None:
        self._watch_clock(live)
        for hook in self._change_hooks:
            try:
                hook(live)
            except Exception:
                log.exception("game %s: a change hook failed", live.id)

    def receive(self, record: GameRecord) -> None:
        """A record another instance saved: show it in every view of that game here."""
        live = self._live.get(record.id)
        if live is not None and record.version > live.record.version:
            live.apply(record)
            self._changed(live)

    # -- finding and creating ------------------------------------------------------------------

    async def create(
        self,
        mode: Mode,
        identity: str,
        *,
        level: Level | None = None,
        side: Player = Player.RED,
        moves: str = "",
        clock: int = 0,
        name: str | None = None,
    ) -> LiveGame:
        """A new game with ``identity`` seated: red online, both sides locally, ``side`` against the computer.

        ``moves`` starts it from a position (solver notation); an invalid one raises the engine's
        :class:`~engine.connect4.InvalidPositionError`. ``clock`` gives an online game that many
        seconds per player (one of :data:`games.clock.CHOICES`; 0 for no clock). ``name`` is the
        player's display name (not for a game on one device, where two people share the seat); an
        invalid one raises :class:`~games.names.InvalidNameError`.
        """
        name = None if name is None or mode is Mode.LOCAL else parse_name(name)
        if clock and mode is not Mode.ONLINE:
            raise NotAllowedError("Clocks are for online games.")
        try:
            timer = Clock.new(clock) if clock else None  # refused before it counts as a new game
        except ValueError as exc:
            raise NotAllowedError(str(exc)) from None
        self.create_limit.check(identity)
        record = self._new_record(mode, identity, level=level, side=side, moves=moves)
        if timer is not None:
            record = replace(record, clock=timer)
        if name is not None:
            record = replace(record, red_name=name) if record.red == identity else replace(record, yellow_name=name)
        await self.store.create(record)
        log.info("game %s: created (%s)", record.id, mode)
        return self._remember(record)

    def draft(self, mode: Mode, identity: str, *, moves: str = "") -> LiveGame:
        """A game to show on a page that is not stored yet: its first change stores it.

        A page view must store nothing (link previews, prefetchers and floods cost no row), so the
        new-game limit is checked then too, not here. Not known to :meth:`find` until stored.
        """
        live = LiveGame(self._new_record(mode, identity, moves=moves))
        live.stored = False
        return live

    @staticmethod
    def _new_record(
        mode: Mode, identity: str, *, level: Level | None = None, side: Player = Player.RED, moves: str = ""
    ) -> GameRecord:
        moves = Connect4.from_moves(moves).moves_str()
        red, yellow = identity, None
        if mode is Mode.LOCAL:
            yellow = identity
        elif mode is Mode.COMPUTER:
            red, yellow = (identity, COMPUTER) if side is Player.RED else (COMPUTER, identity)
        return GameRecord(
            id=new_id(),
            mode=mode,
            join_key=new_key(),
            watch_key=new_key(),
            replay_key=new_key(),
            red=red,
            yellow=yellow,
            level=level,
            moves=moves,
        )

    async def get(self, game_id: str) -> LiveGame:
        """The live game with this id, loaded from the store if this process has not shown it yet."""
        live = self._live.get(game_id)
        if live is not None:
            return live
        record = await self.store.load(game_id)
        if record is None:
            raise GameNotFoundError
        return self._remember(record)

    async def find(self, key: str) -> LiveGame:
        """The game whose join, watch or replay key is ``key``."""
        if not isinstance(key, str) or not 0 < len(key) <= 64:
            raise GameNotFoundError
        game_id = self._keys.get(key)
        if game_id is not None and game_id in self._live:
            return self._live[game_id]
        record = await self.store.find(key)
        if record is None:
            raise GameNotFoundError
        return self._remember(record)

    async def find_replay(self, key: str) -> LiveGame:
        """The game whose replay key is ``key`` (its join and watch keys open no replay)."""
        live = await self.find(key)
        if live.record.replay_key != key:
            raise GameNotFoundError
        return live

    async def replay_key(self, live: LiveGame) -> str:
        """The game's replay key, given to it now if it was stored before games had one."""
        if live.record.replay_key is None:
            with contextlib.suppress(ConflictError):  # another server gave it one first: that one counts
                await self._change(live, lambda record: record.changed(replay_key=record.replay_key or new_key()))
        key = live.record.replay_key
        if key is None:
            raise ConflictError
        self._keys[key] = live.id
        return key

    async def games_of(self, identity: str, limit: int = 50) -> list[GameRecord]:
        """Up to ``limit`` games in which ``identity`` holds a seat, the most recently changed first."""
        if not isinstance(identity, str) or not identity or identity == COMPUTER:
            return []
        records = await self.store.games_of(identity, limit)
        # A game shown here may be newer than what the store answered a moment ago.
        newest = []
        for record in records:
            live = self._live.get(record.id)
            newest.append(live.record if live is not None and live.record.version > record.version else record)
        return [record for record in newest if identity in record.seated()]

    def _remember(self, record: GameRecord) -> LiveGame:
        live = self._live.get(record.id)
        if live is None:
            live = self._live[record.id] = LiveGame(record)
            self._keys[record.join_key] = self._keys[record.watch_key] = record.id
            if record.replay_key:
                self._keys[record.replay_key] = record.id
            self._changed(live)
            # Errors are the store's to report; a game another instance changes must reach our views.
            self._spawn(self.store.follow(record.id))
        elif record.version > live.record.version:
            live.apply(record)
            self._changed(live)
        return live

    def forget(self, game_id: str) -> None:
        """Drop a game nobody here shows any more (it stays in the store)."""
        live = self._live.get(game_id)
        if live is not None and live.listener_count == 0 and not live.lock.locked():
            self._drop(live)

    def _drop(self, live: LiveGame) -> None:
        timer = self._clock_timers.pop(live.id, None)
        if timer is not None:
            timer.cancel()
        del self._live[live.id]
        self._keys.pop(live.record.join_key, None)
        self._keys.pop(live.record.watch_key, None)
        self._keys.pop(live.record.replay_key or "", None)
        self._spawn(self.store.unfollow(live.id))

    @property
    def live_games(self) -> int:
        return len(self._live)

    # -- seats and presence ------------------------------------------------------------------------

    async def join(self, live: LiveGame, identity: str, *, name: str | None = None) -> Role:
        """Seat ``identity`` by the join link: its own seat again, the free yellow seat, or a spectator's place.

        A player who chose the display ``name`` since is shown by it from now on (:meth:`set_name`).
        """
        role = live.record.role_of(identity)
        if role is not Role.SPECTATOR or live.record.mode is not Mode.ONLINE or live.record.yellow is not None:
            if name is not None and role in (Role.RED, Role.YELLOW):
                with contextlib.suppress(GameError):  # the name shows on the next visit instead
                    await self.set_name(live, identity, name)
            return role
        name = None if name is None else parse_name(name)

        def seat(record: GameRecord) -> GameRecord:
            if record.yellow is not None:
                raise ConflictError
            # Both seats taken: the game starts, and with it red's clock.
            clock = record.clock.start(time.time()) if record.clock else None
            return record.changed(yellow=identity, yellow_name=name, clock=clock)

        with contextlib.suppress(ConflictError):  # someone else took the seat a moment earlier
            await self._change(live, seat)
        return live.record.role_of(identity)

    async def set_name(self, live: LiveGame, identity: str, name: str) -> None:
        """Show ``identity``'s seat by the display ``name`` (stores nothing when it already is)."""
        name = parse_name(name)
        role = live.record.role_of(identity)
        if role not in (Role.RED, Role.YELLOW) or live.record.name(role.players[0]) == name:
            return

        def rename(record: GameRecord) -> GameRecord:
            side = record.role_of(identity)
            if side not in (Role.RED, Role.YELLOW):
                raise SpectatorError
            return record.changed(red_name=name) if side is Role.RED else record.changed(yellow_name=name)

        await self._change(live, rename)

    def connect(self, live: LiveGame, role: Role) -> None:
        """A view of ``role`` opened or came back."""
        for player in role.players:
            live.presence[player] += 1
        if role is Role.SPECTATOR:
            live.spectators += 1
        live.note_presence()
        if role.players and live.stored:
            live.announce(GameChanged())
        if live.stored and (role.players or live.record.mode is Mode.ONLINE):  # spectators: for the lists
            self._spawn(self._share_presence(live))

    def disconnect(self, live: LiveGame, role: Role) -> None:
        """A view of ``role`` closed or lost its connection."""
        for player in role.players:
            live.presence[player] = max(0, live.presence[player] - 1)
        if role is Role.SPECTATOR:
            live.spectators = max(0, live.spectators - 1)
        live.note_presence()
        if role.players and live.stored:
            live.announce(GameChanged())
        if live.stored and (role.players or live.record.mode is Mode.ONLINE):  # spectators: for the lists
            self._spawn(self._share_presence(live))

    def spectators_here(self, game_id: str) -> int:
        """Spectators' views of this game connected to this instance."""
        live = self._live.get(game_id)
        return 0 if live is None else live.spectators

    def connected_here(self, game_id: str, player: Player) -> bool:
        """Whether a browser holding ``player``'s seat has this game open on this instance."""
        live = self._live.get(game_id)
        return live is not None and live.presence[player] > 0

    def claim_wait(self, live: LiveGame, player: Player, now: float | None = None) -> float | None:
        """Seconds until the win may be claimed against ``player`` (0 or less: now); None while that cannot come.

        A claim needs a started online game going on, ``player`` to move, and no browser of theirs
        connected since their turn began; coming back stops the count, leaving again starts it anew.
        """
        record = live.record
        if record.mode is not Mode.ONLINE or not record.started or live.is_over or live.board.turn is not player:
            return None
        now = time.time() if now is None else now
        live.note_presence(now)
        away_since = live.away_since[player]
        if away_since is None:
            return None
        return self.claim_after - (now - max(away_since, record.updated))

    async def _share_presence(self, live: LiveGame) -> None:
        seats = {player.value: live.presence[player] for player in Player}
        seats["spectators"] = live.spectators
        with contextlib.suppress(GameError):  # presence is best effort; the next report repeats it
            await self.store.share_presence(live.id, self.instance, seats)

    async def _repeat_presence(self) -> None:
        while True:
            await asyncio.sleep(PRESENCE_TTL / 3)
            for live in list(self._live.values()):
                if any(live.presence.values()) or live.spectators:
                    await self._share_presence(live)

    def _remote_presence(self, game_id: str, instance: str, seats: dict[str, int], at: float) -> None:
        live = self._live.get(game_id)
        if live is None or instance == self.instance:
            return
        before = live.remote_presence.get(instance)
        live.remote_presence[instance] = (seats, at)
        live.note_presence()
        # Spectators come and go without a word to the boards (only the lists count them), and so do repeats.
        if (
            before is None
            or before[1] < time.time() - PRESENCE_TTL
            or any(before[0].get(player.value, 0) != seats.get(player.value, 0) for player in Player)
        ):
            live.announce(GameChanged())

    # -- changes -------------------------------------------------------------------------------

    async def play(self, live: LiveGame, identity: str, column: int) -> None:
        """Drop a disc for ``identity``; raises the engine's refusals and the game layer's."""
        if identity != COMPUTER:
            self.move_limit.check(identity)

        def move(record: GameRecord) -> GameRecord:
            role = record.role_of(identity)
            if role is Role.SPECTATOR:
                raise SpectatorError
            if not record.started:
                raise NotStartedError
            if record.resigned is not None or (record.clock is not None and record.clock.out is not None):
                raise GameOverError
            # The live board is this record's position: a copy spares replaying the game on every move.
            board = live.board.copy() if record is live.record else record.board()
            mover = board.turn
            if mover not in role.players:
                raise NotYourTurnError
            clock = record.clock
            now = time.time()
            if clock is not None and clock.since is not None and clock.left(mover, mover, now) <= 0:
                raise OutOfTimeError  # the clock's own timer records the loss (time_out)
            board.play(mover, column)  # the engine validates the column, full columns and the end
            if clock is not None:
                clock = clock.moved(mover, now, over=board.outcome is not None)
            return record.changed(moves=board.moves_str(), clock=clock)

        await self._change(live, move)
        if log.isEnabledFor(logging.DEBUG) and (last := live.board.last_move):
            log.debug("game %s: %s plays column %d (row %d)", live.id, last.player, last.column + 1, last.row + 1)

    async def undo(self, live: LiveGame, identity: str) -> None:
        """Take back the last move (hot seat), or the last move pair (against the computer)."""

        def take_back(record: GameRecord) -> GameRecord:
            role = record.role_of(identity)
            if role is Role.SPECTATOR:
                raise SpectatorError
            if record.mode is Mode.ONLINE:
                raise NotAllowedError("Undo is only for games on one device.")
            board = Connect4.from_moves(record.moves)
            board.undo()
            # Against the computer, go back to the human's last turn.
            while record.mode is Mode.COMPUTER and board.moves and board.turn not in role.players:
                board.undo()
            return record.changed(moves=board.moves_str(), resigned=None, abandoned=False)

        await self._change(live, take_back)

    async def new_game(self, live: LiveGame, identity: str) -> None:
        """Clear the board with the same seats (hot seat and computer games)."""

        def clear(record: GameRecord) -> GameRecord:
            if record.role_of(identity) is Role.SPECTATOR:
                raise SpectatorError
            if record.mode is Mode.ONLINE:
                raise NotAllowedError("Online games start again by rematch.")
            return record.changed(moves="", resigned=None, abandoned=False, rematch=frozenset(), round=record.round + 1)

        await self._change(live, clear)

    async def resign(self, live: LiveGame, identity: str) -> None:
        """Give up the current round."""

        def give_up(record: GameRecord) -> GameRecord:
            role = record.role_of(identity)
            if role is Role.SPECTATOR:
                raise SpectatorError
            if role is Role.BOTH:
                raise NotAllowedError("In a game on one device, start a new game instead.")
            if record.outcome() is not None:
                raise GameOverError
            if not record.started:
                raise NotStartedError
            clock = record.clock.stopped(record.board().turn, time.time()) if record.clock else None
            return record.changed(resigned=role.players[0], clock=clock)

        await self._change(live, give_up)

    async def claim_win(self, live: LiveGame, identity: str) -> None:
        """Win the round because the opponent has been away for :attr:`claim_after` seconds of their own turn."""
        self.move_limit.check(identity)

        def claim(record: GameRecord) -> GameRecord:
            role = record.role_of(identity)
            if role is Role.SPECTATOR:
                raise SpectatorError
            if record.mode is not Mode.ONLINE:
                raise NotAllowedError("Only an online game can be won by claim.")
            if not record.started:
                raise NotStartedError
            if record.outcome() is not None:
                raise GameOverError
            opponent = role.players[0].other
            if live.board.turn is not opponent:
                raise NotAllowedError("It is your turn: the win can be claimed only while your opponent is to move.")
            wait = self.claim_wait(live, opponent)
            if wait is None:
                raise NotAllowedError("Your opponent is here, so the win cannot be claimed.")
            if wait > 0:
                seconds = math.ceil(wait)
                raise NotAllowedError(
                    f"Your opponent may still come back: the win can be claimed in {seconds}"
                    f" second{'' if seconds == 1 else 's'}."
                )
            return record.changed(resigned=opponent, abandoned=True)

        await self._change(live, claim)
        log.info("game %s: won by claim", live.id)

    async def rematch(self, live: LiveGame, identity: str) -> bool:
        """Ask for a rematch of a finished online game; when both have asked, colours swap and it starts.

        Returns True when this request started the rematch.
        """

        def ask(record: GameRecord) -> GameRecord:
            role = record.role_of(identity)
            if role is Role.SPECTATOR:
                raise SpectatorError
            if record.mode is not Mode.ONLINE:
                raise NotAllowedError("Rematches are for online games.")
            if record.outcome() is None:
                raise NotAllowedError("A rematch can be asked for when the game is over.")
            wanted = record.rematch | {role.players[0]}
            if len(wanted) < 2:
                return record.changed(rematch=wanted)
            # The finished round joins the tally; names and tallies follow their players to the other side.
            red_wins, yellow_wins = record.score()
            return record.changed(
                red=record.yellow,
                yellow=record.red,
                red_name=record.yellow_name,
                yellow_name=record.red_name,
                red_wins=yellow_wins,
                yellow_wins=red_wins,
                moves="",
                resigned=None,
                abandoned=False,
                rematch=frozenset(),
                round=record.round + 1,
                clock=record.clock.reset().start(time.time()) if record.clock else None,
            )

        round_before = live.record.round
        await self._change(live, ask)
        return live.record.round != round_before

    async def say(self, live: LiveGame, identity: str, phrase: object) -> None:
        """Send one of :data:`~games.model.PHRASES` to the other player (and the spectators)."""
        if not isinstance(phrase, str) or phrase not in PHRASES:
            raise NotAllowedError(f"Only these messages can be sent: {', '.join(PHRASES)}.")

        def speak(record: GameRecord) -> GameRecord:
            role = record.role_of(identity)
            if record.mode is not Mode.ONLINE or role not in (Role.RED, Role.YELLOW):
                raise NotAllowedError("Quick messages are for the two players of an online game.")
            return record.changed(said=Said(role.players[0], phrase, time.time()))

        self.message_limit.check(identity)
        await self._change(live, speak)

    async def time_out(self, live: LiveGame) -> bool:
        """Record that the mover's time ran out, if it did; True if this call recorded it.

        Every instance showing the game asks when the clock is due; the store's compare-and-set
        lets one of them record it.
        """

        def flag(record: GameRecord) -> GameRecord:
            clock = record.clock
            turn = record.board().turn
            if clock is None or record.outcome() is not None or clock.due(turn, time.time()) is None:
                raise NotAllowedError("No clock runs in this game.")
            if clock.left(turn, turn, time.time()) > 0:
                raise NotAllowedError("The mover still has time.")
            return record.changed(clock=clock.timed_out(turn))

        try:
            await self._change(live, flag)
        except GameError:
            return False
        log.info("game %s: %s lost on time", live.id, live.record.clock.out if live.record.clock else None)
        return True

    def _watch_clock(self, live: LiveGame) -> None:
        # One timer per running clock, set again by every change: when it fires, the mover's time is gone.
        timer = self._clock_timers.pop(live.id, None)
        if timer is not None:
            timer.cancel()
        clock = live.record.clock
        if clock is None or live.is_over or not live.stored:
            return
        now = time.time()
        due = clock.due(live.board.turn, now)
        if due is None:
            return
        loop = asyncio.get_running_loop()
        # A little after the due time, so the store's clock and ours agree it has passed.
        self._clock_timers[live.id] = loop.call_later(
            max(0.0, due - now) + 0.02, lambda: self._spawn(self._time_out_quietly(live))
        )

    async def _time_out_quietly(self, live: LiveGame) -> None:
        await self.time_out(live)

    def forget_full_limits(self) -> int:
        """Drop the rate limits' buckets that have refilled (a full bucket means no limit yet).

        The limits drop them on their own as further moves and games come; after a crowd has
        left, nothing comes, and the buckets of 1500 departed browsers would stay. Returns how
        many were dropped.
        """
        return self.move_limit.sweep() + self.create_limit.sweep() + self.message_limit.sweep()

    async def cleanup(self, max_idle: float) -> int:
        """Delete games nobody has changed for ``max_idle`` seconds, and forget them here."""
        before = time.time() - max_idle
        self.forget_full_limits()
        deleted = await self.store.delete_idle(before)
        for live in list(self._live.values()):
            if live.record.updated < before:
                self._drop(live)
        if deleted:
            log.info("cleaned up %d idle games", deleted)
        return deleted

    async def _change(self, live: LiveGame, change: Callable[[GameRecord], GameRecord]) -> None:
        # One change at a time per game in this process; the store's compare-and-set settles
        # races with other processes.
        async with live.lock:
            record = change(live.record)
            if not live.stored:
                await self._store_draft(live, record)
            elif not await self.store.save(record):
                fresh = await self.store.load(live.id)
                if fresh is None:
                    raise GameNotFoundError
                live.apply(fresh)
                self._changed(live)
                raise ConflictError
            live.apply(record)
        self._changed(live)

    async def _store_draft(self, live: LiveGame, record: GameRecord) -> None:
        # The first change of a draft starts the game: it counts against the new-game limit, and
        # the changed record is the first one stored (the store's versions start from it).
        identity = record.red if record.red != COMPUTER else record.yellow
        self.create_limit.check(identity or "")
        await self.store.create(record)
        log.info("game %s: created (%s) by its first change", record.id, record.mode)
        live.stored = True
        self._live[live.id] = live
        self._keys[record.join_key] = self._keys[record.watch_key] = live.id
        self._spawn(self.store.follow(live.id))
