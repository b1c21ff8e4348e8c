"""The lobby in real Chromium: a quick match between two browsers, the lists on the home page, Join from the list."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect

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
