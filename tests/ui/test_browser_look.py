"""What only a browser shows of the look: contrast, the focus ring, dark mode, who is invited to click, the layout."""

from __future__ import annotations

import re
from typing import Literal

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.fixtures import AppServer, click_column, screenshot_path

pytestmark = pytest.mark.browser

Scheme = Literal["light", "dark"]

TEXT, CONTROL = 4.5, 3.0
"""WCAG 2.2 AA: contrast of text, and of a control's visual boundary or focus indicator."""


def rgb(css: str) -> tuple[float, float, float]:
    """A computed colour ("rgb(21, 101, 192)"), which must be opaque to be measured alone."""
    values = [float(v) for v in re.findall(r"[\d.]+", css)]
    assert len(values) == 3 or values[3] == 1, css
    return values[0], values[1], values[2]


def luminance(colour: tuple[float, float, float]) -> float:
    def channel(value: float) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in colour)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """The WCAG contrast ratio of two computed colours."""
    high, low = sorted((luminance(rgb(a)), luminance(rgb(b))), reverse=True)
    return (high + 0.05) / (low + 0.05)


def style(locator: Locator, name: str) -> str:
    return str(locator.evaluate(f"e => getComputedStyle(e).{name}"))


def page_background(page: Page) -> str:
    """The body's colour; a transparent body shows the browser's white canvas."""
    colour = str(page.evaluate("getComputedStyle(document.body).backgroundColor"))
    return "rgb(255, 255, 255)" if colour == "rgba(0, 0, 0, 0)" else colour


def tab_to(page: Page, name: str) -> Locator:
    """Press Tab until the control named ``name`` has the focus, as a keyboard user does."""
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.getAttribute('aria-label')") == name:
            return page.locator(":focus")
    raise AssertionError(f"Tab never reached {name!r}")


def focus_ring(control: Locator) -> tuple[str, float]:
    """The colour and width of the outline a focused control draws."""
    assert style(control, "outlineStyle") == "solid"
    return style(control, "outlineColor"), float(style(control, "outlineWidth").removesuffix("px"))


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_contrast_of_header_buttons_links_values_and_the_focus_ring(
    app_server: AppServer, chromium: Browser, scheme: Scheme
) -> None:
    context = chromium.new_context(viewport={"width": 1440, "height": 900}, color_scheme=scheme)
    page = context.new_page()
    measured: dict[str, float] = {}
    page.goto(f"{app_server.url}/")
    dark = re.compile("body--dark")
    if scheme == "dark":
        expect(page.locator("body")).to_have_class(dark)
    else:
        expect(page.locator("body")).not_to_have_class(dark)
    header = page.locator(".q-header")
    measured["header title"] = contrast(style(page.locator(".c4-title a"), "color"), style(header, "backgroundColor"))
    switch = page.get_by_role("link", name=f"Switch to {'light' if scheme == 'dark' else 'dark'} mode")
    measured["header switch"] = contrast(style(switch, "color"), style(header, "backgroundColor"))
    primary = page.get_by_role("button", name="Play on this device")
    measured["primary button"] = contrast(style(primary, "color"), style(primary, "backgroundColor"))

    page.goto(f"{app_server.url}/analyze?pos=44534")  # yellow to move: some columns win, the others lose
    expect(page.locator(".c4-value-loss").first).to_be_visible(timeout=30000)
    expect(page.locator(".c4-value-win").first).to_be_visible(timeout=30000)
    background = page_background(page)
    outlined = page.get_by_role("button", name="New game")
    measured["outlined button text"] = contrast(style(outlined, "color"), background)
    measured["outlined button border"] = contrast(style(outlined, "color"), background)  # Quasar: currentColor
    link = page.get_by_role("link", name="Link to this position")
    measured["link"] = contrast(style(link, "color"), background)
    status = page.locator(".c4-status")
    measured["status"] = contrast(style(status, "color"), background)
    for kind in ("win", "loss"):
        value = page.locator(f".c4-value-{kind}").first
        measured[f"analysis value ({kind})"] = contrast(style(value, "color"), background)

    ring, width = focus_ring(tab_to(page, "New game"))
    assert width >= 2
    measured["focus ring on the page"] = contrast(ring, background)
    page.keyboard.press("Shift+Tab")  # the board comes just before the side panel: its last column
    column = page.locator(":focus")
    expect(column).to_have_attribute("aria-label", "Column 7")
    ring, width = focus_ring(column)
    assert width >= 2
    measured["focus ring on the board"] = contrast(ring, style(page.locator(".c4-board"), "backgroundColor"))

    page.get_by_role("button", name="Hint").click()
    toast = page.locator(".q-notification").filter(has_text="Hint: column")
    expect(toast).to_be_visible(timeout=30000)
    measured["notification"] = contrast(style(toast, "color"), style(toast, "backgroundColor"))

    print(f"\ncontrast ({scheme}):", ", ".join(f"{name} {ratio:.2f}" for name, ratio in measured.items()))
    controls = {"outlined button border", "focus ring on the page", "focus ring on the board", "header switch"}
    low = {name: round(r, 2) for name, r in measured.items() if r < (CONTROL if name in controls else TEXT)}
    assert low == {}
    context.close()


