"""What both load generators share: the server process, the match driver, the statistics and the report.

A *match* is one online game seen by three simulated browsers: two players and a spectator.
The driver plays random legal games at a human pace (one move per ``pace`` seconds, the players
alternating), asks for a rematch when a game is over (colours swap) and goes on until the run's
time is up. Random games end as real ones do: some in a four after a dozen moves, some on a full
board, so the games of a run end at different times, not all in the same second. The number
that matters is the time from a player's click to the moment the *opponent's* connection
receives the disc: that is what a person waits for.

The driver is closed-loop like a person: the next move is never sent before the opponent has
seen the previous one, so an overloaded server shows up as a lower move rate (reported) as well
as a longer latency. The generator runs on the same two cores as the server; the report says
how busy each was and how late the generator's own event loop ran.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import platform
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))  # the shared protocol client lives at the repository root

from wireclient import Tally, wait_until  # noqa: E402

RESULTS = REPO / "bench" / "results"

SETTLE_SECONDS = 15.0
"""After connecting, before measuring: the pages a browser left on its way (red's home page) are
pruned once the app's reconnect timeout (10 s) has passed, so the RSS counts connected pages only."""

COLUMNS = 7
ROWS = 6


def random_game(rng: random.Random) -> str:
    """A legal game of random moves, up to its four or its full board (solver notation, columns 1..7).

    Each move is in a column picked at random among those with room, so a game lasts anywhere
    from 7 to 42 moves; the driver's own rules, not the engine's, so a wrong server shows.
    """
    grid: dict[tuple[int, int], int] = {}
    heights = [0] * COLUMNS
    moves = []
    for index in range(COLUMNS * ROWS):
        column = rng.choice([c for c in range(COLUMNS) if heights[c] < ROWS])
        row, player = heights[column], index % 2
        grid[(row, column)] = player
        heights[column] += 1
        moves.append(str(column + 1))
        if _makes_four(grid, row, column, player):
            break
    return "".join(moves)


def _makes_four(grid: dict[tuple[int, int], int], row: int, column: int, player: int) -> bool:
    for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1)):
        count = 1
        for sign in (1, -1):
            r, c = row + sign * dr, column + sign * dc
            while grid.get((r, c)) == player:
                count += 1
                r, c = r + sign * dr, c + sign * dc
        if count >= 4:
            return True
    return False


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def machine() -> dict[str, Any]:
    """The facts a reader needs to compare numbers across machines."""
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    total_kib = 0
    with contextlib.suppress(OSError, ValueError, IndexError):
        total_kib = int(Path("/proc/meminfo").read_text().split()[1])
    return {
        "cpu": model or platform.processor(),
        "cores": os.cpu_count(),
        "memory_gib": round(total_kib / 2**20, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


# -- processes --------------------------------------------------------------------------------


def rss_kib(pid: int) -> int:
    """Resident memory of ``pid`` (VmRSS), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def machine_busy_seconds() -> float:
    """CPU seconds all processes on this machine have used since boot (every core, from /proc/stat)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time ``pid`` has used, in seconds (all its threads)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class ServerProcess:
    """A server this benchmark started: bound to 127.0.0.1 on a free port, logging to a file, stopped by us."""

    def __init__(self, argv: Sequence[str], *, env: dict[str, str], log_path: Path, cwd: Path = REPO) -> None:
        self.argv = list(argv)
        self.env = env
        self.log_path = log_path
        self.cwd = cwd
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None, "the server has not been started"
        return self.process.pid

    async def start(self, health_url: str, timeout: float = 60.0) -> None:
        """Start the process and wait until ``health_url`` answers 200."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            self.argv, cwd=self.cwd, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=2.0) as http:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"the server exited with {self.process.returncode}; see {self.log_path}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get(health_url)).status_code == 200:
                        return
                await asyncio.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the server did not answer {health_url} within {timeout:.0f} s; see {self.log_path}")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM, then SIGKILL if it does not end in time; returns the exit status."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        return self.process.returncode


def log_problems(path: Path, start: int = 0) -> dict[str, Any]:
    """Count ERROR and Traceback lines in a server log from byte ``start``; keep each traceback's last lines."""
    if not path.exists():
        return {"error_lines": 0, "idle_exits": 0, "tracebacks": 0, "samples": []}
    text = path.read_bytes()[start:].decode(errors="replace")
    lines = text.splitlines()
    errors = sum(1 for line in lines if re.search(r"\bERROR\b", line))
    tracebacks: list[str] = []
    for index, line in enumerate(lines):
        if line.startswith("Traceback (most recent call last)"):
            end = index + 1
            while end < len(lines) and lines[end].startswith((" ", "\t")):
                end += 1
            # The innermost frame and the exception line say what broke; carets and code are noise.
            frames = [i for i in range(index, end) if lines[i].lstrip().startswith("File ")]
            last = lines[frames[-1]].strip() if frames else ""
            exception = lines[end].strip() if end < len(lines) else ""
            # Ids differ from one event to the next; the same fault should count as one kind.
            exception = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<uuid>", exception)
            tracebacks.append(f"{last} -> {exception}")
    distinct = list(Counter(tracebacks).items())
    return {
        "error_lines": errors,
        "idle_exits": sum(1 for line in lines if "exiting for a fresh process" in line),  # serving/lifecycle.py
        "tracebacks": len(tracebacks),
        "samples": [{"count": count, "tail": tail} for tail, count in distinct[:12]],
    }


# -- statistics -------------------------------------------------------------------------------


def percentile(samples: Sequence[float], q: float) -> float:
    """The ``q``-quantile (0..1) by the nearest-rank method; NaN without samples."""
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    rank = max(0, min(len(ordered) - 1, round(q * len(ordered) + 0.5) - 1))
    return ordered[rank]


def summary_ms(samples: Sequence[float]) -> dict[str, float | int]:
    """p50, p99, max and count of latencies given in seconds, reported in milliseconds."""
    return {
        "count": len(samples),
        "p50": round(percentile(samples, 0.50) * 1000, 2),
        "p99": round(percentile(samples, 0.99) * 1000, 2),
        "max": round(max(samples) * 1000, 2) if samples else float("nan"),
        "mean": round(statistics.fmean(samples) * 1000, 2) if samples else float("nan"),
    }


class LoopLag:
    """How late this process's event loop wakes up: the generator's own overload shows here."""

    def __init__(self, interval: float = 0.05) -> None:
        self.interval = interval
        self.samples: list[float] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(self.interval)
            self.samples.append(time.perf_counter() - before - self.interval)

    async def stop(self) -> dict[str, float | int]:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        return summary_ms([max(0.0, s) for s in self.samples])


# -- the match driver -------------------------------------------------------------------------


class Seat(Protocol):
    """One simulated browser as the driver sees it, whatever the server speaks."""

    async def click(self, column: int) -> None:
        """Drop a disc in ``column`` (0..6) the way a browser would."""

    async def rematch(self, *, first: bool) -> None:
        """Ask for (``first``) or accept a rematch once the round is over."""

    def board_empty(self) -> bool:
        """Whether this browser's board shows no disc."""

    async def close(self) -> None:
        """Leave: close the connection (and the page)."""


@dataclass
class _Pending:
    colour: str
    sent: float
    mover: Seat
    opponent_at: float | None = None
    spectator_at: float | None = None


class Match:
    """One game, two players and a spectator, played at a human pace; the browsers report what they see."""

    _numbers = itertools.count()
    """Each match's random games follow from its number: the same games in every run, for comparisons."""

    def __init__(self, red: Seat, yellow: Seat, spectator: Seat, tally: Tally, *, timeout: float = 30.0) -> None:
        self.seats: list[Seat] = [red, yellow]  # seats[0] plays red in the current round
        self.spectator = spectator
        self.tally = tally
        self.timeout = timeout
        self.played = ""
        """The moves of the current round whose disc reached the opponent (solver notation)."""
        self.rounds_done = 0
        self.key = ""
        """The game's join key, where the server has one (to check its stored moves afterwards)."""
        self._pending: dict[tuple[int, int], _Pending] = {}
        self._seen = asyncio.Event()
        self.stopped = False
        self._rng = random.Random(next(Match._numbers))

    @property
    def browsers(self) -> tuple[Seat, ...]:
        return (*self.seats, self.spectator)

    def seen(self, viewer: Seat, row: int, column: int, colour: str) -> None:
        """A browser received a cell showing a ``colour`` disc; time it if a click is waiting for it."""
        pending = self._pending.get((row, column))
        if pending is None or pending.colour != colour:
            return
        now = time.perf_counter()
        if viewer is self.spectator:
            if pending.spectator_at is None:
                pending.spectator_at = now
                self.tally.spectator.append(now - pending.sent)
        elif viewer is not pending.mover and pending.opponent_at is None:
            pending.opponent_at = now
            self.tally.opponent.append(now - pending.sent)
            self._seen.set()
        if pending.opponent_at is not None and pending.spectator_at is not None:
            del self._pending[(row, column)]

    async def run(self, stop_at: float, pace: float) -> None:
        """Play rounds until ``stop_at`` (a ``time.perf_counter()`` value)."""
        await asyncio.sleep(random.uniform(0, pace))  # spread the games over the second
        while time.perf_counter() < stop_at:
            if not await self._play_round(stop_at, pace):
                return
            self.rounds_done += 1
            self.tally.rounds += 1
            if time.perf_counter() >= stop_at or not await self._rematch():
                return

    async def _play_round(self, stop_at: float, pace: float) -> bool:
        heights = [0] * COLUMNS
        self.played = ""
        self._pending.clear()
        next_at = time.perf_counter()
        for index, char in enumerate(random_game(self._rng)):
            if next_at >= stop_at:
                return False
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
            column = int(char) - 1
            mover = self.seats[index % 2]
            colour = "red" if index % 2 == 0 else "yellow"
            row = heights[column]
            heights[column] += 1
            self._seen.clear()
            sent = time.perf_counter()
            self._pending[(row, column)] = _Pending(colour, sent, mover)
            try:
                await mover.click(column)
            except Exception as exc:
                self.tally.lost += 1
                self.tally.match_failures[f"click: {type(exc).__name__}"] += 1
                self.stopped = True
                return False
            try:
                await asyncio.wait_for(self._seen.wait(), self.timeout)
            except TimeoutError:
                self.tally.lost += 1
                self.stopped = True
                return False
            self.played += char
            self.tally.moves += 1
            # A person answers a move they have seen; never before it arrived.
            next_at = max(sent + pace, time.perf_counter())
        self.tally.spectator_missed += sum(1 for p in self._pending.values() if p.spectator_at is None)
        return True

    async def _rematch(self) -> bool:
        try:
            await asyncio.wait_for(self.seats[0].rematch(first=True), self.timeout)
            await asyncio.wait_for(self.seats[1].rematch(first=False), self.timeout)
            await wait_until(lambda: all(b.board_empty() for b in self.browsers), self.timeout)
        except TimeoutError:
            self.tally.rematch_failures += 1
            self.stopped = True
            return False
        self.seats.reverse()  # colours swap in a rematch
        return True


# -- one benchmark run ------------------------------------------------------------------------


class Backend(Protocol):
    """How to open a match on one kind of server."""

    name: str

    async def open_match(self, tally: Tally) -> Match:
        """Connect the three browsers of a new game (red creates it, yellow joins, a spectator watches)."""

    async def aclose(self) -> None:
        """Release what the backend shares between browsers."""


@dataclass
class RunConfig:
    games: int
    duration: float
    pace: float = 1.0
    ramp_concurrency: int = 16
    leave_wait: float = 25.0
    timeout: float = 30.0
    soak: float = 0.0
    """When positive, play this long instead of ``duration`` and sample the server's RSS every 10 s."""
    ramp_timeout: float = 300.0
    """Open no new match after this many seconds of connecting: a server that cannot take the load says so."""

    @classmethod
    def from_args(cls, args: Any) -> RunConfig:
        """The run both drivers' command lines describe (loadgen.py and baseline_ws.py share these options)."""
        return cls(
            games=args.games,
            duration=args.duration,
            pace=args.pace,
            ramp_concurrency=args.ramp,
            leave_wait=args.leave_wait,
            soak=args.soak,
            ramp_timeout=args.ramp_timeout,
        )


class RampTimeout(RuntimeError):
    """The server took too long to connect everyone; the run goes on with the matches it has."""


async def gather_limited(factories: Iterable[Callable[[], Awaitable[Any]]], limit: int) -> list[Any]:
    """Run the coroutines ``factories`` make, at most ``limit`` at a time; exceptions are returned, not raised."""
    semaphore = asyncio.Semaphore(limit)

    async def one(factory: Callable[[], Awaitable[Any]]) -> Any:
        async with semaphore:
            return await factory()

    return await asyncio.gather(*(one(f) for f in factories), return_exceptions=True)


async def connect_matches(
    openers: Sequence[Callable[[], Awaitable[Match]]], tally: Tally, *, concurrency: int, ramp_timeout: float
) -> list[Match]:
    """Open a match with each of ``openers``, ``concurrency`` at a time; failures go to the tally.

    No new match is opened after ``ramp_timeout`` seconds: a server that cannot take the load says so.
    """
    ramp_started = time.perf_counter()

    def guarded(opener: Callable[[], Awaitable[Match]]) -> Callable[[], Awaitable[Match]]:
        async def open_one() -> Match:
            if time.perf_counter() - ramp_started > ramp_timeout:
                raise RampTimeout(f"not opened: connecting took over {ramp_timeout:.0f} s")
            return await opener()

        return open_one

    opened = await gather_limited([guarded(opener) for opener in openers], concurrency)
    for failure in opened:
        if not isinstance(failure, Match):
            tally.connect_failures[f"{type(failure).__name__}: {failure}"[:160]] += 1
    return [m for m in opened if isinstance(m, Match)]


async def play_matches(matches: Sequence[Match], stop_at: float, pace: float, tally: Tally) -> None:
    """Play every match until ``stop_at`` (``time.perf_counter()``); a match that raised is counted, not raised."""
    outcomes = await asyncio.gather(*(m.run(stop_at, pace) for m in matches), return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            tally.match_failures[f"{type(outcome).__name__}: {outcome}"[:120]] += 1


async def run_benchmark(
    backend: Backend,
    config: RunConfig,
    *,
    pid: int | None,
    log_path: Path | None = None,
    on_matches: Callable[[list[Match]], Coroutine[Any, Any, None]] | None = None,
    before_ramp: Callable[[], Awaitable[None]] | None = None,
    after_ramp: Callable[[], Awaitable[None]] | None = None,
) -> dict[str, Any]:
    """Connect ``config.games`` matches, play them, let everyone leave, and report.

    ``pid`` is the server's process (for RSS and CPU); ``on_matches`` runs alongside the play
    phase (the abuse run uses it for its hostile clients); ``before_ramp`` and ``after_ramp``
    let experiments signal the server around the connecting phase.
    """
    tally = Tally()
    lag = LoopLag()
    lag.start()
    me = os.getpid()
    # Let the server settle (imports, first page build) before taking the baseline.
    if before_ramp is not None:
        await before_ramp()
    rss_start = rss_kib(pid) if pid else None

    ramp_started = time.perf_counter()
    matches = await connect_matches(
        [lambda: backend.open_match(tally)] * config.games,
        tally,
        concurrency=config.ramp_concurrency,
        ramp_timeout=config.ramp_timeout,
    )
    ramp_seconds = time.perf_counter() - ramp_started
    browsers = 3 * len(matches)
    await asyncio.sleep(SETTLE_SECONDS)
    rss_connected = rss_kib(pid) if pid else None
    if after_ramp is not None:
        await after_ramp()

    play_seconds = config.soak if config.soak > 0 else config.duration
    server_cpu_before = cpu_seconds(pid) if pid else None
    me_cpu_before = cpu_seconds(me)
    busy_before = machine_busy_seconds()
    lag.samples.clear()
    started = time.perf_counter()
    wall_started = time.time()
    stop_at = started + play_seconds
    rss_series: list[dict[str, float]] = []

    async def sample_rss() -> None:
        while pid and time.perf_counter() < stop_at:
            rss_series.append({"t": round(time.perf_counter() - started, 1), "rss_kib": rss_kib(pid)})
            await asyncio.sleep(10.0)

    sampler = asyncio.get_running_loop().create_task(sample_rss())
    side = asyncio.get_running_loop().create_task(on_matches(matches)) if on_matches else None
    await play_matches(matches, stop_at, config.pace, tally)
    elapsed = time.perf_counter() - started
    sampler.cancel()
    if side is not None:
        await side
    server_cpu = (cpu_seconds(pid) - server_cpu_before) / elapsed if pid and server_cpu_before is not None else None
    me_cpu = (cpu_seconds(me) - me_cpu_before) / elapsed
    busy = (machine_busy_seconds() - busy_before) / elapsed
    lag_summary = await lag.stop()
    if pid and config.soak > 0:
        rss_series.append({"t": round(elapsed, 1), "rss_kib": rss_kib(pid)})
    rss_played = rss_kib(pid) if pid else None

    await gather_limited([b.close for m in matches for b in m.browsers], 64)
    await backend.aclose()
    rss_after = None
    if pid:
        await asyncio.sleep(config.leave_wait)
        rss_after = rss_kib(pid)

    return build_report(
        server=backend.name,
        config=config,
        matches_connected=len(matches),
        elapsed=elapsed,
        wall_started=wall_started,
        ramp_seconds=ramp_seconds,
        tally=tally,
        memory=memory_figures(rss_start, rss_connected, rss_played, rss_after, browsers, rss_series),
        cpu=cpu_figures(server_cpu, me_cpu, busy),
        lag_summary=lag_summary,
        log_path=log_path,
    )


def memory_figures(
    rss_start: int | None,
    rss_connected: int | None,
    rss_played: int | None,
    rss_after: int | None,
    browsers: int,
    rss_series: list[dict[str, float]],
) -> dict[str, Any]:
    """The report's memory section from the server's RSS (KiB) around the phases of a run."""

    def pct_over(value: int | None) -> float | None:
        return round(100.0 * (value - rss_start) / rss_start, 1) if value is not None and rss_start else None

    return {
        "rss_start_kib": rss_start,
        "rss_connected_kib": rss_connected,
        "rss_after_play_kib": rss_played,
        "per_browser_kib": round((rss_connected - rss_start) / browsers, 1)
        if rss_connected and rss_start and browsers
        else None,
        "rss_after_leave_kib": rss_after,
        "after_leave_pct_over_start": pct_over(rss_after),
        "rss_series": rss_series,
    }


def cpu_figures(server_cpu: float | None, loadgen_cpu: float, busy: float, *, also: float = 0.0) -> dict[str, Any]:
    """The report's CPU section, in cores: server, load generator, the machine, and the rest.

    ``also`` is CPU of processes this benchmark started besides the server and the generator
    (Redis), so that it does not count as other people's work.
    """
    return {
        "server_cores": round(server_cpu, 2) if server_cpu is not None else None,
        "loadgen_cores": round(loadgen_cpu, 2),
        "machine_busy_cores": round(busy, 2),
        # Whatever else ran on the machine meanwhile (other people's tests share these cores).
        "other_processes_cores": round(max(0.0, busy - loadgen_cpu - (server_cpu or 0.0) - also), 2),
    }


def build_report(
    *,
    server: str,
    config: RunConfig,
    matches_connected: int,
    elapsed: float,
    wall_started: float,
    ramp_seconds: float,
    tally: Tally,
    memory: dict[str, Any],
    cpu: dict[str, Any],
    lag_summary: dict[str, float | int],
    log_path: Path | None,
) -> dict[str, Any]:
    """One run's report from what its browsers observed and what was measured around them."""
    report: dict[str, Any] = {
        "server": server,
        "games": config.games,
        "matches_connected": matches_connected,
        "browsers": 3 * matches_connected,
        "pace_s": config.pace,
        "play_seconds": round(elapsed, 1),
        "play_window": [round(wall_started, 3), round(wall_started + elapsed, 3)],
        "ramp_seconds": round(ramp_seconds, 1),
        "latency_ms": summary_ms(tally.opponent),
        "spectator_latency_ms": summary_ms(tally.spectator),
        "moves": tally.moves,
        "moves_per_s": round(tally.moves / elapsed, 1),
        "offered_moves_per_s": round(matches_connected / config.pace, 1),
        "rounds_finished": tally.rounds,
        "lost_updates": tally.lost,
        "spectator_missed": tally.spectator_missed,
        "rematch_failures": tally.rematch_failures,
        "errors": tally.errors,
        "error_messages": dict(tally.notifications.most_common(10)),
        "unexpected_disconnects": tally.unexpected_disconnects,
        "connect_failures": dict(tally.connect_failures.most_common(5)),
        "reloads": tally.reloads,
        "reconnects": tally.reconnects,
        "match_failures": dict(tally.match_failures.most_common(5)),
        "memory": memory,
        "cpu": cpu,
        "loadgen_loop_lag_ms": lag_summary,
        "machine": machine(),
    }
    if log_path is not None:
        report["server_log"] = log_problems(log_path)
    return report


def base_env(**extra: str) -> dict[str, str]:
    """The environment for a server subprocess: ours, with the repository importable."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")]))
    env.update(extra)
    return env


def write_json(path: Path | None, report: dict[str, Any]) -> None:
    """Print a one-line summary and write ``report`` to ``path`` (if given)."""
    lat = report["latency_ms"]
    mem = report.get("memory", {})
    print(
        f"{report['server']}: {report['browsers']} browsers, {report['moves']} moves "
        f"({report['moves_per_s']}/s of {report['offered_moves_per_s']}), "
        f"p50 {lat['p50']} ms, p99 {lat['p99']} ms, max {lat['max']} ms, errors {report['errors']}, "
        f"lost {report['lost_updates']}, per browser {mem.get('per_browser_kib')} KiB, "
        f"after leave +{mem.get('after_leave_pct_over_start')} %",
        file=sys.stderr,
    )
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, indent=2) + "\n")


def use_fast_loop() -> None:
    """uvloop when it is installed (uvicorn, and so NiceGUI, uses it too), so both servers and drivers match."""
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
