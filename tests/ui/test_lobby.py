"""Stories of the lobby with NiceGUI's simulated users: quick match, open games joined from the list, claims."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from typing import Any

import pytest
from nicegui import ElementFilter, ui
from nicegui.testing import User

from tests.ui.helpers import click, click_column, click_marker, running, settle, status
from ui.claim import ClaimButton
from ui.lobby import COMPUTER_OFFER_AFTER, QuickMatch


async def eventually(condition: Callable[[], bool], timeout: float = 5.0, what: str = "the condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.02)


def shows(user: User, marker: str) -> bool:
    """Whether the user's page shows an element marked ``marker`` now."""
    with user:
        return any(ElementFilter(marker=marker, only_visible=True))


def seconds_waited(user: User) -> int:
    """The live count of a waiting page ("Looking for an opponent… 12 s")."""
    (label,) = user.find(kind=ui.label, marker="queue-count").elements
    match = re.fullmatch(r"Looking for an opponent… (\d+) s", label.text)
    assert match is not None, label.text
    return int(match[1])


def rows(user: User, marker: str) -> list[dict[str, Any]]:
    (table,) = user.find(kind=ui.table, marker=marker).elements
    return list(table.rows)


async def wait_for_pairing(match: QuickMatch) -> str:
    """The game a waiting page was paired into.

    The simulated users share one ``ui.navigate``: a navigation made outside a user's own handler
    (the lobby's, for the player who waited) may reach another user, so the test opens the link.
    """
    await eventually(lambda: match.paired is not None, what="the pairing")
    assert match.paired is not None
    return match.paired


def leave(user: User) -> None:
    """The browser's connection drops (a closed tab), as NiceGUI sees it."""
    assert user.client is not None
    for socket_id in list(user.client._socket_to_document_id):
        user.client.handle_disconnect(socket_id)


def seated_statuses(*users: User) -> list[str]:
    return sorted(status(user) for user in users)


async def test_two_strangers_are_quick_matched_into_one_game(create_user: Callable[[], User]) -> None:
    ana, ben = create_user(), create_user()
    await ana.open("/")
    await click_marker(ana, "quick-match")
    assert seconds_waited(ana) == 0
    await eventually(lambda: seconds_waited(ana) == 1, what="the count to go up")
    await ana.should_see(marker="cancel-queue")
    (waiting,) = _quick_matches(ana)
    await ben.open("/")
    await click_marker(ben, "quick-match")
    link = await wait_for_pairing(waiting)
    await ben.should_see(marker="board")
    assert ben.back_history[-1] == link  # the same game, each in a seat
    await ana.open(link)
    # Colours were drawn: one of them moves first, the other waits for red.
    assert seated_statuses(ana, ben) == ["Waiting for red", "Your turn"]
    first = ana if status(ana) == "Your turn" else ben
    second = ben if first is ana else ana
    await click_column(first, 4)
    assert status(second) == "Your turn"


async def test_the_count_goes_up_and_the_computer_is_offered_after_twenty_seconds(
    create_user: Callable[[], User],
) -> None:
    ana = create_user()
    await ana.open("/")
    await click_marker(ana, "quick-match")
    await ana.should_not_see(marker="computer-meanwhile")
    (match,) = _quick_matches(ana)
    match.started -= COMPUTER_OFFER_AFTER + 1  # the waiting began 21 seconds ago
    await eventually(lambda: seconds_waited(ana) >= COMPUTER_OFFER_AFTER, what="the count")
    await ana.should_see(marker="computer-meanwhile")
    await click_marker(ana, "computer-meanwhile")
    await ana.should_see(marker="level")  # a game against the computer...
    await eventually(lambda: shows(ana, "queue-count"), what="the queue on the computer's page")
    assert seconds_waited(ana) >= COMPUTER_OFFER_AFTER  # ...while the wait goes on
    await ana.should_not_see(marker="computer-meanwhile")
    await click_column(ana, 4)
    (waiting,) = _quick_matches(ana)
    ben = create_user()
    await ben.open("/")
    await click_marker(ben, "quick-match")  # the next one to press plays ana
    link = await wait_for_pairing(waiting)
    await ben.should_see(marker="board")
    assert ben.back_history[-1] == link


