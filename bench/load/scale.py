"""Scale-out for the NiceGUI load generator: several generator processes, several app instances on one Redis.

``run_distributed`` is what ``loadgen.py --procs N`` and ``--instances N`` run: the parent
starts N worker processes (multiprocessing, "spawn"), each drives its share of the matches
(match ``m`` goes to worker ``m % N``) against the same app URL(s). The phases line up:

1. every worker imports and reports ``ready``;
2. the parent takes the servers' RSS and tells all to ``ramp``: each connects its matches
   (at most ``ceil(ramp / N)`` at a time, so the server sees the same concurrency as one
   process) and reports ``connected``;
3. after everyone connected (and NiceGUI pruned the pages navigation left behind), the parent
   takes the RSS again and sends one absolute wall-clock start time; every worker waits for
   it, plays until start + duration and reports ``played``;
4. the parent reads CPU and RSS, tells all to ``leave``; each closes its browsers and sends
   what its browsers observed (raw latency samples, counts) with ``left``;
5. the parent waits for the reconnect timeout, takes the RSS after leave and merges one report
   of the same shape as a one-process run: percentiles from the merged raw samples, memory
   from the sum of the instances' RSS, CPU per instance and per worker, summed.

``RedisServer`` is the redis-server the instances share (loopback, free port, no persistence).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import multiprocessing
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import traceback
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from backend import NiceGUIBackend
from harness import (
    SETTLE_SECONDS,
    LoopLag,
    Match,
    RunConfig,
    build_report,
    connect_matches,
    cpu_figures,
    cpu_seconds,
    free_port,
    gather_limited,
    log_problems,
    machine_busy_seconds,
    memory_figures,
    play_matches,
    rss_kib,
    summary_ms,
    use_fast_loop,
)

from wireclient import Tally

REDIS_SERVER = "redis-server"


# -- redis ------------------------------------------------------------------------------------


class RedisServer:
    """A redis-server this benchmark started: 127.0.0.1, a free port, no snapshots, no append-only file."""

    def __init__(self, log_path: Path, executable: str = REDIS_SERVER) -> None:
        self.log_path = log_path
        self.executable = executable
        self.port = free_port()
        self.directory: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def pid(self) -> int:
        assert self.process is not None, "redis-server has not been started"
        return self.process.pid

    async def start(self, timeout: float = 10.0) -> RedisServer:
        """Start it and wait until it answers PING."""
        if shutil.which(self.executable) is None:
            raise RuntimeError(f"{self.executable} not found (apt-get install redis-server)")
        self.directory = Path(tempfile.mkdtemp(prefix="c4redis-"))
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        command = [
            self.executable,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.directory),
            "--logfile",
            str(self.log_path),
        ]
        self.process = subprocess.Popen(
            command, cwd=self.directory, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.stop()
                raise RuntimeError(f"redis-server exited with {self.process.returncode}; see {self.log_path}")
            if self.command("PING") == "+PONG":
                return self
            await asyncio.sleep(0.05)
        self.stop()
        raise RuntimeError(f"redis-server did not answer PING within {timeout:.0f} s; see {self.log_path}")

    def command(self, line: str) -> str | None:
        """Send one inline command; the first line of the reply, or None if nothing answers."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2) as sock:
                sock.sendall(line.encode() + b"\r\n")
                reply = sock.makefile("rb").readline()
        except OSError:
            return None
        return reply.decode().rstrip("\r\n") if reply else None

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 10.0) -> int | None:
        """SHUTDOWN NOSAVE (then SIGTERM, SIGKILL if need be); removes its directory; returns the exit status."""
        status = None
        if self.process is not None:
            if self.process.poll() is None:
                self.command("SHUTDOWN NOSAVE")
                try:
                    self.process.wait(timeout)
                except subprocess.TimeoutExpired:
                    self.process.terminate()
                    try:
                        self.process.wait(timeout)
                    except subprocess.TimeoutExpired:
                        self.process.kill()
                        self.process.wait(timeout)
            status = self.process.returncode
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None
        return status


# -- the pipe between the parent and a worker --------------------------------------------------


class WorkerError(RuntimeError):
    """A worker failed, exited, or did not answer in time."""


