"""Pages whose browser never opens its socket (crawlers, link previews, scripts): what each holds, and that they go.

For each page, a fresh server (limits off, so every request renders its page) gets ``--pages``
cookie-less GETs, ``--concurrency`` at a time, as fast as it answers. Its RSS is read before,
after every answer, and ``--settle`` seconds later; what a page holds is the growth at the peak
over the pages rendered in the 10-12 s before it (the ones still held); the last page's client id
is then offered in a socket handshake, which the server refuses once it has let the page go
(serving/hardening.forget_unconnected_pages: after 10 s, NiceGUI's own prune after 60 s).

    python bench/load/unconnected.py --json bench/results/unconnected-pages.json
"""

from __future__ import annotations

import argparse
import asyncio
import http.cookiejar
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1]))
from harness import machine, rss_kib  # noqa: E402
from loadgen import start_app  # noqa: E402

from wireclient.browser import parse_page, server_has_page  # noqa: E402

PAGES = ("/", "/local", "/analyze?pos=4453")


async def one_page(path: str, pages: int, concurrency: int, settle: float) -> dict[str, Any]:
    log_path = Path(tempfile.mkdtemp(prefix="unconnected-")) / "server.log"
    limits_off = {"ADDRESS_PAGES_BURST": "0", "ADDRESS_SOCKETS_BURST": "0", "ADDRESS_OPEN_SOCKETS": "0"}
    server, url, _ = await start_app(
        database="sqlite", log_path=log_path, app_dir=HERE.parents[1], extra_env=limits_off
    )
    jar = http.cookiejar.CookieJar(policy=http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    try:
        async with httpx.AsyncClient(base_url=url, cookies=jar, timeout=60) as client:
            for _ in range(20):  # one-time costs (templates, first imports) are not a page's
                await client.get(path)
            await asyncio.sleep(settle)
            before = rss_kib(server.pid)
            queue = iter(range(pages))
            last = ""
            failures = 0
            answered: list[float] = []  # when each page was rendered
            samples: list[tuple[float, int]] = []  # (when, RSS KiB), one per answer

            async def worker() -> None:
                nonlocal last, failures
                for _ in queue:
                    answer = await client.get(path)
                    failures += answer.status_code != 200
                    last = answer.text
                    now = time.monotonic()
                    answered.append(now)
                    samples.append((now, rss_kib(server.pid)))

            started = time.monotonic()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            seconds = time.monotonic() - started
            client_id = str(parse_page(last)[0]["client_id"])
            await asyncio.sleep(settle)
            after = rss_kib(server.pid)
            held = await server_has_page(url, client_id)
    finally:
        server.stop()
    # The pages held at the peak: those rendered in the 10 to 12 s before it (the prune runs every 2 s).
    peak_at, peak = max(samples, key=lambda sample: sample[1])
    held_min = sum(1 for t in answered if peak_at - 10.0 < t <= peak_at)
    held_max = sum(1 for t in answered if peak_at - 12.0 < t <= peak_at)
    return {
        "path": path,
        "pages": pages,
        "failures": failures,
        "seconds": round(seconds, 1),
        "pages_per_s": round(pages / seconds, 1),
        "rss_before_mib": round(before / 1024, 1),
        "rss_peak_mib": round(peak / 1024, 1),
        "rss_after_mib": round(after / 1024, 1),
        "held_at_peak": [held_min, held_max],
        "kib_per_page": [round((peak - before) / held_max, 1), round((peak - before) / held_min, 1)],
        "last_page_still_held_after_s": settle,
        "last_page_still_held": held,
    }


def markdown(report: dict[str, Any]) -> str:
    lines = [
        "# Pages never connected: what each holds",
        "",
        f"`python bench/load/unconnected.py` ({report['when']}, {report['machine'].get('cpu', '?')}, "
        f"{report['note']}). A fresh server per page, limits off; {report['pages']} cookie-less GETs, "
        f"{report['concurrency']} at a time; RSS before, at the peak, and {report['settle']} s later.",
        "",
        "| page | pages a second | RSS before / peak / later (MiB) | pages held at the peak | KiB per page held "
        f"| last page held {report['settle']:.0f} s later |",
        "|---|---|---|---|---|---|",
    ]
    for row in report["rows"]:
        lines.append(
            f"| `{row['path']}` | {row['pages_per_s']} | {row['rss_before_mib']} / {row['rss_peak_mib']} / "
            f"{row['rss_after_mib']} | {row['held_at_peak'][0]}-{row['held_at_peak'][1]} | "
            f"{row['kib_per_page'][0]}-{row['kib_per_page'][1]} | {'yes' if row['last_page_still_held'] else 'no'} |"
        )
    lines += [
        "",
        "Pages held at the peak: those rendered in the 10 to 12 s before it (a page is let go 10 s after it was",
        "rendered, by a prune every 2 s); KiB per page held: the RSS over the start at the peak divided by them,",
        "an upper bound (memory of pages already let go that CPython has not reused yet counts too).",
        "RSS 'later' stays near the peak: CPython keeps the freed memory for the next pages (docs/performance.md);",
        "the last page is gone (its socket handshake refused).",
        "With the default limits an address is let through 120 pages at once and 2 a second after that, so one",
        "address holds at most about 140 such pages at a time.",
        "",
    ]
    return "\n".join(lines)


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    rows = [await one_page(path, args.pages, args.concurrency, args.settle) for path in PAGES]
    return {
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": machine(),
        "note": args.note,
        "pages": args.pages,
        "concurrency": args.concurrency,
        "settle": args.settle,
        "rows": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--settle", type=float, default=14.0, help="seconds to wait before and after the GETs")
    parser.add_argument("--note", default="machine shared with other work")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    report = asyncio.run(main_async(args))
    print(json.dumps(report["rows"], indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
        args.json.with_suffix(".md").write_text(markdown(report))


if __name__ == "__main__":
    main()