def test_dark_mode_is_one_click_for_a_browser_set_to_dark(app_server: AppServer, chromium: Browser) -> None:
    context = chromium.new_context(color_scheme="dark")
    page = context.new_page()
    page.goto(f"{app_server.url}/local")
    expect(page.locator("body")).to_have_class(re.compile("body--dark"))
    expect(page.get_by_role("link", name="Switch to dark mode")).to_be_hidden()  # it would change nothing
    page.get_by_role("link", name="Switch to light mode").click()
    expect(page.locator("body")).not_to_have_class(re.compile("body--dark"))
    expect(page.get_by_text("Red's turn")).to_be_visible()
    page.get_by_role("link", name="Switch to dark mode").click()
    expect(page.locator("body")).to_have_class(re.compile("body--dark"))
    context.close()


def preview(page: Page, column: int) -> str:
    """The colour the landing cell of ``column`` shows (transparent: no preview)."""
    cell = page.get_by_role("button", name=f"Column {column}", exact=True).locator(".c4-next")
    return str(cell.evaluate("e => getComputedStyle(e, '::after').backgroundColor"))


def test_only_the_player_to_move_sees_the_preview_and_the_pointer(app_server: AppServer, chromium: Browser) -> None:
    contexts = [chromium.new_context(viewport={"width": 1024, "height": 768}) for _ in range(3)]
    red, yellow, spectator = (context.new_page() for context in contexts)
    red.goto(app_server.url)
    red.get_by_role("button", name="Invite a friend").click()
    join_url = red.get_by_role("link", name="Join link").get_attribute("href")
    watch_url = red.get_by_role("link", name="Watch link").get_attribute("href")
    assert join_url is not None
    assert watch_url is not None
    yellow.goto(join_url)
    spectator.goto(watch_url)
    expect(red.get_by_text("Your turn")).to_be_visible()

    def shown(page: Page) -> tuple[str, bool]:
        button = page.get_by_role("button", name="Column 4", exact=True)
        button.hover()
        return style(button, "cursor"), preview(page, 4) != "rgba(0, 0, 0, 0)"

    assert [shown(p) for p in (red, yellow, spectator)] == [("pointer", True), ("default", False), ("default", False)]
    click_column(red, 4)
    expect(yellow.get_by_text("Your turn")).to_be_visible()
    assert [shown(p) for p in (red, yellow, spectator)] == [("default", False), ("pointer", True), ("default", False)]
    # A column reached with the keyboard shows its landing cell like a hovered one.
    yellow.mouse.move(0, 0)
    tab_to(yellow, "Column 2")
    assert preview(yellow, 2) != "rgba(0, 0, 0, 0)"
    assert preview(yellow, 3) == "rgba(0, 0, 0, 0)"
    for context in contexts:
        context.close()


