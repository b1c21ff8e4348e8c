"""A live game: the engine's board plus the listeners that show it, independent of any page."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from engine.connect4 import Connect4, Move, Outcome

__all__ = ["GameEvent", "GameSession", "Listener", "MovePlayed", "MoveUndone", "NewGame"]

log = logging.getLogger(__name__)


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
    """The board was cleared for a new game."""


GameEvent = MovePlayed | MoveUndone | NewGame
Listener = Callable[[GameEvent], None]


class GameSession:
    """One game and everyone following it: each change is announced to every listener.

    A board subscribes when a page shows the game and unsubscribes when the page goes away,
    so one game can be shown in any number of browsers at once.
    """

    def __init__(self, game_id: str, board: Connect4 | None = None) -> None:
        self.id = game_id
        self.board = board if board is not None else Connect4()
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` on every change from now on; returns the function that stops it."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    @property
    def listener_count(self) -> int:
        """How many views follow this game."""
        return len(self._listeners)

    def play(self, column: int) -> Move:
        """Drop a disc for the side to move (hot seat); raises the engine's errors unchanged."""
        player = self.board.turn
        move = Move(player, column, self.board.play(player, column))
        log.debug("game %s: %s plays column %d (row %d)", self.id, move.player, move.column + 1, move.row + 1)
        self._announce(MovePlayed(move, self.board.outcome))
        return move

    def undo(self) -> Move:
        """Take back the last move."""
        move = self.board.undo()
        log.debug("game %s: undo %s", self.id, move)
        self._announce(MoveUndone(move))
        return move

    def new_game(self) -> None:
        """Start again from the empty board."""
        self.board = Connect4()
        self._announce(NewGame())

    def _announce(self, event: GameEvent) -> None:
        for listener in list(self._listeners):
            # One broken view must not keep the move from the others.
            try:
                listener(event)
            except Exception:
                log.exception("game %s: a listener failed on %s", self.id, event)
