"""Games survive the server: SIGKILL in the middle of play, restart on the same SQLite file, play on."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.fixtures import AppServer, click_column, screenshot_path, start_online_game

pytestmark = pytest.mark.browser


def test_sigkill_mid_game_loses_no_acknowledged_move(tmp_path: Path, chromium: Browser) -> None:
    env = {"STORAGE_SECRET": "persist-secret", "DATABASE_URL": f"sqlite:///{tmp_path / 'games.db'}"}
    server = AppServer(env=env, log_path=tmp_path / "app.log").start()
    red_context, yellow_context = chromium.new_context(), chromium.new_context()
    red, yellow = red_context.new_page(), yellow_context.new_page()
    try:
        join_url = start_online_game(red, yellow, server.url, [4, 4, 5, 5, 6])
        assert server.stop(signal.SIGKILL) == -signal.SIGKILL

        red_url = red.url
        # The old tabs would reload by themselves when the server is back; fresh tabs in the same
        # browsers (same cookies, so the same identities) make the reconnection deterministic.
        red.close()
        yellow.close()
        server.start()  # same port, same file
        red, yellow = red_context.new_page(), yellow_context.new_page()
        red.goto(red_url)
        yellow.goto(join_url)
        expect(yellow.get_by_text("Your turn")).to_be_visible()
        expect(red.get_by_text("Waiting for yellow")).to_be_visible()
        for page in (red, yellow):
            for label in (
                "Row 1, column 4: red",
                "Row 2, column 4: yellow",
                "Row 1, column 5: red",
                "Row 2, column 5: yellow",
                "Row 1, column 6: red",
            ):
                expect(page.get_by_label(label)).to_have_count(1)
        click_column(yellow, 1)
        expect(red.get_by_text("Your turn")).to_be_visible()
        click_column(red, 7)
        for page, result in ((red, "You win!"), (yellow, "You lose.")):
            expect(page.get_by_text(result).first).to_be_visible()
        red.screenshot(path=screenshot_path("after-sigkill-red"))
    finally:
        red_context.close()
        yellow_context.close()
        server.stop()
