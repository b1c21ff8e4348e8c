"""Game records: keys, roles and the JSON a store keeps."""

from __future__ import annotations

import base64
import secrets

import pytest

from engine.connect4 import Player
from games import model
from games.model import GameRecord, Mode, Role, new_key


def test_keys_are_unguessable_in_length_and_source(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int | None] = []
    real = secrets.token_urlsafe

    def spy(nbytes: int | None = None) -> str:
        calls.append(nbytes)
        return real(nbytes)

    monkeypatch.setattr(secrets, "token_urlsafe", spy)
    key = new_key()
    assert calls == [model.KEY_BYTES]  # the operating system's CSPRNG, via secrets
    assert model.KEY_BYTES * 8 >= 96
    assert len(base64.urlsafe_b64decode(key + "==")) * 8 >= 96
    keys = {new_key() for _ in range(2000)}
    assert len(keys) == 2000


def test_join_and_watch_keys_differ_and_the_watch_key_grants_no_seat() -> None:
    record = GameRecord(id="g", mode=Mode.ONLINE, join_key=new_key(), watch_key=new_key(), red="alice")
    assert record.join_key != record.watch_key
    assert record.role_of("alice") is Role.RED
    assert record.role_of(None) is Role.SPECTATOR
    assert record.role_of(record.watch_key) is Role.SPECTATOR


def test_roles_name_the_sides_they_may_move() -> None:
    assert Role.RED.players == (Player.RED,)
    assert Role.BOTH.players == (Player.RED, Player.YELLOW)
    assert Role.YELLOW.players == (Player.YELLOW,)
    assert Role.SPECTATOR.players == ()


def test_json_round_trip() -> None:
    record = GameRecord(
        id="g",
        mode=Mode.ONLINE,
        join_key="j",
        watch_key="w",
        red="a",
        yellow="b",
        moves="4453",
        resigned=Player.YELLOW,
        rematch=frozenset({Player.RED}),
        round=3,
        level=None,
        version=7,
    )
    assert GameRecord.from_json(record.to_json()) == record


def test_changed_bumps_the_version() -> None:
    record = GameRecord(id="g", mode=Mode.LOCAL, join_key="j", watch_key="w", red="a", yellow="a")
    changed = record.changed(moves="4")
    assert (changed.version, changed.moves, record.moves) == (1, "4", "")
    assert changed.updated >= record.updated
