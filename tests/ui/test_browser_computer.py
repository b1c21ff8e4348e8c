"""A real-Chromium game against the perfect level, which the human loses."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect

from tests.fixtures import AppServer, screenshot_path

pytestmark = pytest.mark.browser


def test_the_perfect_computer_beats_a_human_in_chromium(app_server: AppServer, chromium: Browser) -> None:
    context = chromium.new_context(viewport={"width": 800, "height": 1000})
    page = context.new_page()
    page.goto(app_server.url)
    page.get_by_role("button", name="Play the computer").click()
    page.get_by_role("combobox", name="Level").click()
    page.get_by_role("option", name="Perfect").click()
    page.get_by_role("button", name="Start").click()
    expect(page.get_by_text("Against the computer · Perfect")).to_be_visible()
    status = page.locator(".c4-status")
    empty = page.locator('.c4-cell[aria-label$=": empty"]')
    for turn in range(21):
        expect(status).to_have_text(re.compile(r"^(Your turn|You lose\.)$"), timeout=60000)
        if status.inner_text() == "You lose.":
            break
        expect(empty).to_have_count(42 - 2 * turn)  # every reply of the computer is on the board
        # The careless human always plays the leftmost column that has room.
        for column in range(1, 8):
            if page.get_by_label(f"Row 6, column {column}: empty").count():
                page.get_by_role("button", name=f"Column {column}", exact=True).click()
                break
        expect(empty).not_to_have_count(42 - 2 * turn)
    expect(page.get_by_text("You lose.").first).to_be_visible()
    expect(page.locator(".c4-win")).not_to_have_count(0)
    page.wait_for_timeout(600)
    page.screenshot(path=screenshot_path("computer-perfect-wins"))
    context.close()
