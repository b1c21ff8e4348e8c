"""Load generator for the NiceGUI app: simulated browsers that speak NiceGUI's wire protocol from Python.

Each simulated browser does what ``nicegui.js`` does, without a browser: it keeps its own
cookie jar (so NiceGUI's signed browser id tells the players apart), GETs a page, reads the
client id and the elements the page embeds as JSON (columns by ``aria-label="Column N"`` and
their click listener, cells by ``aria-label="Row r, column c: ..."``), opens a Socket.IO
connection at ``/_nicegui_ws/socket.io`` with the query the page script sends (client_id,
tab_id, document_id, next_message_id, implicit_handshake), applies every ``update`` to its copy
of the elements, acknowledges messages every 3 s, and clicks by emitting ``event`` messages
exactly as the page script does.

Red opens ``/``, clicks "Invite a friend" and follows the ``open`` message to ``/join/<key>``;
yellow opens the join link, a spectator the watch link. See ``harness.py`` for the match
driver and the report.

    python bench/load/loadgen.py --games 50 --duration 60 --json bench/results/nicegui-50.json
    python bench/load/loadgen.py --url http://127.0.0.1:8080 --pid 1234 --games 10
    python bench/load/loadgen.py --games 500 --procs 4 --instances 2   # 4 generator processes, 2 apps + Redis

``--procs`` and ``--instances`` are carried out by ``scale.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import signal
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from backend import NiceGUIBackend
from harness import (
    RESULTS,
    RunConfig,
    ServerProcess,
    base_env,
    free_port,
    gather_limited,
    run_benchmark,
    use_fast_loop,
    write_json,
)
from scale import Instance, RedisServer, run_distributed

from wireclient import Tally


def gc_during(stats_path: Path, window: list[float]) -> dict[str, Any]:
    """The probe's GC statistics, with the long pauses that fell into the play window."""
    if not stats_path.exists():
        return {}
    stats = json.loads(stats_path.read_text())
    start, end = window
    during = [p for p in stats.get("long_pauses", []) if start <= p["at"] <= end]
    gen2 = [p["ms"] for p in during if p["gen"] == 2]
    return {
        "threshold": stats.get("threshold"),
        "frozen": stats.get("frozen"),
        "by_generation_whole_run": stats.get("by_generation"),
        "pauses_over_5ms_in_play": len(during),
        "gen2_pauses_in_play": len(gen2),
        "gen2_max_ms_in_play": max(gen2, default=0.0),
        "longest_in_play": sorted(during, key=lambda p: -p["ms"])[:5],
        "loop_stalls_in_play": _stall_summary(
            [p["ms"] for p in stats.get("loop_stalls", []) if start <= p["at"] <= end]
        ),
    }


