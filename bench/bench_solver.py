"""Benchmark the solver on Pascal Pons' six test sets and write a markdown report.

For every position of each file (or the first ``--limit``) it times ``Solver.solve`` and then
``Solver.best_move`` with ``time.perf_counter`` on one core. The transposition table is cleared
before each timed call, outside the timing, so every figure is a cold solve of one position; the
opening book is loaded once, before the first file, and its load time is reported apart.

An ablation then runs a few positions per file with the search techniques switched on one by
one, each configuration in a subprocess with a time limit, so that a hopeless configuration
reports how far it got instead of running for hours.

    python bench/bench_solver.py                  # everything, writes bench/results/solver.md
    python bench/bench_solver.py --limit 50 --files Test_L3_R1 Test_L2_R1
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine import book as book_module  # noqa: E402
from engine.solver import MoveOrder, Position, Solver  # noqa: E402

DATA = ROOT / "tests" / "data" / "gamesolver"
RESULTS = ROOT / "bench" / "results" / "solver.md"


@dataclass(frozen=True)
class TestSet:
    """One of Pons' files with his published C++ timings (mean per position)."""

    file: str
    name: str
    cpp_published: str
    cpp_two_core: str


TEST_SETS = (
    TestSet("Test_L3_R1", "end-easy", "4.6 us", ""),
    TestSet("Test_L2_R1", "middle-easy", "37 us", ""),
    TestSet("Test_L2_R2", "middle-medium", "3.2 ms", "~6 ms"),
    TestSet("Test_L1_R1", "begin-easy", "255 us", ""),
    TestSet("Test_L1_R2", "begin-medium", "97 ms", "~190 ms"),
    TestSet("Test_L1_R3", "begin-hard", "5.5 s", ""),
)

#: Ablation configurations: each switches one more technique on.
CONFIGS: dict[str, dict[str, object]] = {
    "alpha-beta": {"order": "left-to-right", "transposition": False, "null_window": False, "use_book": False},
    "+ centre-first order": {"order": "centre", "transposition": False, "null_window": False, "use_book": False},
    "+ threat ordering": {"order": "threats", "transposition": False, "null_window": False, "use_book": False},
    "+ transposition table": {"order": "threats", "transposition": True, "null_window": False, "use_book": False},
    "+ null-window search": {"order": "threats", "transposition": True, "null_window": True, "use_book": False},
    "+ opening book": {"order": "threats", "transposition": True, "null_window": True, "use_book": True},
}


@dataclass(frozen=True)
class Sample:
    """One timed position."""

    moves: str
    expected: int
    score: int
    seconds: float
    nodes: int
    best_seconds: float


def read_set(file: str) -> list[tuple[str, int]]:
    """The ``(position, score)`` lines of one test file."""
    lines = (DATA / file).read_text().split("\n")
    pairs = []
    for line in lines:
        if line.strip():
            moves, score = line.split()
            pairs.append((moves, int(score)))
    return pairs