async def test_a_malformed_wait_on_the_computers_page_is_ignored(create_user: Callable[[], User]) -> None:
    ana = create_user()
    await ana.open("/")
    await click(ana, "Play the computer")
    await click(ana, "Start")
    await ana.should_see(marker="level")
    assert ana.back_history
    for query in ("?queue=abc", "?queue=-5", "?queue=" + "9" * 40):
        await ana.open(ana.back_history[-1].split("?")[0] + query)
        await ana.should_see(marker="level")
        await ana.should_not_see(marker="queue-count")


def _quick_matches(user: User) -> list[QuickMatch]:
    assert user.client is not None
    return [
        owner
        for handler in user.client.connect_handlers
        if isinstance(owner := getattr(handler, "__self__", None), QuickMatch)
    ]


async def test_cancel_leaves_the_queue(create_user: Callable[[], User]) -> None:
    ana, ben = create_user(), create_user()
    await ana.open("/")
    await click_marker(ana, "quick-match")
    await click_marker(ana, "cancel-queue")
    await ana.should_see("You left the queue.")
    await ana.should_see(marker="quick-match")
    await ben.open("/")
    await click_marker(ben, "quick-match")
    await ben.should_see("Looking for an opponent…")
    await asyncio.sleep(0.6)  # two polls of the queue: nobody pairs ben with the one who left
    await ben.should_not_see(marker="paired-link")
    await ben.should_see(marker="cancel-queue")


async def test_a_third_player_waits_alone(create_user: Callable[[], User]) -> None:
    ana, ben, cleo = create_user(), create_user(), create_user()
    await ana.open("/")
    await click_marker(ana, "quick-match")
    (waiting,) = _quick_matches(ana)
    await ben.open("/")
    await click_marker(ben, "quick-match")
    await wait_for_pairing(waiting)
    await cleo.open("/")
    await click_marker(cleo, "quick-match")
    await cleo.should_see("Looking for an opponent… 0 s")
    await asyncio.sleep(0.6)
    await cleo.should_not_see(marker="paired-link")
    await cleo.should_see(marker="cancel-queue")


async def test_a_page_closed_while_waiting_leaves_the_queue(create_user: Callable[[], User]) -> None:
    ana, ben = create_user(), create_user()
    await ana.open("/")
    await click_marker(ana, "quick-match")
    leave(ana)
    await asyncio.sleep(0.1)
    await ben.open("/")
    await click_marker(ben, "quick-match")
    await ben.should_see("Looking for an opponent…")
    await asyncio.sleep(0.6)
    await ben.should_not_see(marker="paired-link")


async def create_open_game(red: User) -> None:
    await red.open("/")
    before = running()
    red.find(marker="open-choice").click()
    await settle(before)
    await click(red, "Invite a friend")
    await red.should_see("Send the join link")


async def test_an_open_game_is_joined_from_the_list(create_user: Callable[[], User]) -> None:
    ana, ben = create_user(), create_user()
    await create_open_game(ana)
    await ben.open("/")
    await eventually(lambda: len(rows(ben, "open-games")) == 1, what="the open game in the list")
    (row,) = rows(ben, "open-games")
    assert (row["name"], row["waited"]) == ("Guest", "under a minute")
    before = running()
    ben.find(marker="open-games").trigger("join", row["key"])
    await settle(before)
    await ben.should_see(marker="board")
    assert status(ben) == "Waiting for red"
    assert status(ana) == "Your turn"
    # Once both seats are taken the game leaves the open list and is listed to watch.
    cleo = create_user()
    await cleo.open("/")
    await eventually(lambda: not rows(cleo, "open-games") and len(rows(cleo, "live-games")) == 1, what="the lists")
    (live,) = rows(cleo, "live-games")
    assert (live["players"], live["spectators"]) == ("Guest vs Guest", 0)
    await cleo.open(f"/watch/{live['key']}")
    await cleo.should_see("You are watching this game.")
    dave = create_user()
    await dave.open("/")
    await eventually(lambda: rows(dave, "live-games")[0]["spectators"] == 1, what="the spectator count")


