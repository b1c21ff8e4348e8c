"""The move list beside the board, and stepping through it: which moment of a game the board shows.

Every element costs memory in every open page, and a game has up to 42 moves: so the list is one
element whose HTML holds a native button per move, and one listener on it hears a click on any of
them. First / back / forward / last (and "Back to the game") are native buttons in one more element
whose HTML never changes, so a focused one keeps the focus; the arrow keys, Home and End do the same.
On a game page (:class:`GameMoves`) stepping shows an earlier position without touching the game,
which goes on underneath until "Back to the game".
"""

from __future__ import annotations

import asyncio
import html
from collections.abc import Callable, Sequence
from functools import lru_cache

from nicegui import background_tasks, ui
from nicegui.events import GenericEventArguments, KeyEventArguments

from engine.connect4 import Connect4, Player
from games.hub import GameEvent, GameHub, MovePlayed, MoveUndone, NewGame
from games.review import Grade
from ui.game_view import GameView
from ui.keyboard import SafeKeyboard
from ui.labels import named

__all__ = ["CSS", "GameMoves", "MoveSteps", "moves_html"]

# The colours of the grades: 4.5:1 at least on the page's background, light and dark.
CSS = """
:root { --c4-inaccuracy: #7a5900; --c4-mistake: #b33c00; }
.body--dark { --c4-inaccuracy: #ffd54f; --c4-mistake: #ffab91; }
.c4-steps { display: flex; align-items: center; justify-content: center; gap: 0.25rem; flex-wrap: wrap; }
@media (min-width: 1024px) { .c4-side .c4-steps { justify-content: flex-start; } }
.c4-step { display: inline-flex; align-items: center; justify-content: center; width: 2.5rem; height: 2.5rem;
  border: 0; border-radius: 50%; background: none; color: var(--c4-link); cursor: pointer; font-size: 1.5rem; }
.c4-step:hover { background: rgba(127, 127, 127, 0.18); }
/* At an end the steps that lead nowhere look it (and the server ignores them). */
.c4-at-start .c4-step-first, .c4-at-start .c4-step-back, .c4-at-end .c4-step-forward, .c4-at-end .c4-step-last {
  opacity: 0.45; cursor: default; background: none; }
.c4-present { display: none; align-items: center; gap: 0.25rem; margin-left: 0.5rem; padding: 0.4rem 0.9rem;
  border: 0; border-radius: 0.25rem; background: var(--c4-primary, #1565c0); color: #ffffff; font: inherit;
  font-weight: 600; font-size: 0.875rem; text-transform: uppercase; cursor: pointer; }
.c4-looking-back .c4-present { display: inline-flex; }
.c4-replay-link { flex-basis: 100%; font-size: 0.875rem; padding: 0.25rem 0.5rem; }
@media (max-width: 1023px) { .c4-replay-link { text-align: center; } }
.c4-moves { width: 100%; max-width: 24rem; box-sizing: border-box; display: grid;
  grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 2px 0.5rem;
  max-height: 15rem; overflow-y: auto; padding: 2px; counter-reset: c4-move; }
.c4-moves-empty { grid-column: 1 / -1; font-size: 0.875rem; opacity: 0.8; }
.c4-move { display: flex; align-items: center; gap: 0.35rem; width: 100%; padding: 2px 0.4rem; border: 0;
  border-radius: 0.35rem; background: none; color: inherit; font: inherit; font-size: 0.875rem; cursor: pointer;
  text-align: left; counter-increment: c4-move; }
.c4-move:hover { background: rgba(127, 127, 127, 0.18); }
.c4-move-current { background: rgba(127, 127, 127, 0.28); box-shadow: inset 0 0 0 2px var(--c4-link); }
/* Number and colour chip are drawn by CSS before the column: every move is sent again with each new one. */
.c4-move::before { content: counter(c4-move) "."; order: -2; min-width: 1.7rem; text-align: right;
  font-variant-numeric: tabular-nums; opacity: 0.85; }
.c4-move::after { content: ""; order: -1; flex: none; width: 1rem; height: 1rem; border-radius: 50%; }
.c4-move-red::after { background: var(--c4-red); }
.c4-move-yellow::after { background: var(--c4-yellow); }
.c4-grade { margin-left: auto; font-size: 0.75rem; font-weight: 700; white-space: nowrap; }
.c4-grade-best { color: var(--c4-win); }
.c4-grade-inaccuracy { color: var(--c4-inaccuracy); }
.c4-grade-mistake { color: var(--c4-mistake); }
.c4-grade-blunder { color: var(--c4-loss); }
/* The perfect move of the position shown: a pale disc of the side to move where it would land. */
.c4-ghost .c4-next::after { opacity: 0.5; outline: 3px dashed #ffffff; outline-offset: -3px; }
.c4-turn-red .c4-ghost .c4-next::after { background: var(--c4-red); }
.c4-turn-yellow .c4-ghost .c4-next::after { background: var(--c4-yellow); }
"""

