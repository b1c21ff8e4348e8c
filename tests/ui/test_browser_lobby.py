"""The lobby in real Chromium: a quick match between two browsers, the lists on the home page, Join from the list."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.fixtures import ROOT, AppServer, click_column

pytestmark = pytest.mark.browser

SCREENSHOT = ROOT / "docs" / "screenshots" / "home-lobby-1440.png"


def test_quick_match_open_game_and_the_lists(app_server: AppServer, chromium: Browser) -> None:
    ana_context, ben_context, cleo_context, dave_context = (
        chromium.new_context(viewport={"width": 1440, "height": 1000}) for _ in range(4)
    )
    ana, ben, cleo, dave = (context.new_page() for context in (ana_context, ben_context, cleo_context, dave_context))

    # Ana waits, Ben comes: both land on one game, each in a seat.
    ana.goto(app_server.url)
    expect(ana.get_by_role("heading", name="Open games")).to_be_visible()
    expect(ana.get_by_text("No open games right now.")).to_be_visible()
    expect(ana.get_by_text("No games to watch right now.")).to_be_visible()
    ana.get_by_role("button", name="Play someone now").click()
    expect(ana.get_by_text(re.compile(r"^Looking for an opponent… \d+ s$"))).to_be_visible()
    expect(ana.get_by_role("button", name="Cancel")).to_be_visible()
    ben.goto(app_server.url)
    ben.get_by_role("button", name="Play someone now").click()
    for page in (ana, ben):
        expect(page).to_have_url(re.compile(r"/join/"))
        expect(page.locator(".c4-status")).to_have_text(re.compile(r"^(Your turn|Waiting for red)$"))
    assert ana.url == ben.url
    first, second = (ana, ben) if ana.locator(".c4-status").inner_text() == "Your turn" else (ben, ana)
    expect(second.locator(".c4-status")).to_have_text("Waiting for red")
    click_column(first, 4)
    expect(second.locator(".c4-status")).to_have_text("Your turn")

    # Cleo opens a game to anyone; Dave's home page lists it and the quick match to watch.
    cleo.goto(app_server.url)
    cleo.get_by_role("checkbox", name="Open to anyone").click()
    cleo.get_by_role("button", name="Invite a friend").click()
    expect(cleo.get_by_text("Waiting for an opponent to join").first).to_be_visible()
    dave.goto(app_server.url)
    join = dave.get_by_role("button", name=re.compile(r"^Join the game of Guest"))
    expect(join).to_be_visible()
    watch = dave.get_by_role("link", name="Watch Guest vs Guest")
    expect(watch).to_be_visible()
    dave.wait_for_timeout(300)
    dave.screenshot(path=SCREENSHOT, full_page=True)

    join.click()
    expect(dave).to_have_url(re.compile(r"/join/"))
    expect(dave.locator(".c4-status")).to_have_text("Waiting for red")
    expect(cleo.locator(".c4-status")).to_have_text("Your turn")
    for context in (ana_context, ben_context, cleo_context, dave_context):
        context.close()


def seconds_waited(page: Page) -> int:
    """The count a waiting page shows ("Looking for an opponent… 12 s")."""
    text = page.get_by_text(COUNT).inner_text()
    match = COUNT.fullmatch(text)
    assert match is not None, text
    return int(match[1])


COUNT = re.compile(r"^Looking for an opponent… (\d+) s$")


def test_a_waiting_player_keeps_their_place_across_a_server_restart(app_server: AppServer, chromium: Browser) -> None:
    ana_context, ben_context = chromium.new_context(), chromium.new_context()
    ana, ben = ana_context.new_page(), ben_context.new_page()
    ana.goto(app_server.url)
    pressed = time.monotonic()
    ana.get_by_role("button", name="Play someone now").click()
    expect(ana.get_by_text(re.compile(r"^Looking for an opponent… [2-9] s$"))).to_be_visible()
    before = seconds_waited(ana)
    ana.evaluate("window.beforeRestart = true")  # gone once the page is reloaded

    app_server.stop()  # SIGTERM: the server shuts down as for a deploy, and comes back on the same file and port
    app_server.start()
    # The same tab, reconnected and reloaded by NiceGUI's own script, is waiting still: its count goes on.
    ana.wait_for_function("() => window.beforeRestart === undefined", timeout=30_000)
    expect(ana.get_by_role("button", name="Cancel")).to_be_visible()
    expect(ana.get_by_text(COUNT)).to_be_visible()
    after = seconds_waited(ana)
    assert after > before
    assert abs(after - (time.monotonic() - pressed)) < 3, (before, after, time.monotonic() - pressed)

    ben.goto(app_server.url)
    ben.get_by_role("button", name="Play someone now").click()
    for page in (ana, ben):
        expect(page).to_have_url(re.compile(r"/join/"))
        expect(page.locator(".c4-status")).to_have_text(re.compile(r"^(Your turn|Waiting for red)$"))
    assert ana.url == ben.url
    for context in (ana_context, ben_context):
        context.close()