def fmt_time(seconds: float) -> str:
    """A duration with a unit that keeps three significant digits readable."""
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} us"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def percentile(values: list[float], q: float) -> float:
    """The q-quantile by nearest rank (q=0.99: the value 99% of the samples do not exceed)."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q * len(ordered) + 0.5) - 1))
    return ordered[rank]


def run_set(solver: Solver, pairs: list[tuple[str, int]], best_move: bool, echo: bool) -> list[Sample]:
    """Solve, then pick the best move in, every position, each with a cleared table."""
    samples = []
    for moves, expected in pairs:
        pos = Position.from_moves(moves)
        solver.reset()
        start = time.perf_counter()
        score = solver.solve(pos)
        seconds = time.perf_counter() - start
        nodes = solver.node_count
        best_seconds = 0.0
        if best_move:
            solver.reset()
            start = time.perf_counter()
            solver.best_move(pos)
            best_seconds = time.perf_counter() - start
        samples.append(Sample(moves, expected, score, seconds, nodes, best_seconds))
        if echo and seconds + best_seconds > 1:
            print(f"  slow: {moves} solve {fmt_time(seconds)} best_move {fmt_time(best_seconds)}", flush=True)
    return samples


def ablation_worker(config: str, file: str, every: int, limit: int) -> None:
    """Child-process side of the ablation: print one JSON line per solved position."""
    options = dict(CONFIGS[config])
    solver = Solver(
        order=MoveOrder(options.pop("order")),
        transposition=bool(options["transposition"]),
        null_window=bool(options["null_window"]),
        use_book=bool(options["use_book"]),
    )
    if solver.book is None and options["use_book"]:
        raise SystemExit("the opening book is not available")
    for moves, expected in read_set(file)[::every][:limit]:
        pos = Position.from_moves(moves)
        solver.reset()
        start = time.perf_counter()
        score = solver.solve(pos)
        seconds = time.perf_counter() - start
        print(json.dumps([moves, expected, score, seconds, solver.node_count]), flush=True)


def run_ablation(files: list[str], every: int, limit: int, budget: float) -> list[str]:
    """The ablation table, one row per configuration and file."""
    rows = [
        "| configuration | file | positions done | correct | mean | median | nodes/position | nodes/s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for config in CONFIGS:
        for file in files:
            command = [sys.executable, __file__, "--ablation-worker", config, file, str(every), str(limit)]
            try:
                out = subprocess.run(command, capture_output=True, text=True, timeout=budget, cwd=ROOT).stdout
                stopped = ""
            except subprocess.TimeoutExpired as exc:
                raw = exc.stdout or b""
                out = raw.decode() if isinstance(raw, bytes) else raw
                stopped = f" (stopped at {budget:.0f} s)"
            results = [json.loads(line) for line in out.splitlines() if line.startswith("[")]
            planned = len(read_set(file)[::every][:limit])
            name = next(s.name for s in TEST_SETS if s.file == file)
            if not results:
                rows.append(f"| {config} | {name} | 0 of {planned}{stopped} | | | | | |")
                continue
            times = [r[3] for r in results]
            nodes = sum(r[4] for r in results)
            correct = sum(r[1] == r[2] for r in results)
            rows.append(
                f"| {config} | {name} | {len(results)} of {planned}{stopped} | {correct} | "
                f"{fmt_time(statistics.mean(times))} | {fmt_time(statistics.median(times))} | "
                f"{nodes / len(results):,.0f} | {nodes / max(sum(times), 1e-9):,.0f} |"
            )
            print(rows[-1], flush=True)
    return rows


def machine() -> str:
    """CPU model, core count and Python version, for the report's header."""
    model = "unknown CPU"
    cores = 0
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                cores += 1
    except OSError:
        pass
    return f"{model}, {cores} cores, Python {platform.python_version()} ({platform.python_implementation()})"


