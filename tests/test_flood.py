"""An anonymous flood against a real server: nothing stored, memory bounded by the limits, a player never refused."""

from __future__ import annotations

import asyncio
import http.cookiejar
import json
import sqlite3
import ssl
import time
from collections import Counter
from pathlib import Path

import httpx

from tests.fixtures import AppServer
from wireclient import Browser, Tally, wait_until

FLOOD_PATHS = ("/", "/local", "/analyze?pos=4453")
REQUESTS = 3000
CONCURRENCY = 20
PAGE_BURST, PAGE_RATE = 120, 2.0  # the defaults (serving/settings.py)
AFTER_SECONDS = 12.0  # the bench waits 90 s (bench/load/flood.py); pages never connected go after 10-12 s


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))


async def flood(url: str, statuses: Counter[int], retry_after: list[str]) -> None:
    """``REQUESTS`` GETs, ``CONCURRENCY`` at a time, each without a cookie, as a script or a crawler sends them."""
    jar = http.cookiejar.CookieJar(policy=http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    paths = [FLOOD_PATHS[i % len(FLOOD_PATHS)] for i in range(REQUESTS)]
    async with httpx.AsyncClient(base_url=url, cookies=jar, timeout=60) as http_client:

        async def worker() -> None:
            while paths:
                answer = await http_client.get(paths.pop())
                statuses[answer.status_code] += 1
                if answer.status_code == 429:
                    retry_after.append(answer.headers.get("retry-after", ""))

        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))


def discs(page: Browser) -> int:
    return sum(colour != "empty" for colour in page.board().values())


async def play(url: str, stop: asyncio.Event, seen: list[str]) -> int:
    """A person on another address plays hot-seat games to the end meanwhile; returns how many games they began."""
    tally = Tally()
    player = Browser(url, tally, ssl.create_default_context(), deflate=False, source="127.0.0.2")
    games = 0
    try:
        while not stop.is_set():
            await player.open("/local")
            games += 1
            for index, column in enumerate((0, 1, 0, 1, 0, 1, 0)):  # red wins in column 1
                await player.click(column)
                await wait_until(lambda: discs(player) == index + 1, 10)  # noqa: B023 (awaited at once)
                await asyncio.sleep(0.2)
    finally:
        seen.extend(f"notification {text}" for text in tally.notifications)
        seen.extend(f"connect failure {text}" for text in tally.connect_failures)
        seen.extend(["reload"] * tally.reloads)
        await player.close()
    return games


def test_a_cookieless_flood_stores_nothing_is_limited_and_never_refuses_a_player(
    app_server: AppServer, tmp_path: Path
) -> None:
    assert app_server.process is not None
    pid = app_server.process.pid
    statuses: Counter[int] = Counter()
    retry_after: list[str] = []
    seen: list[str] = []
    samples: list[int] = []

    async def scenario() -> tuple[int, float]:
        stop = asyncio.Event()

        async def sample() -> None:
            while not stop.is_set():
                samples.append(rss_kib(pid))
                await asyncio.sleep(0.1)

        sampler = asyncio.create_task(sample())
        player = asyncio.create_task(play(app_server.url, stop, seen))
        await asyncio.sleep(1.0)  # the player is in before the flood
        started = time.monotonic()
        await flood(app_server.url, statuses, retry_after)
        elapsed = time.monotonic() - started
        await asyncio.sleep(2.0)
        stop.set()
        games = await player
        await sampler
        return games, elapsed

    start_kib = rss_kib(pid)
    games, elapsed = asyncio.run(scenario())
    peak_kib = max(samples)
    time.sleep(AFTER_SECONDS)
    after_kib = rss_kib(pid)
    report = {
        "requests": REQUESTS,
        "seconds": round(elapsed, 2),
        "statuses": dict(statuses),
        "rss_start_mib": round(start_kib / 1024, 1),
        "rss_peak_mib": round(peak_kib / 1024, 1),
        f"rss_{AFTER_SECONDS:.0f}s_later_mib": round(after_kib / 1024, 1),
        "player_games": games,
    }
    (tmp_path / "flood.json").write_text(json.dumps(report, indent=2))
    print("flood:", json.dumps(report))

    # Past their numbers the limits answer 429 with Retry-After; the pages let through are what they allow.
    assert set(statuses) == {200, 429}, statuses
    assert statuses[200] <= PAGE_BURST + PAGE_RATE * (elapsed + 1), report
    assert all(value.isdigit() and int(value) >= 1 for value in retry_after)
    # No page view stored a game: the only games in the file are the ones the player played.
    with sqlite3.connect(app_server.env["DATABASE_URL"].removeprefix("sqlite:///")) as db:
        stored = db.execute("SELECT COUNT(*) FROM games").fetchone()[0]
    assert stored == games, report
    # The flood's peak is bounded by the limits (unlimited, 3000 pages took over 550 MB: issue 21).
    assert peak_kib - start_kib < 120 * 1024, report
    # The person on the other address saw no refusal, no warning, no reload.
    assert seen == [], seen
