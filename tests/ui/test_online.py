"""Stories of online play, told with NiceGUI's simulated users: creator, joiner, spectators."""

from __future__ import annotations

import gc
import re
from collections.abc import Callable
from urllib.parse import urlparse

from nicegui.testing import User

from tests.ui.helpers import cell_label, click, click_column, click_marker, status


async def invite(red: User) -> tuple[str, str]:
    """Red creates an online game from the home page; returns the join and watch paths."""
    await red.open("/")
    await click(red, "Invite a friend")
    await red.should_see("Send the join link")
    (links,) = red.find(marker="invite-links").elements
    join, watch = (
        re.search(rf'aria-label="{label}" href="([^"]+)"', links.props["innerHTML"])
        for label in ("Join link", "Watch link")
    )
    assert join is not None
    assert watch is not None
    return urlparse(join[1]).path, urlparse(watch[1]).path


async def test_creator_joiner_and_spectator_play_a_full_game(create_user: Callable[[], User]) -> None:
    red, yellow, spectator = create_user(), create_user(), create_user()
    join, watch = await invite(red)
    assert join.startswith("/join/")
    assert watch.startswith("/watch/")
    assert status(red) == "Waiting for an opponent to join"
    await click_column(red, 4)
    await red.should_see("Waiting for an opponent to join.")
    assert cell_label(red, 1, 4) == "Row 1, column 4: empty"

    await yellow.open(join)
    await spectator.open(watch)
    assert status(red) == "Your turn"
    assert status(yellow) == "Waiting for red"
    assert status(spectator) == "Red's turn"

    for red_column, yellow_column in [(4, 5), (4, 5), (4, 5)]:
        await click_column(red, red_column)
        await click_column(yellow, yellow_column)
    for user in (red, yellow, spectator):
        assert cell_label(user, 3, 4) == "Row 3, column 4: red"
        assert cell_label(user, 3, 5) == "Row 3, column 5: yellow"
    await click_column(red, 4)
    # The players read the result in person; the spectator reads the tutorial's words.
    assert [status(user) for user in (red, yellow, spectator)] == ["You win!", "You lose.", "Player red wins!"]
    for user in (red, yellow, spectator):
        assert cell_label(user, 4, 4) == "Row 4, column 4: red"


async def test_a_move_out_of_turn_is_refused(create_user: Callable[[], User]) -> None:
    red, yellow = create_user(), create_user()
    join, _ = await invite(red)
    await yellow.open(join)
    await click_column(yellow, 1)
    await yellow.should_see("It isn't your turn.")
    await click_column(red, 2)
    await click_column(red, 2)
    await red.should_see("It isn't your turn.")
    for user in (red, yellow):
        assert cell_label(user, 1, 1) == "Row 1, column 1: empty"
        assert cell_label(user, 1, 2) == "Row 1, column 2: red"
        assert cell_label(user, 2, 2) == "Row 2, column 2: empty"


async def test_a_third_visitor_on_the_join_link_only_watches(create_user: Callable[[], User]) -> None:
    red, yellow, third = create_user(), create_user(), create_user()
    join, _ = await invite(red)
    await yellow.open(join)
    await third.open(join)
    await third.should_see("Both seats are taken, so you are watching this game.")
    await click_column(third, 1)
    await third.should_see("Spectators cannot play.")
    assert status(red) == "Your turn"
    assert cell_label(red, 1, 1) == "Row 1, column 1: empty"


async def test_a_spectator_arriving_mid_game_sees_the_moves_already_played(create_user: Callable[[], User]) -> None:
    red, yellow, spectator = create_user(), create_user(), create_user()
    join, watch = await invite(red)
    await yellow.open(join)
    await click_column(red, 3)
    await click_column(yellow, 3)
    await click_column(red, 7)
    await spectator.open(watch)
    await spectator.should_see("You are watching this game.")
    assert cell_label(spectator, 1, 3) == "Row 1, column 3: red"
    assert cell_label(spectator, 2, 3) == "Row 2, column 3: yellow"
    assert cell_label(spectator, 1, 7) == "Row 1, column 7: red"
    assert status(spectator) == "Yellow's turn"
    await spectator.should_not_see(marker="invite")  # the join link is for players only