_PLAYERS = (Player.RED, Player.YELLOW)
_KEYS = {"ArrowLeft": -1, "ArrowRight": 1}

# A click anywhere in the list names the move whose button it hit (as text: the socket guard takes strings).
_CLICKED_MOVE = "(e) => { const b = e.target.closest('[data-move]'); if (b) emit(b.dataset.move); }"


_STEPS = (
    ("first", "first_page", "First move"),
    ("back", "chevron_left", "Previous move"),
    ("forward", "chevron_right", "Next move"),
    ("last", "last_page", "Last move"),
)
_STEP_NAMES = {name for name, _, _ in _STEPS} | {"present"}
_CLICKED_STEP = "(e) => { const b = e.target.closest('[data-step]'); if (b) emit(b.dataset.step); }"


def steps_html(*, present: bool, link: str | None = None) -> str:
    """The step buttons (native ones, like the board's columns), "Back to the game" on a game page, and ``link``."""
    buttons = [
        f'<button type="button" class="c4-step c4-step-{name}" data-step="{name}" aria-label="{label}"'
        f' title="{label}"><i class="q-icon notranslate material-icons" aria-hidden="true">{icon}</i></button>'
        for name, icon, label in _STEPS
    ]
    if present:
        buttons.append(
            '<button type="button" class="c4-present" data-step="present" aria-label="Back to the game">'
            '<i class="q-icon notranslate material-icons" aria-hidden="true">play_arrow</i>Back to the game</button>'
        )
    if link is not None:
        buttons.append(
            f'<a class="c4-replay-link" href="{html.escape(link, quote=True)}">Replay and review this game</a>'
        )
    return "".join(buttons)


def move_words(number: int, column: int, grade: Grade | None = None) -> str:
    """What a screen reader says for a move (number from 1, column from 0)."""
    player = _PLAYERS[(number - 1) % 2]
    words = f"Move {number}: {player}, column {column + 1}"
    return f"{words}, {grade.word.lower()}" if grade is not None else words


@lru_cache(maxsize=1024)
def moves_html(moves: str, current: int, grades: tuple[Grade, ...] = ()) -> str:
    """The list's buttons: number, colour chip and column of each move, its grade if known, ``current`` marked."""
    if not moves:
        return '<span class="c4-moves-empty">No moves yet.</span>'
    items = []
    for index, char in enumerate(moves):
        number, column = index + 1, int(char) - 1
        player = _PLAYERS[index % 2]
        grade = grades[index] if index < len(grades) else None
        classes = f"c4-move c4-move-{player} c4-move-current" if number == current else f"c4-move c4-move-{player}"
        mark = ""
        if grade is not None:
            mark = f'<span class="c4-grade c4-grade-{grade.value}" aria-hidden="true">'
            mark += f"{html.escape(grade.mark)} {grade.word}</span>"
        current_attr = ' aria-current="step"' if number == current else ""
        # The number and the chip are the stylesheet's (CSS counter, ::after): a third of the bytes.
        items.append(
            f'<button type="button" class="{classes}" data-move="{number}"{current_attr}'
            f' aria-label="{move_words(number, column, grade)}">{column + 1}{mark}</button>'
        )
    return "".join(items)


def _ignore(_: int) -> None:
    pass