def _stall_summary(stalls: list[float]) -> dict[str, Any]:
    """How often and how long the server's event loop could not run anything (20 ms or more)."""
    ordered = sorted(stalls)
    return {
        "count": len(ordered),
        "total_ms": round(sum(ordered), 1),
        "p50_ms": ordered[len(ordered) // 2] if ordered else None,
        "max_ms": ordered[-1] if ordered else None,
        "over_100ms": sum(1 for ms in ordered if ms >= 100),
    }


def server_command(python: str, app_dir: Path) -> list[str]:
    return [python, str(app_dir / "main.py")]


async def start_app(
    *,
    database: str,
    log_path: Path,
    app_dir: Path,
    python: str = sys.executable,
    extra_env: dict[str, str] | None = None,
    argv: list[str] | None = None,
) -> tuple[ServerProcess, str, Path | None]:
    """Start ``main.py`` on a free loopback port; returns the process, its URL and the SQLite file (if any)."""
    port = free_port()
    db_file: Path | None = None
    if database == "sqlite":
        db_file = Path(tempfile.mkdtemp(prefix="c4load-")) / "games.db"
        url = f"sqlite:///{db_file}"
    else:
        url = "memory://"
    env = base_env(
        HOST="127.0.0.1",
        PORT=str(port),
        DATABASE_URL=url,
        STORAGE_SECRET="load-test-secret",
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(app_dir),
        **(extra_env or {}),
    )
    server = ServerProcess(argv or server_command(python, app_dir), env=env, log_path=log_path, cwd=app_dir)
    base = f"http://127.0.0.1:{port}"
    await server.start(f"{base}/healthz")
    return server, base, db_file


async def warm_up(base_url: str | Sequence[str]) -> None:
    """Build a few pages first, so one-time costs (templates, first imports) are not counted per browser.

    With several instances, one match per instance at least, so every instance builds every page.
    """
    tally = Tally()
    backend = NiceGUIBackend(base_url)
    for _ in range(max(2, len(backend.base_urls))):
        match = await backend.open_match(tally)
        for browser in match.browsers:
            await browser.close()
    await backend.aclose()
    await asyncio.sleep(5.0)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--games", type=int, default=50, help="online games, each with 2 players and 1 spectator")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of play after everyone connected")
    parser.add_argument("--pace", type=float, default=1.0, help="seconds between moves in a game")
    parser.add_argument("--url", help="benchmark a running app instead of starting one")
    parser.add_argument("--pid", type=int, help="with --url: the server's pid, for memory and CPU")
    parser.add_argument("--database", choices=["sqlite", "memory"], default="sqlite", help="store of a started app")
    parser.add_argument("--app-dir", type=Path, default=Path(__file__).resolve().parents[2], help="where main.py is")
    parser.add_argument("--no-deflate", action="store_true", help="do not offer permessage-deflate (browsers do)")
    parser.add_argument("--ramp", type=int, default=16, help="matches connecting at once (over all --procs)")
    parser.add_argument(
        "--leave-wait",
        type=float,
        default=25.0,
        help="seconds to wait after leaving before RSS (the app keeps a page 10 s for a reconnect)",
    )
    parser.add_argument("--ramp-timeout", type=float, default=300.0, help="stop connecting new games after this")
    parser.add_argument("--soak", type=float, default=0.0, help="play this long, sampling RSS every 10 s")
    parser.add_argument("--waves", type=int, default=1, help="connect, play and leave this many times in a row")
    parser.add_argument("--procs", type=int, default=1, help="load generator processes sharing the games")
    parser.add_argument(
        "--instances", type=int, default=1, help="app instances on one started redis-server (>1 implies --redis)"
    )
    parser.add_argument("--redis", action="store_true", help="keep the games in a started redis-server")
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE for a started app (experiments)")
    parser.add_argument("--probe", action="store_true", help="start the app under gcprobe.py (GC pause statistics)")
    parser.add_argument("--freeze-signal", action="store_true", help="with --probe: SIGUSR1 once all are connected")
    parser.add_argument(
        "--memory-report", type=Path, help="with --probe: heap report (SIGUSR2) before, connected, after leaving"
    )
    parser.add_argument(
        "--home", type=int, default=0, help="browsers that sit on the home page while the games play (its lists)"
    )
    parser.add_argument("--public", action="store_true", help="create every game open to anyone (listed)")
    parser.add_argument("--json", type=Path, help="write the report here")
    parser.add_argument(
        "--one-address",
        dest="sources",
        action="store_false",
        help="every browser from 127.0.0.1 (by default each match's come from an address of their own, 127.0.1.1...)",
    )
    parser.add_argument(
        "--ready-file", type=Path, help="create this file once every browser is connected, just before play"
    )
    args = parser.parse_args(argv)
    if args.procs < 1 or args.instances < 1:
        parser.error("--procs and --instances must be at least 1")
    if args.url and (args.instances > 1 or args.redis):
        parser.error("--instances and --redis start their own servers; they do not go with --url")
    if args.instances > 1 and (args.probe or args.freeze_signal or args.memory_report):
        parser.error("--probe, --freeze-signal and --memory-report watch one instance; use --instances 1")
    return args


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    """One run as the arguments describe it; the Redis it starts is stopped at the end, whatever happens."""
    redis: RedisServer | None = None
    try:
        if args.redis or args.instances > 1:
            redis = RedisServer(RESULTS / "logs" / f"redis-{args.games}-{int(time.time())}.log")
            await redis.start()
        if args.procs > 1 or args.instances > 1:
            report = await _scaled(args, redis)
        else:
            report = await _one_process(args, redis)
        if redis is not None:
            report["database"] = "redis"
            report["redis_alive_at_end"] = redis.alive()
    finally:
        if redis is not None:
            status = redis.stop()
            print(f"redis-server stopped with status {status}; log: {redis.log_path}", file=sys.stderr)
    return report