def test_every_page_has_one_h1_and_says_its_language(app_server: AppServer, chromium: Browser) -> None:
    context = chromium.new_context()
    page = context.new_page()
    page.goto(f"{app_server.url}/")
    paths = ["/"]
    page.get_by_role("button", name="Invite a friend").click()
    expect(page.get_by_text("Waiting for an opponent to join").first).to_be_visible()
    paths += [page.url.removeprefix(app_server.url), "/local", "/analyze?pos=4453", "/analyze?pos=9", "/no/such/page"]
    titles = []
    for path in paths:
        page.goto(f"{app_server.url}{path}")
        expect(page.locator("h1")).to_have_count(1)
        assert page.evaluate("document.documentElement.lang") == "en-US", path
        titles.append(page.locator("h1").inner_text())
        expect(page.get_by_role("link", name="Connect Four, home page")).to_be_visible()
    assert titles[-1].endswith("Page not found")
    context.close()


WIDTHS = {375: 740, 1024: 768, 1440: 900}


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_layout_at_375_1024_and_1440_pixels(app_server: AppServer, chromium: Browser, scheme: Scheme) -> None:
    for width, height in WIDTHS.items():
        context = chromium.new_context(viewport={"width": width, "height": height}, color_scheme=scheme)
        page = context.new_page()
        page.goto(f"{app_server.url}/analyze?pos=44536")
        expect(page.locator(".c4-value-win").first).to_be_visible(timeout=30000)
        board = page.get_by_role("group", name="Connect Four board").bounding_box()
        panel = page.locator(".c4-side")
        status = page.locator(".c4-status").bounding_box()
        assert board is not None
        assert status is not None
        assert page.evaluate("document.documentElement.scrollWidth") <= width  # nothing sticks out sideways
        if width >= 1024:
            # The board on the left, as tall as the window allows, the side panel beside it.
            side = panel.bounding_box()
            assert side is not None
            assert side["x"] >= board["x"] + board["width"]
            assert board["y"] + board["height"] <= height
            assert board["width"] >= (660 if width == 1440 else 560)
        else:
            assert status["y"] + status["height"] <= board["y"]  # the status above the board on a phone
            assert board["width"] >= 340
        # Switching the values off and on leaves the board where it is.
        before = board["y"]
        page.get_by_role("button", name="Analysis").click()
        expect(page.get_by_role("button", name="Analysis")).to_have_attribute("aria-pressed", "false")
        after = page.get_by_role("group", name="Connect Four board").bounding_box()
        assert after is not None
        assert after["y"] == before
        page.get_by_role("button", name="Analysis").click()
        expect(page.locator(".c4-value-win").first).to_be_visible(timeout=30000)
        page.mouse.move(0, 0)
        page.wait_for_timeout(400)
        page.screenshot(path=screenshot_path(f"local-{width}-{scheme}"))
        context.close()


def test_an_online_game_beside_its_side_panel(app_server: AppServer, chromium: Browser) -> None:
    for scheme in ("light", "dark"):
        contexts = [chromium.new_context(viewport={"width": 1440, "height": 900}, color_scheme=scheme) for _ in "ry"]
        red, yellow = (context.new_page() for context in contexts)
        red.goto(app_server.url)
        red.get_by_role("button", name="Invite a friend").click()
        join_url = red.get_by_role("link", name="Join link").get_attribute("href")
        assert join_url is not None
        yellow.goto(join_url)
        expect(red.get_by_text("Invite spectators")).to_be_visible()
        expect(yellow.get_by_text("Send the join link")).to_have_count(0)
        for page, column in ((red, 4), (yellow, 4), (red, 3), (yellow, 5)):
            click_column(page, column)
            expect(page.locator(".c4-status")).to_have_text(re.compile("^Waiting for"))
        red.mouse.move(0, 0)
        red.wait_for_timeout(600)
        side = red.locator(".c4-side").bounding_box()
        board = red.get_by_role("group", name="Connect Four board").bounding_box()
        assert side is not None
        assert board is not None
        assert side["x"] >= board["x"] + board["width"]
        red.screenshot(path=screenshot_path(f"online-1440-{scheme}"))
        for context in contexts:
            context.close()
