"""Stories of the hot-seat game, told with NiceGUI's simulated user."""

from __future__ import annotations

import asyncio
import contextlib
import html
import re
import sqlite3
from pathlib import Path

import pytest
from nicegui import app, ui
from nicegui.testing import User

from tests.ui.helpers import (
    cell_classes,
    cell_label,
    click,
    click_column,
    click_marker,
    element_of,
    last_move_marked,
    play,
    press_key,
    sent_updates,
    status,
)
from ui import game_view


async def test_home_offers_play_on_this_device(user: User) -> None:
    await user.open("/")
    await user.should_see("Play on this device")
    await click(user, "Play on this device")
    await user.should_see(marker="column-1")
    await user.should_see("Red's turn")


async def test_a_full_game_to_a_win(user: User) -> None:
    await user.open("/local")
    await user.should_see("Red's turn")
    await play(user, "121212")
    assert cell_label(user, 1, 1) == "Row 1, column 1: red"
    assert cell_label(user, 1, 2) == "Row 1, column 2: yellow"
    assert cell_label(user, 4, 1) == "Row 4, column 1: empty"
    assert status(user) == "Red's turn"
    await click_column(user, 1)
    await user.should_see("Player red wins!")
    assert status(user) == "Player red wins!"
    for row in range(1, 5):
        assert "c4-win" in cell_classes(user, row, 1)
    assert "c4-win" not in cell_classes(user, 1, 2)
    # The finished board takes no more discs.
    await click_column(user, 3)
    await user.should_see("The game is over.")
    assert cell_label(user, 1, 3) == "Row 1, column 3: empty"


async def test_a_full_column_says_so_and_changes_nothing(user: User) -> None:
    await user.open("/local")
    await play(user, "444444")
    assert cell_label(user, 6, 4) == "Row 6, column 4: yellow"
    await click_column(user, 4)
    await user.should_see("This slot is full.")
    assert status(user) == "Red's turn"


async def test_keys_one_to_seven_play_in_that_column(user: User) -> None:
    await user.open("/local")
    await press_key(user, "7")
    await press_key(user, "1")
    await press_key(user, "x")
    await press_key(user, "9")
    assert cell_label(user, 1, 7) == "Row 1, column 7: red"
    assert cell_label(user, 1, 1) == "Row 1, column 1: yellow"
    assert status(user) == "Red's turn"


async def test_new_game_clears_the_board(user: User) -> None:
    await user.open("/local")
    await play(user, "1213141")
    await user.should_see("Player red wins!")
    await click(user, "New game")
    assert status(user) == "Red's turn"
    assert cell_label(user, 1, 1) == "Row 1, column 1: empty"
    assert "c4-win" not in cell_classes(user, 1, 1)
    await click_column(user, 4)
    assert cell_label(user, 1, 4) == "Row 1, column 4: red"


async def test_undo_takes_back_moves_and_reopens_a_won_game(user: User) -> None:
    await user.open("/local")
    await click(user, "Undo")
    await user.should_see("There is no move to undo.")
    await play(user, "1213141")
    await user.should_see("Player red wins!")
    await click(user, "Undo")
    assert cell_label(user, 4, 1) == "Row 4, column 1: empty"
    assert status(user) == "Red's turn"
    assert "c4-win" not in cell_classes(user, 1, 1)
    assert last_move_marked(user) == (1, 4)
    await click_column(user, 2)
    assert cell_label(user, 2, 2) == "Row 2, column 2: red"


async def test_the_last_move_is_marked_and_hover_shows_the_landing_cell(user: User) -> None:
    await user.open("/local")
    assert "c4-next" in cell_classes(user, 1, 3)
    assert last_move_marked(user) is None
    await play(user, "33")
    assert last_move_marked(user) == (2, 3)
    assert "c4-next" in cell_classes(user, 3, 3)
    assert "c4-next" not in cell_classes(user, 2, 3)
    assert "c4-drop" in cell_classes(user, 2, 3)


def board_classes(user: User) -> tuple[list[str], list[str]]:
    """The board's classes: those for the turn, the last move and the end (sorted), and the others."""
    (board,) = user.find(marker="board").elements
    turn = sorted(c for c in board.classes if c.startswith(("c4-turn-", "c4-last-", "c4-over")))
    return turn, [c for c in board.classes if c not in turn]


async def test_the_board_classes_say_whose_turn_where_the_last_disc_fell_and_the_end(user: User) -> None:
    await user.open("/local")
    turn, others = board_classes(user)
    assert turn == ["c4-turn-red"]
    assert "c4-board" in others
    await click_column(user, 1)
    assert board_classes(user) == (["c4-last-1-1", "c4-turn-yellow"], others)
    await play(user, "213141")
    await user.should_see("Player red wins!")
    assert board_classes(user) == (["c4-last-4-1", "c4-over", "c4-turn-yellow"], others)
    await click(user, "Undo")
    assert board_classes(user) == (["c4-last-1-4", "c4-turn-red"], others)


