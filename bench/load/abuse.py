"""Abuse run: hostile clients attack the NiceGUI app while normal games go on, and we see what held.

Two runs on fresh servers with the same normal load (``--games`` matches, as in loadgen.py):
first calm, then with a hostile browser that, case by case, sends events with unknown element
and listener ids, missing keys, payloads that are not objects, arguments of the wrong type,
garbage to every listener its page has, 0.9 MB and 1.5 MB payloads, deeply nested JSON,
malformed Socket.IO packets, events naming another browser's client_id, out-of-turn moves,
a flood of clicks and a flood of bad events, odd HTTP paths and forged socket handshakes.

For each case the report says what the server logged meanwhile (ERROR lines, tracebacks and
their last lines), whether the hostile socket was dropped and whether /healthz still answered.
At the end: the normal games' p99 with and without the abuse, and whether every game's stored
move list is exactly what its players saw accepted (read from the SQLite file after the server
stopped).

    python bench/load/abuse.py --games 50 --duration 60 --json bench/results/abuse.json

``--load-games N`` adds, in both runs, N more games driven by a separate ``loadgen.py`` (in
``--load-procs`` processes) against the same server: the target load behind the attack. Their
p99 ("other games") is reported on its own, from a play phase that covers the whole attack and
ends after the attacked run's games (``BACKGROUND_OVERTIME`` seconds longer).

    python bench/load/abuse.py --games 20 --load-games 480 --load-procs 2 --json bench/results/abuse-target.json
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import sqlite3
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import socketio

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1]))

from backend import NiceGUIBackend  # noqa: E402
from harness import RESULTS, Match, RunConfig, log_problems, run_benchmark, use_fast_loop  # noqa: E402
from loadgen import start_app, warm_up  # noqa: E402

from engine.connect4 import Connect4, Connect4Error  # noqa: E402
from wireclient import Browser, Tally, label_of  # noqa: E402

# What goes into every listener the hostile page has (the args list of an event: JSON strings).
GARBAGE_ARGS: list[Any] = [
    [],
    [None],
    ["null"],
    ["1"],
    ['"x"'],
    ["{}"],
    ["[]"],
    ['{"a": {"b": [1, 2, 3]}}'],
    ["1", "2", "3"],
    ['{"action": "keydown", "key": 1}'],
]
# Elements whose click is a legitimate action that would end the hostile game early.
SKIP_LABELS = {"Confirm resign", "Rematch", "Accept rematch"}


class Fuzzer:
    """A hostile browser (red in its own game) with a victim opponent and a spectator who keeps the record."""

    def __init__(self, base_url: str, log_path: Path, tally: Tally) -> None:
        self.base_url = base_url
        self.log_path = log_path
        self.tally = tally
        self.backend = NiceGUIBackend(base_url)
        self.cases: list[dict[str, Any]] = []
        self.match: Match | None = None
        self.join_path = ""
        self.http = httpx.AsyncClient(base_url=base_url, timeout=30.0)

    @property
    def red(self) -> Browser:
        assert self.match is not None
        return self.match.seats[0]  # type: ignore[return-value]

    @property
    def victim(self) -> Browser:
        assert self.match is not None
        return self.match.seats[1]  # type: ignore[return-value]

    @property
    def spectator(self) -> Browser:
        assert self.match is not None
        return self.match.spectator  # type: ignore[return-value]

    async def setup(self) -> None:
        self.match = await self.backend.open_match(self.tally)
        self.match.tally = Tally()  # the hostile game's own numbers stay out of the normal games'
        for browser in self.match.browsers:
            browser.tally = self.match.tally  # type: ignore[attr-defined]
        self.join_path = f"/join/{self.match.key}"

    async def ensure_connected(self) -> bool:
        """Reopen the hostile page if the server dropped its socket; True if it had been dropped."""
        sio = self.red.sio
        if sio is not None and sio.connected:
            return False
        await self.red.open(self.join_path)
        return True

    async def emit(self, payload: Any) -> None:
        sio = self.red.sio
        if sio is None or not sio.connected:
            return
        with contextlib.suppress(Exception):
            await sio.emit("event", payload)

    async def raw(self, packet: str) -> None:
        """Send a Socket.IO packet as text, bypassing the client's encoder."""
        sio = self.red.sio
        if sio is None or not sio.connected:
            return
        with contextlib.suppress(Exception):
            await sio.eio.send(packet)

    def column(self, column: int, browser: Browser | None = None) -> tuple[int, str]:
        return (browser or self.red).columns[column]

    async def healthy(self) -> bool:
        with contextlib.suppress(httpx.HTTPError):
            return (await self.http.get("/healthz")).status_code == 200
        return False

    async def case(self, name: str, action: Callable[[], Awaitable[int]], note: str = "") -> dict[str, Any]:
        """Run one kind of abuse and record what the server logged while it lasted."""
        await self.ensure_connected()
        offset = self.log_path.stat().st_size
        warnings_before = sum(self.red.tally.notifications.values())
        # The page script reconnects by itself, so a dropped socket shows as a disconnect, not as "not connected".
        drops_before = self.red.tally.unexpected_disconnects
        started = time.perf_counter()
        sent = await action()
        await asyncio.sleep(1.0)
        dropped = await self.ensure_connected() or self.red.tally.unexpected_disconnects > drops_before
        result: dict[str, Any] = {
            "case": name,
            "sent": sent,
            "seconds": round(time.perf_counter() - started, 1),
            "server_log": log_problems(self.log_path, offset),
            "warnings_to_sender": sum(self.red.tally.notifications.values()) - warnings_before,
            "socket_dropped": dropped,
            "healthz_ok": await self.healthy(),
        }
        if note:
            result["note"] = note
        self.cases.append(result)
        problems = result["server_log"]
        print(
            f"  {name}: sent {sent}, log errors {problems['error_lines']}, tracebacks {problems['tracebacks']}, "
            f"dropped {dropped}, healthz {result['healthz_ok']}",
            file=sys.stderr,
        )
        return result

    # -- the cases ------------------------------------------------------------------------------

    async def unknown_element(self) -> int:
        _, listener = self.column(0)
        for _ in range(20):
            await self.emit({"id": 10**9, "client_id": self.red.client_id, "listener_id": listener, "args": []})
        return 20

    async def unknown_listener(self) -> int:
        element, _ = self.column(0)
        for _ in range(20):
            await self.emit({"id": element, "client_id": self.red.client_id, "listener_id": str(uuid.uuid4())})
        return 20

    async def missing_keys(self) -> int:
        element, listener = self.column(0)
        payloads = [
            {},
            {"client_id": self.red.client_id},
            {"client_id": self.red.client_id, "id": element},
            {"client_id": self.red.client_id, "listener_id": listener},
        ]
        for payload in payloads:
            await self.emit(payload)
        return len(payloads)

    async def not_an_object(self) -> int:
        payloads: list[Any] = ["hello", 42, [1, 2, 3], None, True]
        for payload in payloads:
            await self.emit(payload)
        return len(payloads)

    async def wrong_id_types(self) -> int:
        element, listener = self.column(0)
        payloads = [
            {"id": str(element), "client_id": self.red.client_id, "listener_id": listener, "args": []},
            {"id": [element], "client_id": self.red.client_id, "listener_id": listener, "args": []},
            {"id": element, "client_id": 12345, "listener_id": listener, "args": []},
            {"id": element, "client_id": [self.red.client_id], "listener_id": listener, "args": []},
            {"id": element, "client_id": self.red.client_id, "listener_id": [listener], "args": []},
        ]
        for payload in payloads:
            await self.emit(payload)
        return len(payloads)

    async def wrong_args(self) -> int:
        element, listener = self.column(0)
        args_list: list[Any] = [5, "abc", {"x": 1}, [5], [{"a": 1}], ["not json"], [["nested"]]]
        for args in args_list:
            await self.emit({"id": element, "client_id": self.red.client_id, "listener_id": listener, "args": args})
        return len(args_list)

    async def every_listener(self) -> dict[str, Any]:
        """Garbage arguments to each listener on the hostile page, one listener at a time."""
        findings: list[dict[str, Any]] = []
        for element_id, element in list(self.red.elements.items()):
            label = label_of(element)
            if label in SKIP_LABELS or label.startswith("Column "):
                continue
            for event in element.get("events") or []:
                await self.ensure_connected()
                offset = self.log_path.stat().st_size
                for args in GARBAGE_ARGS:
                    await self.emit(
                        {
                            "id": int(element_id),
                            "client_id": self.red.client_id,
                            "listener_id": event["listener_id"],
                            "args": args,
                        }
                    )
                await asyncio.sleep(0.4)
                problems = log_problems(self.log_path, offset)
                findings.append(
                    {
                        "element": f"{element['tag']} {label!r}".strip(),
                        "event": event["type"],
                        "tracebacks": problems["tracebacks"],
                        "error_lines": problems["error_lines"],
                        "samples": problems["samples"][:2],
                    }
                )
        return {"sent": len(findings) * len(GARBAGE_ARGS), "findings": findings}

    async def huge(self, size: int) -> int:
        element, listener = self.column(0)
        blob = '"' + "x" * size + '"'
        for _ in range(3):
            await self.emit({"id": element, "client_id": self.red.client_id, "listener_id": listener, "args": [blob]})
        return 3

    async def deep_json_arg(self) -> int:
        element, listener = self.column(0)
        nested = "[" * 100_000 + "]" * 100_000
        await self.emit({"id": element, "client_id": self.red.client_id, "listener_id": listener, "args": [nested]})
        return 1

    async def malformed_packets(self) -> dict[str, Any]:
        """Socket.IO packets the page script never sends, one at a time, each with what the server logged."""
        me = self.red.client_id
        packets = {
            "nesting deeper than the decoder allows": '2["event",' + "[" * 5000 + "]" * 5000 + "]",
            "truncated JSON": '2["event"',
            "not JSON at all": "2not json at all",
            "event without its closing bracket": '2["event",{"client_id":"x"}',
            "unknown packet type": "9",
            "binary event whose attachment never comes": '51-["event",{"_placeholder":true,"num":0}]',
            "a namespace nobody connected": '2/nonexistent,["event",{}]',
            "handshake for an unknown client": '2["handshake",{"client_id":"x"}]',
            "ack with a non-numeric id": f'2["ack",{{"client_id":"{me}","next_message_id":"x"}}]',
            "log with an unknown level": f'2["log",{{"client_id":"{me}","level":"critical","message":"x"}}]',
            "javascript_response without request_id": f'2["javascript_response",{{"client_id":"{me}"}}]',
        }
        findings = []
        for name, packet in packets.items():
            await self.ensure_connected()
            drops_before = self.red.tally.unexpected_disconnects
            offset = self.log_path.stat().st_size
            await self.raw(packet)
            await asyncio.sleep(0.4)
            problems = log_problems(self.log_path, offset)
            dropped = await self.ensure_connected() or self.red.tally.unexpected_disconnects > drops_before
            findings.append(
                {
                    "packet": name,
                    "tracebacks": problems["tracebacks"],
                    "error_lines": problems["error_lines"],
                    "samples": problems["samples"][:2],
                    "socket_dropped": dropped,
                }
            )
        return {"sent": len(packets), "findings": findings}

    async def other_client(self) -> dict[str, Any]:
        """From the hostile socket, click for the victim by naming the victim's client_id."""
        await self._wait_turn("yellow")
        before = len(self.spectator.discs)
        element, listener = self.column(3, self.victim)
        await self.emit({"id": element, "client_id": self.victim.client_id, "listener_id": listener, "args": []})
        await asyncio.sleep(1.0)
        after = self.spectator.discs[before:]
        played = [d for d in after if d[2] == "yellow"]
        return {
            "sent": 1,
            "move_played_as_victim": bool(played),
            "note": "a yellow disc appeared: the server ran the event as the victim's browser"
            if played
            else "no move: the event was refused",
        }

    async def out_of_turn(self) -> int:
        await self._wait_turn("yellow")
        element, listener = self.column(2)
        for _ in range(10):
            await self.emit({"id": element, "client_id": self.red.client_id, "listener_id": listener, "args": []})
        return 10

    async def _wait_turn(self, colour: str, timeout: float = 10.0) -> None:
        """Make it ``colour``'s turn in the hostile game (red moves legitimately if it is red's)."""
        discs = self.spectator.discs
        turn = "red" if len(discs) % 2 == 0 else "yellow"
        if turn != colour and colour == "yellow":
            column = self._free_column()
            await self.red.click(column)
            deadline = time.perf_counter() + timeout
            while len(self.spectator.discs) == len(discs) and time.perf_counter() < deadline:
                await asyncio.sleep(0.05)

    def _free_column(self) -> int:
        heights = [0] * 7
        for _, column, _ in self.spectator.discs:
            heights[column] += 1
        return min(range(7), key=lambda c: (heights[c] >= 6, heights[c]))

    async def click_flood(self, rate: float, seconds: float) -> int:
        """``rate`` clicks per second on random columns from the hostile red; the victim answers 1/s."""
        sent = 0
        stop = time.perf_counter() + seconds

        async def victim() -> None:
            while time.perf_counter() < stop:
                await asyncio.sleep(1.0)
                with contextlib.suppress(Exception):
                    await self.victim.click(self._free_column())

        side = asyncio.get_running_loop().create_task(victim())
        interval = 1.0 / rate
        next_at = time.perf_counter()
        while time.perf_counter() < stop:
            element, listener = self.column(random.randrange(7))
            await self.emit({"id": element, "client_id": self.red.client_id, "listener_id": listener, "args": []})
            sent += 1
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
        await side
        return sent

    async def bad_event_flood(self, rate: float, seconds: float) -> int:
        sent = 0
        stop = time.perf_counter() + seconds
        element, _ = self.column(0)
        interval = 1.0 / rate
        next_at = time.perf_counter()
        while time.perf_counter() < stop:
            await self.emit({"id": element, "client_id": self.red.client_id, "listener_id": "nope"})
            sent += 1
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
        return sent

    async def odd_http(self) -> dict[str, Any]:
        paths = [
            "/join/" + "a" * 10_000,
            "/watch/%00",
            "/join/..%2f..%2fetc%2fpasswd",
            "/watch/" + "%F0%9F%92%A9" * 50,
            "/local/nonexistent",
            "/join/",
            "/_nicegui_ws/socket.io/?EIO=4&transport=polling&client_id=" + "x" * 5000,
        ]
        statuses: dict[str, int] = {}
        for path in paths:
            with contextlib.suppress(httpx.HTTPError):
                statuses[path[:60]] = (await self.http.get(path)).status_code
        return {"sent": len(paths), "statuses": statuses}

    async def forged_handshakes(self) -> dict[str, Any]:
        """Sockets that claim a client they do not own: an unknown id, and the victim's with another tab."""
        outcomes: dict[str, str] = {}
        claims = {
            "unknown client_id": str(uuid.uuid4()),
            "victim's client_id, another tab": self.victim.client_id,
        }
        for name, client_id in claims.items():
            query = {
                "client_id": client_id,
                "next_message_id": 0,
                "implicit_handshake": "true",
                "document_id": str(uuid.uuid4()),
                "tab_id": str(uuid.uuid4()),
            }
            sio = socketio.AsyncClient(reconnection=False)
            try:
                await sio.connect(
                    f"{self.base_url}/?{urlencode(query)}",
                    transports=["websocket"],
                    socketio_path="/_nicegui_ws/socket.io",
                    wait_timeout=10,
                )
                outcomes[name] = "accepted"
            except Exception as exc:
                outcomes[name] = f"refused ({type(exc).__name__}: {exc})"[:120]
            finally:
                with contextlib.suppress(Exception):
                    await sio.disconnect()
        return {"sent": len(claims), "outcomes": outcomes}

    async def run_all(self) -> None:
        async def counted(value: Awaitable[Any], extra: dict[str, Any]) -> int:
            result = await value
            if isinstance(result, dict):
                extra.update(result)
                return int(result.get("sent", 0))
            return int(result)

        async def run(name: str, make: Callable[[], Awaitable[Any]], note: str = "") -> None:
            extra: dict[str, Any] = {}
            result = await self.case(name, lambda: counted(make(), extra), note)
            result.update({k: v for k, v in extra.items() if k != "sent"})

        await run("unknown element id", self.unknown_element)
        await run("unknown listener id", self.unknown_listener)
        await run("missing keys in the event", self.missing_keys)
        await run("event payload not an object", self.not_an_object)
        await run("ids of the wrong type", self.wrong_id_types)
        await run("args of the wrong type", self.wrong_args)
        await run("garbage to every listener on the page", self.every_listener)
        await run("0.9 MB argument (under the 1 MB limit)", lambda: self.huge(900_000))
        await run("1.5 MB argument (over the limit)", lambda: self.huge(1_500_000))
        await run("argument nested 100000 deep", self.deep_json_arg)
        await run("malformed Socket.IO packets", self.malformed_packets)
        await run("event naming another browser's client_id", self.other_client)
        await run("out-of-turn moves", self.out_of_turn)
        await run("click flood, 300/s for 10 s", lambda: self.click_flood(300, 10))
        await run("bad-event flood, 300/s for 5 s", lambda: self.bad_event_flood(300, 5))
        await run("odd HTTP paths", self.odd_http)
        await run("forged socket handshakes", self.forged_handshakes)

    async def aclose(self) -> None:
        if self.match is not None:
            for browser in self.match.browsers:
                await browser.close()
        await self.backend.aclose()
        await self.http.aclose()


