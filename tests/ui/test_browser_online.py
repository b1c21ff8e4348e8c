"""Online play in three real Chromium contexts: red, yellow and a spectator, against the real server."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect

from tests.fixtures import AppServer, click_column, screenshot_path

pytestmark = pytest.mark.browser


def test_two_players_and_a_spectator(app_server: AppServer, chromium: Browser) -> None:
    contexts = [chromium.new_context(viewport={"width": 800, "height": 1000}) for _ in range(3)]
    red, yellow, spectator = (context.new_page() for context in contexts)
    contexts[0].grant_permissions(["clipboard-read", "clipboard-write"], origin=app_server.url)

    red.goto(app_server.url)
    red.get_by_role("button", name="Invite a friend").click()
    expect(red.get_by_text("Waiting for an opponent to join").first).to_be_visible()
    join_url = red.get_by_role("link", name="Join link").get_attribute("href")
    watch_url = red.get_by_role("link", name="Watch link").get_attribute("href")
    assert join_url is not None
    assert "/join/" in join_url
    assert watch_url is not None
    assert "/watch/" in watch_url
    red.get_by_role("button", name="Copy join link").click()
    expect(red.get_by_text("Copied the join link.")).to_be_visible()
    assert red.evaluate("navigator.clipboard.readText()") == join_url

    yellow.goto(join_url)
    spectator.goto(watch_url)
    expect(red.get_by_text("Your turn")).to_be_visible()
    expect(yellow.get_by_text("Waiting for red")).to_be_visible()
    expect(red.get_by_text("Yellow: opponent (connected)")).to_be_visible()
    expect(spectator.get_by_text("You are watching this game.")).to_be_visible()

    moves = [(red, 4), (yellow, 3), (red, 4), (yellow, 3), (red, 4), (yellow, 3)]
    for page, column in moves:
        click_column(page, column)
        expect(page.locator(".c4-status")).to_have_text(re.compile("^Waiting for (red|yellow)$"))
    click_column(spectator, 1)
    expect(spectator.get_by_text("Spectators cannot play.")).to_be_visible()
    click_column(red, 4)
    for page, result in ((red, "You win!"), (yellow, "You lose."), (spectator, "Player red wins!")):
        expect(page.get_by_text(result).first).to_be_visible()
        for row in range(1, 5):
            expect(page.get_by_label(f"Row {row}, column 4: red")).to_have_count(1)
        for row in range(1, 4):
            expect(page.get_by_label(f"Row {row}, column 3: yellow")).to_have_count(1)
        expect(page.get_by_label("Row 1, column 1: empty")).to_have_count(1)
    red.wait_for_timeout(600)
    for name, page in (("red", red), ("yellow", yellow), ("spectator", spectator)):
        page.screenshot(path=screenshot_path(f"online-{name}"))

    # Presence: when yellow's browser goes away, red sees it.
    contexts[1].close()
    expect(red.get_by_text("Yellow: opponent (away)")).to_be_visible(timeout=15000)
    for context in (contexts[0], contexts[2]):
        context.close()


def test_resign_and_rematch_in_the_browser(app_server: AppServer, chromium: Browser) -> None:
    contexts = [chromium.new_context() for _ in range(2)]
    red, yellow = (context.new_page() for context in contexts)
    red.goto(app_server.url)
    red.get_by_role("button", name="Invite a friend").click()
    join_url = red.get_by_role("link", name="Join link").get_attribute("href")
    assert join_url
    yellow.goto(join_url)
    expect(red.get_by_text("Your turn")).to_be_visible()
    click_column(red, 4)
    expect(yellow.get_by_text("Your turn")).to_be_visible()
    yellow.get_by_role("button", name="Resign", exact=True).click()
    yellow.get_by_role("button", name="Confirm resign").click()
    expect(red.get_by_text("Your opponent resigned. You win!").first).to_be_visible()
    expect(yellow.get_by_text("You resigned.").first).to_be_visible()
    yellow.get_by_role("button", name="Rematch").click()
    red.get_by_role("button", name="Accept rematch").click()
    expect(yellow.get_by_text("Your turn")).to_be_visible()  # colours swapped: yellow is red now
    expect(red.get_by_label("Row 1, column 4: empty")).to_have_count(1)
    for context in contexts:
        context.close()


def test_a_timed_game_ticks_in_the_browser_and_a_quick_message_reaches_both(
    app_server: AppServer, chromium: Browser
) -> None:
    contexts = [chromium.new_context(viewport={"width": 1440, "height": 900}) for _ in range(2)]
    red, yellow = (context.new_page() for context in contexts)
    red.goto(app_server.url)
    red.get_by_role("combobox", name="Clock for online games").click()
    red.get_by_role("option", name="3 minutes each").click()
    red.get_by_role("button", name="Invite a friend").click()
    join_url = red.get_by_role("link", name="Join link").get_attribute("href")
    assert join_url is not None
    yellow.goto(join_url)
    clocks = red.get_by_role("timer")
    running = re.compile(r"^Red (3:00|2:[45]\d) \(to move\) · Yellow 3:00$")
    expect(clocks).to_have_text(running)
    # The server redraws the running clock every second: the browser sees it count down by itself.
    shown = clocks.inner_text()
    expect(clocks).not_to_have_text(shown, timeout=5000)
    expect(clocks).to_have_text(running)
    click_column(red, 4)
    expect(yellow.get_by_role("timer")).to_have_text(re.compile(r"^Red 2:[45]\d · Yellow (3:00|2:5\d) \(to move\)$"))
    yellow.get_by_role("button", name="Say: Good luck!").click()
    expect(red.get_by_role("status").filter(has_text="Your opponent: “Good luck!”")).to_be_visible()
    expect(yellow.get_by_text("You: “Good luck!”")).to_be_visible()
    yellow.wait_for_timeout(600)  # let the disc finish falling
    yellow.screenshot(path=screenshot_path("online-clock-1440"))
    for context in contexts:
        context.close()
