"""The GC and memory experiments of the load issue, run against a private copy of the app.

    # a private copy with lab.patch applied (see README.md), then:
        python bench/load/experiments.py --app-dir /tmp/loadlab --set gc --games 333

Each experiment is one loadgen.py run under gcprobe.py (GC pauses by generation) with some
environment switches: ``PROBE_*`` ones tune the collector without touching the app
(gcprobe.py), ``LAB_*`` ones switch page changes on in the private copy. Results go to
bench/results/experiments-<set>.json and .md.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from harness import RESULTS, machine  # noqa: E402

SLIM = ["LAB_STABLE_ACTIONS=1", "LAB_LAZY_DIALOG=1", "LAB_HTML_COLUMNS=1"]

SETS: dict[str, list[tuple[str, list[str], list[str]]]] = {
    # name, --env switches, extra loadgen flags
    "gc": [
        ("default collector", [], []),
        ("gc.freeze() after startup", ["PROBE_GC_FREEZE=startup"], []),
        ("thresholds 50000,20,20", ["PROBE_GC_THRESHOLD=50000,20,20"], []),
        ("gc.freeze() once all pages are built", [], ["--freeze-signal"]),
        ("stable actions row (app change)", ["LAB_STABLE_ACTIONS=1"], []),
        (
            "stable actions row + freeze after startup + thresholds 50000,20,20",
            ["LAB_STABLE_ACTIONS=1", "PROBE_GC_FREEZE=startup", "PROBE_GC_THRESHOLD=50000,20,20"],
            [],
        ),
        ("slim pages (stable actions, lazy dialog, HTML columns, no deflate)", [*SLIM, "LAB_NO_DEFLATE=1"], []),
        ("stable actions row + thresholds 20000,10,50", ["LAB_STABLE_ACTIONS=1", "PROBE_GC_THRESHOLD=20000,10,50"], []),
    ],
    "memory": [
        ("as is", [], []),
        ("no permessage-deflate", ["LAB_NO_DEFLATE=1"], []),
        ("stable actions row + lazy resign dialog", ["LAB_STABLE_ACTIONS=1", "LAB_LAZY_DIALOG=1"], []),
        ("board columns as HTML (7 elements, not 49)", ["LAB_HTML_COLUMNS=1"], []),
        ("all of the above", [*SLIM, "LAB_NO_DEFLATE=1"], []),
        (
            "compact: each column one HTML element, compact invite card, no spinner online, "
            "stable actions, lazy dialog, no deflate",
            ["LAB_COMPACT=1", "LAB_STABLE_ACTIONS=1", "LAB_LAZY_DIALOG=1", "LAB_NO_DEFLATE=1"],
            [],
        ),
    ],
}


def run(name: str, env: list[str], flags: list[str], args: argparse.Namespace, index: int) -> dict[str, Any]:
    out = RESULTS / "runs" / f"exp-{args.set}{args.tag and '-' + args.tag}-{args.games}-{index}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        str(HERE / "loadgen.py"),
        "--app-dir",
        str(args.app_dir),
        "--games",
        str(args.games),
        "--duration",
        str(args.duration),
        "--leave-wait",
        "8",
        "--probe",
        "--json",
        str(out),
        *flags,
        *(f"--env={item}" for item in env),
    ]
    print(f"# {name}", file=sys.stderr, flush=True)
    try:
        subprocess.run(command, check=True, timeout=args.duration + 900)
        report = dict(json.loads(out.read_text()))
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError, ValueError) as exc:
        report = {"failed": f"{type(exc).__name__}: {exc}"[:300]}
    report["experiment"] = name
    report["switches"] = env + flags
    return report


def row(report: dict[str, Any]) -> str:
    if "failed" in report:
        return f"| {report['experiment']} | failed: {report['failed']} |||||||"
    lat, gc = report["latency_ms"], report.get("gc", {})
    gen2 = (gc.get("by_generation_whole_run") or {}).get("2", {})
    return (
        f"| {report['experiment']} | {lat['p50']:.0f} / {lat['p99']:.0f} / {lat['max']:.0f} "
        f"| {report['moves_per_s']} / {report['offered_moves_per_s']} "
        f"| {gc.get('gen2_pauses_in_play', '-')} / {gc.get('gen2_max_ms_in_play', '-')} "
        f"| {gen2.get('count', '-')} / {gen2.get('total_ms', '-')} "
        f"| {report['memory']['per_browser_kib']} | {report['memory']['after_leave_pct_over_start']} % "
        f"| {report['cpu']['server_cores']} / {report['cpu']['other_processes_cores']} "
        f"| {report['unexpected_disconnects']} / {report['errors']} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", choices=sorted(SETS), default="gc")
    parser.add_argument("--games", type=int, default=333)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--app-dir", type=Path, required=True, help="the private copy with the LAB_* switches")
    parser.add_argument("--only", help="comma-separated experiment numbers (0-based)")
    parser.add_argument("--tag", default="", help="suffix of the output files (keeps earlier results)")
    args = parser.parse_args()
    chosen = [int(i) for i in args.only.split(",")] if args.only else range(len(SETS[args.set]))
    reports = [run(*SETS[args.set][i], args, i) for i in chosen]
    data = {"date": time.strftime("%Y-%m-%d %H:%M"), "machine": machine(), "games": args.games, "runs": reports}
    name = f"experiments-{args.set}{args.tag and '-' + args.tag}"
    (RESULTS / f"{name}.json").write_text(json.dumps(data, indent=2) + "\n")
    lines = [
        f"# Experiments ({args.set}): {3 * args.games} browsers, {args.duration:.0f} s of play",
        "",
        "| experiment | latency p50 / p99 / max (ms) | moves/s done / offered | gen2 GCs in play / longest (ms) "
        "| gen2 GCs whole run / total ms | KiB per browser | RSS after leave | server / other cores "
        "| disconnects / errors |",
        "|---|---|---|---|---|---|---|---|---|",
        *(row(r) for r in reports),
        "",
    ]
    (RESULTS / f"{name}.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
