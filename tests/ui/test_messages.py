"""Quick messages between the players of an online game, as the players and the spectators see them."""

from __future__ import annotations

import html
from collections.abc import Callable

import pytest
from nicegui.testing import User

import ui.messages
from games.model import PHRASES
from tests.ui.helpers import running, settle
from tests.ui.test_online import invite


async def say(user: User, sent: object) -> None:
    """Press a phrase, as the phrases' one listener hears it from the browser (its number, as text)."""
    before = running()
    user.find(marker="phrases").trigger("click", sent)
    await settle(before)


async def test_a_phrase_is_shown_on_both_boards_and_to_the_spectators(create_user: Callable[[], User]) -> None:
    red, yellow, spectator = create_user(), create_user(), create_user()
    join, watch = await invite(red)
    await yellow.open(join)
    await spectator.open(watch)
    (phrases,) = yellow.find(marker="phrases").elements
    for phrase in PHRASES:
        assert f'aria-label="Say: {html.escape(phrase)}"' in phrases.props["innerHTML"]
    await spectator.should_not_see(marker="phrases")  # spectators read, they do not send

    await say(red, "0")
    await red.should_see("You: “Good luck!”")
    await yellow.should_see("Your opponent: “Good luck!”")
    await spectator.should_see("Red: “Good luck!”")
    await say(yellow, "3")
    await red.should_see("Your opponent: “Oops”")
    await spectator.should_see("Yellow: “Oops”")


@pytest.mark.parametrize("sent", ["4", "-1", "good luck", "<b>hi</b>", 0, None, ["0"]])
async def test_anything_but_a_phrase_of_the_list_is_refused_and_shows_nothing(
    create_user: Callable[[], User], sent: object
) -> None:
    red, yellow = create_user(), create_user()
    join, _ = await invite(red)
    await yellow.open(join)
    await say(red, sent)
    await red.should_see("Only these messages can be sent: Good luck!, Well played, Thanks for the game, Oops.")
    await yellow.should_not_see(marker="said")


async def test_a_flood_of_messages_is_told_to_wait(create_user: Callable[[], User]) -> None:
    red, yellow = create_user(), create_user()
    join, _ = await invite(red)
    await yellow.open(join)
    for _ in range(6):
        await say(red, "1")
    await red.should_see("Too many messages at once: wait a little.")


async def test_a_message_goes_after_a_few_seconds(
    create_user: Callable[[], User], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ui.messages, "SHOWN_SECONDS", 1.0)
    red, yellow = create_user(), create_user()
    join, _ = await invite(red)
    await yellow.open(join)
    await say(red, "2")
    await yellow.should_see("Your opponent: “Thanks for the game”")
    # Shown 1 s, hidden by the ticker's next whole second (2 s at most), with 2 s more for a busy machine.
    await yellow.should_not_see("Your opponent: “Thanks for the game”", retries=80)
