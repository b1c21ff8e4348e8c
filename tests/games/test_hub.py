"""The game layer: seats, refusals of forged requests, races, rematch, presence and clean-up."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

import pytest

from engine.connect4 import (
    ColumnFullError,
    GameOverError,
    InvalidColumnError,
    NothingToUndoError,
    NotYourTurnError,
    Player,
)
from engine.levels import Level
from games.errors import ConflictError, GameNotFoundError, NotAllowedError, NotStartedError, SpectatorError
from games.hub import COMPUTER, GameChanged, GameEvent, GameHub, MovePlayed, MoveUndone, NewGame
from games.model import Mode, Role
from games.names import InvalidNameError
from games.ratelimit import RateLimitedError, RateLimiter
from games.store import MemoryStore


@pytest.fixture
def hub() -> GameHub:
    return GameHub(MemoryStore())


async def online_game(hub: GameHub) -> tuple[str, str]:
    live = await hub.create(Mode.ONLINE, "alice")
    await hub.join(live, "bob")
    return live.id, live.record.join_key


async def test_join_seats_the_first_visitor_as_yellow_and_nobody_after(hub: GameHub) -> None:
    live = await hub.create(Mode.ONLINE, "alice")
    assert not live.record.started
    assert await hub.join(live, "alice") is Role.RED
    assert await hub.join(live, "bob") is Role.YELLOW
    assert await hub.join(live, "carol") is Role.SPECTATOR
    assert await hub.join(live, "bob") is Role.YELLOW
    assert live.record.started
    assert (live.record.red, live.record.yellow) == ("alice", "bob")


async def test_two_visitors_racing_for_the_seat_get_one_seat(hub: GameHub) -> None:
    live = await hub.create(Mode.ONLINE, "alice")
    roles = await asyncio.gather(*(hub.join(live, name) for name in ("bob", "carol", "dave")))
    assert sorted(roles) == sorted([Role.YELLOW, Role.SPECTATOR, Role.SPECTATOR])


@pytest.mark.parametrize("column", ["3", 3.0, True, None, -1, 7, 10**100, [1], {"column": 1}])
async def test_forged_columns_are_refused_and_change_nothing(hub: GameHub, column: object) -> None:
    game_id, _ = await online_game(hub)
    live = await hub.get(game_id)
    await hub.play(live, "alice", 3)
    with pytest.raises(InvalidColumnError):
        await hub.play(live, "bob", column)  # type: ignore[arg-type]
    assert live.record.moves == "4"
    assert live.board.moves_str() == "4"


async def test_refusals_leave_the_move_list_exactly_as_accepted(hub: GameHub) -> None:
    game_id, _ = await online_game(hub)
    live = await hub.get(game_id)
    with pytest.raises(NotYourTurnError):
        await hub.play(live, "bob", 0)
    with pytest.raises(SpectatorError):
        await hub.play(live, "mallory", 0)
    other = await hub.create(Mode.ONLINE, "mallory")
    await hub.join(other, "trent")
    with pytest.raises(SpectatorError):  # a player of another game is nobody here
        await hub.play(live, "trent", 0)
    for column in (0, 1, 0, 1, 0, 1, 0):
        await hub.play(live, "alice" if live.board.turn is Player.RED else "bob", column)
    with pytest.raises(GameOverError):
        await hub.play(live, "bob", 2)
    with pytest.raises(NotAllowedError):
        await hub.undo(live, "alice")
    assert live.record.moves == "1212121"
    assert (await hub.store.load(game_id)) == live.record


async def test_no_move_before_the_opponent_joins(hub: GameHub) -> None:
    live = await hub.create(Mode.ONLINE, "alice")
    with pytest.raises(NotStartedError):
        await hub.play(live, "alice", 3)
    with pytest.raises(NotStartedError):
        await hub.resign(live, "alice")


async def test_a_full_column_is_the_engines_refusal(hub: GameHub) -> None:
    live = await hub.create(Mode.LOCAL, "alice")
    for _ in range(6):
        await hub.play(live, "alice", 2)
    with pytest.raises(ColumnFullError):
        await hub.play(live, "alice", 2)


async def test_concurrent_moves_for_one_turn_store_exactly_one(hub: GameHub) -> None:
    game_id, _ = await online_game(hub)
    live = await hub.get(game_id)
    results = await asyncio.gather(*(hub.play(live, "alice", c) for c in range(7)), return_exceptions=True)
    assert sum(r is None for r in results) == 1
    assert all(isinstance(r, NotYourTurnError) for r in results if r is not None)
    assert len(live.record.moves) == 1


async def test_a_stale_instance_loses_the_race_and_catches_up() -> None:
    store = MemoryStore()
    first, second = GameHub(store), GameHub(store)  # two servers sharing one store
    live = await first.create(Mode.ONLINE, "alice")
    await first.join(live, "bob")
    mirror = await second.get(live.id)
    await first.play(live, "alice", 3)
    seen: list[GameEvent] = []
    mirror.subscribe(seen.append)
    with pytest.raises(ConflictError):
        await second.play(mirror, "alice", 4)  # the second server had not heard of red's move yet
    assert mirror.record.moves == "4"
    assert [type(e) for e in seen] == [MovePlayed]
    assert (await store.load(live.id)) == live.record


async def test_events_announce_moves_undo_and_new_games(hub: GameHub) -> None:
    live = await hub.create(Mode.LOCAL, "alice")
    seen: list[GameEvent] = []
    unsubscribe = live.subscribe(seen.append)
    await hub.play(live, "alice", 3)
    await hub.undo(live, "alice")
    await hub.new_game(live, "alice")
    unsubscribe()
    await hub.play(live, "alice", 3)
    assert [type(e) for e in seen] == [MovePlayed, MoveUndone, NewGame]
    await hub.new_game(live, "alice")
    with pytest.raises(NothingToUndoError):
        await hub.undo(live, "alice")


async def test_rematch_after_the_end_swaps_colours(hub: GameHub) -> None:
    game_id, _ = await online_game(hub)
    live = await hub.get(game_id)
    with pytest.raises(NotAllowedError):
        await hub.rematch(live, "alice")
    await hub.resign(live, "bob")
    assert live.outcome is not None
    assert live.outcome.winner is Player.RED
    assert not await hub.rematch(live, "alice")
    assert not await hub.rematch(live, "alice")  # asking twice is still one request
    with pytest.raises(SpectatorError):
        await hub.rematch(live, "carol")
    assert await hub.rematch(live, "bob")
    assert (live.record.red, live.record.yellow, live.record.moves, live.record.round) == ("bob", "alice", "", 2)
    assert live.outcome is None


async def test_presence_follows_connections_and_the_rematch_swap(hub: GameHub) -> None:
    game_id, _ = await online_game(hub)
    live = await hub.get(game_id)
    changes: list[GameEvent] = []
    live.subscribe(changes.append)
    hub.connect(live, Role.RED)
    assert live.is_connected(Player.RED)
    assert not live.is_connected(Player.YELLOW)
    hub.connect(live, Role.SPECTATOR)
    assert changes == [GameChanged()]
    hub.disconnect(live, Role.RED)
    assert not live.is_connected(Player.RED)
    hub.connect(live, Role.RED)
    await hub.resign(live, "alice")
    await hub.rematch(live, "alice")
    await hub.rematch(live, "bob")
    assert live.is_connected(Player.YELLOW)  # alice, still here, now plays yellow
    assert not live.is_connected(Player.RED)


async def test_the_computer_counts_as_present_and_undo_goes_back_to_the_humans_turn(hub: GameHub) -> None:
    live = await hub.create(Mode.COMPUTER, "alice", level=Level.PERFECT, side=Player.YELLOW)
    assert live.record.red == COMPUTER
    assert live.is_connected(Player.RED)
    await hub.play(live, COMPUTER, 3)
    await hub.play(live, "alice", 3)
    await hub.play(live, COMPUTER, 2)
    await hub.undo(live, "alice")
    assert live.record.moves == "4"  # back to alice's turn, not the computer's
    with pytest.raises(NotYourTurnError):
        await hub.play(live, COMPUTER, 0)


async def test_idle_games_are_cleaned_up(hub: GameHub) -> None:
    old = await hub.create(Mode.ONLINE, "alice")
    fresh = await hub.create(Mode.ONLINE, "bob")
    stale = replace(old.record, updated=time.time() - 3600)
    hub.store._games[old.id] = stale  # type: ignore[attr-defined]  # age it as if an hour had passed
    old.record = stale
    assert await hub.cleanup(max_idle=60) == 1
    with pytest.raises(GameNotFoundError):
        await hub.find(old.record.join_key)
    assert (await hub.find(fresh.record.watch_key)) is fresh


@pytest.mark.parametrize("key", ["", "x" * 65, "nope", None, 42])
async def test_unknown_keys_are_not_found(hub: GameHub, key: object) -> None:
    with pytest.raises(GameNotFoundError, match=r"^Game not found\.$"):
        await hub.find(key)  # type: ignore[arg-type]


async def test_a_flood_of_clicks_is_rate_limited_per_browser(hub: GameHub) -> None:
    live = await hub.create(Mode.LOCAL, "alice")
    other = await hub.create(Mode.LOCAL, "bob")
    results = []
    for _ in range(200):  # a script clicking a column that does not exist, as fast as it can
        try:
            await hub.play(live, "alice", 99)
        except (InvalidColumnError, RateLimitedError) as exc:
            results.append(str(exc))
    refused = results.count("Too many moves at once: slow down.")
    assert 170 <= refused <= 180  # all but the burst of 20 (and what refilled meanwhile)
    await hub.play(other, "bob", 3)  # another browser is not held back
    assert live.record.moves == ""


async def test_the_limits_of_browsers_that_stopped_are_forgotten_even_when_no_one_plays_on() -> None:
    now = [0.0]
    limits = {name: RateLimiter(rate=5, burst=20, message=name, clock=lambda: now[0]) for name in ("moves", "games")}
    hub = GameHub(MemoryStore(), move_limit=limits["moves"], create_limit=limits["games"])
    games = [await hub.create(Mode.LOCAL, f"browser-{n}") for n in range(30)]
    for n, live in enumerate(games):
        await hub.play(live, f"browser-{n}", 3)
    assert (len(limits["moves"]), len(limits["games"])) == (30, 30)
    now[0] += 1.0  # every bucket has refilled; the crowd has gone and nothing checks a limit any more
    assert hub.forget_full_limits() == 60
    assert (len(limits["moves"]), len(limits["games"])) == (0, 0)
    await hub.cleanup(max_idle=3600)  # the hub's periodic cleanup forgets them too
    for n, live in enumerate(games[:2]):
        await hub.play(live, f"browser-{n}", 4)
    now[0] += 1.0
    await hub.cleanup(max_idle=3600)
    assert len(limits["moves"]) == 0


async def test_creating_games_is_rate_limited(hub: GameHub) -> None:
    for _ in range(10):
        await hub.create(Mode.ONLINE, "alice")
    with pytest.raises(RateLimitedError, match="starting games too quickly"):
        await hub.create(Mode.ONLINE, "alice")
    await hub.create(Mode.ONLINE, "bob")


async def test_a_replay_key_opens_the_game_for_looking_and_no_other_key_does(hub: GameHub) -> None:
    live = await hub.create(Mode.ONLINE, "alice")
    key = live.record.replay_key
    assert key is not None
    assert key not in (live.record.join_key, live.record.watch_key)
    assert await hub.find_replay(key) is live
    for other in (live.record.join_key, live.record.watch_key, "nope"):
        with pytest.raises(GameNotFoundError):
            await hub.find_replay(other)
    hub.forget(live.id)
    fresh = await hub.find_replay(key)  # from the store, as another server would
    assert fresh.record == live.record
    assert fresh.record.role_of("alice") is Role.RED  # the key seats nobody: roles come from identities


async def test_a_game_stored_before_replays_gets_a_replay_key_when_asked(hub: GameHub) -> None:
    live = await hub.create(Mode.LOCAL, "alice")
    old = replace(live.record, replay_key=None, version=live.record.version + 1)
    assert await hub.store.save(old)
    hub.forget(live.id)
    live = await hub.get(live.id)
    assert live.record.replay_key is None
    key = await hub.replay_key(live)
    assert live.record.replay_key == key
    assert await hub.replay_key(live) == key  # once given, it stays
    hub.forget(live.id)
    assert (await hub.find_replay(key)).id == live.id


async def test_a_draft_is_stored_by_its_first_move_only() -> None:
    store = MemoryStore()
    hub = GameHub(store)
    drafts = [hub.draft(Mode.LOCAL, "alice", moves="4453") for _ in range(50)]  # no limit on looking
    live = drafts[0]
    assert not live.stored
    assert live.record.moves == "4453"
    assert hub.live_games == 0
    with pytest.raises(GameNotFoundError):
        await hub.find(live.record.join_key)
    assert await store.load(live.id) is None
    hub.connect(live, Role.BOTH)  # a draft's page connecting shares no presence
    events: list[GameEvent] = []
    live.subscribe(events.append)
    await hub.play(live, "alice", 0)
    assert live.stored
    assert [type(event) for event in events] == [MovePlayed]
    stored = await store.load(live.id)
    assert stored is not None
    assert stored.moves == "44531"
    assert await hub.find(live.record.join_key) is live
    await hub.play(live, "alice", 1)  # later moves save as usual, on the stored version
    stored = await store.load(live.id)
    assert stored is not None
    assert stored.moves == "445312"


async def test_a_drafts_first_move_counts_as_a_new_game(hub: GameHub) -> None:
    for _ in range(10):
        await hub.play(hub.draft(Mode.LOCAL, "alice"), "alice", 3)
    draft = hub.draft(Mode.LOCAL, "alice")
    with pytest.raises(RateLimitedError, match="starting games too quickly"):
        await hub.play(draft, "alice", 3)
    assert not draft.stored
    assert draft.record.moves == ""
    assert hub.live_games == 10


async def test_only_the_two_players_of_an_online_game_may_say_a_phrase(hub: GameHub) -> None:
    game_id, _ = await online_game(hub)
    live = await hub.get(game_id)
    await hub.say(live, "bob", "Well played")
    said = live.record.said
    assert said is not None
    assert (said.player, said.phrase) == (Player.YELLOW, "Well played")
    with pytest.raises(NotAllowedError, match="two players of an online game"):
        await hub.say(live, "carol", "Oops")  # a spectator
    local = await hub.create(Mode.LOCAL, "dave")
    with pytest.raises(NotAllowedError, match="two players of an online game"):
        await hub.say(local, "dave", "Oops")
    with pytest.raises(NotAllowedError, match="Only these messages can be sent"):
        await hub.say(live, "alice", "Free text")
    assert live.record.said == said


async def finish_round(hub: GameHub, live_id: str, *, winner: str) -> None:
    """Play a round that ``winner`` ("red" or "yellow") wins with four in a column."""
    live = await hub.get(live_id)
    moves = "1212121" if winner == "red" else "72121262"
    for index, column in enumerate(moves):
        seat = live.record.red if index % 2 == 0 else live.record.yellow
        assert seat is not None
        await hub.play(live, seat, int(column) - 1)
    assert live.outcome is not None
    assert live.outcome.winner is Player(winner)


async def test_names_and_the_score_follow_their_players_across_two_rematches(hub: GameHub) -> None:
    live = await hub.create(Mode.ONLINE, "alice", name="Ana")
    await hub.join(live, "bob", name="Ben")
    assert (live.record.red_name, live.record.yellow_name) == ("Ana", "Ben")
    assert live.record.score() == (0, 0)
    await finish_round(hub, live.id, winner="red")  # Ana wins as red
    assert live.record.score() == (1, 0)
    await hub.rematch(live, "alice")
    assert live.record.score() == (1, 0)  # asked, not started: the same round
    await hub.rematch(live, "bob")
    # Ben now plays red; Ana keeps her name and her win on yellow.
    assert (live.record.red, live.record.red_name, live.record.yellow_name) == ("bob", "Ben", "Ana")
    assert live.record.score() == (0, 1)
    await finish_round(hub, live.id, winner="yellow")  # Ana wins again, as yellow
    assert live.record.score() == (0, 2)
    await hub.rematch(live, "bob")
    await hub.rematch(live, "alice")
    assert (live.record.red_name, live.record.red_wins, live.record.yellow_wins) == ("Ana", 2, 0)
    await finish_round(hub, live.id, winner="yellow")  # Ben wins as yellow
    assert live.record.score() == (2, 1)
    stored = await hub.store.load(live.id)
    assert stored == live.record


async def test_a_player_who_renames_is_shown_by_the_new_name_and_a_bad_name_changes_nothing(hub: GameHub) -> None:
    live = await hub.create(Mode.ONLINE, "alice")
    assert live.record.name(Player.RED) is None
    events: list[GameEvent] = []
    live.subscribe(events.append)
    assert await hub.join(live, "alice", name="Ana") is Role.RED
    assert live.record.red_name == "Ana"
    assert events == [GameChanged()]
    version = live.record.version
    await hub.set_name(live, "alice", "Ana")  # the same name: nothing stored
    assert live.record.version == version
    with pytest.raises(InvalidNameError):
        await hub.set_name(live, "alice", "<b>x</b>")
    with pytest.raises(InvalidNameError):
        await hub.join(live, "bob", name="<script>")
    assert live.record.version == version
    assert live.record.seat(Player.YELLOW) is None
    await hub.set_name(live, "carol", "Carol")  # a spectator has no seat to name
    assert (live.record.version, live.record.red_name, live.record.yellow_name) == (version, "Ana", None)


async def test_a_bad_name_creates_no_game_and_a_hot_seat_game_has_no_names(hub: GameHub) -> None:
    with pytest.raises(InvalidNameError):
        await hub.create(Mode.ONLINE, "alice", name="x" * 21)
    assert await hub.games_of("alice") == []
    local = await hub.create(Mode.LOCAL, "alice", name="Ana")
    assert (local.record.red_name, local.record.yellow_name) == (None, None)
    computer = await hub.create(Mode.COMPUTER, "alice", side=Player.YELLOW, level=Level.BEGINNER, name="Ana")
    assert (computer.record.red_name, computer.record.yellow_name) == (None, "Ana")


async def test_games_of_lists_a_browsers_seats_newest_first_and_never_the_computers(hub: GameHub) -> None:
    first = await hub.create(Mode.ONLINE, "alice")
    await hub.join(first, "bob")
    second = await hub.create(Mode.COMPUTER, "alice", level=Level.BEGINNER)
    third = await hub.create(Mode.ONLINE, "carol")
    await hub.play(first, "alice", 3)  # the first game changed last
    assert [r.id for r in await hub.games_of("alice")] == [first.id, second.id]
    assert [r.id for r in await hub.games_of("bob")] == [first.id]
    assert [r.id for r in await hub.games_of("carol")] == [third.id]
    assert await hub.games_of(COMPUTER) == []
    assert await hub.games_of("") == []
    assert (await hub.games_of("alice"))[0].moves == "4"