class Channel:
    """Messages ``(kind, payload)`` over a multiprocessing pipe, received without blocking the event loop."""

    def __init__(self, conn: Connection, process: BaseProcess | None = None, name: str = "parent") -> None:
        self.conn = conn
        self.process = process
        self.name = name

    def send(self, kind: str, payload: dict[str, Any] | None = None) -> None:
        self.conn.send((kind, payload or {}))

    async def _readable(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for something to read (or the other end closing)."""
        if self.conn.poll():
            return True
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = loop.create_future()
        fd = self.conn.fileno()

        def wake() -> None:
            if not ready.done():
                ready.set_result(None)

        loop.add_reader(fd, wake)
        try:
            await asyncio.wait_for(ready, timeout)
        except TimeoutError:
            return False
        finally:
            loop.remove_reader(fd)
        return True

    async def expect(self, kind: str, timeout: float = math.inf) -> dict[str, Any]:
        """The payload of the next message, which must be ``kind``; WorkerError otherwise."""
        deadline = time.monotonic() + timeout
        while not await self._readable(0.5):
            if self.process is not None and not self.process.is_alive() and not self.conn.poll():
                raise WorkerError(f"{self.name} exited with {self.process.exitcode} before {kind!r}")
            if time.monotonic() > deadline:
                raise WorkerError(f"{self.name} sent no {kind!r} within {timeout:.0f} s")
        # The event loop's reader made the pipe non-blocking (uvloop does): a large message (the raw
        # latency samples) would then fail half-read with EAGAIN.
        os.set_blocking(self.conn.fileno(), True)
        try:
            # A whole message is on its way once its first bytes are: reading it blocks only briefly.
            got, payload = self.conn.recv()
        except EOFError:
            raise WorkerError(f"{self.name} closed its pipe before {kind!r}") from None
        if got == "failed":
            raise WorkerError(f"{self.name} failed:\n{payload.get('error', '')}")
        if got != kind:
            raise WorkerError(f"{self.name} sent {got!r}, not {kind!r}")
        return dict(payload)


# -- a worker ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkerPlan:
    """What one worker process drives: its match numbers (global, they pick the instances) on ``urls``."""

    index: int
    urls: tuple[str, ...]
    matches: tuple[int, ...]
    config: RunConfig
    concurrency: int
    deflate: bool
    sources: bool = True
    public: bool = False


def plan_workers(
    urls: Sequence[str], config: RunConfig, procs: int, *, deflate: bool, sources: bool = True, public: bool = False
) -> list[WorkerPlan]:
    """Match ``m`` to worker ``m % procs``; each connects at most ``ceil(ramp / procs)`` matches at once."""
    procs = max(1, min(procs, config.games))
    concurrency = max(1, math.ceil(config.ramp_concurrency / procs))
    return [
        WorkerPlan(
            index=index,
            urls=tuple(urls),
            matches=tuple(range(index, config.games, procs)),
            config=config,
            concurrency=concurrency,
            deflate=deflate,
            sources=sources,
            public=public,
        )
        for index in range(procs)
    ]


def worker_main(conn: Connection, plan: WorkerPlan) -> None:
    """The worker process: drive ``plan`` in step with the parent; a failure is sent to the parent."""
    # Ctrl-C reaches the whole process group: the parent alone reacts, and stops the workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    use_fast_loop()
    try:
        asyncio.run(_worker(Channel(conn), plan))
    except (EOFError, BrokenPipeError, KeyboardInterrupt):
        pass  # the parent is gone or interrupted us; it cleans up
    except BaseException:
        with contextlib.suppress(OSError):
            conn.send(("failed", {"error": traceback.format_exc()[-4000:]}))
    finally:
        conn.close()


async def _worker(channel: Channel, plan: WorkerPlan) -> None:
    config = plan.config
    tally = Tally()
    lag = LoopLag()
    lag.start()
    channel.send("ready", {"pid": os.getpid()})
    await channel.expect("ramp")
    backend = NiceGUIBackend(plan.urls, deflate=plan.deflate, sources=plan.sources, public=plan.public)
    matches: list[Match] = []
    try:
        ramp_started = time.perf_counter()
        openers: list[Callable[[], Awaitable[Match]]] = [partial(backend.open_match, tally, m) for m in plan.matches]
        matches = await connect_matches(openers, tally, concurrency=plan.concurrency, ramp_timeout=config.ramp_timeout)
        channel.send("connected", {"matches": len(matches), "ramp_seconds": time.perf_counter() - ramp_started})

        play = await channel.expect("play")
        # Everyone starts at the same wall-clock moment; perf_counter from there on, as in one process.
        await asyncio.sleep(max(0.0, float(play["start_at"]) - time.time()))
        lag.samples.clear()
        started = time.perf_counter()
        await play_matches(matches, started + float(play["seconds"]), config.pace, tally)
        elapsed = time.perf_counter() - started
        lag_samples = [max(0.0, s) for s in lag.samples]
        await lag.stop()
        channel.send("played", {"elapsed": elapsed})

        await channel.expect("leave")
        await gather_limited([b.close for m in matches for b in m.browsers], 64)
    finally:
        await backend.aclose()
    channel.send("left", {"tally": tally, "loop_lag": lag_samples, "elapsed": elapsed})


# -- the parent -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Instance:
    """One app instance the parent measures: its URL, its pid (RSS, CPU) and its log (if it started it)."""

    url: str
    pid: int | None = None
    log_path: Path | None = None


@dataclass
class _Worker:
    process: BaseProcess
    channel: Channel
    plan: WorkerPlan
    pid: int = 0


def _stop_workers(workers: Sequence[_Worker]) -> None:
    """Every worker ends: those still running get SIGTERM, then SIGKILL."""
    for worker in workers:
        process = worker.process
        if process.is_alive():
            process.join(2.0)
        if process.is_alive():
            process.terminate()
            process.join(5.0)
        if process.is_alive():
            process.kill()
            process.join(5.0)
        with contextlib.suppress(OSError):
            worker.channel.conn.close()


def merge_logs(paths: Sequence[Path]) -> dict[str, Any]:
    """ERROR and Traceback counts over several servers' logs, in the shape of ``log_problems``."""
    found = [log_problems(path) for path in paths]
    return {
        "error_lines": sum(f["error_lines"] for f in found),
        "idle_exits": sum(f["idle_exits"] for f in found),
        "tracebacks": sum(f["tracebacks"] for f in found),
        "samples": [sample for f in found for sample in f["samples"]][:12],
    }


async def run_distributed(
    instances: Sequence[Instance],
    config: RunConfig,
    *,
    procs: int,
    deflate: bool = True,
    sources: bool = True,
    public: bool = False,
    redis_pid: int | None = None,
    before_ramp: Callable[[], Awaitable[None]] | None = None,
    after_ramp: Callable[[], Awaitable[None]] | None = None,
) -> dict[str, Any]:
    """Drive ``config.games`` matches from ``procs`` worker processes against ``instances``; one merged report.

    Memory and CPU are measured here, around the phases, for every instance whose pid is known
    (memory figures need all of them); ``redis_pid`` adds Redis's RSS and CPU to the report.
    """
    plans = plan_workers([i.url for i in instances], config, procs, deflate=deflate, sources=sources, public=public)
    context = multiprocessing.get_context("spawn")
    pids = [i.pid for i in instances if i.pid]
    measured = len(pids) == len(instances)
    me = os.getpid()
    workers: list[_Worker] = []

    def each_rss() -> list[int] | None:
        return [rss_kib(pid) for pid in pids] if measured else None

    def redis_rss() -> int | None:
        return rss_kib(redis_pid) if redis_pid else None

    async def all_expect(kind: str, timeout: float) -> list[dict[str, Any]]:
        return list(await asyncio.gather(*(w.channel.expect(kind, timeout) for w in workers)))

    try:
        for plan in plans:
            parent_end, child_end = context.Pipe()
            process = context.Process(
                target=worker_main, args=(child_end, plan), name=f"loadgen-worker-{plan.index}", daemon=True
            )
            process.start()
            child_end.close()
            workers.append(_Worker(process, Channel(parent_end, process, f"worker {plan.index}"), plan))
        for worker, ready in zip(workers, await all_expect("ready", 120.0), strict=True):
            worker.pid = int(ready["pid"])

        if before_ramp is not None:
            await before_ramp()
        rss_start, redis_start = each_rss(), redis_rss()
        ramp_started = time.perf_counter()
        for worker in workers:
            worker.channel.send("ramp")
        connected = await all_expect("connected", config.ramp_timeout + 600.0)
        ramp_seconds = time.perf_counter() - ramp_started
        matches_connected = sum(int(c["matches"]) for c in connected)
        await asyncio.sleep(SETTLE_SECONDS)
        rss_connected, redis_connected = each_rss(), redis_rss()
        if after_ramp is not None:
            await after_ramp()

        play_seconds = config.soak if config.soak > 0 else config.duration
        start_at = time.time() + 2.0  # time enough for every worker to read it
        for worker in workers:
            worker.channel.send("play", {"start_at": start_at, "seconds": play_seconds})
        await asyncio.sleep(max(0.0, start_at - time.time()))
        started = time.perf_counter()
        server_before = [cpu_seconds(pid) for pid in pids]
        workers_before = [cpu_seconds(w.pid) for w in workers]
        me_before = cpu_seconds(me)
        redis_before = cpu_seconds(redis_pid) if redis_pid else 0.0
        busy_before = machine_busy_seconds()
        stop_at = started + play_seconds
        rss_series: list[dict[str, float]] = []

        async def sample_rss() -> None:
            while measured and time.perf_counter() < stop_at:
                rss_series.append({"t": round(time.perf_counter() - started, 1), "rss_kib": sum(each_rss() or [])})
                await asyncio.sleep(10.0)

        sampler = asyncio.get_running_loop().create_task(sample_rss())
        try:
            played = await all_expect("played", play_seconds + 4 * config.timeout + 300.0)
        finally:
            sampler.cancel()
        elapsed = time.perf_counter() - started
        server_cores = [(cpu_seconds(pid) - before) / elapsed for pid, before in zip(pids, server_before, strict=True)]
        worker_cores = [(cpu_seconds(w.pid) - b) / elapsed for w, b in zip(workers, workers_before, strict=True)]
        parent_cores = (cpu_seconds(me) - me_before) / elapsed
        redis_cores = (cpu_seconds(redis_pid) - redis_before) / elapsed if redis_pid else None
        busy = (machine_busy_seconds() - busy_before) / elapsed
        rss_played, redis_played = each_rss(), redis_rss()
        if measured and config.soak > 0:
            rss_series.append({"t": round(elapsed, 1), "rss_kib": sum(rss_played or [])})

        for worker in workers:
            worker.channel.send("leave")
        left = await all_expect("left", 300.0)
        for worker in workers:
            worker.process.join(30.0)  # each exits right after "left"
        rss_after = redis_after = None
        if measured:
            await asyncio.sleep(config.leave_wait)
            rss_after, redis_after = each_rss(), redis_rss()
    finally:
        _stop_workers(workers)

    tally = Tally()
    for part in left:
        tally.add(part["tally"])
    browsers = 3 * matches_connected

    def total(values: list[int] | None) -> int | None:
        return sum(values) if values is not None else None

    memory = memory_figures(
        total(rss_start), total(rss_connected), total(rss_played), total(rss_after), browsers, rss_series
    )
    if len(instances) > 1 and measured:
        memory["per_instance"] = [
            {
                "rss_start_kib": start,
                "rss_connected_kib": conn,
                "rss_after_play_kib": play,
                "rss_after_leave_kib": after,
            }
            for start, conn, play, after in zip(
                rss_start or [], rss_connected or [], rss_played or [], rss_after or [], strict=True
            )
        ]
    if redis_pid:
        memory["redis_rss_kib"] = {
            "start": redis_start,
            "connected": redis_connected,
            "after_play": redis_played,
            "after_leave": redis_after,
        }
    loadgen_cores = sum(worker_cores) + parent_cores
    cpu = cpu_figures(sum(server_cores) if measured else None, loadgen_cores, busy, also=redis_cores or 0.0)
    cpu["server_cores_per_instance"] = [round(c, 2) for c in server_cores] if measured else None
    cpu["loadgen_cores_per_worker"] = [round(c, 2) for c in worker_cores]
    cpu["loadgen_parent_cores"] = round(parent_cores, 2)
    if redis_cores is not None:
        cpu["redis_cores"] = round(redis_cores, 2)

    report = build_report(
        server="nicegui",
        config=config,
        matches_connected=matches_connected,
        elapsed=elapsed,
        wall_started=start_at,
        ramp_seconds=ramp_seconds,
        tally=tally,
        memory=memory,
        cpu=cpu,
        lag_summary=summary_ms([s for part in left for s in part["loop_lag"]]),
        log_path=None,
    )
    logs = [i.log_path for i in instances if i.log_path is not None]
    if logs:
        report["server_log"] = merge_logs(logs)
        if len(logs) > 1:
            report["server_logs"] = [{"path": str(path), **log_problems(path)} for path in logs]
    report["instances"] = len(instances)
    report["loadgen_processes"] = len(workers)
    report["loadgen_workers"] = [
        {
            "pid": worker.pid,
            "matches_planned": len(worker.plan.matches),
            "matches_connected": int(conn["matches"]),
            "ramp_seconds": round(float(conn["ramp_seconds"]), 1),
            "play_seconds": round(float(play["elapsed"]), 1),
            "moves": part["tally"].moves,
            "cores": round(cores, 2),
            "loop_lag_ms": summary_ms(part["loop_lag"]),
        }
        for worker, conn, play, part, cores in zip(workers, connected, played, left, worker_cores, strict=True)
    ]
    return report
