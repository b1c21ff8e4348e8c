"""A real-Chromium review of a game against the computer, seen on a phone and on a wide screen."""

from __future__ import annotations

import re
import shutil

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.fixtures import ROOT, AppServer, screenshot_path

pytestmark = pytest.mark.browser

DOCS = ROOT / "docs" / "screenshots"


def lose_to_the_computer(page: Page, url: str) -> None:
    """Play red against the perfect level: the centre first, then the leftmost column with room, until it is over."""
    page.goto(url)
    page.get_by_role("button", name="Play the computer").click()
    page.get_by_role("combobox", name="Level").click()
    page.get_by_role("option", name="Perfect").click()
    page.get_by_role("button", name="Start").click()
    status = page.locator(".c4-status")
    empty = page.locator('.c4-cell[aria-label$=": empty"]')
    for turn in range(21):
        expect(status).to_have_text(re.compile(r"^(Your turn|You lose\.)$"), timeout=60000)
        if status.inner_text() == "You lose.":
            return
        expect(empty).to_have_count(42 - 2 * turn)
        for column in (4, 1, 2, 3, 4, 5, 6, 7) if turn < 2 else range(1, 8):
            if page.get_by_label(f"Row 6, column {column}: empty").count():
                page.get_by_role("button", name=f"Column {column}", exact=True).click()
                break
        expect(empty).not_to_have_count(42 - 2 * turn)
    expect(status).to_have_text("You lose.", timeout=60000)


def save(page: Page, name: str) -> None:
    page.wait_for_timeout(500)  # the chart draws itself after it arrives
    path = screenshot_path(name)
    page.screenshot(path=path, full_page=True)
    DOCS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, DOCS / path.name)


def test_a_computer_game_reviewed_on_a_wide_screen_and_a_phone(app_server: AppServer, chromium: Browser) -> None:
    wide = chromium.new_context(viewport={"width": 1440, "height": 900}, color_scheme="light")
    page = wide.new_page()
    lose_to_the_computer(page, app_server.url)
    moves = page.get_by_role("group", name="Moves").get_by_role("button")
    expect(moves.first).to_have_accessible_name("Move 1: red, column 4")
    page.get_by_role("link", name="Replay and review this game").click()
    expect(page).to_have_url(re.compile(r"/replay/[^/?]+\?review=1$"))
    verdict = page.get_by_text(re.compile(r"^Move \d+ by red, column \d, turned a (win|draw) into a (draw|loss)"))
    expect(verdict).to_be_visible(timeout=180000)
    expect(page.get_by_text(re.compile(r"^Red: \d+ moves, \d+ best"))).to_be_visible()
    expect(page.locator(".c4-chart canvas")).to_be_visible()
    grades = page.locator(".c4-grade")
    expect(grades).to_have_count(moves.count())

    # The position before the move that decided the game: its perfect move as a ghost, every column's value.
    match = re.match(r"Move (\d+)", verdict.inner_text())
    assert match is not None
    turning = int(match[1])
    if turning == 1:
        page.get_by_role("button", name="First move").click()
    else:
        page.get_by_role("group", name="Moves").get_by_role("button", name=re.compile(rf"^Move {turning - 1}:")).click()
    expect(page).to_have_url(re.compile(rf"\?move={turning - 1}$"))
    expect(page.locator(".c4-ghost")).to_have_count(1)
    expect(page.locator(".c4-values:not(.c4-values-off) .c4-value-win")).not_to_have_count(0)
    page.keyboard.press("ArrowRight")  # the arrow keys step as the buttons do
    expect(page).to_have_url(re.compile(rf"\?move={turning}$"))
    expect(page.locator(".c4-move-current")).to_have_accessible_name(
        re.compile(rf"^Move {turning}: red, .*(mistake|blunder)$")
    )
    page.keyboard.press("ArrowLeft")
    expect(page.get_by_text("the pale disc is the perfect move, column")).to_be_visible()
    save(page, "replay-1440")
    link = page.url

    # Anyone with the link, on a phone: the stored review is there at once, and nothing is wider than the screen.
    phone = chromium.new_context(viewport={"width": 375, "height": 812}, color_scheme="light")
    small = phone.new_page()
    small.goto(link)
    expect(small.get_by_text(verdict.inner_text())).to_be_visible(timeout=5000)
    expect(small.get_by_role("button", name="Review this game")).to_have_count(0)
    width = small.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, width
    board = small.locator(".c4-board").bounding_box()
    listed = small.get_by_role("group", name="Moves").bounding_box()
    assert board is not None
    assert listed is not None
    assert listed["y"] > board["y"] + board["height"]  # on a phone the move list stands under the board
    save(small, "replay-375")
    wide.close()
    phone.close()
