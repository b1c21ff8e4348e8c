"""What only a browser shows: a hot-seat game played in Debian's Chromium against the real server."""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from tests.fixtures import AppServer, click_column, screenshot_path

pytestmark = pytest.mark.browser


def test_a_whole_game_in_chromium(app_server: AppServer, chromium: Browser) -> None:
    context = chromium.new_context(viewport={"width": 900, "height": 900})
    page = context.new_page()
    updates: list[dict[str, Any]] = []

    def on_socket(ws: Any) -> None:
        def on_frame(payload: str | bytes) -> None:
            text = payload if isinstance(payload, str) else payload.decode(errors="replace")
            # socket.io event frames look like 42["update",{...}]
            if text.startswith('42["update"'):
                updates.append(json.loads(text[2:])[1])

        ws.on("framereceived", on_frame)

    page.on("websocket", on_socket)
    page.goto(f"{app_server.url}/")
    page.get_by_role("button", name="Play on this device").click()
    expect(page.get_by_text("Red's turn")).to_be_visible()

    for column in (1, 2, 1, 2, 1, 2):
        click_column(page, column)
    expect(page.get_by_label("Row 3, column 2: yellow")).to_have_count(1)
    expect(page.get_by_label("Row 3, column 1: red")).to_have_count(1)
    expect(page.get_by_label("Row 4, column 1: empty")).to_have_count(1)

    sent_before = len(updates)
    click_column(page, 1)
    expect(page.get_by_text("Player red wins!").first).to_be_visible()
    expect(page.get_by_label("Row 4, column 1: red")).to_have_count(1)
    expect(page.locator(".c4-win")).to_have_count(4)
    # The winning move reached the browser as element updates for what it changed, not a new board:
    # column 1 (the landed disc, the four, the preview), the board's classes (turn, end, last-move
    # marker), the status line, the link to the position, the line on how to play (hidden at the
    # end), the move list (the new move) and its steps (the replay link). Column 2 is not sent again.
    changed = {key for update in updates[sent_before:] for key in update if key != "_id"}

    def element_id(locator: Any) -> str:
        return str(locator.get_attribute("id")).removeprefix("c")

    expected = {
        element_id(page.get_by_role("button", name="Column 1", exact=True)),
        element_id(page.get_by_role("group", name="Connect Four board")),
        element_id(page.get_by_text("Player red wins!").first),
        element_id(page.get_by_role("link", name="Link to this position")),
        element_id(page.get_by_text("Click a column or press 1 to 7.")),
        element_id(page.get_by_role("group", name="Moves")),
        element_id(page.locator(".c4-steps")),
    }
    assert changed == expected, (changed, expected)
    # The browser draws the last-move marker on that disc alone, from the board's class.
    marked = page.locator(".c4-cell").evaluate_all(
        "cells => cells.filter(c => getComputedStyle(c, '::before').content !== 'none').map(c => c.dataset.cell)"
    )
    assert marked == ["4-1"]
    page.wait_for_timeout(600)  # let the last disc finish falling
    page.screenshot(path=screenshot_path("local-red-wins"))

    click_column(page, 3)  # the finished board takes no more discs
    expect(page.get_by_text("The game is over.")).to_be_visible()
    expect(page.get_by_label("Row 1, column 3: empty")).to_have_count(1)
    context.close()


def test_keys_and_a_phone_screen(app_server: AppServer, chromium: Browser) -> None:
    context = chromium.new_context(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(f"{app_server.url}/local")
    expect(page.get_by_text("Red's turn")).to_be_visible()
    page.keyboard.press("4")
    expect(page.get_by_label("Row 1, column 4: red")).to_have_count(1)
    page.keyboard.press("4")
    expect(page.get_by_label("Row 2, column 4: yellow")).to_have_count(1)
    # Nothing sticks out sideways on a 375-pixel screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    box = page.get_by_role("button", name="Column 7", exact=True).bounding_box()
    assert box is not None
    assert box["x"] + box["width"] <= 375
    page.wait_for_timeout(600)  # let the last disc finish falling
    page.screenshot(path=screenshot_path("local-phone"))
    context.close()


def test_dark_mode_switch(app_server: AppServer, chromium: Browser) -> None:
    context = chromium.new_context(color_scheme="light")
    page = context.new_page()
    page.goto(f"{app_server.url}/local")
    expect(page.locator("body")).not_to_have_class("body--dark")
    light = page.locator(".c4-cell").first.evaluate("e => getComputedStyle(e).backgroundColor")
    page.get_by_role("link", name="Switch to dark mode").click()
    expect(page.locator("body.body--dark")).to_have_count(1)
    dark = page.locator(".c4-cell").first.evaluate("e => getComputedStyle(e).backgroundColor")
    assert light != dark
    page.wait_for_timeout(600)  # let the last disc finish falling
    page.screenshot(path=screenshot_path("local-dark"))
    context.close()
