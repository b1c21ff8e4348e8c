"""Stories of "My games" on the home page: a player whose page was closed finds the game again."""

from __future__ import annotations

from collections.abc import Callable

from nicegui import ui
from nicegui.testing import User

from tests.ui.helpers import cell_label, click, click_column, click_marker, running, settle, status
from tests.ui.test_names import choose_name
from tests.ui.test_online import invite


def entries(user: User, marker: str = "my-game") -> list[tuple[str, str]]:
    """The list's entries as (text, address), in the order they show (the elements were made in that order)."""
    links = sorted(user.find(kind=ui.link, marker=marker).elements, key=lambda e: e.id)
    return [(str(e.text), str(e.props["href"])) for e in links]


async def test_my_games_after_closing_the_page(create_user: Callable[[], User]) -> None:
    red, yellow, stranger = create_user(), create_user(), create_user()
    await choose_name(red, "Ana")
    await choose_name(yellow, "Ben")
    join, watch = await invite(red)
    await yellow.open(join)
    await click_column(red, 4)
    await stranger.open(watch)
    # Both close their pages (the game is then shown nowhere in this process) and come back home.
    await red.open("/")
    await yellow.open("/")
    await stranger.open("/")
    assert entries(red) == [("Online against Ben · Ben's turn", join)]
    assert entries(yellow) == [("Online against Ana · Your turn", join)]
    await stranger.should_not_see(marker="my-games")  # watching gives no seat
    before = running()
    yellow.find(marker="my-game").click()
    await settle(before)
    assert status(yellow) == "Your turn"  # back in the seat, not watching
    assert cell_label(yellow, 1, 4) == "Row 1, column 4: red"
    await click_column(yellow, 4)
    await red.open("/")
    assert entries(red) == [("Online against Ben · Your turn", join)]


async def test_finished_games_show_their_result_and_every_kind_of_game_is_listed(
    create_user: Callable[[], User],
) -> None:
    red, yellow = create_user(), create_user()
    join, _ = await invite(red)
    await red.open("/")
    assert entries(red) == [("Online game · Waiting for an opponent to join", join)]
    await yellow.open(join)
    await click_marker(yellow, "resign")
    await click_marker(yellow, "confirm-resign")
    await red.open("/")
    await click(red, "Play the computer")
    await click(red, "Start")
    await red.should_see(marker="level")
    assert red.client is not None
    computer = red.client.request.url.path
    await red.open("/local")
    await click_column(red, 3)  # its first move stores a game on this device
    await red.open("/")
    assert entries(red) == [
        ("On this device · Yellow to move", entries(red)[0][1]),
        ("Against the computer (Casual) · Your turn", computer),
    ]
    assert entries(red)[0][1].startswith("/local/")
    assert entries(red, "my-game-ended") == [("Online against Guest · Guest resigned", join)]
    await yellow.open("/")
    assert entries(yellow, "my-game-ended") == [("Online against Guest · You resigned", join)]
    ((text, replay),) = entries(yellow, "my-game-replay")  # a finished game links to its replay and review too
    assert text == "Replay"
    assert replay.startswith("/replay/")
    assert replay.endswith("?review=1")
    await yellow.open(replay)
    await yellow.should_see(marker="replay-title")
