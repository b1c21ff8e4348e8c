"""Stories of the move list, stepping through a game, the replay page and the review, with simulated users."""

from __future__ import annotations

import asyncio
import gc
import re
from collections.abc import Callable
from urllib.parse import urlparse

from nicegui import ui
from nicegui.testing import User

from tests.ui.helpers import cell_label, click, click_column, play, press_key, running, settle, status
from tests.ui.test_online import invite
from ui.game_view import GameView


def moves_shown(user: User) -> list[str]:
    """The move list as a screen reader reads it, the current move marked with a star."""
    (element,) = user.find(marker="moves").elements
    html = element.props["innerHTML"]
    buttons = re.findall(r'<button [^>]*?data-move="\d+"( aria-current="step")? aria-label="([^"]+)"', html)
    return [f"{label} *" if current else label for current, label in buttons]


def board_cells(user: User) -> list[str]:
    """Every cell's label, bottom row first: what the board shows."""
    return [cell_label(user, row, column) for row in range(1, 7) for column in range(1, 8)]


async def step(user: User, name: str) -> None:
    """Press a step button ("first", "back", "forward", "last", "present"), as the steps' one listener hears it."""
    before = running()
    user.find(marker="steps").trigger("click", name)
    await settle(before)


async def click_move(user: User, number: int) -> None:
    """Click move ``number`` in the list, as the list's one listener hears it from the browser."""
    before = running()
    user.find(marker="moves").trigger("click", str(number))
    await settle(before)


def view_of(user: User) -> GameView:
    """The game view of this user's page."""
    gc.collect()  # with SERVER_TUNING=off, earlier tests' pages wait for the collector
    (view,) = [o for o in gc.get_objects() if isinstance(o, GameView) and o.board.root._client() is user.client]
    return view


def label_text(user: User, marker: str) -> str:
    (label,) = user.find(kind=ui.label, marker=marker).elements
    return str(label.text)


def replay_link(user: User) -> str | None:
    """The "Replay and review this game" link beside the move list's steps, if there is one."""
    (steps,) = user.find(marker="steps").elements
    found = re.search(
        r'<a class="c4-replay-link" href="([^"]+)">Replay and review this game</a>', steps.props["innerHTML"]
    )
    return found[1] if found else None


def link_of(user: User, marker: str) -> str:
    (link,) = user.find(marker=marker).elements
    return str(link.props["href"])


async def finished_local_game(user: User, moves: str) -> str:
    """Play ``moves`` on one device to the end; returns the replay path the game page offers."""
    await user.open("/local")
    await play(user, moves)
    return urlparse(replay_link(user) or "").path


async def test_the_move_list_grows_with_the_game_and_marks_the_last_move(user: User) -> None:
    await user.open("/local")
    assert "No moves yet." in user.find(marker="moves").elements.pop().props["innerHTML"]
    await play(user, "43")
    assert moves_shown(user) == ["Move 1: red, column 4", "Move 2: yellow, column 3 *"]


async def test_stepping_back_shows_an_earlier_move_without_changing_the_game(user: User) -> None:
    await user.open("/local")
    await play(user, "4455")
    present = board_cells(user)
    await step(user, "back")
    assert cell_label(user, 2, 5) == "Row 2, column 5: empty"
    assert moves_shown(user)[2] == "Move 3: red, column 5 *"
    await step(user, "first")
    assert all(label.endswith("empty") for label in board_cells(user))
    await click_move(user, 2)
    assert cell_label(user, 2, 4) == "Row 2, column 4: yellow"
    assert cell_label(user, 1, 5) == "Row 1, column 5: empty"
    await click_column(user, 1)  # a click on the board while looking back plays nothing
    await user.should_see("The board shows an earlier move: go back to the game to play.")
    await step(user, "present")
    assert board_cells(user) == present
    assert status(user) == "Red's turn"
    await click_column(user, 1)
    assert cell_label(user, 1, 1) == "Row 1, column 1: red"


