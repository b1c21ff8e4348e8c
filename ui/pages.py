"""The pages: home, the hot-seat game, and online games by join and watch links."""

from __future__ import annotations

from fastapi import Request
from nicegui import app, ui

from engine.connect4 import COLUMNS, ROWS, InvalidPositionError, Player
from engine.levels import Level
from games.computer import Analyst, ComputerPlayer
from games.errors import GameError, GameNotFoundError, StoreUnavailableError
from games.hub import GameEvent, GameHub, LiveGame, MovePlayed
from games.lobby import Lobby
from games.model import Mode, Role
from ui import replay
from ui.analysis import AnalysisPanel
from ui.claim import ClaimButton
from ui.clocks import CSS as CLOCKS_CSS
from ui.clocks import GameClocks, clock_choice
from ui.game_view import GameView
from ui.invite import InviteCard, is_creator
from ui.labels import named
from ui.layout import ABOVE_BOARD, SidePanel
from ui.lobby import PublicGames, QuickMatch, open_choice
from ui.messages import CSS as MESSAGES_CSS
from ui.messages import QuickMessages
from ui.moves import GameMoves
from ui.my_games import show_my_games
from ui.names import NameForm, claim_name, current_name, score_text, seat_name
from ui.store_status import store_status_banner
from ui.theme import LANGUAGE, frame
from ui.turn_alerts import TurnAlerts

__all__ = ["LEVELS", "browser_id", "register"]

MAX_MOVES = ROWS * COLUMNS
"""The longest position a link can hold: one move per cell."""

LEVELS: dict[Level, tuple[str, str]] = {
    Level.BEGINNER: ("Beginner", "Plays at random, and takes or blocks a win only half the time."),
    Level.CASUAL: ("Casual", "Always takes and blocks wins, looks four moves ahead, sometimes slips."),
    Level.STRONG: ("Strong", "Knows the openings and the endgame exactly; searches in between."),
    Level.PERFECT: ("Perfect", "Always plays a best move: never loses a won or drawn position."),
}
"""Each level's name and what it does, as the player reads it."""


def browser_id() -> str:
    """This browser's identity: NiceGUI's id in the signed browser storage (STORAGE_SECRET signs it)."""
    return str(app.storage.browser["id"])


def not_found() -> None:
    """The page for an unknown, malformed or cleaned-up key: 404, a sentence and the way home."""
    ui.context.client.status_code = 404
    with frame("Game not found"):
        ui.label("Game not found.").classes("text-2xl font-bold").mark("not-found")
        ui.label("The link is wrong, or the game ended and was cleaned up.")
        named(ui.link("Back to the home page", "/"), "Back to the home page")


def unavailable(exc: StoreUnavailableError) -> None:
    """The page for a game that cannot be read because the store is down: 503 and what to do."""
    ui.context.client.status_code = 503
    with frame("Connection lost"):
        ui.label(str(exc)).classes("text-xl").mark("store-unavailable")
        ui.label("Reload this page in a moment.")


