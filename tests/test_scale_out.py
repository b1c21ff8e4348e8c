"""Two app instances on one Redis: players on different instances, a race for one turn, Redis lost and back."""

from __future__ import annotations

import asyncio
import re
import threading
from collections import Counter
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, TypeVar

import pytest
import redis as redis_sync
from playwright.sync_api import Browser, BrowserContext, Page, expect

from games.errors import ConflictError
from games.hub import GameHub
from games.model import Mode
from games.redis_store import RedisStore
from tests.fixtures import AppServer, click_column, screenshot_path
from tests.redis_fixtures import RedisServer, eventually, health, wait_for_health

pytestmark = pytest.mark.browser

T = TypeVar("T")

LOST = "Connection to the game server lost"
UNAVAILABLE = "The connection to the game server was lost. Trying again…"


def on_instance(url: str, app: AppServer) -> str:
    """``url`` with its scheme, host and port replaced by ``app``'s: the same link, served by another instance."""
    return re.sub(r"^https?://[^/]+", app.url, url)


def invite(red: Page, app: AppServer) -> tuple[str, str]:
    """Red starts an online game on ``app``; returns the join and watch links the page shows."""
    red.goto(app.url)
    red.get_by_role("button", name="Invite a friend").click()
    expect(red.get_by_text("Waiting for an opponent to join").first).to_be_visible()
    join_url = red.get_by_role("link", name="Join link").get_attribute("href")
    watch_url = red.get_by_role("link", name="Watch link").get_attribute("href")
    assert join_url is not None
    assert watch_url is not None
    assert join_url.startswith(f"{app.url}/join/"), "links name the instance that served them"
    return join_url, watch_url


def play(moves: str, players: dict[str, Page], everyone: Sequence[Page], heights: Counter[int] | None = None) -> None:
    """Play ``moves`` (columns 1-7, red first unless ``heights`` says otherwise) and check every page sees each disc."""
    heights = heights if heights is not None else Counter()
    for column in map(int, moves):
        player = "red" if sum(heights.values()) % 2 == 0 else "yellow"
        page = players[player]
        expect(page.get_by_text("Your turn")).to_be_visible()
        click_column(page, column)
        heights[column] += 1
        for viewer in everyone:
            expect(viewer.get_by_label(f"Row {heights[column]}, column {column}: {player}", exact=True)).to_have_count(
                1
            )


def new_pages(chromium: Browser, count: int) -> tuple[list[BrowserContext], list[Page]]:
    """``count`` isolated browsers (each context has its own cookies, so its own player identity)."""
    contexts = [chromium.new_context(viewport={"width": 800, "height": 1000}) for _ in range(count)]
    return contexts, [context.new_page() for context in contexts]


def test_players_on_two_instances_and_a_spectator_see_every_disc(
    two_apps: list[AppServer], redis_server: RedisServer, chromium: Browser
) -> None:
    a, b = two_apps
    contexts, (red, yellow, spectator) = new_pages(chromium, 3)
    red.goto(a.url)
    red.get_by_role("link", name="Switch to dark mode").click()
    expect(red.locator("body")).to_have_class(re.compile("body--dark"))
    join_url, watch_url = invite(red, a)

    yellow.goto(on_instance(join_url, b))
    spectator.goto(watch_url)  # as sent, on instance A: it sees yellow's moves only through Redis
    expect(red.get_by_text("Your turn")).to_be_visible()
    expect(yellow.get_by_text("Waiting for red")).to_be_visible()
    expect(spectator.get_by_text("You are watching this game.")).to_be_visible()
    # Presence crosses instances: each player sees the other, connected to the other server, as here.
    expect(red.get_by_text("Yellow: opponent (connected)")).to_be_visible()
    expect(yellow.get_by_text("Red: opponent (connected)")).to_be_visible()

    play("4343434", {"red": red, "yellow": yellow}, [red, yellow, spectator])
    for page, result in ((red, "You win!"), (yellow, "You lose."), (spectator, "Player red wins!")):
        expect(page.get_by_text(result).first).to_be_visible()
        expect(page.get_by_label("Row 1, column 1: empty", exact=True)).to_have_count(1)
    red.wait_for_timeout(600)  # let the winning animation finish before the pictures
    for name, page in (("red", red), ("yellow", yellow), ("spectator", spectator)):
        page.screenshot(path=screenshot_path(f"scale-out-{name}"))

    # Red's dark mode, chosen on A, holds on B: it is in the signed cookie both instances read, and
    # nothing per browser or tab is kept in Redis (NiceGUI's storage there costs connections per page).
    on_b = contexts[0].new_page()
    on_b.goto(on_instance(watch_url, b))
    expect(on_b.get_by_text("Player red wins!").first).to_be_visible()
    expect(on_b.locator("body")).to_have_class(re.compile("body--dark"))
    client = redis_sync.Redis.from_url(redis_server.url)
    try:
        assert client.keys("nicegui:*") == []
        assert client.keys("*")  # the games are there
    finally:
        client.close()
    for app in (a, b):
        assert not any(app.log_path.parent.glob("unused-*.db")), "with REDIS_URL, DATABASE_URL is not used"
        assert "Traceback" not in app.log()
    contexts[1].close()  # yellow, on B, leaves: red, on A, sees it
    expect(red.get_by_text("Yellow: opponent (away)")).to_be_visible(timeout=15000)
    for context in (contexts[0], contexts[2]):
        context.close()


