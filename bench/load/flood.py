"""An anonymous flood from one address while many browsers play: their latency, and what the flood leaves behind.

A fresh server with the default limits (and the default SQLite store). ``loadgen.py --url`` (in
``--procs`` processes) connects ``--games`` games, three browsers each, every game from a
loopback address of its own (127.0.1.1, ...), and plays for ``--duration`` seconds. Once they
all play, this script sends the flood from 127.0.0.1: ``--requests`` cookie-less GETs of ``/``,
``/local`` and ``/analyze?pos=4453``, ``--concurrency`` at a time, as a script or a crawler
sends them. It reads the server's RSS when the flood starts, at its peak, and ``--after``
seconds after the flood ended (the players still playing: sooner if their play ends first),
and at the end counts the games in the SQLite file by mode (the flood's ``/local`` views must
have stored none).

    python bench/load/flood.py --games 500 --procs 2 --json bench/results/flood-1500.json   # ~5 min
"""

from __future__ import annotations

import argparse
import asyncio
import http.cookiejar
import json
import os
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from harness import RESULTS, machine, rss_kib  # noqa: E402
from loadgen import start_app  # noqa: E402

FLOOD_PATHS = ("/", "/local", "/analyze?pos=4453")


async def flood(url: str, requests: int, concurrency: int) -> dict[str, Any]:
    """``requests`` cookie-less GETs, ``concurrency`` at a time; the answers by status and how long it took."""
    jar = http.cookiejar.CookieJar(policy=http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    paths = [FLOOD_PATHS[i % len(FLOOD_PATHS)] for i in range(requests)]
    statuses: Counter[int] = Counter()
    by_path: dict[str, Counter[int]] = {path: Counter() for path in FLOOD_PATHS}
    retry_after: Counter[str] = Counter()
    transport = httpx.AsyncHTTPTransport(local_address="127.0.0.1")
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=url, cookies=jar, timeout=120, transport=transport) as client:

        async def worker() -> None:
            while paths:
                path = paths.pop()
                try:
                    answer = await client.get(path)
                except httpx.HTTPError as exc:
                    statuses[-1] += 1
                    by_path[path][-1] += 1
                    print(f"flood: {type(exc).__name__}", file=sys.stderr)
                    continue
                statuses[answer.status_code] += 1
                by_path[path][answer.status_code] += 1
                if answer.status_code == 429:
                    retry_after[answer.headers.get("retry-after", "missing")] += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return {
        "requests": requests,
        "concurrency": concurrency,
        "seconds": round(time.monotonic() - started, 1),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "by_path": {path: {str(k): v for k, v in sorted(c.items())} for path, c in by_path.items()},
        "retry_after": dict(retry_after.most_common(5)),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    stamp = int(time.time())
    load_before = os.getloadavg()[0]
    log_path = RESULTS / "logs" / f"flood-{args.games}-{stamp}.log"
    extra_env = dict(item.split("=", 1) for item in args.env)
    server, url, db_file = await start_app(
        database="sqlite", log_path=log_path, app_dir=HERE.parents[1], extra_env=extra_env
    )
    work = Path(tempfile.mkdtemp(prefix="flood-"))
    ready, load_json = work / "ready", work / "load.json"
    samples: list[tuple[float, int]] = []
    load: asyncio.subprocess.Process | None = None
    try:
        load = await asyncio.create_subprocess_exec(
            sys.executable,
            str(HERE / "loadgen.py"),
            *("--url", url, "--pid", str(server.pid), "--games", str(args.games), "--procs", str(args.procs)),
            *("--duration", str(args.duration), "--leave-wait", "5", "--ready-file", str(ready)),
            *("--json", str(load_json)),
        )
        deadline = time.monotonic() + args.ramp_timeout
        while not ready.exists():
            if load.returncode is not None or time.monotonic() > deadline:
                raise RuntimeError("the load generator did not get its browsers in")
            await asyncio.sleep(0.5)
        play_ends = time.monotonic() + args.duration  # the load generator starts playing once it wrote the file
        await asyncio.sleep(3.0)

        async def sample() -> None:
            while True:
                samples.append((time.monotonic(), rss_kib(server.pid)))
                await asyncio.sleep(0.5)

        sampler = asyncio.create_task(sample())
        flood_start_kib = rss_kib(server.pid)
        flood_started = time.monotonic()
        flooded = await flood(url, args.requests, args.concurrency)
        flood_ended = time.monotonic()
        # While the players still play: their own memory is in both readings.
        await asyncio.sleep(max(0.0, min(flood_ended + args.after, play_ends - 3.0) - time.monotonic()))
        after_kib = rss_kib(server.pid)
        after_seconds = time.monotonic() - flood_ended
        sampler.cancel()
        await load.wait()
        load = None
    finally:
        if load is not None and load.returncode is None:
            load.terminate()
            await load.wait()
        status = server.stop()
        print(f"server stopped with status {status}; log: {log_path}", file=sys.stderr)
    players = json.loads(load_json.read_text())
    games: dict[str, int] = {}
    if db_file is not None:
        with sqlite3.connect(db_file) as db:
            games = dict(db.execute("SELECT mode, COUNT(*) FROM games GROUP BY mode").fetchall())
    during = [kib for t, kib in samples if flood_started <= t <= flood_ended]
    return {
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(stamp)),
        "machine": machine(),
        "note": args.note,
        "load_average_1min": [round(load_before, 1), round(os.getloadavg()[0], 1)],
        "flood": flooded,
        "rss_mib": {
            "flood_start": round(flood_start_kib / 1024, 1),
            "flood_peak": round(max(during or [flood_start_kib]) / 1024, 1),
            "after": round(after_kib / 1024, 1),
            "after_seconds": round(after_seconds, 1),
            "after_minus_start": round((after_kib - flood_start_kib) / 1024, 1),
        },
        "players": {
            "browsers": players["browsers"],
            "latency_ms": players["latency_ms"],
            "moves": players["moves"],
            "errors": players["errors"],
            "error_messages": players["error_messages"],
            "connect_failures": players["connect_failures"],
            "reloads": players["reloads"],
            "match_failures": players["match_failures"],
            "lost_updates": players["lost_updates"],
            "cpu": players["cpu"],
        },
        "games_stored_by_mode": games,
        "server_env": extra_env,
        "server_log": players.get("server_log"),
    }