def register(hub: GameHub, analyst: Analyst, computer: ComputerPlayer, lobby: Lobby | None = None) -> None:
    """Add the pages to the app (called once per app, so tests can build a fresh one)."""
    replay.register(hub, analyst)
    ui.add_css(CLOCKS_CSS + MESSAGES_CSS, shared=True)

    async def find(key: str) -> LiveGame | None:
        """The game for a link's key, or None after showing why there is none."""
        try:
            return await hub.find(key)
        except GameNotFoundError:
            not_found()
        except StoreUnavailableError as exc:
            unavailable(exc)
        return None

    @ui.page("/", language=LANGUAGE)
    async def home() -> None:
        with frame("Connect Four"):
            ui.label("Connect Four").classes("text-3xl font-bold")
            ui.label("Drop discs, get four in a row: across, down or diagonally.")
            NameForm(browser_id())
            with ui.column().classes("items-stretch gap-3 w-full max-w-xs"):
                named(
                    ui.button("Play on this device", on_click=lambda: ui.navigate.to("/local")), "Play on this device"
                ).props("size=lg")
                if lobby is not None:
                    QuickMatch(lobby)
                clock = clock_choice()
                invite_button = named(ui.button("Invite a friend"), "Invite a friend").props("size=lg")
                public = open_choice() if lobby is not None else None
                invite_button.on_click(lambda: invite(clock.value, public))
                named(ui.button("Play the computer", on_click=computer_dialog), "Play the computer").props("size=lg")
            await show_my_games(hub, browser_id())
            if lobby is not None:
                PublicGames(lobby)

    async def invite(clock: object, public: ui.checkbox | None = None) -> None:
        seconds = clock if isinstance(clock, int) else 0
        try:
            if lobby is not None and public is not None and public.value:
                live = await lobby.create_open(browser_id(), clock=seconds, name=current_name())
            else:
                live = await hub.create(Mode.ONLINE, browser_id(), clock=seconds, name=current_name())
        except GameError as exc:
            ui.notify(str(exc), type="warning")
            return
        ui.navigate.to(f"/join/{live.record.join_key}")

    def computer_dialog() -> None:
        with ui.dialog(value=True) as dialog, ui.card().classes("gap-3"):
            ui.label("Play the computer").classes("text-lg font-bold")
            # A radio group: a screen reader says which colour is chosen (a toggle's buttons do not).
            side = named(ui.radio({"red": "Red (moves first)", "yellow": "Yellow"}, value="red"), "Your colour").props(
                "inline"
            )
            level = (
                ui.select({lv.name: title for lv, (title, _) in LEVELS.items()}, value=Level.CASUAL.name, label="Level")
                .props("aria-label=Level")
                .classes("w-64")
            )
            about = ui.label(LEVELS[Level.CASUAL][1]).classes("text-sm opacity-80 max-w-xs").mark("level-about")
            level.on_value_change(lambda e: about.set_text(LEVELS[Level[e.value]][1]))

            async def start() -> None:
                try:
                    chosen = Level[level.value]
                    live = await hub.create(
                        Mode.COMPUTER, browser_id(), level=chosen, side=Player(side.value), name=current_name()
                    )
                except GameError as exc:
                    ui.notify(str(exc), type="warning")
                    return
                dialog.close()
                ui.navigate.to(f"/computer/{live.record.join_key}")

            ui.button("Start", on_click=start).props("aria-label=Start")

    @ui.page("/computer/{key}", language=LANGUAGE)
    async def against_computer(key: str, queue: str | None = None) -> None:
        live = await find(key)
        if live is None:
            return
        identity = browser_id()
        role = live.record.role_of(identity) if key == live.record.join_key else Role.SPECTATOR
        if role is not Role.SPECTATOR:
            await claim_name(hub, live, identity)
        level = live.record.level or Level.PERFECT
        with frame("Play the computer"):
            store_status_banner(hub)
            panel = SidePanel()
            title, about = LEVELS[level]
            with panel:
                ui.label(f"Against the computer · {title}: {about}").classes(f"text-sm {ABOVE_BOARD}").mark("level")
                names = " · ".join(f"{p.capitalize()}: {seat_name(live.record, p)}" for p in Player)
                ui.label(names).classes(f"text-sm {ABOVE_BOARD}").mark("players")
            view = GameView(hub, live, role, identity, panel)
            with panel:
                TurnAlerts(view)
            if role is not Role.SPECTATOR:
                with panel:
                    if lobby is not None and queue is not None and queue.isdecimal() and len(queue) < 9:
                        QuickMatch(lobby, waited=int(queue))  # playing the computer meanwhile: still in the queue
                    local_controls(view, hub, live, identity, analyst)
            with panel:
                GameMoves(view, hub)
        computer.consider(live)

    @ui.page("/local", language=LANGUAGE)
    def new_local() -> None:
        # A page view stores nothing: the board is a draft until its first move (games/hub.py).
        local_page(hub, hub.draft(Mode.LOCAL, browser_id()), Role.BOTH, browser_id(), analyst)

    @ui.page("/analyze", language=LANGUAGE)
    def analyze(pos: str = "") -> None:
        # Opening a position is looking at it, not starting a game: no store, no new-game limit.
        try:
            if len(pos) > MAX_MOVES:
                raise InvalidPositionError(
                    f"A position has at most {MAX_MOVES} moves, one per cell; this link has {len(pos)} characters."
                )
            live = hub.draft(Mode.LOCAL, browser_id(), moves=pos)
        except InvalidPositionError as exc:
            with frame("Analysis"):
                ui.label("That position cannot be analysed.").classes("text-xl font-bold").mark("bad-position")
                ui.label(str(exc))
                named(ui.link("Back to the home page", "/"), "Back to the home page")
            ui.context.client.status_code = 400
            return
        local_page(hub, live, Role.BOTH, browser_id(), analyst, analysis=True)

    @ui.page("/local/{key}", language=LANGUAGE)
    async def local(key: str, analysis: bool = False) -> None:
        live = await find(key)
        if live is None:
            return
        identity = browser_id()
        role = live.record.role_of(identity) if key == live.record.join_key else Role.SPECTATOR
        local_page(hub, live, role, identity, analyst, analysis=analysis)

    @ui.page("/join/{key}", language=LANGUAGE)
    async def join(key: str, request: Request) -> None:
        live = await find(key)
        if live is None:
            return
        identity = browser_id()
        if key == live.record.join_key and live.record.mode is Mode.ONLINE:
            role = await hub.join(live, identity, name=current_name())
        else:
            role = Role.SPECTATOR  # a watch key never seats anyone, whatever page it is opened on
        online_page(hub, live, role, identity, request, full=key == live.record.join_key and role is Role.SPECTATOR)

    @ui.page("/watch/{key}", language=LANGUAGE)
    async def watch(key: str, request: Request) -> None:
        live = await find(key)
        if live is None:
            return
        online_page(hub, live, Role.SPECTATOR, browser_id(), request, full=False)