def stored_games(db_file: Path) -> dict[str, tuple[str, int]]:
    """Every game's moves and round by join key, read from the SQLite file after the server stopped."""
    with contextlib.closing(sqlite3.connect(db_file)) as db:
        return {key: (moves, rnd) for key, moves, rnd in db.execute("SELECT join_key, moves, round FROM games")}


def check_moves(matches: list[Match], fuzzer: Fuzzer | None, stored: dict[str, tuple[str, int]]) -> dict[str, Any]:
    """Did every game store exactly what its players saw accepted, and is every stored list legal?"""
    mismatched: list[dict[str, str]] = []
    for match in matches:
        moves, _ = stored.get(match.key, ("<missing>", 0))
        if moves != match.played:
            mismatched.append({"key": match.key[:8], "stored": moves, "seen": match.played})
    illegal = []
    for key, (moves, _) in stored.items():
        try:
            Connect4.from_moves(moves)
        except Connect4Error as exc:
            illegal.append({"key": key[:8], "moves": moves, "error": str(exc)})
    result: dict[str, Any] = {
        "normal_games": len(matches),
        "normal_games_exact": len(matches) - len(mismatched),
        "mismatches": mismatched[:10],
        "illegal_stored_lists": illegal,
    }
    if fuzzer is not None and fuzzer.match is not None:
        stored_moves, _ = stored.get(fuzzer.match.key, ("<missing>", 0))
        seen = "".join(str(column + 1) for _, column, _ in fuzzer.spectator.discs)
        result["hostile_game"] = {
            "stored": stored_moves,
            "spectator_saw": seen,
            "same": stored_moves == seen,
            "legal": not any(i["key"] == fuzzer.match.key[:8] for i in illegal),
        }
    return result


