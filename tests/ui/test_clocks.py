"""Clocks on the boards of a timed online game, and a game lost on time, as the players see it."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable

import pytest
from nicegui import ui
from nicegui.testing import User

from games.clock import CHOICES
from tests.ui.helpers import click_column, status
from tests.ui.test_online import invite_from_home


def clocks(user: User) -> str:
    (label,) = user.find(marker="clocks").elements
    assert isinstance(label, ui.label)
    return str(label.text)


async def timed_invite(red: User, seconds: int) -> tuple[str, str]:
    """Red picks a clock on the home page and invites; returns the join and watch paths."""
    await red.open("/")
    (choice,) = red.find(marker="clock-choice").elements
    assert isinstance(choice, ui.select)
    choice.value = seconds
    return await invite_from_home(red)


async def test_both_boards_and_the_spectators_show_both_clocks_the_movers_running(
    create_user: Callable[[], User],
) -> None:
    red, yellow, spectator = create_user(), create_user(), create_user()
    join, watch = await timed_invite(red, 180)
    assert clocks(red) == "Red 3:00 · Yellow 3:00"  # stopped until the second player arrives
    await yellow.open(join)
    await spectator.open(watch)
    for user in (red, yellow, spectator):
        assert clocks(user) == "Red 3:00 (to move) · Yellow 3:00"
    await asyncio.sleep(1.1)
    await click_column(red, 4)
    for user in (red, yellow, spectator):
        assert re.fullmatch(r"Red 2:5[89] · Yellow 3:00 \(to move\)", clocks(user)), clocks(user)


async def test_a_game_without_a_clock_shows_none(create_user: Callable[[], User]) -> None:
    red = create_user()
    await timed_invite(red, 0)
    await red.should_not_see(marker="clocks")


async def test_a_player_whose_time_runs_out_loses_on_every_board(
    create_user: Callable[[], User], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(CHOICES, 2, "2 seconds each")  # a clock short enough for a test
    red, yellow, spectator = create_user(), create_user(), create_user()
    join, watch = await timed_invite(red, 2)
    await yellow.open(join)
    await spectator.open(watch)
    await click_column(red, 4)  # yellow's two seconds run
    await yellow.should_see("Your time ran out. You lose.", retries=60)
    assert status(red) == "Your opponent ran out of time. You win!"
    assert status(spectator) == "Yellow ran out of time. Player red wins!"
    assert clocks(yellow) == "Red 0:02 · Yellow 0:00"
    await click_column(yellow, 3)
    await yellow.should_see("The game is over.")