async def test_a_move_sends_only_the_elements_it_changed(user: User) -> None:
    await user.open("/local")
    await click_column(user, 1)  # the first move stores the game and gives the page its own address
    await click(user, "Undo")  # back to an empty board, now a stored game
    await asyncio.sleep(0.3)  # let the page's first messages go out
    with sent_updates(user) as sent:
        await click_column(user, 4)
        await asyncio.sleep(0.3)
    changed = {int(element_id) for update in sent for element_id in update}
    expected = {
        element_of(user, "column-4"),  # the disc that landed, and the hover preview moving up
        element_of(user, "board"),  # whose turn it is, for the preview colour
        element_of(user, "status"),
        element_of(user, "position-link"),  # the link to this position names the new move
        element_of(user, "moves"),  # the move list gains the move
        element_of(user, "steps"),  # stepping back becomes possible after the first move only
    }
    assert changed == expected

    with sent_updates(user) as sent:
        await click_column(user, 5)
        await asyncio.sleep(0.3)
    changed = {int(element_id) for update in sent for element_id in update}
    # The last-move marker moves with the board's classes: column 4 is not sent again.
    assert changed == {
        element_of(user, "column-5"),
        element_of(user, "board"),
        element_of(user, "status"),
        element_of(user, "position-link"),
        element_of(user, "moves"),
    }


async def test_a_flood_of_clicks_is_told_to_slow_down(user: User) -> None:
    await user.open("/local")
    for _ in range(40):
        await click_column(user, 4)
    await user.should_see("Too many moves at once: slow down.")
    assert cell_label(user, 6, 4) == "Row 6, column 4: yellow"  # the six that fit, nothing more