def _app_env(args: argparse.Namespace, redis: RedisServer | None) -> dict[str, str]:
    extra = dict(item.split("=", 1) for item in args.env)
    if redis is not None:
        extra["REDIS_URL"] = redis.url
    return extra


def _probe_argv(args: argparse.Namespace, log_path: Path, extra: dict[str, str]) -> list[str] | None:
    """With --probe: the command that starts the app under gcprobe.py (and its switches in ``extra``)."""
    if not args.probe:
        return None
    stats_path = log_path.with_suffix(".gc.json")
    extra["PROBE_STATS"] = str(stats_path)
    if args.freeze_signal:
        extra["PROBE_GC_FREEZE"] = "signal"
    if args.memory_report:
        extra["PROBE_MEMORY"] = str(args.memory_report.resolve())
        args.memory_report.unlink(missing_ok=True)
    return [sys.executable, str(Path(__file__).resolve().parent / "gcprobe.py"), str(args.app_dir / "main.py")]


Hook = Callable[[], Awaitable[None]]


async def _open_home(backend: NiceGUIBackend, tally: Tally, index: int) -> None:
    # Each from an address of its own, apart from the matches' (127.0.x.y), unless --one-address.
    source = f"127.1.{index // 250}.{1 + index % 250}" if backend.sources else None
    await backend.browser(tally, index, source).open("/")


def _hooks(args: argparse.Namespace, pid: int | None, urls: Sequence[str]) -> tuple[Hook, Hook, Hook]:
    """What --memory-report, --freeze-signal, --ready-file and --home do before and after the browsers connect.

    The third hook runs after the report: it closes the home page's browsers.
    """
    home = NiceGUIBackend(urls, sources=args.sources)
    home_tally = Tally()

    async def before_ramp() -> None:
        if args.memory_report and pid:
            os.kill(pid, signal.SIGUSR2)
            await asyncio.sleep(3.0)

    async def after_ramp() -> None:
        if args.home:  # on the home page while the play is measured: what its lists cost the server
            opened = await gather_limited(
                [functools.partial(_open_home, home, home_tally, i) for i in range(args.home)], 16
            )
            failed = [error for error in opened if isinstance(error, BaseException)]
            print(f"{args.home - len(failed)} browsers on the home page ({len(failed)} failed)", file=sys.stderr)
        if args.ready_file:  # another script (abuse.py) starts its own work alongside the play phase
            args.ready_file.write_text(f"{time.time()}\n")
        if args.freeze_signal and pid:
            os.kill(pid, signal.SIGUSR1)
            await asyncio.sleep(2.0)
        if args.memory_report and pid:
            os.kill(pid, signal.SIGUSR2)
            await asyncio.sleep(5.0)

    async def after_run() -> None:
        await home.aclose()

    return before_ramp, after_ramp, after_run


def _finish(args: argparse.Namespace, report: dict[str, Any], servers: Sequence[ServerProcess]) -> None:
    """The run's settings in the report, as every run has them."""
    report["deflate_offered"] = not args.no_deflate
    report["home_browsers"] = args.home
    report["database"] = "external" if args.url else args.database
    if args.env:
        report["env"] = args.env
    if servers:
        report["server_alive_at_end"] = all(server.alive() for server in servers)


