"""Pages whose browser never opens its socket (crawlers, link previews, scripts): what each holds, and that they go.

For each page, a fresh server (limits off, so every request renders its page) gets ``--pages``
cookie-less GETs, ``--concurrency`` at a time, as fast as it answers. Its RSS is read before,
at the peak while the pages are held, and ``--settle`` seconds later; the last page's client id
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
import socketio

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1]))
from harness import machine, rss_kib  # noqa: E402
from loadgen import start_app  # noqa: E402

from wireclient.browser import parse_page  # noqa: E402

PAGES = ("/", "/local", "/analyze?pos=4453")


async def still_held(url: str, client_id: str) -> bool:
    """Whether the server still has the page ``client_id`` (it accepts the page's socket)."""
    sio = socketio.AsyncClient(reconnection=False)
    try:
        await sio.connect(
            f"{url}/?client_id={client_id}&tab_id=t&document_id=d&next_message_id=0&implicit_handshake=true",
            transports=["websocket"],
            socketio_path="/_nicegui_ws/socket.io",
            wait_timeout=10,
        )
    except socketio.exceptions.ConnectionError:
        return False
    await sio.disconnect()
    return True


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
            peak = before
            queue = iter(range(pages))
            last = ""
            failures = 0

            async def worker() -> None:
                nonlocal last, failures, peak
                for _ in queue:
                    answer = await client.get(path)
                    failures += answer.status_code != 200
                    last = answer.text
                    peak = max(peak, rss_kib(server.pid))

            started = time.monotonic()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            seconds = time.monotonic() - started
            client_id = str(parse_page(last)[0]["client_id"])
            await asyncio.sleep(settle)
            after = rss_kib(server.pid)
            held = await still_held(url, client_id)
    finally:
        server.stop()
    return {
        "path": path,
        "pages": pages,
        "failures": failures,
        "seconds": round(seconds, 1),
        "rss_before_mib": round(before / 1024, 1),
        "rss_peak_mib": round(peak / 1024, 1),
        "rss_after_mib": round(after / 1024, 1),
        "kib_per_page": round((peak - before) / pages, 1),
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
        "| page | seconds for the GETs | RSS before / peak / later (MiB) | KiB per page at the peak "
        f"| last page held {report['settle']:.0f} s later |",
        "|---|---|---|---|---|",
    ]
    for row in report["rows"]:
        lines.append(
            f"| `{row['path']}` | {row['seconds']} | {row['rss_before_mib']} / {row['rss_peak_mib']} / "
            f"{row['rss_after_mib']} | {row['kib_per_page']} | {'yes' if row['last_page_still_held'] else 'no'} |"
        )
    lines += [
        "",
        "The peak divided by the pages is an upper bound on what one page holds when the GETs take less than",
        "the 10 s a page is kept (otherwise the first pages are let go before the last arrive, and it is low).",
        "RSS 'later' stays near the peak: CPython keeps the freed memory for the next pages (docs/performance.md).",
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