def main() -> int:
    """Run the benchmark and write the report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--limit", type=int, default=None, help="positions per file (default: all 1000)")
    parser.add_argument("--files", nargs="+", default=[s.file for s in TEST_SETS], help="test files to run")
    parser.add_argument("--no-best-move", action="store_true", help="skip timing best_move")
    parser.add_argument("--no-ablation", action="store_true", help="skip the ablation")
    parser.add_argument("--ablation-every", type=int, default=20, help="take every n-th position (default 20)")
    parser.add_argument("--ablation-limit", type=int, default=25, help="at most this many per file")
    parser.add_argument("--ablation-budget", type=float, default=120.0, help="seconds per configuration and file")
    parser.add_argument("--out", type=Path, default=RESULTS, help="markdown report to write")
    parser.add_argument("--ablation-worker", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.ablation_worker:
        config, file, every, limit = args.ablation_worker
        ablation_worker(config, file, int(every), int(limit))
        return 0

    report = [
        "# Solver benchmark",
        "",
        f"Machine: {machine()}. One process, one core, pure Python.",
        "",
        "Each position is timed cold: the transposition table is cleared before every `solve` and "
        "every `best_move` (outside the timing). `best_move` is timed separately and includes its "
        "own solve. p99 is the nearest-rank 99th percentile.",
        "",
    ]
    start = time.perf_counter()
    try:
        book = book_module.default_book()
        report += [
            f"Opening book: {len(book):,} positions of 12 stones, read in {book.load_seconds * 1e3:.0f} ms, "
            f"{book.nbytes / 2**20:.1f} MiB in two flat arrays.",
            "",
        ]
    except book_module.BookUnavailableError as exc:
        report += [f"Opening book unavailable ({exc}); early positions are searched.", ""]
    solver = Solver()
    rows = [
        "| file | name | positions | correct | mean | median | p99 | max | nodes/position | nodes/s "
        "| C++ (Pons, published mean) | C++ on 2 cores | best_move mean | best_move median "
        "| best_move p99 | best_move max |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    all_solve: list[float] = []
    all_best: list[float] = []
    shares: list[float] = []
    for test_set in TEST_SETS:
        if test_set.file not in args.files:
            continue
        pairs = read_set(test_set.file)[: args.limit]
        print(f"{test_set.file} ({test_set.name}): {len(pairs)} positions", flush=True)
        wall, cpu = time.perf_counter(), time.process_time()
        samples = run_set(solver, pairs, not args.no_best_move, echo=True)
        shares.append((time.process_time() - cpu) / max(time.perf_counter() - wall, 1e-9))
        times = [s.seconds for s in samples]
        best = [s.best_seconds for s in samples]
        all_solve += times
        all_best += best
        nodes = sum(s.nodes for s in samples)
        correct = sum(s.score == s.expected for s in samples)
        best_cells = (
            ["", "", "", ""]
            if args.no_best_move
            else [
                fmt_time(statistics.mean(best)),
                fmt_time(statistics.median(best)),
                fmt_time(percentile(best, 0.99)),
                fmt_time(max(best)),
            ]
        )
        rows.append(
            "| "
            + " | ".join(
                [
                    test_set.file,
                    test_set.name,
                    str(len(samples)),
                    str(correct),
                    fmt_time(statistics.mean(times)),
                    fmt_time(statistics.median(times)),
                    fmt_time(percentile(times, 0.99)),
                    fmt_time(max(times)),
                    f"{nodes / len(samples):,.0f}",
                    f"{nodes / max(sum(times), 1e-9):,.0f}",
                    test_set.cpp_published,
                    test_set.cpp_two_core,
                    *best_cells,
                ]
            )
            + " |"
        )
        print(rows[-1], flush=True)
    if all_solve:
        best_cells = (
            ["", "", "", ""]
            if args.no_best_move
            else [
                fmt_time(statistics.mean(all_best)),
                fmt_time(statistics.median(all_best)),
                fmt_time(percentile(all_best, 0.99)),
                fmt_time(max(all_best)),
            ]
        )
        rows.append(
            f"| all | pooled | {len(all_solve)} | | {fmt_time(statistics.mean(all_solve))} | "
            f"{fmt_time(statistics.median(all_solve))} | {fmt_time(percentile(all_solve, 0.99))} | "
            f"{fmt_time(max(all_solve))} | | | | | " + " | ".join(best_cells) + " |"
        )
    report += [*rows, ""]
    if shares:
        # Wall-clock timings are only as good as the core they ran on: a share well below 100%
        # means other processes took turns on it and the figures above are pessimistic.
        report += [
            f"CPU share of this process while timing (process time / wall time, per file): "
            f"{', '.join(f'{share:.0%}' for share in shares)}.",
            "",
        ]
    if all_best and not args.no_best_move:
        mean, p99 = statistics.mean(all_best), percentile(all_best, 0.99)
        verdict = "met" if mean <= 0.1 and p99 <= 1 else "not met"
        report += [
            f"Target for the game (best_move over the files run: mean <= 100 ms, p99 <= 1 s): {verdict} "
            f"(mean {fmt_time(mean)}, p99 {fmt_time(p99)}).",
            "",
        ]
    if not args.no_ablation:
        files = [f for f in ("Test_L3_R1", "Test_L2_R1", "Test_L1_R1", "Test_L2_R2") if f in args.files]
        report += [
            "## Ablation",
            "",
            f"Every {args.ablation_every}th position, at most {args.ablation_limit} per file; each configuration "
            f"adds one technique to the one above. A configuration gets {args.ablation_budget:.0f} s per file "
            "and reports how many positions it finished by then. Pruning of moves that lose at once and the "
            "score bounds are on throughout.",
            "",
            *run_ablation(files, args.ablation_every, args.ablation_limit, args.ablation_budget),
            "",
        ]
    report += [f"Total benchmark time: {time.perf_counter() - start:.0f} s.", ""]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(report))
    print("\n".join(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
