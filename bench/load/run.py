"""Run the NiceGUI app and the raw-websockets baseline side by side at growing load; write the results.

    python bench/load/run.py --procs 2             # 50..500 games (150..1500 browsers), 40 s each (~13 min)
    python bench/load/run.py --sizes 50,150 --duration 30
    python bench/load/run.py --soak 600 --procs 2  # the target load for 10 minutes, RSS every 10 s
    python bench/load/run.py --sizes 150,333 --instances 1,2 --procs 2 --only nicegui --name load-scale

Writes bench/results/load.json, load.md and load_p99.png (with --soak: soak.json, soak.md and
soak_rss.png; --name changes the "load" part). Every size starts a fresh server; each load
generator is its own process, so nothing carries over between runs. The load generator shares
the machine's cores with the server; the reports say how much CPU each used, and how much other
processes took meanwhile. ``--instances 1,2`` runs the NiceGUI side once per instance count
(more than one: the instances share a started redis-server, see loadgen.py), so one table
compares one instance with several; ``--procs`` spreads the simulated browsers over that many
load generator processes.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from harness import REPO, RESULTS, machine  # noqa: E402


def source_of(app_dir: Path) -> str:
    """Which code was measured: the commit (and whether the tree had changes), or a snapshot's note."""
    note = app_dir / "SNAPSHOT"
    if note.exists():
        return note.read_text().strip()
    try:
        commit = subprocess.run(
            ["git", "-C", str(app_dir), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(app_dir), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return str(app_dir)
    return f"{commit}{' with uncommitted changes' if dirty else ''}"


def run_one(script: str, games: int, args: argparse.Namespace, extra: list[str], *, kind: str = "") -> dict[str, Any]:
    """One load generator run (its own process); its JSON report, or the failure.

    Past its time budget it gets SIGTERM, which makes it stop its servers, and SIGKILL only if that hangs.
    """
    out = RESULTS / "runs" / f"{Path(script).stem}{kind}-{games}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    command = [
        sys.executable,
        str(HERE / script),
        "--games",
        str(games),
        "--duration",
        str(args.duration),
        "--pace",
        str(args.pace),
        "--json",
        str(out),
        *extra,
    ]
    print(f"$ {' '.join(command[1:])}", file=sys.stderr, flush=True)
    budget = args.duration + max(args.soak, 0) + 900
    try:
        with subprocess.Popen(command) as process:
            try:
                status = process.wait(budget)
            except subprocess.TimeoutExpired:
                process.terminate()
                try:
                    process.wait(120)
                except subprocess.TimeoutExpired:
                    process.kill()
                raise
            except KeyboardInterrupt:
                # Ctrl-C reached it too: let it finish stopping its servers.
                try:
                    process.wait(120)
                except subprocess.TimeoutExpired:
                    process.kill()
                raise
        if status != 0:
            raise subprocess.CalledProcessError(status, command)
        return dict(json.loads(out.read_text()))
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError, ValueError) as exc:
        return {"failed": f"{type(exc).__name__}: {exc}"[:300], "games": games, "browsers": 3 * games}


def nicegui_extra(args: argparse.Namespace, instances: int = 1) -> list[str]:
    """loadgen.py's options for this run: the app, its store, the instances and the generator processes."""
    extra = ["--app-dir", str(args.app_dir), "--database", args.database]
    if instances > 1:
        extra += ["--instances", str(instances)]
    if args.redis:
        extra.append("--redis")
    if args.procs > 1:
        extra += ["--procs", str(args.procs)]
    return extra


def instances_label(row: dict[str, Any]) -> str:
    """A run's instance count as the table shows it: '1', or '2 + Redis' when the games were in Redis."""
    instances = int(row.get("instances", 1))
    return f"{instances} + Redis" if row.get("redis") else str(instances)


