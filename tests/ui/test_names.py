"""Stories of display names: chosen on the home page, kept in the browser's cookie, shown on every board."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from nicegui import ui
from nicegui.testing import User

from games.names import ALLOWED
from tests.ui.helpers import click, click_column, click_marker, status
from tests.ui.test_online import invite
from ui import names


async def choose_name(user: User, name: str) -> None:
    """Type ``name`` into the home page's name field and save it."""
    await user.open("/")
    user.find(marker="name-field").clear().type(name)
    await click_marker(user, "save-name")


def text_of(user: User, marker: str) -> str:
    (label,) = user.find(kind=ui.label, marker=marker).elements
    return str(label.text)


async def test_names_show_on_both_boards_and_to_spectators(create_user: Callable[[], User]) -> None:
    red, yellow, spectator = create_user(), create_user(), create_user()
    await choose_name(red, "  Ana  ")
    await red.should_see("You play as Ana.")
    await choose_name(yellow, "Tom & Jerry's")
    join, watch = await invite(red)
    await yellow.open(join)
    await spectator.open(watch)
    assert text_of(red, "players") == "Red: Ana (you, connected) · Yellow: Tom & Jerry's (opponent, connected)"
    assert text_of(yellow, "players") == "Red: Ana (opponent, connected) · Yellow: Tom & Jerry's (you, connected)"
    assert text_of(spectator, "players") == "Red: Ana (player, connected) · Yellow: Tom & Jerry's (player, connected)"
    # The name is the text of a label, never HTML: nothing on the page carries it as markup.
    assert spectator.client is not None
    assert not any("Jerry" in str(e.props.get("innerHTML", "")) for e in spectator.client.elements.values())


async def test_without_a_name_a_player_is_their_colour(create_user: Callable[[], User]) -> None:
    red, yellow = create_user(), create_user()
    await red.open("/")
    await red.should_see("Without a name you play as Red or Yellow.")
    join, _ = await invite(red)
    await yellow.open(join)
    assert text_of(yellow, "players") == "Red: opponent (connected) · Yellow: you (connected)"
    assert text_of(yellow, "score") == "Red 0 \N{EN DASH} 0 Yellow"


async def test_the_name_shows_against_the_computer(user: User) -> None:
    await choose_name(user, "Ana")
    await click(user, "Play the computer")
    await click(user, "Start")
    await user.should_see(marker="level")
    assert text_of(user, "players") == "Red: Ana · Yellow: Computer"


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("<b>x</b>", "The name may not hold '<'."),
        ("x" * 21, "The name is 21 characters long."),
        ("   ", "The name is empty."),
        ("Ana\u200b", "The name may not hold U+200B."),
    ],
)
async def test_a_name_outside_the_rules_is_refused_and_changes_nothing(user: User, name: str, reason: str) -> None:
    await choose_name(user, "Ana")
    await choose_name(user, name)
    await user.should_see(f"{reason} A name has {ALLOWED}.")
    await user.open("/")
    await user.should_see("You play as Ana.")


async def test_saving_a_cleared_field_says_the_name_is_empty(user: User) -> None:
    await user.open("/")
    user.find(marker="name-field").clear()
    await click_marker(user, "save-name")
    await user.should_see(f"The name is empty. A name has {ALLOWED}.")


async def test_renaming_is_rate_limited_per_browser(create_user: Callable[[], User]) -> None:
    first, second = create_user(), create_user()
    for index in range(names.name_limit.burst):
        await choose_name(first, f"Ana {index}")
    await choose_name(first, "Ana again")
    await first.should_see("You are changing your name too often; try again in a minute.")
    await first.open("/")
    await first.should_see(f"You play as Ana {names.name_limit.burst - 1}.")
    await choose_name(second, "Ben")  # another browser has a limit of its own
    await second.should_see("You play as Ben.")


async def test_the_name_link_renames_only_the_browser_that_saved_it_and_only_once(user: User) -> None:
    token = names._leave("another-browser", "Mallory")
    await user.open(f"{names.NAME_PATH}?token={token}")
    await user.should_see("Without a name you play as Red or Yellow.")
    await user.open(f"{names.NAME_PATH}?token=made-up")
    await user.should_see("Without a name you play as Red or Yellow.")
    assert token not in names._pending


async def test_a_player_who_renames_is_shown_by_the_new_name_on_returning(create_user: Callable[[], User]) -> None:
    red, yellow = create_user(), create_user()
    join, _ = await invite(red)
    await yellow.open(join)
    await choose_name(red, "Ana")
    await red.open(join)
    assert text_of(yellow, "players") == "Red: Ana (opponent, connected) · Yellow: you (connected)"


async def test_the_score_follows_the_players_across_two_rematches(create_user: Callable[[], User]) -> None:
    red, yellow, spectator = create_user(), create_user(), create_user()
    await choose_name(red, "Ana")
    await choose_name(yellow, "Ben")
    join, watch = await invite(red)
    await yellow.open(join)
    await spectator.open(watch)
    assert [text_of(u, "score") for u in (red, yellow, spectator)] == ["Ana 0 \N{EN DASH} 0 Ben"] * 3

    async def round_won_by(winner: User, loser: User) -> None:
        first, second = (winner, loser) if status(winner) == "Your turn" else (loser, winner)
        moves = "1212121" if first is winner else "72121262"
        for index, column in enumerate(moves):
            await click_column(first if index % 2 == 0 else second, int(column))
        assert status(winner) == "You win!"

    async def rematch() -> None:
        await click_marker(red, "rematch")
        await click_marker(yellow, "rematch")

    await round_won_by(red, yellow)
    assert [text_of(u, "score") for u in (red, yellow, spectator)] == ["Ana 1 \N{EN DASH} 0 Ben"] * 3
    await rematch()  # Ben plays red now; Ana, who made the game, is still named first
    assert text_of(spectator, "players").startswith("Red: Ben")
    assert [text_of(u, "score") for u in (red, yellow, spectator)] == ["Ana 1 \N{EN DASH} 0 Ben"] * 3
    await round_won_by(red, yellow)
    assert [text_of(u, "score") for u in (red, yellow, spectator)] == ["Ana 2 \N{EN DASH} 0 Ben"] * 3
    await rematch()
    await round_won_by(yellow, red)
    assert [text_of(u, "score") for u in (red, yellow, spectator)] == ["Ana 2 \N{EN DASH} 1 Ben"] * 3
    await spectator.open(watch)  # the score is the server's, not the page's
    assert text_of(spectator, "score") == "Ana 2 \N{EN DASH} 1 Ben"
