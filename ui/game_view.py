"""A game on a page: board, status line, players and notifications, kept in step with a live game."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Literal

from nicegui import ui

from engine.connect4 import Connect4, Connect4Error, Outcome, Player, Termination
from games.errors import GameError, StoreUnavailableError
from games.hub import GameChanged, GameEvent, GameHub, LiveGame, NewGame
from games.model import Mode, Role
from ui.board import BoardView
from ui.labels import named
from ui.layout import ABOVE_BOARD, SidePanel

__all__ = ["REPEAT_QUIET_SECONDS", "GameView", "rematch_note", "result_text", "status_text"]

log = logging.getLogger(__name__)

REPEAT_QUIET_SECONDS = 2.0
"""A refusal already on screen (a toast stays 5 s) is not shown again for this long after it was."""

clock = time.monotonic
"""The clock of :data:`REPEAT_QUIET_SECONDS` (tests turn it by hand)."""


def result_text(outcome: Outcome, role: Role, *, left: bool = False) -> str:
    """The result as ``role`` reads it: in person for a player, the tutorial's words for everyone else.

    ``left``: the loser did not resign but left, and the winner claimed the win.
    """
    resigned = outcome.termination is Termination.RESIGNATION and outcome.winner is not None
    timed_out = outcome.termination is Termination.TIME and outcome.winner is not None
    if role in (Role.RED, Role.YELLOW) and outcome.winner is not None:
        if outcome.winner in role.players:
            if timed_out:
                return "Your opponent ran out of time. You win!"
            if resigned:
                return "Your opponent left; you claimed the win." if left else "Your opponent resigned. You win!"
            return "You win!"
        if timed_out:
            return "Your time ran out. You lose."
        if resigned:
            return "You were away too long: your opponent claimed the win." if left else "You resigned."
        return "You lose."
    if (resigned or timed_out) and outcome.winner is not None:
        how = "ran out of time" if timed_out else "left" if left else "resigned"
        return f"{outcome.winner.other.capitalize()} {how}. {outcome.result()}"
    return outcome.result()


def status_text(live: LiveGame, role: Role) -> str:
    """The status line as ``role`` sees it: whose turn, from the viewer's side, or the result."""
    record, board = live.record, live.board
    outcome = live.outcome
    if outcome is not None:
        result = result_text(outcome, role, left=record.abandoned)
        offer = rematch_note(live, role)
        return f"{result} {offer}" if offer else result
    if not record.started:
        return "Waiting for an opponent to join"
    if live.thinking:
        return "The computer is thinking…"
    turn = board.turn
    if role in (Role.RED, Role.YELLOW):
        return "Your turn" if turn in role.players else f"Waiting for {turn}"
    return f"{turn.capitalize()}'s turn"


def rematch_note(live: LiveGame, role: Role) -> str:
    """Who asked for a rematch of a finished online game, as ``role`` reads it ('' if nobody did)."""
    asked = live.record.rematch
    if not asked:
        return ""
    if role in (Role.RED, Role.YELLOW):
        if role.players[0] in asked:
            return "Waiting for your opponent to accept the rematch."
        return "Your opponent asks for a rematch (colours swap)."
    return " and ".join(player.capitalize() for player in sorted(asked)) + " asked for a rematch."