async def one_run(args: argparse.Namespace, *, hostile: bool) -> dict[str, Any]:
    label = "abuse" if hostile else "calm"
    log_path = RESULTS / "logs" / f"{label}-{args.games}-{int(time.time())}.log"
    extra = dict(item.split("=", 1) for item in args.env)
    server, base, db_file = await start_app(database="sqlite", log_path=log_path, app_dir=args.app_dir, extra_env=extra)
    fuzzer: Fuzzer | None = None
    played: list[Match] = []
    background: Background | None = None
    try:
        await warm_up(base)
        if args.load_games:
            background = Background(args, base, server.pid, label)
            await background.start()
        config = RunConfig(games=args.games, duration=args.duration, pace=args.pace, leave_wait=3.0)

        async def attack(matches: list[Match]) -> None:
            played.extend(matches)
            if not hostile:
                return
            nonlocal fuzzer
            fuzzer = Fuzzer(base, log_path, Tally())
            await fuzzer.setup()
            await asyncio.sleep(3.0)
            await fuzzer.run_all()

        report = await run_benchmark(NiceGUIBackend(base), config, pid=server.pid, log_path=log_path, on_matches=attack)
        report["server_alive_at_end"] = server.alive()
        if background is not None:
            report["background"] = await background.finish()
        if fuzzer is not None:
            report["cases"] = fuzzer.cases
            hostile_tally = fuzzer.match.tally if fuzzer.match else Tally()
            report["hostile_notifications"] = dict(hostile_tally.notifications.most_common(8))
            await fuzzer.aclose()
    finally:
        if background is not None:
            background.stop()
        status = server.stop()
    report["server_exit_status"] = status
    if db_file is not None:
        report["moves_check"] = check_moves(played, fuzzer, stored_games(db_file))
    report["log_file"] = str(log_path.relative_to(RESULTS.parent.parent))
    return report