def fmt(value: Any, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


NOT_RUN = "not run (--only)"


def lat(report: dict[str, Any]) -> str:
    if "failed" in report:
        return "not run" if report["failed"] == NOT_RUN else "failed"
    latency = report["latency_ms"]
    return f"{fmt(latency['p50'], 1)} / {fmt(latency['p99'], 0)} / {fmt(latency['max'], 0)}"


def markdown(data: dict[str, Any]) -> str:
    info = data["machine"]
    procs = data.get("procs", 1)
    name = data.get("name", "load")
    store = data["database"]
    if any(row.get("redis") for row in data["runs"]):
        store += " (Redis where the instances column says so)"
    generator = "one Python process" if procs == 1 else f"{procs} Python processes playing in step"
    lines = [
        "# Load: NiceGUI app vs the raw websockets baseline",
        "",
        f"Measured {data['date']} on {info['cpu']}, {info['cores']} cores, {info['memory_gib']} GiB, "
        f"Python {info['python']} ({info['platform']}). App: {data['source']}, store: {store}.",
        "",
        f"Each game: two players and one spectator (3 browsers), one move per {data['pace']} s, "
        f"{data['duration']} s of play after all browsers connected; random legal games (7 to 42 moves, "
        "ending in a four or a full board, so games end at different times), each followed by a rematch. "
        "Latency = click to the opponent's connection receiving the disc (ms, p50 / p99 / max). "
        f"The load generator ({generator}, python-socketio clients offering permessage-deflate like "
        "a browser) shares the machine's cores with the server: see the CPU columns; 'others' is what "
        "processes outside this benchmark used meanwhile (this machine is shared). 'NiceGUI instances': "
        "app processes sharing one Redis, the two players and the spectator of a game each on another "
        "instance where there are several (every move crosses Redis), as behind a load balancer; their "
        "memory and server cores are summed over the instances (Redis itself not included).",
        "",
        "| browsers (games) | NiceGUI instances | NiceGUI p50 / p99 / max | websockets p50 / p99 / max "
        "| p99 ratio | moves/s NiceGUI / ws (offered) | errors NiceGUI / ws | lost | KiB per browser NiceGUI / ws "
        "| RSS after leave, % over start NiceGUI / ws | server cores NiceGUI / ws | loadgen / others cores |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in data["runs"]:
        nice, ws = row["nicegui"], row["websockets"]
        ratio = "-"
        if "failed" not in nice and "failed" not in ws and ws["latency_ms"]["p99"]:
            ratio = f"{nice['latency_ms']['p99'] / ws['latency_ms']['p99']:.0f}x"

        def get(report: dict[str, Any], *path: str) -> Any:
            value: Any = report
            for key in path:
                if not isinstance(value, dict):
                    return None
                value = value.get(key)
            return value

        lines.append(
            f"| {row['browsers']} ({row['games']}) | {instances_label(row)} "
            f"| {lat(nice)} | {lat(ws)} | {ratio} "
            f"| {fmt(get(nice, 'moves_per_s'), 1)} / {fmt(get(ws, 'moves_per_s'), 1)} "
            f"({fmt(get(nice, 'offered_moves_per_s'), 0)}) "
            f"| {fmt(get(nice, 'errors'))} / {fmt(get(ws, 'errors'))} "
            f"| {fmt(get(nice, 'lost_updates'))} / {fmt(get(ws, 'lost_updates'))} "
            f"| {fmt(get(nice, 'memory', 'per_browser_kib'), 0)} / {fmt(get(ws, 'memory', 'per_browser_kib'), 0)} "
            f"| {fmt(get(nice, 'memory', 'after_leave_pct_over_start'), 0)} % "
            f"/ {fmt(get(ws, 'memory', 'after_leave_pct_over_start'), 0)} % "
            f"| {fmt(get(nice, 'cpu', 'server_cores'), 2)} / {fmt(get(ws, 'cpu', 'server_cores'), 2)} "
            f"| {fmt(get(nice, 'cpu', 'loadgen_cores'), 2)} / {fmt(get(nice, 'cpu', 'other_processes_cores'), 2)} |"
        )
    lines += [
        "",
        "Errors are warning or negative notifications (NiceGUI) and error events (websockets) the simulated "
        "browsers received; lost = moves whose disc never reached the opponent within 30 s. Memory per "
        "browser = (server RSS with every browser connected - RSS before) / browsers. 'After leave' is the "
        "server's RSS after every browser disconnected and NiceGUI's reconnect timeout passed, as % over "
        f"the RSS before the browsers came. The p99 plot is {name}_p99.png; every number is in {name}.json.",
        "",
    ]
    failures = {
        (side, row["games"], row.get("instances", 1) if side == "nicegui" else 0): row[side]["failed"]
        for row in data["runs"]
        for side in ("nicegui", "websockets")
        if "failed" in row[side] and row[side]["failed"] != NOT_RUN
    }
    for (side, games, instances), failure in failures.items():
        where = f" ({instances} instances)" if instances > 1 else ""
        lines.append(f"- {side} at {games} games{where} failed: {failure}")
    return "\n".join(lines) + "\n"


def plot(data: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=120)
    counts = sorted({row.get("instances", 1) for row in data["runs"]})
    redis = {row.get("instances", 1) for row in data["runs"] if row.get("redis")}
    lines: list[tuple[str, str, int | None]] = [
        ("nicegui", f"NiceGUI app, {n} instance{'s' if n > 1 else ''} + Redis" if n in redis else "NiceGUI app", n)
        for n in counts
    ]
    lines.append(("websockets", "raw websockets (tutorial)", None))
    for name, label, instances in lines:
        points = sorted(
            {
                (row["browsers"], row[name]["latency_ms"]["p99"])
                for row in data["runs"]
                if "failed" not in row[name] and instances in (None, row.get("instances", 1))
            }
        )
        if points:
            ax.plot(*zip(*points, strict=True), marker="o", label=label)
    ax.set_yscale("log")
    ax.set_xlabel("connected browsers (2 players + 1 spectator per game)")
    ax.set_ylabel("p99 click → opponent receives (ms)")
    ax.set_title(f"Connect Four, one move per {data['pace']} s per game ({data['machine']['cores']} cores shared)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def soak(args: argparse.Namespace) -> None:
    report = run_one(
        "loadgen.py",
        args.soak_games,
        args,
        [*nicegui_extra(args, args.instances[0]), "--soak", str(args.soak), "--leave-wait", "25"],
        kind=f"-soak{run_tag(args, args.instances[0])}",
    )
    out = {"date": time.strftime("%Y-%m-%d %H:%M"), "source": source_of(args.app_dir), "report": report}
    (RESULTS / "soak.json").write_text(json.dumps(out, indent=2) + "\n")
    if "failed" in report:
        print(f"soak failed: {report['failed']}", file=sys.stderr)
        return
    series = report["memory"]["rss_series"]
    first, last = series[0]["rss_kib"], series[-1]["rss_kib"]
    peak = max(s["rss_kib"] for s in series)
    # Flat means no trend once the pages and the games' history have filled in: the second half alone.
    half = next(s for s in series if s["t"] >= series[-1]["t"] / 2)
    second_half_minutes = max((series[-1]["t"] - half["t"]) / 60, 1e-9)
    trend = (last - half["rss_kib"]) / 1024 / second_half_minutes
    lines = [
        f"# Soak: {report['browsers']} browsers for {report['play_seconds']:.0f} s"
        f"{'' if args.instances[0] == 1 else f' on {args.instances[0]} instances + Redis'}",
        "",
        f"Measured {out['date']} on {report['machine']['cpu']}, {report['machine']['cores']} cores, "
        f"Python {report['machine']['python']}; app {out['source']}.",
        "",
        f"- latency p50 / p99 / max: {lat(report)} ms over {report['moves']} moves "
        f"({report['moves_per_s']}/s of {report['offered_moves_per_s']} offered)",
        f"- errors {report['errors']}, lost updates {report['lost_updates']}, unexpected disconnects "
        f"{report['unexpected_disconnects']}, rematch failures {report['rematch_failures']}, "
        f"server log errors {report.get('server_log', {}).get('error_lines')}",
        f"- server RSS: {first / 1024:.0f} MiB at the start of play, {last / 1024:.0f} MiB at the end "
        f"({100 * (last - first) / first:+.1f} %), peak {peak / 1024:.0f} MiB; after everyone left "
        f"{fmt(report['memory']['rss_after_leave_kib'] / 1024, 0)} MiB",
        f"- second half of the soak: {half['rss_kib'] / 1024:.0f} MiB at {half['t']:.0f} s, "
        f"{last / 1024:.0f} MiB at the end: {trend:+.2f} MiB per minute",
        "",
        "| t (s) | RSS (MiB) |",
        "|---|---|",
        *(f"| {s['t']:.0f} | {s['rss_kib'] / 1024:.1f} |" for s in series),
        "",
    ]
    (RESULTS / "soak.md").write_text("\n".join(lines))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.5), dpi=120)
    ax.plot([s["t"] for s in series], [s["rss_kib"] / 1024 for s in series], marker=".")
    ax.set_xlabel("seconds of play")
    ax.set_ylabel("server RSS (MiB)")
    ax.set_ylim(bottom=0)
    ax.set_title(f"Soak: {report['browsers']} browsers")
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(RESULTS / "soak_rss.png")
    plt.close(fig)
    print(f"written {RESULTS / 'soak.md'}", file=sys.stderr)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    # 500 games (1500 browsers) is the target load.
    parser.add_argument("--sizes", default="50,150,250,333,500", help="games per run (3 browsers each)")
    parser.add_argument("--duration", type=float, default=40.0, help="seconds of play per run")
    parser.add_argument("--pace", type=float, default=1.0)
    parser.add_argument("--app-dir", type=Path, default=REPO, help="where the app's main.py is")
    parser.add_argument("--database", choices=["sqlite", "memory"], default="sqlite")
    parser.add_argument("--only", choices=["nicegui", "websockets"], help="run one side only")
    parser.add_argument("--soak", type=float, default=0.0, help="instead: play this many seconds at --soak-games")
    parser.add_argument("--soak-games", type=int, default=500)
    parser.add_argument(
        "--instances", default="1", help="NiceGUI app instances, or a list (1,2) for one run each; >1 share a Redis"
    )
    parser.add_argument("--redis", action="store_true", help="keep the games in Redis with one instance too")
    parser.add_argument("--procs", type=int, default=1, help="load generator processes for the NiceGUI side")
    parser.add_argument("--name", default="load", help="base name of the written files (load.json, load.md, ...)")
    args = parser.parse_args(argv)
    try:
        args.instances = [int(n) for n in str(args.instances).split(",")]
    except ValueError:
        parser.error("--instances takes a number or a list of numbers: 1,2")
    if min(args.instances) < 1 or args.procs < 1:
        parser.error("--instances and --procs must be at least 1")
    if args.soak > 0 and len(args.instances) > 1:
        parser.error("--soak runs one instance count")
    return args


def run_tag(args: argparse.Namespace, instances: int) -> str:
    """What tells this run's JSON file apart from the others of the same size."""
    tag = f"-i{instances}" if instances > 1 or len(args.instances) > 1 else ""
    tag += "-redis" if args.redis else ""
    return tag + (f"-p{args.procs}" if args.procs > 1 else "")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    args.app_dir = args.app_dir.resolve()
    RESULTS.mkdir(parents=True, exist_ok=True)
    if args.soak > 0:
        soak(args)
        return
    data: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine": machine(),
        "source": source_of(args.app_dir),
        "database": args.database,
        "pace": args.pace,
        "duration": args.duration,
        "procs": args.procs,
        "name": args.name,
        "runs": [],
    }
    json_path, md_path = RESULTS / f"{args.name}.json", RESULTS / f"{args.name}.md"
    started = time.monotonic()
    for games in (int(size) for size in args.sizes.split(",")):
        skipped = {"failed": NOT_RUN, "games": games, "browsers": 3 * games}
        nice = {
            instances: run_one("loadgen.py", games, args, nicegui_extra(args, instances), kind=run_tag(args, instances))
            if args.only != "websockets"
            else skipped
            for instances in (args.instances if args.only != "websockets" else [1])
        }
        # The baseline has one server, whatever the NiceGUI side's instance counts: it runs once per size.
        ws = run_one("baseline_ws.py", games, args, []) if args.only != "nicegui" else skipped
        for instances, report in nice.items():
            data["runs"].append(
                {
                    "games": games,
                    "browsers": 3 * games,
                    "instances": instances,
                    "redis": args.redis or instances > 1,
                    "nicegui": report,
                    "websockets": ws,
                }
            )
        # Write as we go: a long run interrupted still leaves what it measured.
        json_path.write_text(json.dumps(data, indent=2) + "\n")
        md_path.write_text(markdown(data))
        plot(data, RESULTS / f"{args.name}_p99.png")
    data["total_seconds"] = round(time.monotonic() - started)
    json_path.write_text(json.dumps(data, indent=2) + "\n")
    print(f"written {md_path} in {data['total_seconds']} s", file=sys.stderr)


if __name__ == "__main__":
    main()
