"""A hostile client on a real server, speaking NiceGUI's socket protocol: the server stays up and fair, tuned or not."""

from __future__ import annotations

import asyncio
import json
import ssl
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures import AppServer
from wireclient import Browser, Tally


@pytest.fixture(params=["on", "off"], ids=["tuning-on", "tuning-off"])
def server(tmp_path: Path, request: pytest.FixtureRequest) -> Any:
    # The hardening is installed with the tuning off too: it is security behaviour, not tuning.
    env = {"STORAGE_SECRET": "abuse", "DATABASE_URL": f"sqlite:///{tmp_path / 'abuse.db'}", "LOG_LEVEL": "INFO"}
    app = AppServer(
        env={**env, "SERVER_TUNING": request.param},
        log_path=tmp_path / "app.log",
    ).start()
    yield app
    app.stop()


def browser(server: AppServer) -> Browser:
    return Browser(server.url, Tally(), ssl.create_default_context(), deflate=False)


def disc_labels(page: Browser) -> list[str]:
    board = page.board()
    assert len(board) == 42, board
    return sorted(f"Row {r + 1}, column {c + 1}: {colour}" for (r, c), colour in board.items() if colour != "empty")


async def settle(condition: Any, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_malformed_and_forged_events_change_nothing_and_log_no_error(server: AppServer) -> None:
    red, yellow, mallory = browser(server), browser(server), browser(server)
    await red.open("/")
    join = await red.invite()
    await red.open(join)
    await yellow.open(red.link("Join link"))
    await mallory.open(red.link("Watch link"))  # a spectator with a socket of its own
    column_id, listener = red.columns[3]

    await red.click(3)
    await settle(lambda: len(disc_labels(yellow)) == 1)
    # Acknowledgements no page sends, while red's page still keeps the messages it was sent: a
    # message number that is not a number (NiceGUI compared it and failed with a traceback), and
    # (below) red's client id from the spectator's socket.
    assert red.sio is not None
    await red.sio.emit("ack", {"client_id": red.client_id, "next_message_id": "x"})
    await red.sio.emit("ack", {"client_id": red.client_id})
    await red.sio.emit("ack", ["not", "a", "dict"])

    assert mallory.sio is not None
    await mallory.sio.emit("ack", {"client_id": red.client_id, "next_message_id": 10**9})
    hostile: list[dict[str, Any]] = [
        {},  # nothing at all
        {"client_id": mallory.client_id},  # no element
        {"client_id": mallory.client_id, "id": 10**9, "listener_id": listener, "args": []},  # no such element
        {"client_id": mallory.client_id, "id": column_id, "listener_id": "nope", "args": []},  # no such listener
        {"client_id": mallory.client_id, "id": "x", "listener_id": None, "args": "not a list"},
        {"client_id": mallory.client_id, "id": column_id, "listener_id": listener, "args": ["{not json"]},
        # Red's and yellow's pages, named from the spectator's socket: those client ids are not its to use.
        # Yellow is on turn, so without the check this would play yellow's move.
        {"client_id": red.client_id, "id": column_id, "listener_id": listener, "args": []},
        {"client_id": yellow.client_id, "id": yellow.columns[6][0], "listener_id": yellow.columns[6][1], "args": []},
        {"client_id": "0" * 36, "id": column_id, "listener_id": listener, "args": []},
    ]
    for message in hostile:
        await mallory.sio.emit("event", message)
    # Key events a browser would never send, to red's own keyboard listener.
    keyboard_id, key_listener = next(
        (int(element_id), str(event["listener_id"]))
        for element_id, element in red.elements.items()
        for event in element.get("events") or []
        if event.get("type") == "key"
    )
    bad_keys: list[list[str | None]] = [[], ["null"], [json.dumps({"key": "4"})], [json.dumps({"action": 1})], ["[1]"]]
    for args in bad_keys:
        await red.emit_event(keyboard_id, key_listener, args)
    for _ in range(200):  # a flood of a spectator's clicks on its own page
        await mallory.emit_event(*mallory.columns[0])
    # A megabyte of arguments: the socket layer drops the connection (the page would reconnect).
    await mallory.sio.emit(
        "event", {"client_id": mallory.client_id, "id": column_id, "listener_id": listener, "args": ["x" * 2**20]}
    )
    for _ in range(100):  # and of red's, out of turn and then far too fast
        await red.emit_event(*red.columns[1])
    await asyncio.sleep(1.5)
    # The dropped socket reconnects on its own, as a page would; how soon depends on the machine.
    await settle(lambda: mallory.sio is not None and "/" in mallory.sio.namespaces, timeout=20.0)
    await mallory.sio.emit("event")  # no payload at all
    # Packets the Socket.IO decoder cannot read: nested too deep, cut short, of an unknown type.
    for packet in ['2["event",' + "[" * 5000 + "]" * 5000 + "]", '2["event"', "2not json", "9"]:
        await mallory.sio.eio.send(packet)
    await mallory.sio.emit("log", {"client_id": red.client_id, "level": "critical", "message": "x"})
    await mallory.sio.emit("javascript_response", {"client_id": red.client_id})
    await asyncio.sleep(0.5)

    with urllib.request.urlopen(f"{server.url}/healthz", timeout=5) as response:
        assert response.status == 200
    # The game is exactly what the engine accepted: red's one disc.
    for page in (red, yellow, mallory):
        assert disc_labels(page) == ["Row 1, column 4: red"]
    assert "It isn't your turn." in red.tally.notifications
    assert "Too many moves at once: slow down." in red.tally.notifications

    # Fair play still works right after.
    await yellow.click(2)
    await settle(lambda: "Row 1, column 3: yellow" in disc_labels(red))
    for page in (red, yellow, mallory):
        await page.close()
    log = server.log()
    assert "Traceback" not in log
    assert " ERROR " not in log