async def _one_process(args: argparse.Namespace, redis: RedisServer | None) -> dict[str, Any]:
    """The browsers in this process, against one server (as before --procs and --instances)."""
    config = RunConfig.from_args(args)
    server: ServerProcess | None = None
    log_path: Path | None = None
    if args.url:
        base, pid = args.url.rstrip("/"), args.pid
    else:
        log_path = RESULTS / "logs" / f"nicegui-{args.games}-{int(time.time())}.log"
        extra = _app_env(args, redis)
        argv = _probe_argv(args, log_path, extra)
        server, base, _ = await start_app(
            database=args.database, log_path=log_path, app_dir=args.app_dir, extra_env=extra, argv=argv
        )
        pid = server.pid
    try:
        await warm_up(base)
        backend = NiceGUIBackend(base, deflate=not args.no_deflate, sources=args.sources, public=args.public)
        before_ramp, after_ramp, after_run = _hooks(args, pid, [base])
        report = await run_benchmark(
            backend, config, pid=pid, log_path=log_path, before_ramp=before_ramp, after_ramp=after_ramp
        )
        await after_run()
        # Later waves tell a leak (RSS grows again) from memory the process keeps but reuses (it does not).
        report["later_waves"] = []
        for _ in range(args.waves - 1):
            wave = await run_benchmark(
                NiceGUIBackend(base, deflate=not args.no_deflate, sources=args.sources, public=args.public),
                config,
                pid=pid,
            )
            report["later_waves"].append(
                {"latency_ms": wave["latency_ms"], "memory": wave["memory"], "errors": wave["errors"]}
            )
        if args.memory_report and pid:  # what is still alive once everyone left
            os.kill(pid, signal.SIGUSR2)
            await asyncio.sleep(5.0)
        if args.probe and log_path is not None:
            await asyncio.sleep(2.5)  # the probe rewrites its file every 2 s
            report["gc"] = gc_during(log_path.with_suffix(".gc.json"), report["play_window"])
        _finish(args, report, [server] if server else [])
    finally:
        if server is not None:
            report_status = server.stop()
            print(f"server stopped with status {report_status}; log: {log_path}", file=sys.stderr)
    return report


async def _scaled(args: argparse.Namespace, redis: RedisServer | None) -> dict[str, Any]:
    """``--procs`` worker processes drive the browsers; ``--instances`` app instances share ``redis``."""
    config = RunConfig.from_args(args)
    servers: list[ServerProcess] = []
    instances: list[Instance] = []
    stamp = int(time.time())
    try:
        if args.url:
            instances.append(Instance(args.url.rstrip("/"), args.pid))
        for index in range(0 if args.url else args.instances):
            suffix = f"-{index}" if args.instances > 1 else ""
            log_path = RESULTS / "logs" / f"nicegui-{args.games}-{stamp}{suffix}.log"
            extra = _app_env(args, redis)
            argv = _probe_argv(args, log_path, extra)
            server, base, _ = await start_app(
                database=args.database, log_path=log_path, app_dir=args.app_dir, extra_env=extra, argv=argv
            )
            servers.append(server)
            instances.append(Instance(base, server.pid, log_path))
        urls = [instance.url for instance in instances]
        await warm_up(urls)
        before_ramp, after_ramp, after_run = _hooks(args, instances[0].pid, urls)

        async def run_once(first: bool) -> dict[str, Any]:
            return await run_distributed(
                instances,
                config,
                procs=args.procs,
                deflate=not args.no_deflate,
                sources=args.sources,
                public=args.public,
                redis_pid=redis.pid if redis is not None else None,
                before_ramp=before_ramp if first else None,
                after_ramp=after_ramp if first else None,
            )

        report = await run_once(True)
        await after_run()
        report["later_waves"] = []
        for _ in range(args.waves - 1):
            wave = await run_once(False)
            report["later_waves"].append(
                {"latency_ms": wave["latency_ms"], "memory": wave["memory"], "errors": wave["errors"]}
            )
        first_log = instances[0].log_path
        if args.probe and first_log is not None:
            await asyncio.sleep(2.5)  # the probe rewrites its file every 2 s
            report["gc"] = gc_during(first_log.with_suffix(".gc.json"), report["play_window"])
        report["instance_urls"] = urls
        _finish(args, report, servers)
    finally:
        for server in servers:
            status = server.stop()
            print(f"server {server.pid} stopped with status {status}; log: {server.log_path}", file=sys.stderr)
    return report


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    use_fast_loop()
    # SIGTERM (run.py's timeout, kill) ends the run like Ctrl-C: the servers, Redis and workers are stopped.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    report = asyncio.run(main_async(args))
    write_json(args.json, report)


if __name__ == "__main__":
    main()