async def test_the_second_of_two_players_racing_for_an_open_game_is_told_and_nothing_changes(
    create_user: Callable[[], User],
) -> None:
    ana, ben, cleo = create_user(), create_user(), create_user()
    await create_open_game(ana)
    for user in (ben, cleo):
        await user.open("/")
    await eventually(lambda: len(rows(ben, "open-games")) == len(rows(cleo, "open-games")) == 1, what="the lists")
    (row,) = rows(cleo, "open-games")
    before = running()
    ben.find(marker="open-games").trigger("join", row["key"])
    await settle(before)
    assert status(ben) == "Waiting for red"
    # Cleo's list still shows the seat (it refreshes once a second): her click comes second.
    before = running()
    cleo.find(marker="open-games").trigger("join", row["key"])
    await settle(before)
    await cleo.should_see("Someone else took that seat.")
    await cleo.should_see(marker="open-games")  # still on the home page
    assert status(ana) == "Your turn"
    assert status(ben) == "Waiting for red"


@pytest.mark.parametrize("forged", [None, 3, ["x"], "not-a-key"])
async def test_a_forged_join_from_the_list_is_refused(create_user: Callable[[], User], forged: object) -> None:
    ana = create_user()
    await ana.open("/")
    before = running()
    ana.find(marker="open-games").trigger("join", forged)
    await settle(before)
    await ana.should_see("That game is no longer open.")


@pytest.fixture
def short_claim(monkeypatch: pytest.MonkeyPatch) -> float:
    """Players may be away 0.4 s before the win can be claimed (instead of a minute)."""
    monkeypatch.setenv("CLAIM_AFTER", "0.4")
    return 0.4


async def forged_claim(user: User) -> None:
    """What a click on "Claim the win" runs on the server, sent while the page shows no such button."""
    assert user.client is not None
    (claim,) = {
        owner
        for handler in user.client.delete_handlers
        if isinstance(owner := getattr(handler, "__self__", None), ClaimButton)
    }
    with user:
        await claim.claim()


async def online_game(red: User, yellow: User) -> None:
    from tests.ui.test_online import invite

    join, _ = await invite(red)
    await yellow.open(join)


async def test_claim_after_the_opponent_left_and_not_before(
    short_claim: float, create_user: Callable[[], User]
) -> None:
    red, yellow = create_user(), create_user()
    await online_game(red, yellow)
    await click_column(red, 4)
    await red.should_not_see(marker="claim-win")
    # A claim while the opponent is here is refused, and changes nothing.
    await forged_claim(red)
    await red.should_see("Your opponent is here, so the win cannot be claimed.")
    leave(yellow)
    await forged_claim(red)
    await red.should_see("Your opponent may still come back")
    assert status(red) == "Waiting for yellow"
    await eventually(lambda: shows(red, "claim-win"), what="the claim button")
    await click_marker(red, "claim-win")
    assert status(red) == "Your opponent left; you claimed the win."
    await red.should_not_see(marker="claim-win")


async def test_a_player_back_in_time_plays_on(short_claim: float, create_user: Callable[[], User]) -> None:
    red, yellow = create_user(), create_user()
    await online_game(red, yellow)
    await click_column(red, 4)
    assert yellow.back_history
    join = yellow.back_history[-1]
    leave(yellow)
    await asyncio.sleep(short_claim / 2)
    await yellow.open(join)  # back before the time is up
    await asyncio.sleep(short_claim)
    await red.should_not_see(marker="claim-win")
    await forged_claim(red)
    await red.should_see("Your opponent is here, so the win cannot be claimed.")
    await click_column(yellow, 3)
    assert status(red) == "Your turn"


async def test_no_claim_during_ones_own_turn(short_claim: float, create_user: Callable[[], User]) -> None:
    red, yellow = create_user(), create_user()
    await online_game(red, yellow)
    leave(yellow)
    await asyncio.sleep(short_claim + 0.1)
    await red.should_not_see(marker="claim-win")
    await forged_claim(red)
    await red.should_see("It is your turn: the win can be claimed only while your opponent is to move.")
    assert status(red) == "Your turn"
