"""Each tuning patch against its absence: one ``ab.py --together`` pair per patch, the same commit on both sides.

    python bench/load/patches.py --games 250            # 1500 browsers on the machine per pair, ~3 min a patch
    python bench/load/patches.py --only no-deflate,gc-thresholds --pairs 2
    python bench/load/patches.py --only slow-heartbeat --pace 20 --name idle   # nearly idle pages

A is the commit with every patch; B is the same commit with ``SERVER_TUNING_SKIP=<patch>``. Both
run at once, so the machine's drift falls on both. Writes
``bench/results/patches-<name>-<games>.json`` and ``.md`` (``--name``, default ``play``): per patch,
B's server CPU per move as a fraction of A's (above 1: the patch saves CPU), p99, memory per
browser and RSS after the browsers left, for A and B.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))
sys.path.insert(0, str(HERE))

from harness import RESULTS, machine  # noqa: E402

from serving import PATCHES  # noqa: E402

SHOWN = ("p99 ms", "KiB per browser", "after leave %", "errors", "lost")


def measure(patch: str, args: argparse.Namespace) -> dict[str, Any]:
    """One ab.py run of the commit against itself without ``patch``; its JSON report."""
    name = f"patch-{patch}-{args.games}-{args.name}"
    command = [
        sys.executable,
        str(HERE / "ab.py"),
        args.commit,
        args.commit,
        "--together",
        "--games",
        str(args.games),
        "--pairs",
        str(args.pairs),
        "--procs",
        "1",
        "--duration",
        str(args.duration),
        "--pace",
        str(args.pace),
        "--env-b",
        f"SERVER_TUNING_SKIP={patch}",
        "--name",
        name,
    ]
    print(f"$ {' '.join(command[1:])}", file=sys.stderr, flush=True)
    subprocess.run(command, check=False)
    path = RESULTS / f"ab-{name}.json"
    report: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {"failed": "no report"}
    for leftover in (path, path.with_suffix(".md"), *(RESULTS / "runs").glob(f"loadgen-ab-{name}-*.json")):
        leftover.unlink(missing_ok=True)  # the sweep's own report below keeps every figure
    return report


def row(patch: str, report: dict[str, Any]) -> str:
    if "commits" not in report:
        return f"| `{patch}` | failed | | | |"
    a, b = (commit["median"] for commit in report["commits"])
    ratios = report.get("pair_ratios") or []
    ratio = f"{statistics.median(ratios):.3f}" if ratios else ""
    cells = " | ".join(f"{a.get(name)} / {b.get(name)}" for name in SHOWN)
    return f"| `{patch}` | {ratio} ({', '.join(f'{r:.3f}' for r in ratios)}) | {cells} |"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--commit", default="HEAD", help="the commit measured on both sides")
    parser.add_argument("--games", type=int, default=250, help="games per side (3 browsers each)")
    parser.add_argument("--pairs", type=int, default=1, help="pairs per patch")
    parser.add_argument("--duration", type=float, default=40.0, help="seconds of play per run")
    parser.add_argument("--pace", type=float, default=1.0, help="seconds between moves in a game (20: nearly idle)")
    parser.add_argument("--name", default="play", help="the files are patches-<name>-<games>.json and .md")
    parser.add_argument("--only", default="", help="comma-separated patch names (default: every patch)")
    args = parser.parse_args(argv)
    names = [name for name in args.only.split(",") if name] or [patch.name for patch in PATCHES]
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    reports = {}
    for name in names:
        reports[name] = measure(name, args)
        write(args, started, reports)


def write(args: argparse.Namespace, started: str, reports: dict[str, dict[str, Any]]) -> None:
    info = machine()
    lines = [
        f"# Each patch against its absence, {6 * args.games} browsers on the machine per pair",
        "",
        f"Measured from {started} on {info['cpu']}, {info['cores']} cores, Python {info['python']}; commit "
        f"{args.commit}. Per patch {args.pairs} pair(s): A with every patch and B with `SERVER_TUNING_SKIP=<patch>`, "
        f"{3 * args.games} browsers each, at the same time, {args.duration:.0f} s of play, a move per "
        f"{args.pace:g} s per game. "
        "`python bench/load/patches.py` wrote this. The method's resolution is about 2 % in CPU per move "
        "(`ab-together-aa.md`); a pair's p99 on a saturated machine varies far more than that.",
        "",
        "| patch left out in B | B's CPU per move / A's (pairs) | " + " | ".join(f"{n} A / B" for n in SHOWN) + " |",
        "|---|---|" + "---|" * len(SHOWN),
        *(row(name, report) for name, report in reports.items()),
    ]
    out = RESULTS / f"patches-{args.name}-{args.games}"
    out.with_suffix(".json").write_text(json.dumps({"date": started, "machine": info, "patches": reports}, indent=2))
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