async def test_a_refusal_repeated_at_once_is_shown_once(user: User, monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(game_view, "clock", lambda: now[0])
    await user.open("/local")
    await play(user, "444444")
    for _ in range(5):  # a full column, clicked again and again while the first toast still shows
        await click_column(user, 4)
    await click_column(user, 3)  # a move in between does not bring back the same refusal
    await click_column(user, 4)
    assert user.notify.messages.count("This slot is full.") == 1
    now[0] += game_view.REPEAT_QUIET_SECONDS
    await click_column(user, 4)
    assert user.notify.messages.count("This slot is full.") == 2


def stored_games(database: Path) -> list[tuple[str, str]]:
    """The (join key, moves) of every game in the test's SQLite file."""
    with contextlib.closing(sqlite3.connect(database)) as db:
        return db.execute("SELECT join_key, moves FROM games").fetchall()


async def test_starting_games_too_fast_is_refused_with_a_message(user: User, database_in_tmp: Path) -> None:
    for _ in range(10):
        await user.open("/local")
        await click_column(user, 4)
    await user.open("/local")  # looking is never refused: only the first move starts a game
    await click_column(user, 4)
    await user.should_see("You are starting games too quickly; try again in a minute.")
    assert cell_label(user, 1, 4) == "Row 1, column 4: empty"
    assert len(stored_games(database_in_tmp)) == 10


async def test_a_page_view_stores_no_game_and_the_first_move_does(
    user: User, database_in_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for path in ("/local", "/analyze?pos=4453", "/local", "/"):
        assert (await user.http_client.get(path)).status_code == 200, path
    await user.open("/local")
    await user.should_see("Red's turn")
    assert stored_games(database_in_tmp) == []
    addresses: list[str] = []
    monkeypatch.setattr(user.navigate.history, "replace", addresses.append)
    await click_column(user, 4)
    ((key, moves),) = stored_games(database_in_tmp)
    assert moves == "4"
    assert addresses == [f"/local/{key}"]  # the page's address is now the game's own link
    (header,) = user.find(marker="header").elements
    assert f"next=%2Flocal%2F{key}" in header.props["innerHTML"]  # and the dark-mode switch comes back to it
    await click_column(user, 3)
    assert addresses == [f"/local/{key}"]  # rewritten once
    await user.open(f"/local/{key}")  # a reload finds the game
    assert cell_label(user, 1, 4) == "Row 1, column 4: red"
    assert cell_label(user, 1, 3) == "Row 1, column 3: yellow"
    assert len(stored_games(database_in_tmp)) == 1


async def test_a_position_link_opened_again_and_again_is_never_refused(
    user: User, database_in_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(20):
        await user.open("/analyze?pos=4453")
        assert cell_label(user, 2, 4) == "Row 2, column 4: yellow"
    (switch,) = user.find(marker="analysis-switch").elements
    assert switch.props["aria-pressed"] == "true"
    assert stored_games(database_in_tmp) == []
    addresses: list[str] = []
    monkeypatch.setattr(user.navigate.history, "replace", addresses.append)
    await click_column(user, 1)
    ((key, moves),) = stored_games(database_in_tmp)
    assert moves == "44531"
    assert addresses == [f"/local/{key}?analysis=1"]


async def follow_dark_mode_switch(user: User, name: str) -> None:
    """Do what a click on the header's link ``name`` ("Switch to dark mode") does: follow it."""
    (header,) = user.find(marker="header").elements
    links = dict(re.findall(r'<a href="([^"]+)"[^>]*aria-label="([^"]+)"', header.props["innerHTML"]))
    switch = {label: href for href, label in links.items()}[name]
    await user.open(html.unescape(switch))


async def test_the_dark_mode_choice_is_kept_in_the_browser_cookie(user: User) -> None:
    await user.open("/local")
    assert user.client is not None
    game_page = user.client.request.url.path
    assert user.client.page.resolve_dark() is None  # follows the system
    await user.should_not_see(kind=ui.dark_mode)  # and needs no element for that
    await follow_dark_mode_switch(user, "Switch to dark mode")
    await user.should_see(kind=ui.dark_mode)  # the page came back in dark mode
    assert user.client.request.url.path == game_page  # the same game, not a new one
    (dark,) = user.find(kind=ui.dark_mode).elements
    assert dark.value is True
    # Nothing per browser on the server: the choice is in the signed cookie.
    assert all(dict(storage) == {} for storage in app.storage._users.values())
    await user.open("/")
    (dark,) = user.find(kind=ui.dark_mode).elements
    assert dark.value is True  # the choice follows the browser to its next page
    await follow_dark_mode_switch(user, "Switch to light mode")
    await user.should_see("Play on this device")
    (dark,) = user.find(kind=ui.dark_mode).elements
    assert dark.value is False


@pytest.mark.parametrize(
    "target", ["//evil.example/x", "https://evil.example/", "/\\\\evil.example", "javascript:alert(1)"]
)
async def test_the_dark_mode_switch_returns_only_to_this_site(user: User, target: str) -> None:
    response = await user.http_client.get("/prefs/dark", params={"on": "true", "next": target})
    assert response.status_code == 303
    assert response.headers["location"] == "/"


async def test_unknown_paths_and_bad_links_get_the_games_own_pages(user: User) -> None:
    for path, code in (("/no/such/page", 404), ("/nope", 404), ("/local/abc?analysis=maybe", 400)):
        response = await user.http_client.get(path)
        assert response.status_code == code, path
        text = response.text
        assert 'lang="en-US"' in text
        assert "c4-title" in text, path  # the header
        assert "Back to the home page" in text, path
        for leak in ("HTTPException", "Traceback", "RequestValidationError", "Not Found"):
            assert leak not in text, (path, leak)


async def test_an_exception_in_a_page_is_a_500_page_without_its_name(
    user: User, caplog: pytest.LogCaptureFixture
) -> None:
    @ui.page("/test-broken")
    def broken() -> None:
        raise RuntimeError("secret internals")

    response = await user.http_client.get("/test-broken")
    assert response.status_code == 500
    assert "Something went wrong" in response.text
    assert "Back to the home page" in response.text
    for leak in ("RuntimeError", "secret internals", "Traceback"):
        assert leak not in response.text
    # The traceback goes to the log, for whoever runs the server; the NiceGUI fixture fails a test on it.
    assert any(r.exc_info and str(r.exc_info[1]) == "secret internals" for r in caplog.records)
    caplog.clear()


async def test_every_page_says_its_language(user: User) -> None:
    for path in ("/", "/local", "/analyze?pos=44", "/analyze?pos=0"):
        response = await user.http_client.get(path, follow_redirects=True)
        assert '<html lang="en-US"' in response.text, path


async def test_a_position_longer_than_the_board_is_an_error_that_says_so(user: User) -> None:
    full = "547125662261271266215743771576315353334444"  # fills the board with no four: a draw
    assert (await user.http_client.get(f"/analyze?pos={full}")).status_code == 200
    response = await user.http_client.get(f"/analyze?pos={full}1")
    assert response.status_code == 400
    assert "A position has at most 42 moves, one per cell; this link has 43 characters." in response.text
    response = await user.http_client.get("/analyze?pos=" + "4" * 500)
    assert response.status_code == 400
    assert "this link has 500 characters" in response.text


async def test_at_the_end_the_page_says_the_result_and_no_more_how_to_play(user: User) -> None:
    await user.open("/local")
    await user.should_see("Click a column or press 1 to 7. Red starts.")
    await play(user, "1212121")
    assert status(user) == "Player red wins!"  # a hot-seat game keeps the tutorial's words
    await user.should_not_see("Click a column or press 1 to 7. Red starts.")
    await click(user, "Undo")
    await user.should_see("Click a column or press 1 to 7. Red starts.")


async def test_the_analysis_switch_says_whether_it_is_on(user: User) -> None:
    await user.open("/local")
    (switch,) = user.find(marker="analysis-switch").elements
    assert switch.props["aria-pressed"] == "false"
    (values,) = user.find(marker="analysis").elements
    assert "c4-values-off" in values.classes  # hidden, but keeping its place under the board
    await click_marker(user, "analysis-switch")
    assert switch.props["aria-pressed"] == "true"
    assert "c4-values-off" not in values.classes


async def test_an_http_route_keeps_fastapis_answers(user: User) -> None:
    response = await user.http_client.get("/prefs/dark", params={"on": "maybe"})
    assert response.status_code == 422
    assert "detail" in response.json()
