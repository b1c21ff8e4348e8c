"""The baseline: the websockets tutorial's own design (step 2), driven exactly like the NiceGUI app.

The server is the tutorial's ``app.py`` in miniature: one raw WebSocket per browser, JSON events
(``init`` with an optional ``join``/``watch`` key, ``play``, and the answers ``init``, ``play``,
``win``, ``error``), the game in the connection handler, ``websockets.broadcast`` to everyone in
the game, and the repository's engine (``engine/connect4.py``, the tutorial's contract). Two
small additions keep the drive identical to the NiceGUI one: a ``draw`` event for a full board
and a ``rematch`` event (both players ask, colours swap, ``new`` is broadcast). Nothing renders
HTML: this is the floor a Python server can reach for the same game traffic.

    python bench/load/baseline_ws.py --games 50 --duration 60 --json bench/results/ws-50.json
    python bench/load/baseline_ws.py --serve --port 8001        # only the server
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import secrets
import sys
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection, broadcast, serve
from websockets.http11 import Request, Response

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1]))

from harness import (  # noqa: E402
    RESULTS,
    Match,
    RunConfig,
    ServerProcess,
    base_env,
    free_port,
    run_benchmark,
    use_fast_loop,
    write_json,
)

from engine.connect4 import PLAYER1, PLAYER2, Connect4, Connect4Error  # noqa: E402
from wireclient import Tally  # noqa: E402

# -- the server (the tutorial's design) ------------------------------------------------------


@dataclass
class Room:
    """A game and everyone connected to it: the tutorial keeps ``(game, connected)`` in JOIN and WATCH."""

    game: Connect4 = field(default_factory=Connect4)
    connected: set[ServerConnection] = field(default_factory=set)
    seats: dict[ServerConnection, str] = field(default_factory=dict)
    rematch: set[str] = field(default_factory=set)


JOIN: dict[str, Room] = {}
WATCH: dict[str, Room] = {}


async def error(websocket: ServerConnection, message: str) -> None:
    await websocket.send(json.dumps({"type": "error", "message": message}))


async def replay(websocket: ServerConnection, game: Connect4) -> None:
    """Send the moves so far to a browser that arrives in the middle of a game."""
    for move in game.moves:
        event = {"type": "play", "player": move.player, "column": move.column, "row": move.row}
        await websocket.send(json.dumps(event))


async def play(websocket: ServerConnection, room: Room) -> None:
    """Receive and process moves (and rematch requests) from a player."""
    async for message in websocket:
        try:
            event = json.loads(message)
            kind = event["type"]
        except (ValueError, TypeError, KeyError):
            await error(websocket, "Malformed event.")
            continue
        player = room.seats.get(websocket)
        if player is None:
            await error(websocket, "Spectators cannot play.")
            continue
        if kind == "rematch":
            if not room.game.is_over:
                await error(websocket, "A rematch can be asked for when the game is over.")
                continue
            room.rematch.add(player)
            if len(room.rematch) == 2:
                room.game = Connect4()
                room.rematch.clear()
                for conn, colour in room.seats.items():
                    room.seats[conn] = PLAYER2 if colour == PLAYER1 else PLAYER1
                broadcast(room.connected, json.dumps({"type": "new"}))
            continue
        if kind != "play":
            await error(websocket, "Unknown event.")
            continue
        column = event.get("column")
        try:
            row = room.game.play(player, column)
        except Connect4Error as exc:
            await error(websocket, str(exc))
            continue
        broadcast(room.connected, json.dumps({"type": "play", "player": player, "column": column, "row": row}))
        if room.game.winner is not None:
            broadcast(room.connected, json.dumps({"type": "win", "player": room.game.winner}))
        elif room.game.is_over:
            broadcast(room.connected, json.dumps({"type": "draw"}))


async def start(websocket: ServerConnection) -> None:
    """A new game: the first player is red."""
    room = Room()
    room.connected.add(websocket)
    room.seats[websocket] = PLAYER1
    join_key, watch_key = secrets.token_urlsafe(12), secrets.token_urlsafe(12)
    JOIN[join_key], WATCH[watch_key] = room, room
    try:
        await websocket.send(json.dumps({"type": "init", "join": join_key, "watch": watch_key}))
        await play(websocket, room)
    finally:
        del JOIN[join_key], WATCH[watch_key]


async def join(websocket: ServerConnection, join_key: str) -> None:
    """The second player: yellow."""
    room = JOIN.get(join_key)
    if room is None:
        await error(websocket, "Game not found.")
        return
    room.connected.add(websocket)
    room.seats[websocket] = PLAYER2
    try:
        await replay(websocket, room.game)
        await play(websocket, room)
    finally:
        room.connected.discard(websocket)
        room.seats.pop(websocket, None)


async def watch(websocket: ServerConnection, watch_key: str) -> None:
    """A spectator: receives the moves, sends nothing that counts."""
    room = WATCH.get(watch_key)
    if room is None:
        await error(websocket, "Game not found.")
        return
    room.connected.add(websocket)
    try:
        await replay(websocket, room.game)
        await websocket.wait_closed()
    finally:
        room.connected.discard(websocket)


async def handler(websocket: ServerConnection) -> None:
    """The first message says who is connecting."""
    try:
        event = json.loads(await websocket.recv())
    except ValueError:
        return
    if not isinstance(event, dict) or event.get("type") != "init":
        await error(websocket, "Say init first.")
        return
    if "join" in event:
        await join(websocket, str(event["join"]))
    elif "watch" in event:
        await watch(websocket, str(event["watch"]))
    else:
        await start(websocket)


def health(connection: ServerConnection, request: Request) -> Response | None:
    if request.path == "/healthz":
        return connection.respond(HTTPStatus.OK, "OK\n")
    return None


async def serve_forever(host: str, port: int) -> None:
    async with serve(handler, host, port, process_request=health) as server:
        await server.serve_forever()


# -- the driver's browsers ---------------------------------------------------------------------


class WsBrowser:
    """A simulated browser of the tutorial's page: one WebSocket, the board it has been told about."""

    def __init__(self, url: str, tally: Tally) -> None:
        self.url = url
        self.tally = tally
        self.ws: ClientConnection | None = None
        self.match: Match | None = None
        self.discs = 0
        self.init: asyncio.Future[dict[str, Any]] | None = None
        self._reader: asyncio.Task[None] | None = None
        self._leaving = False

    async def connect(self, init: dict[str, Any]) -> None:
        self.ws = await connect(self.url, open_timeout=60, max_size=2**20)
        self.init = asyncio.get_running_loop().create_future()
        self._reader = asyncio.get_running_loop().create_task(self._read())
        await self.ws.send(json.dumps({"type": "init", **init}))

    async def _read(self) -> None:
        assert self.ws is not None
        try:
            async for message in self.ws:
                event = json.loads(message)
                kind = event.get("type")
                if kind == "play":
                    self.discs += 1
                    if self.match is not None:
                        self.match.seen(self, event["row"], event["column"], event["player"])
                elif kind == "new":
                    self.discs = 0
                elif kind == "init" and self.init is not None and not self.init.done():
                    self.init.set_result(event)
                elif kind == "error":
                    self.tally.notifications[str(event.get("message", ""))[:120]] += 1
        except Exception:
            if not self._leaving:
                self.tally.unexpected_disconnects += 1

    async def click(self, column: int) -> None:
        assert self.ws is not None
        await self.ws.send(json.dumps({"type": "play", "column": column}))

    async def rematch(self, *, first: bool) -> None:
        assert self.ws is not None
        if not first:
            # The second request must reach the server after the first, as a person reacts to the offer.
            await asyncio.sleep(0.05)
        await self.ws.send(json.dumps({"type": "rematch"}))

    def board_empty(self) -> bool:
        return self.discs == 0

    async def close(self) -> None:
        self._leaving = True
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()
        if self._reader is not None:
            with contextlib.suppress(BaseException):
                await self._reader