async def test_the_arrow_keys_step_through_the_moves(user: User) -> None:
    await user.open("/local")
    await play(user, "4455")
    await press_key(user, "ArrowLeft")
    await press_key(user, "ArrowLeft")
    assert cell_label(user, 1, 5) == "Row 1, column 5: empty"
    await press_key(user, "ArrowRight")
    assert cell_label(user, 1, 5) == "Row 1, column 5: red"
    await press_key(user, "Home")
    assert cell_label(user, 1, 4) == "Row 1, column 4: empty"
    await press_key(user, "End")
    assert cell_label(user, 2, 5) == "Row 2, column 5: yellow"
    assert status(user) == "Red's turn"


async def test_a_live_game_goes_on_underneath_while_a_player_looks_back(create_user: Callable[[], User]) -> None:
    red, yellow = create_user(), create_user()
    join, _ = await invite(red)
    await yellow.open(join)
    await click_column(red, 4)
    await click_column(yellow, 4)
    await step(red, "first")
    await click_column(red, 5)  # refused: red looks at the start
    await red.should_see("The board shows an earlier move: go back to the game to play.")
    await click_column(yellow, 3)  # refused: not yellow's turn (the game did not move)
    assert cell_label(red, 1, 4) == "Row 1, column 4: empty"  # still the start
    await step(red, "present")
    await click_column(red, 5)
    await step(red, "back")
    await click_column(yellow, 5)  # the game goes on while red looks back
    assert cell_label(red, 2, 5) == "Row 2, column 5: empty"  # red still sees the earlier move
    assert moves_shown(red)[-1] == "Move 4: yellow, column 5"  # but the list has the new one
    await step(red, "present")
    assert cell_label(red, 2, 5) == "Row 2, column 5: yellow"
    assert status(red) == "Your turn"


async def test_the_replay_page_shows_any_moment_of_a_finished_game(user: User) -> None:
    replay = await finished_local_game(user, "1213141")
    await user.open(f"{replay}?move=3")
    assert cell_label(user, 1, 1) == "Row 1, column 1: red"
    assert cell_label(user, 1, 3) == "Row 1, column 3: empty"  # move 5 is not played yet
    assert cell_label(user, 2, 1) == "Row 2, column 1: red"  # move 3
    await user.should_see("Move 3: red played column 1.")
    assert link_of(user, "play-from-here") == "/analyze?pos=121"
    assert link_of(user, "moment-link") == f"{replay}?move=3"
    await step(user, "forward")
    await user.should_see("Move 4: yellow played column 3.")
    await step(user, "last")
    assert cell_label(user, 4, 1) == "Row 4, column 1: red"
    await user.should_see("Move 7: red played column 1.")
    await click_move(user, 2)
    assert link_of(user, "moment-link") == f"{replay}?move=2"
    await user.open(replay)  # without a move number: the end
    assert cell_label(user, 4, 1) == "Row 4, column 1: red"
    await user.should_see("Player red wins!")


async def test_play_from_here_opens_the_analysis_of_that_position(user: User) -> None:
    replay = await finished_local_game(user, "1213141")
    await user.open(f"{replay}?move=2")
    await user.open(link_of(user, "play-from-here"))
    await user.should_see(marker="analysis")
    assert cell_label(user, 1, 2) == "Row 1, column 2: yellow"
    assert cell_label(user, 2, 1) == "Row 2, column 1: empty"
    assert status(user) == "Red's turn"


async def test_bad_replay_links_get_a_clear_page(user: User) -> None:
    replay = await finished_local_game(user, "1213141")
    responses = {
        path: await user.http_client.get(path)
        for path in ("/replay/nope", f"{replay}?move=abc", f"{replay}?move=8", f"{replay}?move=-1")
    }
    assert responses["/replay/nope"].status_code == 404
    assert "No game has this replay link" in responses["/replay/nope"].text
    assert responses[f"{replay}?move=abc"].status_code == 400
    assert "The move number must be a whole number from 0 to 7" in responses[f"{replay}?move=abc"].text
    assert responses[f"{replay}?move=8"].status_code == 400
    assert "This game has 7 moves, so the move number goes from 0 to 7, not 8." in responses[f"{replay}?move=8"].text
    assert responses[f"{replay}?move=-1"].status_code == 400
    for response in responses.values():
        assert "Traceback" not in response.text
        assert "Back to the home page" in response.text


