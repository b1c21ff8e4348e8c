"""The home page's "My games": the games this browser sits in that go on, and the last few that ended.

Read from the store by the browser's identity (its seats), so a player whose page was closed, or
whose instance restarted, finds the game again; each entry links to the address that gives this
browser its own seat back, and a finished one to its replay and review as well.
"""

from __future__ import annotations

from nicegui import ui

from engine.connect4 import Player
from games.errors import GameError
from games.hub import GameHub
from games.model import GameRecord, Mode, Role
from ui.labels import named
from ui.names import list_name

__all__ = ["FINISHED_SHOWN", "describe", "game_path", "show_my_games"]

FINISHED_SHOWN = 5
"""How many finished games the list shows, the most recent first."""


def game_path(record: GameRecord) -> str:
    """The address that seats this game's players again (the join key; a watch key seats nobody)."""
    page = {Mode.ONLINE: "join", Mode.COMPUTER: "computer", Mode.LOCAL: "local"}[record.mode]
    return f"/{page}/{record.join_key}"


def describe(record: GameRecord, identity: str) -> str:
    """One line for the list, as ``identity`` reads it: "Online against Ben · Your turn"."""
    role = record.role_of(identity)
    mine = role.players[0] if role in (Role.RED, Role.YELLOW) else None
    if record.mode is Mode.LOCAL:
        game, opponent = "On this device", ""
    elif record.mode is Mode.COMPUTER:
        level = record.level.name.capitalize() if record.level else "Perfect"
        game, opponent = f"Against the computer ({level})", "The computer"  # "The computer's turn"
    elif mine is not None and record.seat(mine.other) is not None:
        opponent = list_name(record, mine.other)
        game = f"Online against {opponent}"
    else:
        game, opponent = "Online game", ""
    return f"{game} · {_state(record, mine, opponent)}"


def _state(record: GameRecord, mine: Player | None, opponent: str) -> str:
    board = record.board()
    outcome = record.outcome(board)
    if outcome is None:
        if not record.started:
            return "Waiting for an opponent to join"
        if mine is None:
            return f"{board.turn.capitalize()} to move"
        return "Your turn" if board.turn is mine else f"{opponent}'s turn"
    if outcome.winner is None:
        return "Draw"
    if mine is None:
        return f"{outcome.winner.capitalize()} won"
    if record.resigned is not None:
        return "You resigned" if record.resigned is mine else f"{opponent} resigned"
    return "You won" if outcome.winner is mine else "You lost"


async def show_my_games(hub: GameHub, identity: str) -> None:
    """Read this browser's games once, as the home page opens, and list them (nothing when it has none)."""
    try:
        records = await hub.games_of(identity)
    except GameError as exc:
        ui.label(f"Your games cannot be listed right now. {exc}").classes("text-sm").mark("my-games-unavailable")
        return
    going = [r for r in records if r.outcome() is None]
    ended = [r for r in records if r.outcome() is not None][:FINISHED_SHOWN]
    if not going and not ended:
        return
    with ui.column().classes("w-full max-w-md gap-1").mark("my-games"):
        ui.label("My games").classes("text-lg font-bold").props("role=heading aria-level=2")
        for title, shown, marker in (("Going on", going, "my-game"), ("Finished", ended, "my-game-ended")):
            if shown:
                ui.label(title).classes("text-sm font-medium mt-2")
            for record in shown:
                # A link's text is its accessible name, and text (Vue escapes it): a name never becomes markup.
                if record.outcome() is None or record.replay_key is None:
                    ui.link(describe(record, identity), game_path(record)).classes("c4-link").mark(marker)
                    continue
                with ui.row().classes("items-center gap-3 no-wrap"):  # a finished game: its board, and its replay
                    ui.link(describe(record, identity), game_path(record)).classes("c4-link").mark(marker)
                    named(ui.link("Replay", f"/replay/{record.replay_key}?review=1"), "Replay and review").classes(
                        "c4-link text-sm"
                    ).mark("my-game-replay")
