"""A game on a page: the board, the status line and the notifications, kept in step with a session."""

from __future__ import annotations

from collections.abc import Callable

from nicegui import ui

from engine.connect4 import Connect4, IllegalMoveError
from games.session import GameEvent, GameSession, MovePlayed
from ui.board import BoardView

__all__ = ["GameView", "hot_seat_status"]


def hot_seat_status(board: Connect4) -> str:
    """The status line when both players share the screen."""
    if board.outcome:
        return board.outcome.result()
    return f"{board.turn.capitalize()}'s turn"


class GameView:
    """Shows one session in this browser and sends this browser's moves to it.

    It listens to the session for as long as the page lives, so moves made elsewhere
    (another browser, the computer) show up here just like local ones.
    """

    def __init__(
        self,
        session: GameSession,
        *,
        status: Callable[[Connect4], str] = hot_seat_status,
        on_column: Callable[[int], None] | None = None,
    ) -> None:
        self.session = session
        self._status_text = status
        self.status = ui.label(status(session.board)).classes("c4-status").props('aria-live="polite"').mark("status")
        self.board = BoardView(session.board, on_column or self.play)
        unsubscribe = session.subscribe(self._on_event)
        ui.context.client.on_delete(unsubscribe)

    def play(self, column: int) -> None:
        """Play for the side to move, or explain why not."""
        self.attempt(lambda: self.session.play(column))

    def attempt(self, action: Callable[[], object]) -> None:
        """Run a player's action; a refusal becomes a notification in the rules' own words."""
        try:
            action()
        except IllegalMoveError as exc:
            ui.notify(str(exc), type="warning")
        except ValueError as exc:  # e.g. nothing to undo
            ui.notify(str(exc), type="info")

    def refresh_status(self) -> None:
        """Recompute the status line (for changes that are not moves, such as a seat taken)."""
        self.status.set_text(self._status_text(self.session.board))

    def _on_event(self, event: GameEvent) -> None:
        board = self.session.board
        self.board.show_event(event, board)
        self.refresh_status()
        if isinstance(event, MovePlayed) and event.outcome:
            with self.board.root:
                ui.notify(event.outcome.result(), type="positive", position="center")