class WsBackend:
    """Opens matches on the baseline server: red sends init, yellow joins by key, a spectator watches."""

    name = "websockets"

    def __init__(self, url: str, timeout: float = 60.0) -> None:
        self.url = url
        self.timeout = timeout

    async def open_match(self, tally: Tally) -> Match:
        red, yellow, spectator = WsBrowser(self.url, tally), WsBrowser(self.url, tally), WsBrowser(self.url, tally)
        try:
            await red.connect({})
            assert red.init is not None
            keys = await asyncio.wait_for(red.init, self.timeout)
            await yellow.connect({"join": keys["join"]})
            await spectator.connect({"watch": keys["watch"]})
        except BaseException:
            for browser in (red, yellow, spectator):
                await browser.close()
            raise
        match = Match(red, yellow, spectator, tally, timeout=self.timeout)
        for browser in (red, yellow, spectator):
            browser.match = match
        return match

    async def aclose(self) -> None:
        return None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--serve", action="store_true", help="only run the server")
    parser.add_argument("--port", type=int, default=8001, help="with --serve")
    parser.add_argument("--games", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--pace", type=float, default=1.0)
    parser.add_argument("--url", help="drive a running baseline server (ws://...)")
    parser.add_argument("--pid", type=int, help="with --url: the server's pid")
    parser.add_argument("--ramp", type=int, default=16)
    parser.add_argument("--leave-wait", type=float, default=12.0)
    parser.add_argument("--ramp-timeout", type=float, default=300.0, help="stop connecting new games after this")
    parser.add_argument("--soak", type=float, default=0.0)
    parser.add_argument("--json", type=Path)
    return parser.parse_args(argv)


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    config = RunConfig.from_args(args)
    server: ServerProcess | None = None
    log_path: Path | None = None
    if args.url:
        url, pid = args.url, args.pid
    else:
        port = free_port()
        log_path = RESULTS / "logs" / f"websockets-{args.games}-{int(time.time())}.log"
        server = ServerProcess(
            [sys.executable, str(Path(__file__).resolve()), "--serve", "--port", str(port)],
            env=base_env(),
            log_path=log_path,
        )
        await server.start(f"http://127.0.0.1:{port}/healthz")
        url, pid = f"ws://127.0.0.1:{port}/", server.pid
    try:
        report = await run_benchmark(WsBackend(url), config, pid=pid, log_path=log_path)
        report["deflate_offered"] = True  # the websockets client offers it by default, as browsers do
        if server is not None:
            report["server_alive_at_end"] = server.alive()
    finally:
        if server is not None:
            server.stop()
    return report


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    use_fast_loop()
    if args.serve:
        asyncio.run(serve_forever("127.0.0.1", args.port))
        return
    report = asyncio.run(main_async(args))
    write_json(args.json, report)


if __name__ == "__main__":
    main()
