"""A crowd leaves at once: what the games still playing feel, and what the collector does about it.

One server (under ``gcprobe.py``, which records every collection and every event-loop stall of
20 ms or more) gets a crowd of ``--crowd`` games (three browsers each) from one ``loadgen.py``;
once they play, a second ``loadgen.py`` starts ``--games`` more that play on after the crowd has
left (and, 10 s later, been deleted by NiceGUI). The report is the remaining games' click-to-
opponent latency, the stalls and the collections of 5 ms or more in their play window, and the
largest collection. Several ``--app-dir`` run one after another (a baseline and the change).

    python bench/load/leave.py --app-dir /tmp/base --app-dir . --json bench/results/leave.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from harness import machine  # noqa: E402
from loadgen import start_app  # noqa: E402


async def one_run(app_dir: Path, crowd: int, games: int, crowd_seconds: float, seconds: float) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="leave-"))
    stats = work / "stats.json"
    argv = [sys.executable, str(HERE / "gcprobe.py"), str(app_dir / "main.py")]
    server, url, _ = await start_app(
        database="sqlite",
        log_path=work / "server.log",
        app_dir=app_dir,
        argv=argv,
        extra_env={"PROBE_STATS": str(stats)},
    )
    try:

        async def loadgen(n: int, duration: float, procs: int, name: str) -> asyncio.subprocess.Process:
            command = ["--url", url, "--pid", str(server.pid), "--games", str(n), "--duration", str(duration)]
            command += ["--procs", str(procs), "--json", str(work / f"{name}.json")]
            return await asyncio.create_subprocess_exec(
                sys.executable, str(HERE / "loadgen.py"), *command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )

        big = await loadgen(crowd, crowd_seconds, 2, "crowd")
        await asyncio.sleep(crowd_seconds)  # the crowd is connected and playing by now
        small = await loadgen(games, seconds, 1, "games")
        for process in (small, big):
            if await asyncio.wait_for(process.wait(), 600) != 0:
                raise RuntimeError(f"a load generator failed with {process.returncode} ({work})")
        await asyncio.sleep(3)  # the probe writes its statistics every 2 s
    finally:
        server.stop()
    played = json.loads((work / "games.json").read_text())
    crowd_report = json.loads((work / "crowd.json").read_text())
    probe = json.loads(stats.read_text())
    start, end = played["play_window"]

    def within(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{**item, "at": round(item["at"] - start, 1)} for item in items if start <= item["at"] <= end]

    stalls = within(probe["loop_stalls"])
    pauses = within(probe["long_pauses"])
    largest = max(probe["long_pauses"], key=lambda p: p["ms"], default=None)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=app_dir, capture_output=True, text=True, check=False
    ).stdout.strip()
    return {
        "app_dir": str(app_dir),
        "commit": commit,
        "crowd_browsers": crowd_report["browsers"],
        "crowd_left_at": round(crowd_report["play_window"][1] - start, 1),
        "browsers": played["browsers"],
        "latency_ms": played["latency_ms"],
        "errors": played["errors"] + crowd_report["errors"],
        "lost": played["lost_updates"] + crowd_report["lost_updates"],
        "stalls": len(stalls),
        "stalled_ms": round(sum(s["ms"] for s in stalls), 1),
        "longest_stall_ms": max((s["ms"] for s in stalls), default=0.0),
        "collections_5ms": pauses,
        "largest_collection": largest,
        "work_dir": str(work),
    }


def markdown(runs: list[dict[str, Any]], where: str) -> str:
    lines = [
        "# A crowd leaves at once",
        "",
        f"Machine: {where}. Each row: one server; a crowd plays, then leaves while the games in the",
        "row play on (their clicks measured, the server's event-loop stalls of 20 ms or more and its",
        "collections counted in their play window; times from the start of their play).",
        "",
        "| app (commit) | crowd | crowd left at | games' browsers | p50 / p99 / max (ms) | stalls (total ms, longest) "
        "| largest collection (gen, ms, objects collected, at) | errors / lost |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        latency = run["latency_ms"]
        largest = run["largest_collection"] or {}
        lines.append(
            f"| {run['app_dir']} ({run.get('commit')}) | {run['crowd_browsers']} | {run['crowd_left_at']} s "
            f"| {run['browsers']} "
            f"| {latency['p50']} / {latency['p99']} / {latency['max']} "
            f"| {run['stalls']} ({run['stalled_ms']} ms, {run['longest_stall_ms']} ms) "
            f"| {largest.get('gen')}, {largest.get('ms')} ms, {largest.get('collected')} "
            f"| {run['errors']} / {run['lost']} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--app-dir", type=Path, action="append", help="where main.py is (repeat for A/B)")
    parser.add_argument("--crowd", type=int, default=480, help="games that leave at once (3 browsers each)")
    parser.add_argument("--games", type=int, default=20, help="games that play on")
    parser.add_argument("--crowd-seconds", type=float, default=25.0, help="how long the crowd plays")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the other games play")
    parser.add_argument("--json", type=Path, help="write the runs here, and a .md beside it")
    args = parser.parse_args()
    runs = []
    for app_dir in args.app_dir or [HERE.parents[1]]:
        run = asyncio.run(one_run(app_dir.resolve(), args.crowd, args.games, args.crowd_seconds, args.seconds))
        latency = run["latency_ms"]
        print(
            f"{app_dir}: p50/p99/max {latency['p50']}/{latency['p99']}/{latency['max']} ms, "
            f"{run['stalls']} stalls ({run['stalled_ms']} ms), largest collection {run['largest_collection']}"
        )
        runs.append(run)
    facts = machine()
    where = f"{facts['cpu']}, {facts['cores']} cores, {facts['memory_gib']} GiB, Python {facts['python']}"
    write(args.json, runs, where)


def write(path: Path | None, runs: list[dict[str, Any]], where: str) -> None:
    if path:
        path.write_text(json.dumps({"machine": where, "runs": runs}, indent=1))
        path.with_suffix(".md").write_text(markdown(runs, where))


if __name__ == "__main__":
    main()