async def test_reload_keeps_the_seat_and_the_board(create_user: Callable[[], User]) -> None:
    red, yellow = create_user(), create_user()
    join, _ = await invite(red)
    await yellow.open(join)
    await click_column(red, 1)
    await yellow.open(join)  # reload
    assert status(yellow) == "Your turn"
    assert cell_label(yellow, 1, 1) == "Row 1, column 1: red"
    await click_column(yellow, 2)
    await red.open(join)  # the creator reloads the same page
    assert status(red) == "Your turn"
    assert cell_label(red, 1, 2) == "Row 1, column 2: yellow"


async def test_rematch_needs_both_and_swaps_colours(create_user: Callable[[], User]) -> None:
    red, yellow = create_user(), create_user()
    join, _ = await invite(red)
    await yellow.open(join)
    for column in "1212121":
        await click_column(red if column == "1" else yellow, int(column))
    assert status(red) == "You win!"
    await click_marker(yellow, "rematch")
    assert status(yellow) == "You lose. Waiting for your opponent to accept the rematch."
    assert status(red) == "You win! Your opponent asks for a rematch (colours swap)."
    await yellow.should_not_see(marker="rematch")  # asked once: nothing more to click
    (accept,) = red.find(marker="rematch").elements
    assert accept.props["aria-label"] == "Accept rematch"
    await click_marker(red, "rematch")
    # The former yellow now plays red and moves first.
    assert status(yellow) == "Your turn"
    assert status(red) == "Waiting for red"
    assert cell_label(red, 1, 1) == "Row 1, column 1: empty"
    await click_column(yellow, 6)
    assert cell_label(red, 1, 6) == "Row 1, column 6: red"
    assert status(red) == "Your turn"


async def test_resign_asks_first_and_ends_the_game(create_user: Callable[[], User]) -> None:
    red, yellow = create_user(), create_user()
    join, _ = await invite(red)
    await yellow.open(join)
    await click_column(red, 4)
    await click_marker(yellow, "resign")
    await yellow.should_see("Resign this game? Your opponent wins.")
    assert status(red) == "Waiting for yellow"
    await click_marker(yellow, "confirm-resign")
    assert status(red) == "Your opponent resigned. You win!"
    assert status(yellow) == "You resigned."
    await click_column(red, 4)
    await red.should_see("The game is over.")
    assert cell_label(red, 2, 4) == "Row 2, column 4: empty"


async def test_an_unknown_key_is_a_404_page(user: User) -> None:
    for path in ("/join/nope", "/watch/nope", "/local/nope", "/join/" + "x" * 500, "/watch/%00%ff"):
        response = await user.http_client.get(path)
        assert response.status_code == 404, path
        assert "Game not found." in response.text
        assert "Traceback" not in response.text


async def test_game_pages_stay_within_their_element_budget(create_user: Callable[[], User]) -> None:
    # Every element costs the server about 3 KiB per open page (bench/load): 1500 browsers hold
    # these pages at once. The header is one element of HTML; the store banner, the dark-mode
    # element and the rematch controls are built only when needed; a spectator has no keyboard.
    # The side panel is one element on every page; only the creator has an invitation, and once
    # yellow is seated it loses its join button; the move list is two elements (and a keyboard for a
    # spectator, whose page has none for the board), so: red 24, yellow 21, a spectator 21.
    red, yellow, spectator = create_user(), create_user(), create_user()
    join, watch = await invite(red)
    await red.open(join)
    await yellow.open(join)
    await spectator.open(watch)
    counts = []
    for user in (red, yellow, spectator):
        assert user.client is not None
        counts.append(len(user.client.elements))
    assert counts == [24, 21, 21]
    # The end of a game and a rematch build nothing and remove nothing: Resign turns into Rematch.
    for column in "1212121":
        await click_column(red if column == "1" else yellow, int(column))
    await click_marker(red, "rematch")
    assert status(spectator) == "Player red wins! Red asked for a rematch."
    await click_marker(yellow, "rematch")
    assert status(yellow) == "Your turn"  # colours swapped: a new game
    assert [len(user.client.elements) for user in (red, yellow, spectator) if user.client] == counts