def local_page(
    hub: GameHub, live: LiveGame, role: Role, identity: str, analyst: Analyst, *, analysis: bool = False
) -> None:
    """A game on this device; a draft's address becomes its own link once its first move stores it."""
    with frame("Play on this device") as readdress:
        store_status_banner(hub)
        panel = SidePanel()
        view = GameView(hub, live, role, identity, panel)
        if role is Role.BOTH:
            with panel:
                local_controls(view, hub, live, identity, analyst, analysis=analysis)
                how = ui.label("Click a column or press 1 to 7. Red starts.").classes("text-sm opacity-80")
                GameMoves(view, hub)
            # At the end the status line says the result, and nothing on the page says to play on.
            how.set_visibility(not live.is_over)

            def say_how(_: GameEvent) -> None:
                how.set_visibility(not live.is_over)

            view.on_change(say_how)
    if not live.stored:
        link = f"/local/{live.record.join_key}" + ("?analysis=1" if analysis else "")

        linked = False

        def relink(_: GameEvent) -> None:
            nonlocal linked
            if live.stored and not linked:
                linked = True  # a reload, a bookmark or the back button now find the game by its own link
                with view.board.root:
                    ui.navigate.history.replace(link)
                readdress(link)

        view.on_change(relink)


def local_controls(
    view: GameView, hub: GameHub, live: LiveGame, identity: str, analyst: Analyst, *, analysis: bool = False
) -> None:
    """New game, Undo, Hint, Analysis, and a link to this position: for games on one device."""
    with ui.row().classes("c4-controls gap-2 justify-center"):
        named(
            ui.button(
                "New game", icon="restart_alt", on_click=lambda: view.attempt(lambda: hub.new_game(live, identity))
            ),
            "New game",
        ).props("outline")
        ui.button("Undo", icon="undo", on_click=lambda: view.attempt(lambda: hub.undo(live, identity))).props(
            "outline aria-label=Undo"
        )
    AnalysisPanel(view, analyst, show=analysis)
    share = (
        named(ui.link("Link to this position", f"/analyze?pos={live.board.moves_str()}"), "Link to this position")
        .classes("text-sm")
        .mark("position-link")
    )

    def relink(_: GameEvent) -> None:
        share.props["href"] = f"/analyze?pos={live.board.moves_str()}"

    view.on_change(relink)


