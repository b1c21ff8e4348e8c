"""Stories of the turn alerts: "● Your turn" in the tab's title, and the sound a player may turn on."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from nicegui import ui
from nicegui.testing import User

from tests.redis_fixtures import eventually
from tests.ui.helpers import click, click_column, click_marker, sent_messages, status
from tests.ui.test_online import invite
from ui.turn_alerts import TURN_TITLE


def title(user: User) -> str:
    assert user.client is not None
    return str(user.client.title)


async def test_the_tab_title_says_your_turn_while_it_is(create_user: Callable[[], User]) -> None:
    red, yellow, spectator = create_user(), create_user(), create_user()
    join, watch = await invite(red)
    assert title(red) == "Online game · Connect Four"  # nobody to play against yet
    await yellow.open(join)
    await spectator.open(watch)
    assert [title(u) for u in (red, yellow, spectator)] == [TURN_TITLE] + ["Online game · Connect Four"] * 2
    assert TURN_TITLE.startswith("● Your turn")
    await click_column(red, 1)
    assert [title(red), title(yellow)] == ["Online game · Connect Four", TURN_TITLE]
    for column in "212121":
        await click_column(yellow if column == "2" else red, int(column))
    assert status(red) == "You win!"
    assert [title(u) for u in (red, yellow, spectator)] == ["Online game · Connect Four"] * 3


async def test_the_tab_title_against_the_computer(user: User) -> None:
    await user.open("/")
    await click(user, "Play the computer")
    await click(user, "Start")
    await user.should_see(marker="level")
    assert title(user) == TURN_TITLE  # red moves first, and red is the human by default
    (panel,) = user.find(marker="side-panel").elements
    assert sound_button(user) in panel.descendants()  # beside the board, with the game's other controls
    with sent_scripts(user) as scripts:
        await click_column(user, 4)
        await eventually(lambda: status(user) == "Your turn", what="the computer's move")
        await eventually(lambda: len(titles(scripts)) == 2, what="two titles")
    # While the computer thinks, the page's own title; then the turn again.
    assert titles(scripts) == ["Play the computer · Connect Four", TURN_TITLE]
    assert title(user) == TURN_TITLE


def sent_scripts(user: User) -> AbstractContextManager[list[dict[str, Any]]]:
    """Record the code NiceGUI sends this user's browser to run (its own: page_title, audio.play) in the block."""
    return sent_messages(user, "run_javascript")


def titles(scripts: list[dict[str, Any]]) -> list[str]:
    """The titles the tab was given, in order."""
    codes = [str(script["code"]) for script in scripts]
    return [json.loads(code.removeprefix("document.title = ")) for code in codes if code.startswith("document.title")]


def played(scripts: list[dict[str, Any]]) -> list[int]:
    """The ids of the audio elements told to play, in order."""
    codes = [str(script["code"]) for script in scripts]
    return [int(code.split("runMethod(")[1].split(",")[0]) for code in codes if '"play"' in code]


def sound_button(user: User) -> ui.button:
    (button,) = user.find(kind=ui.button, marker="sound").elements
    assert isinstance(button, ui.button)
    return button


async def test_sound_is_off_until_turned_on_and_then_plays_on_the_opponents_move_and_the_end(
    create_user: Callable[[], User],
) -> None:
    red, yellow, spectator = create_user(), create_user(), create_user()
    join, watch = await invite(red)
    await yellow.open(join)
    await spectator.open(watch)
    await spectator.should_not_see(marker="sound")  # sound tells a player about the opponent
    button = sound_button(yellow)
    assert (button.props["aria-label"], button.props["aria-pressed"]) == ("Sound", "false")
    await yellow.should_not_see(kind=ui.audio)  # off by default, and then no element for it
    await click_marker(yellow, "sound")
    await yellow.should_see(kind=ui.audio)  # the page came back with the sound on
    assert yellow.client is not None
    assert yellow.client.request.url.path == join
    button = sound_button(yellow)
    assert (button.props["aria-label"], button.props["aria-pressed"]) == ("Sound", "true")
    (move_sound,) = yellow.find(marker="move-sound").elements
    (end_sound,) = yellow.find(marker="end-sound").elements
    await yellow.open("/")
    await yellow.open(join)  # remembered by the browser
    (move_sound,) = yellow.find(marker="move-sound").elements
    (end_sound,) = yellow.find(marker="end-sound").elements
    with sent_scripts(yellow) as scripts:
        await click_column(red, 1)
        await eventually(lambda: played(scripts) == [move_sound.id], what="the move sound")
        await click_column(yellow, 2)  # its own move plays nothing
        for column in "12121":
            await click_column(yellow if column == "2" else red, int(column))
        await eventually(lambda: played(scripts)[-1:] == [end_sound.id], what="the end sound")
    # Red's three other moves, then the end instead of a fourth move sound.
    assert played(scripts) == [move_sound.id] * 3 + [end_sound.id]
    await click_marker(yellow, "sound")
    await yellow.should_not_see(kind=ui.audio)
    assert sound_button(yellow).props["aria-pressed"] == "false"
