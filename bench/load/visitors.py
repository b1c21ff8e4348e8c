"""Visitors without cookies (health checks, crawlers, first-time browsers): what each leaves in the server.

NiceGUI makes a user storage for every new browser session, on its first request, and never
drops it (``serving/runtime.prune_user_storage`` does, for the empty ones of sessions with no page
open). This sends ``--requests`` cookie-less ``GET /healthz`` (each a new session), ``--concurrency``
at a time, to a fresh server per ``--app-dir``, and reads the server's RSS before, right after,
and ``--settle`` seconds later (the app prunes every 10 s); it repeats the whole burst
``--bursts`` times, so growth that stays shows as a line that keeps rising.

    git worktree add /tmp/base d223276
    python bench/load/visitors.py --app-dir /tmp/base --app-dir . --json bench/results/visitors.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from harness import log_problems, machine, rss_kib  # noqa: E402
from loadgen import start_app  # noqa: E402


async def burst(url: str, requests: int, concurrency: int) -> int:
    """``requests`` cookie-less GETs of ``url``; returns how many did not answer 200."""
    failures = 0
    queue = iter(range(requests))

    async def worker() -> None:
        nonlocal failures
        async with httpx.AsyncClient(timeout=30.0) as client:
            for _ in queue:
                client.cookies.clear()  # a new visitor each time
                response = await client.get(url)
                failures += response.status_code != 200

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return failures


async def one_run(app_dir: Path, bursts: int, requests: int, concurrency: int, settle: float) -> dict[str, Any]:
    log_path = Path(tempfile.mkdtemp(prefix="visitors-")) / "server.log"
    server, url, _ = await start_app(database="sqlite", log_path=log_path, app_dir=app_dir)
    rows: list[dict[str, Any]] = []
    try:
        await asyncio.sleep(settle)
        start = rss_kib(server.pid)
        for number in range(1, bursts + 1):
            failures = await burst(f"{url}/healthz", requests, concurrency)
            right_after = rss_kib(server.pid)
            await asyncio.sleep(settle)
            settled = rss_kib(server.pid)
            rows.append(
                {
                    "burst": number,
                    "visitors_so_far": number * requests,
                    "failures": failures,
                    "rss_right_after_kib": right_after,
                    "rss_settled_kib": settled,
                    "settled_over_start_kib": settled - start,
                    "kib_per_visitor": round((settled - start) / (number * requests), 3),
                }
            )
            print(app_dir, rows[-1], flush=True)
    finally:
        server.stop()
    return {
        "app_dir": str(app_dir),
        "rss_start_kib": start,
        "bursts": rows,
        "server_log": log_problems(log_path),
    }


def markdown(report: dict[str, Any]) -> str:
    config, where = report["config"], report["machine"]
    first = report["runs"][0]["bursts"]
    lines = [
        "# Visitors without cookies: what each leaves in the server",
        "",
        f"{config['bursts']} bursts of {config['requests']:,} cookie-less `GET /healthz` "
        f"({config['concurrency']} at a time), RSS read {config['settle']:.0f} s after each; "
        f"one fresh server per app. Machine: {where['cpu']}, {where['cores']} cores, Python {where['python']}.",
        "",
        "| app | start RSS | " + " | ".join(f"after {r['visitors_so_far']:,}" for r in first) + " | per visitor |",
        "|---|---|" + "---|" * len(first) + "---|",
    ]
    for run in report["runs"]:
        cells = [f"+{r['settled_over_start_kib'] / 1024:.1f} MiB" for r in run["bursts"]]
        lines.append(
            f"| `{run['label']}` | {run['rss_start_kib'] / 1024:.1f} MiB | "
            + " | ".join(cells)
            + f" | {run['bursts'][-1]['kib_per_visitor']:.2f} KiB |"
        )
    failures = sum(r["failures"] for run in report["runs"] for r in run["bursts"])
    errors = sum(run["server_log"]["error_lines"] for run in report["runs"])
    lines += ["", f"Requests that did not answer 200: {failures}; ERROR lines in the server logs: {errors}.", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--app-dir", type=Path, action="append", help="where main.py is (repeat for A/B)")
    parser.add_argument("--bursts", type=int, default=3)
    parser.add_argument("--requests", type=int, default=10_000, help="cookie-less requests per burst")
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--settle", type=float, default=15.0, help="seconds to wait before reading RSS")
    parser.add_argument("--json", type=Path, help="write the runs here, and a .md beside it")
    args = parser.parse_args()
    apps = args.app_dir or [HERE.parents[1]]
    runs = []
    for app_dir in apps:
        run = asyncio.run(one_run(app_dir.resolve(), args.bursts, args.requests, args.concurrency, args.settle))
        run["label"] = app_dir.resolve().name
        runs.append(run)
    config = {k: getattr(args, k) for k in ("bursts", "requests", "concurrency", "settle")}
    report = {"config": config, "machine": machine(), "runs": runs}
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n")
        args.json.with_suffix(".md").write_text(markdown(report))
    print(markdown(report))


if __name__ == "__main__":
    main()
