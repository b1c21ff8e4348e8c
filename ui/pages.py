"""The pages: home, the hot-seat game, and online games by join and watch links."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import app, ui

from engine.connect4 import Player
from games.errors import GameNotFoundError
from games.hub import GameEvent, GameHub, LiveGame
from games.model import Mode, Role
from ui.game_view import GameView
from ui.theme import frame

__all__ = ["browser_id", "register"]


def browser_id() -> str:
    """This browser's identity: NiceGUI's id in the signed browser storage (STORAGE_SECRET signs it)."""
    return str(app.storage.browser["id"])


def not_found() -> None:
    """The page for an unknown, malformed or cleaned-up key: 404, a sentence and the way home."""
    ui.context.client.status_code = 404
    with frame("Game not found"):
        ui.label("Game not found.").classes("text-2xl font-bold").mark("not-found")
        ui.label("The link is wrong, or the game ended and was cleaned up.")
        ui.link("Back to the home page", "/").props('aria-label="Back to the home page"')


def register(hub: GameHub) -> None:
    """Add the pages to the app (called once per app, so tests can build a fresh one)."""

    @ui.page("/")
    def home() -> None:
        with frame("Connect Four"):
            ui.label("Connect Four").classes("text-3xl font-bold")
            ui.label("Drop discs, get four in a row: across, down or diagonally.")
            with ui.column().classes("items-stretch gap-3 w-full max-w-xs"):
                ui.button("Play on this device", on_click=lambda: ui.navigate.to("/local")).props(
                    'size=lg aria-label="Play on this device"'
                )
                ui.button("Invite a friend", on_click=invite).props('size=lg aria-label="Invite a friend"')

    async def invite() -> None:
        live = await hub.create(Mode.ONLINE, browser_id())
        ui.navigate.to(f"/join/{live.record.join_key}")

    @ui.page("/local")
    async def new_local() -> RedirectResponse:
        live = await hub.create(Mode.LOCAL, browser_id())
        return RedirectResponse(f"/local/{live.record.join_key}", status_code=303)

    @ui.page("/local/{key}")
    async def local(key: str) -> None:
        try:
            live = await hub.find(key)
        except GameNotFoundError:
            not_found()
            return
        identity = browser_id()
        role = live.record.role_of(identity) if key == live.record.join_key else Role.SPECTATOR
        with frame("Play on this device"):
            view = GameView(hub, live, role, identity)
            if role is Role.BOTH:
                with ui.row().classes("gap-2"):
                    ui.button(
                        "New game",
                        icon="restart_alt",
                        on_click=lambda: view.attempt(lambda: hub.new_game(live, identity)),
                    ).props('outline aria-label="New game"')
                    ui.button(
                        "Undo", icon="undo", on_click=lambda: view.attempt(lambda: hub.undo(live, identity))
                    ).props('outline aria-label="Undo"')
                ui.label("Click a column or press 1 to 7. Red starts.").classes("text-sm opacity-70")

    @ui.page("/join/{key}")
    async def join(key: str, request: Request) -> None:
        try:
            live = await hub.find(key)
        except GameNotFoundError:
            not_found()
            return
        identity = browser_id()
        if key == live.record.join_key and live.record.mode is Mode.ONLINE:
            role = await hub.join(live, identity)
        else:
            role = Role.SPECTATOR  # a watch key never seats anyone, whatever page it is opened on
        online_page(hub, live, role, identity, request, full=key == live.record.join_key and role is Role.SPECTATOR)

    @ui.page("/watch/{key}")
    async def watch(key: str, request: Request) -> None:
        try:
            live = await hub.find(key)
        except GameNotFoundError:
            not_found()
            return
        online_page(hub, live, Role.SPECTATOR, browser_id(), request, full=False)


def online_page(hub: GameHub, live: LiveGame, role: Role, identity: str, request: Request, *, full: bool) -> None:
    """An online game as a player or a spectator sees it."""
    with frame("Online game"):
        if full:
            ui.label("Both seats are taken, so you are watching this game.").classes("text-base font-medium").mark(
                "seats-taken"
            )
        elif role is Role.SPECTATOR:
            ui.label("You are watching this game.").classes("text-base").mark("watching")
        players = ui.label().classes("text-sm").mark("players")
        view = GameView(hub, live, role, identity)
        base = str(request.base_url).rstrip("/")
        if role is not Role.SPECTATOR:
            invite_card(live, base)
            actions = ui.row().classes("gap-2 items-center")
        else:
            actions = None

        def show_players(_: GameEvent | None = None) -> None:
            parts = []
            for player in Player:
                seat = live.record.seat(player)
                if seat is None:
                    parts.append(f"{player.capitalize()}: waiting to join")
                    continue
                who = "you" if view.my_side() is player else "opponent" if role is not Role.SPECTATOR else "player"
                here = "connected" if live.is_connected(player) else "away"
                parts.append(f"{player.capitalize()}: {who} ({here})")
            players.set_text(" · ".join(parts))
            if actions is not None:
                show_actions(view, live, actions)

        view.on_change(show_players)
        show_players()
        ui.context.client.on_connect(lambda: show_players())


def invite_card(live: LiveGame, base: str) -> None:
    """The join and watch links, each a real link with a copy button, and who to send which."""
    join_url = f"{base}/join/{live.record.join_key}"
    watch_url = f"{base}/watch/{live.record.watch_key}"
    with ui.card().classes("w-full max-w-md gap-1").mark("invite"):
        ui.label("Send the join link to the friend you want to play: the first to open it plays yellow.").classes(
            "text-sm"
        )
        link_row(join_url, "join link")
        ui.label("Send the watch link to anyone who should only watch.").classes("text-sm mt-2")
        link_row(watch_url, "watch link")


def link_row(url: str, name: str) -> None:
    with ui.row().classes("items-center no-wrap w-full gap-1"):
        ui.link(url, url, new_tab=True).classes("text-xs break-all grow").props(
            f'aria-label="{name.capitalize()}"'
        ).mark(name.replace(" ", "-"))

        def copy() -> None:
            ui.clipboard.write(url)
            ui.notify(f"Copied the {name}.")

        ui.button(icon="content_copy", on_click=copy).props(f'flat round dense aria-label="Copy {name}"')


def show_actions(view: GameView, live: LiveGame, actions: ui.row) -> None:
    """Resign while the game goes on; Rematch once it is over."""
    actions.clear()
    hub, identity = view.hub, view.identity
    with actions:
        if not live.record.started:
            return
        if not live.is_over:

            async def resign() -> None:
                dialog.close()
                await view.attempt(lambda: hub.resign(live, identity))

            with ui.dialog() as dialog, ui.card():
                ui.label("Resign this game? Your opponent wins.")
                with ui.row():
                    ui.button("Resign", on_click=resign).props('color=negative aria-label="Confirm resign"').mark(
                        "confirm-resign"
                    )
                    ui.button("Cancel", on_click=dialog.close).props('flat aria-label="Cancel"')

            ui.button("Resign", icon="flag", on_click=dialog.open).props('outline aria-label="Resign"').mark("resign")
            return
        mine = view.my_side()
        asked = live.record.rematch
        if mine in asked:
            ui.label("Waiting for your opponent to accept the rematch.").mark("rematch-waiting")
            return
        label = "Accept rematch" if asked else "Rematch"
        if asked:
            ui.label("Your opponent asks for a rematch (colours swap).").mark("rematch-offered")

        async def rematch() -> None:
            await view.attempt(lambda: hub.rematch(live, identity))

        ui.button(label, icon="replay", on_click=rematch).props(f'color=primary aria-label="{label}"').mark("rematch")