BACKGROUND_OVERTIME = 30.0
"""Seconds the background load plays beyond ``--duration``: the attacked run's games connect after it."""


class Background:
    """The target load behind an attack: ``loadgen.py`` against the same server, in its own processes."""

    def __init__(self, args: argparse.Namespace, base: str, pid: int, label: str) -> None:
        stem = RESULTS / "runs" / f"abuse-background-{label}-{args.load_games}"
        self.report_path = stem.with_suffix(".json")
        self.ready_path = stem.with_suffix(".ready")
        self.command = [
            sys.executable,
            str(HERE / "loadgen.py"),
            *("--url", base, "--pid", str(pid)),
            *("--games", str(args.load_games), "--procs", str(args.load_procs)),
            # It plays on until the attacked run's games have ended: if its 1440 browsers left while
            # those still played, their p99 would measure the crowd leaving, not the attack.
            *("--duration", str(args.duration + BACKGROUND_OVERTIME), "--pace", str(args.pace)),
            *("--json", str(self.report_path), "--ready-file", str(self.ready_path)),
        ]
        self.process: asyncio.subprocess.Process | None = None

    async def start(self, timeout: float = 600.0) -> None:
        """Start it and return once all its browsers are connected (its play starts 2 s later)."""
        for path in (self.report_path, self.ready_path):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.unlink(missing_ok=True)
        self.process = await asyncio.create_subprocess_exec(*self.command)
        deadline = time.monotonic() + timeout
        while not self.ready_path.exists():
            if self.process.returncode is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the background load did not connect: {' '.join(self.command)}")
            await asyncio.sleep(0.5)

    async def finish(self, timeout: float = 600.0) -> dict[str, Any]:
        """Wait for its play and leaving to end; what its browsers measured."""
        assert self.process is not None
        status = await asyncio.wait_for(self.process.wait(), timeout)
        report = json.loads(self.report_path.read_text()) if self.report_path.exists() else {}
        self.ready_path.unlink(missing_ok=True)
        return {
            "exit_status": status,
            "games": report.get("games"),
            "browsers": report.get("browsers"),
            "latency_ms": report.get("latency_ms"),
            "errors": report.get("errors"),
            "lost": report.get("lost_updates"),
            "unexpected_disconnects": report.get("unexpected_disconnects"),
            "moves_per_s": report.get("moves_per_s"),
            "play_window": report.get("play_window"),
            "report": str(self.report_path.relative_to(RESULTS.parent.parent)),
        }

    def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()  # loadgen.py stops its workers on SIGTERM