async def test_a_game_and_its_rematch_leave_no_cyclic_garbage(create_user: Callable[[], User]) -> None:
    # With 1500 pages open a pass of the collector takes up to 0.1 s and stops every game: play
    # must leave it nothing to find. NiceGUI's props("key=\"value\"") parses quoted values with
    # ast.literal_eval, whose nested functions form a cycle on every call (66 objects here).
    red, yellow, spectator = create_user(), create_user(), create_user()
    join, watch = await invite(red)
    await yellow.open(join)
    await spectator.open(watch)
    await click_column(red, 1)
    gc.collect()
    gc.disable()
    try:
        for column in "212121":  # red wins with its fourth disc in column 1
            await click_column(red if column == "1" else yellow, int(column))
        await click_marker(red, "rematch")
        await click_marker(yellow, "rematch")
        assert status(yellow) == "Your turn"  # the new game began: every button changed its meaning twice
        found = gc.collect()
    finally:
        gc.enable()
    assert found == 0


async def test_a_resignation_is_announced_once_per_page(create_user: Callable[[], User]) -> None:
    red, yellow = create_user(), create_user()

    def announced() -> list[str]:
        # The simulated users share one ui.notify (the last one used takes it), so read both lists.
        return sorted(m for m in red.notify.messages + yellow.notify.messages if "resigned" in m)

    join, _ = await invite(red)
    await yellow.open(join)
    await click_column(red, 4)
    await click_marker(yellow, "resign")
    await click_marker(yellow, "confirm-resign")
    assert announced() == ["You resigned.", "Your opponent resigned. You win!"]
    # Every later change of the game: the opponent reloading, and a rematch request.
    await yellow.open(join)
    await click_marker(yellow, "rematch")
    assert status(red) == "Your opponent resigned. You win! Your opponent asks for a rematch (colours swap)."
    assert announced() == ["You resigned.", "Your opponent resigned. You win!"]


async def test_the_invitation_is_for_the_creator_and_shrinks_once_both_are_seated(
    create_user: Callable[[], User],
) -> None:
    red, yellow = create_user(), create_user()
    join, watch = await invite(red)
    await red.should_see("Send the join link to the friend you want to play")
    await red.should_see(marker="invite")
    await yellow.open(join)
    # Yellow, seated, is not told to send the join link; red now sees only how to invite spectators.
    await yellow.should_not_see(marker="invite")
    await yellow.should_not_see("Send the join link")
    await red.should_see("Invite spectators")
    await red.should_not_see("Send the join link")
    (links,) = red.find(marker="invite-links").elements
    assert "Join link" not in links.props["innerHTML"]
    assert watch in links.props["innerHTML"]
    (card,) = red.find(marker="invite").elements
    copies = [e.props["aria-label"] for e in card.descendants() if str(e.props.get("aria-label")).startswith("Copy")]
    assert copies == ["Copy watch link"]
    await red.open(join)  # a reload builds the small invitation directly
    await red.should_see("Invite spectators")
    await red.should_not_see("Send the join link")


async def test_only_the_player_to_move_is_invited_to_click(create_user: Callable[[], User]) -> None:
    red, yellow, spectator = create_user(), create_user(), create_user()
    join, watch = await invite(red)

    def waits(user: User) -> bool:
        (board,) = user.find(marker="board").elements
        return "c4-wait" in board.classes

    assert waits(red)  # nobody to play against yet
    await yellow.open(join)
    await spectator.open(watch)
    assert [waits(u) for u in (red, yellow, spectator)] == [False, True, True]
    await click_column(red, 4)
    assert [waits(u) for u in (red, yellow, spectator)] == [True, False, True]
