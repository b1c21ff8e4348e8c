"""The Content-Security-Policy in Chromium: every kind of page works under it and reports no violation."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.fixtures import AppServer, click_column

pytestmark = pytest.mark.browser

# Records what the page's policy blocked (Chromium fires this for every violation, before any console line).
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', (e) =>
    window.__violations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));
"""


def watched_page(chromium: Browser) -> tuple[Page, list[str]]:
    context = chromium.new_context(viewport={"width": 1024, "height": 900})
    context.add_init_script(RECORD_VIOLATIONS)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    return page, problems


def violations(page: Page) -> list[Any]:
    return list(page.evaluate("window.__violations"))


def test_each_kind_of_page_works_under_the_policy(app_server: AppServer, chromium: Browser) -> None:
    page, problems = watched_page(chromium)
    page.goto(f"{app_server.url}/")
    # The home page's dialog: Quasar's radio, select and its menu.
    page.get_by_role("button", name="Play the computer").click()
    page.get_by_role("combobox", name="Level").click()
    page.get_by_role("option", name="Strong").click()
    expect(page.get_by_text("Knows the openings")).to_be_visible()
    page.keyboard.press("Escape")
    assert violations(page) == []

    page.get_by_role("button", name="Play on this device").click()
    expect(page.get_by_text("Red's turn")).to_be_visible()
    click_column(page, 4)  # over the socket: connect-src 'self' covers ws:
    expect(page.get_by_label("Row 1, column 4: red")).to_have_count(1)
    page.get_by_role("button", name="Analysis").click()  # values filled in as they arrive
    expect(page.get_by_text("Analysis").first).to_be_visible()
    page.reload()
    expect(page.get_by_label("Row 1, column 4: red")).to_have_count(1)
    assert violations(page) == []

    page.goto(f"{app_server.url}/analyze?pos=4453")
    expect(page.get_by_label("Row 2, column 4: yellow")).to_have_count(1)
    assert violations(page) == []

    page.goto(f"{app_server.url}/no/such/page")
    expect(page.get_by_text("Page not found.")).to_be_visible()
    assert violations(page) == []
    assert problems == []


def test_a_game_page_cannot_be_framed(app_server: AppServer, chromium: Browser) -> None:
    page, _ = watched_page(chromium)
    page.goto(f"{app_server.url}/no/such/page")  # any page of the site: an iframe of another page on it
    page.set_content(f'<iframe id="f" src="{app_server.url}/local"></iframe>')
    page.wait_for_timeout(1500)
    frame = page.frame_locator("#f")
    expect(frame.get_by_role("button", name="Column 1", exact=True)).to_have_count(0)