async def test_a_join_or_watch_key_opens_no_replay(create_user: Callable[[], User]) -> None:
    red = create_user()
    join, watch = await invite(red)
    for path in (join, watch):
        response = await red.http_client.get(f"/replay/{path.rsplit('/', 1)[1]}")
        assert response.status_code == 404


async def test_an_unfinished_game_replays_its_moves_so_far_but_offers_no_review(
    create_user: Callable[[], User],
) -> None:
    red, yellow, viewer = create_user(), create_user(), create_user()
    join, _ = await invite(red)
    await yellow.open(join)
    key = view_of(red).live.record.replay_key
    assert key is not None
    response = await viewer.http_client.get(f"/replay/{key}?review=1")
    assert response.status_code == 409
    assert "This game is not over yet." in response.text
    await viewer.open(f"/replay/{key}")
    await viewer.should_see("This game is still being played: its review opens once it is over.")
    await click_column(red, 4)
    assert moves_shown(viewer) == ["Move 1: red, column 4 *"]  # the replay follows the live game
    assert cell_label(viewer, 1, 4) == "Row 1, column 4: red"
    assert replay_link(red) is None  # offered only once it is over


async def test_the_replay_page_opened_a_hundred_times_is_never_refused(user: User) -> None:
    replay = await finished_local_game(user, "1213141")
    for number in range(100):
        await user.open(f"{replay}?move={number % 8}")
        await user.should_not_see("too quickly")
        await user.should_see(marker="replay-status")
    await user.open("/local")  # and starting a game afterwards is not refused either
    await user.should_not_see("too quickly")
    await user.should_see(marker="board")


async def test_a_review_grades_every_move_and_names_the_turning_point(user: User) -> None:
    # Red 4-5-6 on the bottom row with both ends open; red dawdles with 1, yellow blocks 3, red wins with 7.
    replay = await finished_local_game(user, "445566137")
    await user.open(f"{replay}?move=6")
    await click(user, "Review this game")
    verdict = "Move 4 by yellow, column 5, turned a win into a loss; column 3 kept the win."
    for _ in range(600):  # the worker reviews nine positions (a minute at most on a busy machine)
        if label_text(user, "verdict") == verdict:
            break
        await asyncio.sleep(0.1)
    await user.should_see(verdict)
    shown = moves_shown(user)
    assert shown[3] == "Move 4: yellow, column 5, blunder"
    assert shown[6] == "Move 7: red, column 1, inaccuracy"
    assert shown[8] == "Move 9: red, column 7, best"
    await user.should_see("Red: 5 moves, 3 best, 1 inaccuracy, 0 mistakes, 1 blunder.")
    await user.should_see("Yellow: 4 moves, 3 best, 0 inaccuracies, 0 mistakes, 1 blunder.")
    await user.should_see(marker="summary-chart")
    # At move 6 red wins at once in column 3 or 7: the ghost disc stands in column 3 (nearest the centre).
    (ghost,) = [c for c in user.find(marker="board").elements.pop().default_slot.children if "c4-ghost" in c.classes]
    assert ghost.props["aria-label"] == "Column 3: the perfect move"
    (row,) = user.find(marker="review-values").elements
    values = [str(label.text) for label in row.default_slot.children if isinstance(label, ui.label)]
    assert values[2] == "win in 1 ★"
    assert values[0] == "win in 2"
    await click_move(user, 7)
    await user.should_see("Move 7: red played column 1. Inaccuracy (?!). Column 3 was the perfect move.")
    # A second visit reads the stored review at once: no button, the verdict is there.
    await user.open(replay)
    await user.should_see(verdict)
    await user.should_not_see("Review this game")