def test_a_game_goes_on_after_redis_is_lost_and_back(
    two_apps: list[AppServer], redis_server: RedisServer, chromium: Browser
) -> None:
    a, b = two_apps
    contexts, (red, yellow) = new_pages(chromium, 2)
    join_url, _ = invite(red, a)
    yellow.goto(on_instance(join_url, b))
    players = {"red": red, "yellow": yellow}
    heights: Counter[int] = Counter()
    play("4455", players, [red, yellow], heights)
    # While the store answers, no page carries a banner at all (it is built when needed).
    for page in (red, yellow):
        expect(page.get_by_label(LOST, exact=True)).to_have_count(0)

    redis_server.stop()
    for app in (a, b):
        wait_for_health(app, 503)
    for page in (red, yellow):
        expect(page.get_by_label(LOST, exact=True)).to_be_visible()
    click_column(red, 6)
    expect(red.get_by_text(UNAVAILABLE)).to_be_visible()
    expect(red.get_by_label("Row 1, column 6: empty", exact=True)).to_have_count(1)

    redis_server.start()
    for app in (a, b):
        wait_for_health(app, 200)
    for page in (red, yellow):
        expect(page.get_by_label(LOST, exact=True)).to_be_hidden()
    play("6", players, [red, yellow], heights)  # yellow, on B, sees red's move from A again
    play("63", players, [red, yellow], heights)  # red completes 3 4 5 6 in the bottom row
    for page, result in ((red, "You win!"), (yellow, "You lose.")):
        expect(page.get_by_text(result).first).to_be_visible()
    for app in (a, b):
        assert health(app) == 200
        assert app.process is not None
        assert app.process.poll() is None, "the instances were not restarted"
    for context in contexts:
        context.close()


def run_in_own_loop(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine on a fresh event loop in a thread (Playwright's loop owns this thread)."""
    results: list[T] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(asyncio.run(make()))
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(60)
    if errors:
        raise errors[0]
    return results[0]


def test_two_instances_racing_for_one_turn_one_wins_and_the_other_shows_it(redis_server: RedisServer) -> None:
    async def race() -> None:
        hub_a, hub_b = GameHub(RedisStore(redis_server.url)), GameHub(RedisStore(redis_server.url))
        for hub in (hub_a, hub_b):
            await hub.start()
        try:
            live_a = await hub_a.create(Mode.ONLINE, "alice")
            await hub_a.join(live_a, "bob")
            live_b = await hub_b.get(live_a.id)
            for turn in range(6):
                player = "alice" if turn % 2 == 0 else "bob"
                before = live_a.board.moves_str()
                assert live_b.board.moves_str() == before
                # Alice (or Bob) has the game open on both instances and clicks on both at once.
                results = await asyncio.gather(
                    hub_a.play(live_a, player, 0), hub_b.play(live_b, player, 1), return_exceptions=True
                )
                winners = [result for result in results if result is None]
                losers = [result for result in results if isinstance(result, ConflictError)]
                assert len(winners) == 1, results
                assert len(losers) == 1, results
                assert str(losers[0]) == (
                    "The game changed before your move arrived; the board now shows the current position."
                )
                expected = before + ("1" if results[0] is None else "2")
                # The loser's instance already shows the winner's move: it reloaded on the conflict.
                assert live_a.board.moves_str() == expected
                assert live_b.board.moves_str() == expected
                assert live_a.record == live_b.record
            stored = await hub_b.store.load(live_a.id)
            assert stored is not None
            assert len(stored.moves) == 6
            await eventually(lambda: live_a.record.version == live_b.record.version == stored.version)
        finally:
            for hub in (hub_a, hub_b):
                await hub.close()

    run_in_own_loop(race)