def markdown(report: dict[str, Any]) -> str:
    flood_, rss, players = report["flood"], report["rss_mib"], report["players"]
    lat = players["latency_ms"]
    return "\n".join(
        [
            f"# A flood from one address while {players['browsers']} browsers play",
            "",
            f"`python bench/load/flood.py` ({report['when']}, {report['machine'].get('cpu', '?')}, "
            f"{report['machine'].get('cores')} cores; {report['note']}; load average "
            f"{report['load_average_1min'][0]} before the run, {report['load_average_1min'][1]} at its end).",
            "",
            f"- Flood from 127.0.0.1: {flood_['requests']} cookie-less GETs of `/`, `/local`, `/analyze?pos=4453`, "
            f"{flood_['concurrency']} at a time, in {flood_['seconds']} s: answers {flood_['statuses']} "
            f"(by page: {flood_['by_path']}); Retry-After {flood_['retry_after']}.",
            f"- Players ({players['browsers']} browsers, each game from its own 127.0.x.y, one move a second per "
            f"game): p50 {lat['p50']} ms, p99 {lat['p99']} ms, max {lat['max']} ms over {players['moves']} moves; "
            f"errors {players['errors']}, connect failures {players['connect_failures']}, reloads "
            f"{players['reloads']}, match failures {players['match_failures']}, "
            f"lost updates {players['lost_updates']}.",
            f"- CPU: server {players['cpu']['server_cores']} cores, load generator {players['cpu']['loadgen_cores']}, "
            f"other processes {players['cpu']['other_processes_cores']}; server settings "
            f"{report.get('server_env') or 'the defaults'}.",
            f"- Server RSS: {rss['flood_start']} MiB when the flood started, {rss['flood_peak']} MiB at its peak, "
            f"{rss['after']} MiB {rss['after_seconds']} s after it ended: **{rss['after_minus_start']:+} MiB** "
            "(target: within 50 MB).",
            f"- Games stored, by mode: {report['games_stored_by_mode']} (the players' online games; the flood's "
            "`/local` views stored none).",
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--games", type=int, default=500, help="games of three browsers each (500: 1500 browsers)")
    parser.add_argument("--procs", type=int, default=2, help="load generator processes")
    parser.add_argument(
        "--duration",
        type=float,
        default=240.0,
        help="seconds the players play once all are in (longer than the flood and --after)",
    )
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--after", type=float, default=90.0, help="seconds after the flood to read RSS again")
    parser.add_argument("--ramp-timeout", type=float, default=300.0)
    parser.add_argument("--note", default="machine to itself")
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE for the server (e.g. its limits)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    report = asyncio.run(run(args))
    print(json.dumps({k: report[k] for k in ("flood", "rss_mib", "players", "games_stored_by_mode")}, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
        args.json.with_suffix(".md").write_text(markdown(report))


if __name__ == "__main__":
    main()
