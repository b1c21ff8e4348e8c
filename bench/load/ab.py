"""Two commits of the app under the same load, run in turns, so the machine's drift falls on both.

    python bench/load/ab.py 3329031 4dbe63f --games 500 --pairs 2 --name heartbeat
    python bench/load/ab.py HEAD~1 HEAD --games 500 --pace 20 --name idle   # nearly idle pages
    python bench/load/ab.py HEAD HEAD --together --games 250 --env-b SERVER_TUNING_SKIP=no-deflate --name no-deflate

This machine's speed changes by the hour (the same code measured 2.10 and 1.84 ms of server CPU
per move within 50 minutes), so one run of each commit, one after the other, measures the hour as
much as the change. Here every pair runs both, and the order alternates from pair to pair (A B,
B A, A B, ...), so a machine that speeds up or slows down during the comparison favours neither.
Each commit is checked out in a worktree of its own (removed at the end) and measured by
``loadgen.py`` (through ``run.py``'s ``run_one``), a fresh server per run, its report kept in
``bench/results/runs/loadgen-ab-<name>-<run>-<games>.json``. Writes ``bench/results/ab-<name>.json`` and ``.md``: every
run, and per commit the median of the runs, with the change from A to B.

With ``--together`` each pair runs A and B at the same time instead, each server with its own
load generator and ``--games`` games (so choose half the load): the machine's state is then the
same for both, down to the second (in turns, runs a few minutes apart differed by 15 % in CPU per
move), and each pair gives B's CPU per move as a fraction of A's.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from harness import REPO, RESULTS, machine  # noqa: E402
from run import run_one  # noqa: E402

FIGURES: dict[str, Callable[[dict[str, Any]], Any]] = {
    "p50 ms": lambda r: r["latency_ms"]["p50"],
    "p99 ms": lambda r: r["latency_ms"]["p99"],
    "max ms": lambda r: r["latency_ms"]["max"],
    "moves/s": lambda r: r["moves_per_s"],
    "server cores": lambda r: r["cpu"]["server_cores"],
    "server ms per move": lambda r: 1000 * r["cpu"]["server_cores"] / r["moves_per_s"] if r["moves_per_s"] else None,
    "KiB per browser": lambda r: r["memory"]["per_browser_kib"],
    "after leave %": lambda r: r["memory"]["after_leave_pct_over_start"],
    "errors": lambda r: r["errors"],
    "lost": lambda r: r["lost_updates"],
}


def resolve(commit: str) -> str:
    """The full hash of ``commit`` in this repository (a clear error if there is none)."""
    result = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--verify", f"{commit}^{{commit}}"], capture_output=True, text=True
    )
    if result.returncode != 0:
        raise SystemExit(f"ab.py: no commit {commit!r} in {REPO}")
    return result.stdout.strip()


def order(pairs: int) -> list[int]:
    """Which commit runs when: 0 is A, 1 is B; each pair runs both, the order alternating."""
    return [side for pair in range(pairs) for side in ((0, 1) if pair % 2 == 0 else (1, 0))]


def pair_ratios(runs: list[dict[str, Any]]) -> list[float]:
    """For runs made together (A and B of one pair at once): B's server CPU per move over A's, pair by pair."""
    ratios = []
    by_pair: dict[int, dict[str, float | None]] = {}
    for run in runs:
        if "pair" in run and "figures" in run:
            by_pair.setdefault(run["pair"], {})[run["side"]] = run["figures"]["server ms per move"]
    for sides in by_pair.values():
        a, b = sides.get("A"), sides.get("B")
        if a and b:
            ratios.append(round(b / a, 3))
    return ratios


def figures(report: dict[str, Any]) -> dict[str, float | None]:
    values: dict[str, float | None] = {}
    for name, get in FIGURES.items():
        try:
            value = get(report)
        except (KeyError, TypeError):
            value = None
        values[name] = None if value is None else round(float(value), 2)
    return values


def medians(rows: list[dict[str, float | None]]) -> dict[str, float | None]:
    result: dict[str, float | None] = {}
    for name in FIGURES:
        present = [value for row in rows if (value := row[name]) is not None]
        result[name] = round(statistics.median(present), 2) if present else None
    return result


def change(a: float | None, b: float | None) -> str:
    if a is None or b is None:
        return ""
    if a == 0:
        return "" if b == 0 else "new"
    return f"{100 * (b - a) / a:+.1f} %"


def report_md(result: dict[str, Any]) -> str:
    a, b = result["commits"]
    lines = [
        f"# A/B: {a['short']} (A) against {b['short']} (B)",
        "",
        f"Measured {result['date']} on {result['machine']['cpu']}, {result['machine']['cores']} cores, "
        f"Python {result['machine']['python']}. {3 * result['games']} browsers ({result['games']} games), one move "
        f"per {result['pace']} s per game, {result['duration']:.0f} s of play per run, load generator in "
        f"{result['procs']} processes on the same cores; {result['pairs']} pairs, "
        + (
            "A and B of a pair at the same time, each with its own load generator (`--together`). "
            if result.get("together")
            else "the order alternating (A B, B A, ...). "
        )
        + "".join(
            f"{side}'s server ran with {' '.join(env)}. "
            for side, env in (("A", result.get("env_a")), ("B", result.get("env_b")))
            if env
        )
        + "`python bench/load/ab.py` wrote this.",
        "",
        "| run | commit | " + " | ".join(FIGURES) + " |",
        "|---|---|" + "---|" * len(FIGURES),
    ]
    for number, run in enumerate(result["runs"], 1):
        values = run.get("figures") or {}
        cells = " | ".join("" if values.get(name) is None else str(values[name]) for name in FIGURES)
        lines.append(
            f"| {number} | {run['commit']} | {cells}"
            + (f" (failed: {run['failed']})" if "failed" in run else "")
            + " |"
        )
    lines += ["", "| median | " + " | ".join(FIGURES) + " |", "|---|" + "---|" * len(FIGURES)]
    for side in (a, b):
        lines.append(f"| {side['short']} | " + " | ".join(str(side["median"][name]) for name in FIGURES) + " |")
    lines.append("| B against A | " + " | ".join(change(a["median"][n], b["median"][n]) for n in FIGURES) + " |")
    if ratios := result.get("pair_ratios"):
        lines += [
            "",
            "B's server CPU per move as a fraction of A's, pair by pair (both measured at once): "
            + ", ".join(f"{ratio:.3f}" for ratio in ratios)
            + f"; median {statistics.median(ratios):.3f}.",
        ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("a", help="the commit to compare against (A)")
    parser.add_argument("b", help="the commit to measure (B)")
    parser.add_argument("--games", type=int, default=500, help="online games per run (3 browsers each)")
    parser.add_argument("--duration", type=float, default=40.0, help="seconds of play per run")
    parser.add_argument("--pace", type=float, default=1.0, help="seconds between moves in a game")
    parser.add_argument("--procs", type=int, default=2, help="load generator processes")
    parser.add_argument("--pairs", type=int, default=2, help="runs of each commit")
    parser.add_argument("--name", default="", help="the files are ab-<name>.json and .md")
    parser.add_argument("--together", action="store_true", help="run A and B of a pair at the same time, --games each")
    parser.add_argument("--home", type=int, default=0, help="browsers on the home page per run, besides the games")
    parser.add_argument("--public", action="store_true", help="every game open to anyone (listed on the home page)")
    parser.add_argument("--env-a", action="append", default=[], help="NAME=VALUE for A's server (repeatable)")
    parser.add_argument("--env-b", action="append", default=[], help="NAME=VALUE for B's server (repeatable)")
    parser.set_defaults(soak=0.0)  # run_one()'s time budget reads it
    args = parser.parse_args(argv)
    if args.pairs < 1 or args.games < 1:
        parser.error("--pairs and --games must be at least 1")

    commits = [resolve(args.a), resolve(args.b)]
    name = args.name or f"{commits[0][:7]}-{commits[1][:7]}"
    work = Path(tempfile.mkdtemp(prefix="c4-ab-"))
    trees = [work / "a", work / "b"]
    runs: list[dict[str, Any]] = []
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    try:
        for commit, tree in zip(commits, trees, strict=True):
            subprocess.run(
                ["git", "-C", str(REPO), "worktree", "add", "--detach", str(tree), commit],
                check=True,
                capture_output=True,
            )

        def measure(number: int, side: int) -> dict[str, Any]:
            extra = ["--procs", str(args.procs), "--app-dir", str(trees[side]), "--home", str(args.home)]
            extra += ["--public"] if args.public else []
            for setting in (args.env_a, args.env_b)[side]:
                extra += ["--env", setting]
            report = run_one("loadgen.py", args.games, args, extra, kind=f"-ab-{name}-{number}")
            run: dict[str, Any] = {"commit": commits[side][:7], "side": "AB"[side]}
            if "failed" in report:
                run["failed"] = report["failed"]
            else:
                run["figures"] = figures(report)
            print(f"run {number}: {run}", file=sys.stderr, flush=True)
            return run

        if args.together:
            with ThreadPoolExecutor(max_workers=2) as pool:
                for pair in range(args.pairs):
                    both = [pool.submit(measure, 2 * pair + side + 1, side) for side in (0, 1)]
                    for future in both:
                        runs.append({**future.result(), "pair": pair})
        else:
            for number, side in enumerate(order(args.pairs), 1):
                runs.append(measure(number, side))
    finally:
        for tree in trees:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)], capture_output=True)
        subprocess.run(["git", "-C", str(REPO), "worktree", "prune"], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)

    result: dict[str, Any] = {
        "date": started,
        "machine": machine(),
        "games": args.games,
        "duration": args.duration,
        "pace": args.pace,
        "procs": args.procs,
        "pairs": args.pairs,
        "together": args.together,
        "env_a": args.env_a,
        "env_b": args.env_b,
        "commits": [
            {
                "commit": commit,
                "short": commit[:7],
                "median": medians([run["figures"] for run in runs if run["side"] == "AB"[side] and "figures" in run]),
            }
            for side, commit in enumerate(commits)
        ],
        "runs": runs,
        "pair_ratios": pair_ratios(runs),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"ab-{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / f"ab-{name}.md").write_text(report_md(result))
    print(report_md(result))
    if any("failed" in run for run in runs):
        raise SystemExit("ab.py: a run failed; see the table")


if __name__ == "__main__":
    main()