def online_page(hub: GameHub, live: LiveGame, role: Role, identity: str, request: Request, *, full: bool) -> None:
    """An online game as a player or a spectator sees it."""
    with frame("Online game"):
        store_status_banner(hub)
        panel = SidePanel()
        with panel:
            if full:
                ui.label("Both seats are taken, so you are watching this game.").classes(
                    f"text-base font-medium {ABOVE_BOARD}"
                ).mark("seats-taken")
            elif role is Role.SPECTATOR:
                ui.label("You are watching this game.").classes(f"text-base {ABOVE_BOARD}").mark("watching")
            players = ui.label().classes(f"text-sm {ABOVE_BOARD}").mark("players")
            score = ui.label().classes(f"text-base font-medium {ABOVE_BOARD}").mark("score")
        view = GameView(hub, live, role, identity, panel)
        if live.record.clock is not None:
            with panel:
                GameClocks(view)
        with panel:
            TurnAlerts(view)
            invite = InviteCard(live, str(request.base_url).rstrip("/")) if is_creator(live, identity) else None
            controls = OnlineControls(view) if role is not Role.SPECTATOR else None
            QuickMessages(view)
            if role is not Role.SPECTATOR:
                ClaimButton(view)
            GameMoves(view, hub)

        def show_players(event: GameEvent | None = None) -> None:
            if isinstance(event, MovePlayed) and event.outcome is None:
                return  # a move that does not end the game changes neither seats, presence nor the buttons
            parts = []
            for player in Player:
                seat = live.record.seat(player)
                if seat is None:
                    parts.append(f"{player.capitalize()}: waiting to join")
                    continue
                who = "you" if view.my_side() is player else "opponent" if role is not Role.SPECTATOR else "player"
                here = "connected" if live.is_connected(player) else "away"
                name = live.record.name(player)  # set as text: a name never becomes markup
                shown = f"{name} ({who}, {here})" if name else f"{who} ({here})"
                parts.append(f"{player.capitalize()}: {shown}")
            players.set_text(" · ".join(parts))
            score.set_text(score_text(live.record))
            score.set_visibility(live.record.started)
            if controls is not None:
                controls.refresh()
            if invite is not None:
                invite.refresh()

        view.on_change(show_players)
        show_players()
        ui.context.client.on_connect(lambda: show_players())


class OnlineControls:
    """A seat's one action: Resign while the game goes on, Rematch (or Accept rematch) once it is over.

    One button that changes its meaning with the game, built with the page and never replaced:
    every element costs memory in every player's page, and building and removing controls at
    the end of every game, in every player's page at once, costs the server time just when the
    most happens. Who asked for a rematch is said in the status line (:func:`rematch_note`).
    """

    def __init__(self, view: GameView) -> None:
        self.view = view
        self._dialog: ui.dialog | None = None
        self.button = ui.button(on_click=self._act)
        self._shown: tuple[str, bool] | None = None
        self.refresh()

    @property
    def rematch_time(self) -> bool:
        """Whether the button is for a rematch now (the game is over), not for resigning."""
        return self.view.live.is_over

    def refresh(self) -> None:
        """Show what fits the game's state now (and send nothing when that has not changed)."""
        live = self.view.live
        if not self.rematch_time:
            self._show("Resign", visible=live.record.started)
            return
        asked = live.record.rematch
        mine = self.view.my_side() in asked
        self._show("Accept rematch" if asked and not mine else "Rematch", visible=not mine)

    def _show(self, label: str, *, visible: bool) -> None:
        if self._shown == (label, visible):
            return
        self._shown = (label, visible)
        button, resign = self.button, label == "Resign"
        button.set_text(label)
        # Item by item, not ``props("...")``: NiceGUI parses a quoted value with ``ast.literal_eval``,
        # whose nested functions leave a cycle for the collector each time (at the end of every game,
        # in every player's page at once, that was most of the cyclic garbage under load).
        props = button.props
        props["icon"] = "flag" if resign else "replay"
        props["aria-label"] = label
        if resign:
            props["outline"] = True
            props.pop("color", None)
        else:
            props["color"] = "primary"
            props.pop("outline", None)
        button.mark("resign" if resign else "rematch")
        button.set_visibility(visible)

    async def _act(self) -> None:
        # What the click means follows the game as the server has it: a click on Resign that reaches
        # the server after the game ended asks for a rematch (the button said so a moment later),
        # and a game that is over can no longer be resigned.
        if self.rematch_time:
            await self.view.attempt(lambda: self.view.hub.rematch(self.view.live, self.view.identity))
        else:
            self._ask_resign()

    def _ask_resign(self) -> None:
        # The confirmation is built on first use: most games end without anyone resigning.
        if self._dialog is None:
            with self.button, ui.dialog() as self._dialog, ui.card():
                ui.label("Resign this game? Your opponent wins.")
                with ui.row():
                    named(ui.button("Resign", on_click=self._resign), "Confirm resign").props("color=negative").mark(
                        "confirm-resign"
                    )
                    ui.button("Cancel", on_click=self._dialog.close).props("flat aria-label=Cancel")
        self._dialog.open()

    async def _resign(self) -> None:
        if self._dialog is not None:
            self._dialog.close()
        await self.view.attempt(lambda: self.view.hub.resign(self.view.live, self.view.identity))
