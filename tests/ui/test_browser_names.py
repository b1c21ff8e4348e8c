"""Names, the score and the tab title in two real Chromium contexts against the real server."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.fixtures import AppServer, click_column, screenshot_path
from ui.turn_alerts import TURN_TITLE

pytestmark = pytest.mark.browser

GAME_TITLE = "Online game · Connect Four"


def choose_name(page: Page, url: str, name: str) -> None:
    page.goto(url)
    field = page.get_by_role("textbox", name="Your name")
    field.fill(name)
    field.press("Enter")


def test_names_on_both_boards_and_the_turn_in_the_tab_title(app_server: AppServer, chromium: Browser) -> None:
    contexts = [chromium.new_context(viewport={"width": 1440, "height": 900}) for _ in "ry"]
    red, yellow = (context.new_page() for context in contexts)
    choose_name(red, app_server.url, "<b>x</b>")
    expect(red.get_by_text("The name may not hold '<'.", exact=False)).to_be_visible()
    choose_name(red, app_server.url, "Ana")
    expect(red.get_by_text("You play as Ana.")).to_be_visible()
    choose_name(yellow, app_server.url, "Ben & Co")
    expect(yellow.get_by_text("You play as Ben & Co.")).to_be_visible()

    red.get_by_role("button", name="Invite a friend").click()
    join_url = red.get_by_role("link", name="Join link").get_attribute("href")
    assert join_url is not None
    expect(red).to_have_title(GAME_TITLE)  # nobody to play against yet
    yellow.goto(join_url)
    expect(red.get_by_text("Red: Ana (you, connected) · Yellow: Ben & Co (opponent, connected)")).to_be_visible()
    expect(yellow.get_by_text("Red: Ana (opponent, connected) · Yellow: Ben & Co (you, connected)")).to_be_visible()
    for page in (red, yellow):
        expect(page.get_by_text("Ana 0 \N{EN DASH} 0 Ben & Co")).to_be_visible()
        expect(page.locator("b")).to_have_count(0)  # a name is text, never markup
    expect(red).to_have_title(TURN_TITLE)
    expect(yellow).to_have_title(GAME_TITLE)
    for page, column in ((red, 4), (yellow, 4), (red, 3), (yellow, 5)):
        click_column(page, column)
        expect(page.locator(".c4-status")).to_have_text(re.compile("^Waiting for"))
        expect(page).to_have_title(GAME_TITLE)
    expect(red).to_have_title(TURN_TITLE)
    sound = red.get_by_role("button", name="Sound")
    expect(sound).to_have_attribute("aria-pressed", "false")
    red.mouse.move(0, 0)
    red.wait_for_timeout(600)
    red.screenshot(path=screenshot_path("online-names-1440"))
    home = contexts[0].new_page()  # the game page may close: the home page leads back to it
    home.goto(app_server.url)
    expect(home.get_by_text("You play as Ana.")).to_be_visible()
    home.screenshot(path=screenshot_path("home-my-games-1440"))
    home.get_by_role("link", name="Online against Ben & Co · Your turn").click()
    expect(home.locator(".c4-status")).to_have_text("Your turn")
    expect(home).to_have_title(TURN_TITLE)
    for context in contexts:
        context.close()