class MoveSteps:
    """The numbered moves and the controls that pick a moment (``on_show(n)``: show the position after n moves).

    With ``present``, a "Back to the game" button stands beside the steps whenever an earlier move is shown.
    """

    def __init__(
        self,
        moves: str,
        on_show: Callable[[int], None],
        *,
        index: int | None = None,
        present: bool = False,
        keyboard: bool = True,
    ) -> None:
        self.moves = moves
        self.index = len(moves) if index is None else index
        self.grades: tuple[Grade, ...] = ()
        self._on_show = on_show
        self._present = present
        self._link: str | None = None
        # The steps' HTML changes only when the replay link comes, so a focused button keeps the focus;
        # what they allow at the moment is the element's class.
        self.steps = (
            ui.element("div").classes("c4-steps").mark("steps").on("click", self._stepped, js_handler=_CLICKED_STEP)
        )
        self.steps.props["innerHTML"] = steps_html(present=present)
        self.list = (
            named(ui.element("div"), "Moves")
            .classes("c4-moves")
            .props("role=group")
            .mark("moves")
            .on("click", self._clicked, js_handler=_CLICKED_MOVE)
        )
        if keyboard:  # without one of its own, the page's keyboard passes the keys to on_key
            SafeKeyboard(on_key=self.on_key, ignore=["input", "select", "textarea"])
        self._render()
        ui.context.client.on_delete(self._let_go)

    def _let_go(self) -> None:
        # on_show refers back to the page's objects, which hold this: without the link the page is
        # freed when NiceGUI deletes it, not by a pass of the cyclic collector.
        self._on_show = _ignore

    def set_link(self, url: str | None) -> None:
        """Show a link beside the steps (the replay of a finished game), or none."""
        if url != self._link:
            self._link = url
            self.steps.props["innerHTML"] = steps_html(present=self._present, link=url)

    def go(self, index: int) -> None:
        """Show the position after ``index`` moves (kept within the game)."""
        index = max(0, min(len(self.moves), index))
        if index == self.index:
            return
        self.index = index
        self._render()
        self._on_show(index)

    def step(self, name: str) -> None:
        """What the step buttons do: "first", "back", "forward", "last" and "present"."""
        target = {"first": 0, "back": self.index - 1, "forward": self.index + 1}.get(name, len(self.moves))
        if name in _STEP_NAMES:
            self.go(target)

    def set_moves(self, moves: str, *, follow: bool) -> None:
        """The game has these moves now; with ``follow`` the list marks the newest one."""
        self.moves = moves
        self.index = len(moves) if follow else min(self.index, len(moves))
        self._render()

    def set_grades(self, grades: Sequence[Grade]) -> None:
        """Show the grade of each move reviewed so far."""
        self.grades = tuple(grades)
        self._render()

    def _render(self) -> None:
        # Only the list changes with a move (the box's classes at the start and the end): one element per page.
        self.list.props["innerHTML"] = moves_html(self.moves, self.index, self.grades)
        count = len(self.moves)
        wanted = ["c4-steps"]
        if self.index == 0:
            wanted.append("c4-at-start")
        if self.index >= count:
            wanted.append("c4-at-end")
        if self._present and self.index < count:
            wanted.append("c4-looking-back")
        if self.steps.classes != wanted:
            self.steps.classes[:] = wanted

    def _stepped(self, event: GenericEventArguments) -> None:
        if isinstance(event.args, str):
            self.step(event.args)

    def _clicked(self, event: GenericEventArguments) -> None:
        # The browser sends the text of a data-move attribute; anything else a page script may send is ignored.
        if isinstance(event.args, str) and event.args.isdigit() and len(event.args) <= 2:
            self.go(int(event.args))

    def on_key(self, event: KeyEventArguments) -> None:
        """Step with the arrow keys, Home and End."""
        if not event.action.keydown:
            return
        name = event.key.name
        if name in _KEYS:
            self.go(self.index + _KEYS[name])
        elif name == "Home":
            self.go(0)
        elif name == "End":
            self.go(len(self.moves))


class GameMoves:
    """The move list of a game page: an earlier moment on the board while the game goes on, and the replay link."""

    def __init__(self, view: GameView, hub: GameHub) -> None:
        self.view, self.hub = view, hub
        board = view.board
        self.steps = MoveSteps(view.live.board.moves_str(), self._show, present=True, keyboard=not board.has_keys)
        if board.has_keys:
            board.other_keys = self.steps.on_key
        self._link()
        view.on_change(self._on_event)

    def _show(self, index: int) -> None:
        moves = self.view.live.board.moves_str()
        if index >= len(moves):
            self.steps.set_moves(moves, follow=True)
            self.view.show_past(None)
            return
        self.view.show_past(Connect4.from_moves(moves[:index]))

    def _on_event(self, event: GameEvent) -> None:
        live = self.view.live
        if isinstance(event, NewGame | MoveUndone) and self.view.past is not None:
            self._show(len(live.board.moves_str()))  # the moment looked at is gone
        elif isinstance(event, MovePlayed | MoveUndone | NewGame):
            self.steps.set_moves(live.board.moves_str(), follow=self.view.past is None)
        self._link()

    def _link(self) -> None:
        live = self.view.live
        if not (live.is_over and live.board.moves_str()):
            self.steps.set_link(None)
            return
        key = live.record.replay_key
        if key is not None:
            self.steps.set_link(f"/replay/{key}?review=1")
        else:  # a game stored before replays gets its key now
            background_tasks.create(self._give_key(), name="replay key")

    async def _give_key(self) -> None:
        try:
            await self.hub.replay_key(self.view.live)
        except (ValueError, asyncio.CancelledError):
            return
        self._link()