def markdown(result: dict[str, Any]) -> str:
    """The abuse report a person reads: each case, what the server logged, and the checks."""
    abuse, calm = result["abuse"], result["calm"]
    lines = [
        f"# Abuse run: {result['browsers']} normal browsers ({result['games']} games) plus one hostile client",
        "",
        f"Normal games' latency p50 / p99 / max: calm {calm['latency_ms']['p50']} / {calm['latency_ms']['p99']} / "
        f"{calm['latency_ms']['max']} ms, under abuse {abuse['latency_ms']['p50']} / {abuse['latency_ms']['p99']} / "
        f"{abuse['latency_ms']['max']} ms. Server alive at the end: {abuse['server_alive_at_end']} "
        f"(exit status {abuse['server_exit_status']}). Server log of the abuse run: "
        f"{abuse['server_log']['error_lines']} ERROR lines, {abuse['server_log']['tracebacks']} tracebacks "
        f"(calm run: {calm['server_log']['error_lines']}).",
        "",
    ]
    if "background" in abuse:
        lines += [
            f"Other games behind it: {abuse['background']['browsers']} more browsers "
            f"({abuse['background']['games']} games, `loadgen.py` in {result['load_procs']} processes), "
            f"p50 / p99 / max {_latency(calm['background'])} ms calm, {_latency(abuse['background'])} ms under "
            f"abuse; errors {calm['background']['errors']} / {abuse['background']['errors']}, "
            f"lost {calm['background']['lost']} / {abuse['background']['lost']}.",
            "",
        ]
    lines += [
        "| case | sent | ERROR lines | tracebacks | warnings to sender | socket dropped | /healthz "
        "| innermost frame -> exception |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for case in abuse.get("cases", []):
        log = case["server_log"]
        tails = "<br>".join(f"{s['count']}x `{s['tail']}`" for s in log["samples"][:3])
        lines.append(
            f"| {case['case']} | {case['sent']} | {log['error_lines']} | {log['tracebacks']} "
            f"| {case['warnings_to_sender']} | {case['socket_dropped']} | {'ok' if case['healthz_ok'] else 'FAIL'} "
            f"| {tails} |"
        )
    for case in abuse.get("cases", []):
        findings = case.get("findings")
        if not findings:
            continue
        lines += ["", f"## {case['case']}", "", "| target | tracebacks | last frame -> exception |", "|---|---|---|"]
        for finding in findings:
            target = finding.get("packet") or f"{finding.get('element')} `{finding.get('event')}`"
            tails = "<br>".join(f"`{s['tail']}`" for s in finding["samples"])
            lines.append(f"| {target} | {finding['tracebacks']} | {tails} |")
    check = abuse.get("moves_check", {})
    lines += [
        "",
        "## Move lists",
        "",
        f"- normal games whose stored moves equal what their players saw accepted: "
        f"{check.get('normal_games_exact')} of {check.get('normal_games')}",
        f"- stored move lists the engine refuses: {len(check.get('illegal_stored_lists', []))}",
        f"- hostile game: stored `{check.get('hostile_game', {}).get('stored')}`, spectator saw "
        f"`{check.get('hostile_game', {}).get('spectator_saw')}` (same: {check.get('hostile_game', {}).get('same')})",
        "",
        f"Notifications the hostile client received: {abuse.get('hostile_notifications')}",
        "",
    ]
    for case in abuse.get("cases", []):
        if "outcomes" in case or "statuses" in case or "note" in case:
            detail = case.get("outcomes") or case.get("statuses") or case.get("note")
            lines.append(f"- {case['case']}: {detail}")
    return "\n".join(lines) + "\n"


def _latency(part: dict[str, Any]) -> str:
    latency = part.get("latency_ms") or {}
    return f"{latency.get('p50')} / {latency.get('p99')} / {latency.get('max')}"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--games", type=int, default=50)
    parser.add_argument("--duration", type=float, default=75.0, help="long enough for every case to run")
    parser.add_argument("--pace", type=float, default=1.0)
    parser.add_argument("--app-dir", type=Path, default=HERE.parents[1])
    parser.add_argument("--json", type=Path, default=RESULTS / "abuse.json", help="and the .md beside it")
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE for the app (experiments)")
    parser.add_argument("--skip-calm", action="store_true", help="only the run under abuse")
    parser.add_argument("--load-games", type=int, default=0, help="more games from a separate loadgen.py")
    parser.add_argument("--load-procs", type=int, default=2, help="processes of that loadgen.py")
    return parser.parse_args(argv)


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    abuse = await one_run(args, hostile=True)
    calm = abuse if args.skip_calm else await one_run(args, hostile=False)
    return {
        "env": args.env,
        "games": args.games,
        "browsers": calm["browsers"],
        "p99_ms_calm": calm["latency_ms"]["p99"],
        "p99_ms_under_abuse": abuse["latency_ms"]["p99"],
        "load_games": args.load_games,
        "load_procs": args.load_procs,
        "other_games_p99_ms_calm": (calm.get("background") or {}).get("latency_ms", {}).get("p99"),
        "other_games_p99_ms_under_abuse": (abuse.get("background") or {}).get("latency_ms", {}).get("p99"),
        "calm": calm,
        "abuse": abuse,
    }


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    use_fast_loop()
    result = asyncio.run(main_async(args))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    args.json.with_suffix(".md").write_text(markdown(result))
    print(
        f"p99 calm {result['p99_ms_calm']} ms, under abuse {result['p99_ms_under_abuse']} ms; other games' p99 "
        f"calm {result['other_games_p99_ms_calm']} ms, under abuse {result['other_games_p99_ms_under_abuse']} ms; "
        f"server alive: {result['abuse']['server_alive_at_end']}; written {args.json}",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