class GameView:
    """Shows one live game in this browser as ``role`` and sends this browser's actions to the hub.

    It listens to the game for as long as the page lives, so changes made elsewhere (another
    browser, another server, the computer) show up here just like this browser's own.
    """

    def __init__(self, hub: GameHub, live: LiveGame, role: Role, identity: str, panel: SidePanel) -> None:
        self.hub = hub
        self.live = live
        self.role = role
        self.identity = identity
        self._on_change: list[Callable[[GameEvent], None]] = []
        self._last_refusal = ("", 0.0)
        self.past: Connect4 | None = None
        """An earlier position the board shows instead of the present (see :meth:`show_past`)."""
        # A page opened on a finished game shows the result in its status line; only a new end is announced.
        self._announced = live.is_over
        with panel:
            self.status = (
                ui.label(status_text(live, role))
                .classes(f"c4-status {ABOVE_BOARD}")
                .props("aria-live=polite")
                .mark("status")
            )
            # Only a game against the computer ever thinks: other pages do without the element.
            self.spinner: ui.spinner | None = None
            if live.record.mode is Mode.COMPUTER:
                self.spinner = (
                    named(ui.spinner("dots", size="lg"), "The computer is thinking")
                    .classes(ABOVE_BOARD)
                    .mark("thinking")
                )
                self.spinner.set_visibility(live.thinking)
        self.board = BoardView(live.board, self.play, keys=role is not Role.SPECTATOR, playable=self.may_move())
        panel.put_board_first(self.board.root)
        self._set_over()
        client = ui.context.client
        unsubscribe = live.subscribe(self._on_event)
        # self.role, not role: a rematch swaps this browser's colour.
        client.on_connect(lambda: hub.connect(live, self.role))
        client.on_disconnect(lambda: hub.disconnect(live, self.role))

        def gone() -> None:
            unsubscribe()
            hub.forget(live.id)
            self._let_go()

        client.on_delete(gone)

    def _let_go(self) -> None:
        # The page is gone. The view, its board and the page's callbacks refer to each other (the
        # board calls self.play, the callbacks read self): without these links the page is freed
        # when NiceGUI deletes it, instead of waiting for a full pass of the cyclic collector.
        self._on_change.clear()
        self.board.let_go()

    def on_change(self, callback: Callable[[GameEvent], None]) -> None:
        """Also call ``callback`` (after the board and status) on every change of the game."""
        self._on_change.append(callback)

    async def play(self, column: int) -> None:
        """Play ``column`` for this browser, or explain why not."""
        if self.role is Role.SPECTATOR:
            self._refuse("Spectators cannot play.", "info")
            return
        if self.past is not None:
            self._refuse("The board shows an earlier move: go back to the game to play.", "info")
            return
        await self.attempt(lambda: self.hub.play(self.live, self.identity, column))

    async def attempt(self, action: Callable[[], Awaitable[object]]) -> bool:
        """Run a player's action; a refusal becomes a notification in the rules' own words."""
        try:
            await action()
        except (Connect4Error, GameError) as exc:
            self._refuse(str(exc), "negative" if isinstance(exc, StoreUnavailableError) else "warning")
            return False
        return True

    def _refuse(self, message: str, kind: Literal["info", "warning", "negative"]) -> None:
        # A burst of clicks gets the same answer each time: one toast says it, a stack of them
        # would bury the board (and a script's flood would cost a message per click).
        now = clock()
        last, when = self._last_refusal
        if message == last and now - when < REPEAT_QUIET_SECONDS:
            return
        self._last_refusal = (message, now)
        ui.notify(message, type=kind)

    def may_move(self) -> bool:
        """Whether it is this browser's side's turn in a started game, with nobody thinking (the end aside)."""
        live = self.live
        return live.board.turn in self.role.players and live.record.started and not live.thinking and self.past is None

    def show_past(self, board: Connect4 | None) -> None:
        """Show ``board``, an earlier position of this game, while the game goes on; None shows the present again."""
        self.past = board
        self.board.show(board or self.live.board)
        self.refresh()

    def refresh(self) -> None:
        """Recompute what depends on more than the board (status line, who may move, end of game)."""
        self.status.set_text(status_text(self.live, self.role))
        if self.spinner is not None:
            self.spinner.set_visibility(self.live.thinking)
        self.board.set_playable(self.may_move(), self.past or self.live.board)
        self._set_over()

    def _set_over(self) -> None:
        # A resignation ends the game without a four: the board must stop taking discs all the same.
        if self.live.is_over:
            self.board.root.classes(add="c4-over")

    def _on_event(self, event: GameEvent) -> None:
        if isinstance(event, NewGame) and self.live.record.mode is Mode.ONLINE and self.role is not Role.SPECTATOR:
            # Colours swap in a rematch: this browser's role follows its seat.
            self.role = self.live.record.role_of(self.identity)
        self.board.playable = self.may_move()
        if not isinstance(event, GameChanged) and self.past is None:
            self.board.show_event(event, self.live.board)
        self.refresh()
        # A result is announced once per page, when the game ends; every later change (a reload, a
        # rematch request) shows it in the status line only. An undo or a new game reopens the game.
        over = self.live.is_over
        if over and not self._announced:
            self.announce_result()
        self._announced = over
        for callback in self._on_change:
            callback(event)

    def announce_result(self) -> None:
        """Say the result in a notification (the status line says it too, for as long as it holds)."""
        outcome = self.live.outcome
        # Green for a win, or for a result nobody here lost; a loss or a draw is news, not a success.
        lost = outcome is not None and self.role in (Role.RED, Role.YELLOW) and outcome.winner not in self.role.players
        won = outcome is not None and outcome.winner is not None and not lost
        with self.board.root:
            ui.notify(status_text(self.live, self.role), type="positive" if won else "info", position="top")

    def my_side(self) -> Player | None:
        """The colour this browser plays (None for spectators and the hot seat)."""
        players = self.role.players
        return players[0] if len(players) == 1 else None
