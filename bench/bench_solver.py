"""Benchmark the solver, compiled and interpreted, on Pascal Pons' six test sets; write a report.

For every position of each file the score (``Solver.solve``), the perfect move
(``Solver.best_move``) and the seven-column analysis (``Solver.analyze``) are timed with
``time.perf_counter``, each after clearing the transposition table (outside the timing), so every
figure is a cold answer for one position; within one analysis the seven columns share the table.
The score is checked against the file, the perfect move against the analysis (it must have the
best score, and no column nearer the centre may have it too).

Each build runs in its own worker process, one after the other, so each has one core to itself
as far as the machine allows: the compiled modules as installed, then the sources with
``CONNECT4_ENGINE=interpreted``, on every ``--interpreted-every``-th position (the interpreted
build is several times slower). The report gives both next to Pons' published C++ figures, the
CPU share each worker got, and the targets.

    python bench/bench_solver.py                       # everything: bench/results/solver.md and .json
    python bench/bench_solver.py --every 10 --files Test_L1_R2 --out /tmp/solver.md
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "gamesolver"
RESULTS = ROOT / "bench" / "results" / "solver.md"

#: Targets on this machine, per file: the perfect move's mean and p99, the analysis' p99 (seconds).
BEST_MEAN_TARGET = 0.010
BEST_P99_TARGET = 0.150
ANALYSIS_P99_TARGET = 0.500


@dataclass(frozen=True)
class TestSet:
    """One of Pons' files with his published C++ figure: mean time to score one position."""

    file: str
    name: str
    cpp_mean: str


TEST_SETS = (
    TestSet("Test_L3_R1", "end-easy", "4.6 us"),
    TestSet("Test_L2_R1", "middle-easy", "37 us"),
    TestSet("Test_L2_R2", "middle-medium", "3.2 ms"),
    TestSet("Test_L1_R1", "begin-easy", "255 us"),
    TestSet("Test_L1_R2", "begin-medium", "97 ms"),
    TestSet("Test_L1_R3", "begin-hard", "5.5 s"),
)


@dataclass(frozen=True)
class Sample:
    """One position as a worker measured it."""

    moves: str
    expected: int
    score: int
    best_ok: bool
    solve_s: float
    best_s: float
    analysis_s: float
    nodes: int


def read_set(file: str) -> list[tuple[str, int]]:
    """The ``(position, score)`` lines of one test file."""
    pairs = []
    for line in (DATA / file).read_text().splitlines():
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


def worker(files: list[str], every: int) -> None:
    """Worker side: time every ``every``-th position of each file with the build this process loaded."""
    sys.path.insert(0, str(ROOT))
    import engine
    from engine import book as book_module
    from engine.bitboard import CENTRE_ORDER
    from engine.solver import Position, Solver

    book = book_module.default_book()
    solver = Solver(book=book)
    print(json.dumps({"build": engine.build(), "book_positions": len(book), "book_s": book.load_seconds}), flush=True)
    for file in files:
        wall, cpu = time.perf_counter(), time.process_time()
        for moves, expected in read_set(file)[::every]:
            pos = Position.from_moves(moves)
            solver.reset()
            start = time.perf_counter()
            score = solver.solve(pos)
            solve_s = time.perf_counter() - start
            nodes = solver.node_count
            solver.reset()
            start = time.perf_counter()
            best = solver.best_move(pos)
            best_s = time.perf_counter() - start
            solver.reset()
            start = time.perf_counter()
            scores = solver.analyze(pos)
            analysis_s = time.perf_counter() - start
            top = max(s for s in scores if s is not None)
            nearer = CENTRE_ORDER[: CENTRE_ORDER.index(best)]
            best_ok = scores[best] == top == score and all(scores[col] != top for col in nearer)
            sample = Sample(moves, expected, score, best_ok, solve_s, best_s, analysis_s, nodes)
            print(json.dumps({"file": file, **asdict(sample)}), flush=True)
        share = (time.process_time() - cpu) / max(time.perf_counter() - wall, 1e-9)
        print(json.dumps({"file": file, "cpu_share": share}), flush=True)


def run_worker(files: list[str], every: int, interpreted: bool) -> tuple[dict[str, object], dict[str, list[Sample]]]:
    """Run one worker to the end; its header and its samples per file."""
    env = dict(os.environ)
    env.pop("CONNECT4_ENGINE", None)
    if interpreted:
        env["CONNECT4_ENGINE"] = "interpreted"
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", str(every), *files]
    header: dict[str, object] = {}
    samples: dict[str, list[Sample]] = {file: [] for file in files}
    shares: dict[str, float] = {}
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT) as process:
        assert process.stdout is not None
        for line in process.stdout:
            record = json.loads(line)
            if "build" in record:
                header = record
                print(f"worker: {record['build']}", flush=True)
            elif "cpu_share" in record:
                shares[record["file"]] = record["cpu_share"]
                print(f"  {record['file']}: {len(samples[record['file']])} positions", flush=True)
            else:
                file = record.pop("file")
                samples[file].append(Sample(**record))
    if process.returncode:
        raise SystemExit(f"the {'interpreted' if interpreted else 'compiled'} worker failed ({process.returncode})")
    header["cpu_share"] = shares
    return header, samples


def summary(samples: list[Sample]) -> dict[str, float | int]:
    """Mean, p99 and max of each timing, and how many answers were right."""
    out: dict[str, float | int] = {"positions": len(samples)}
    out["scores_exact"] = sum(s.score == s.expected for s in samples)
    out["best_moves_right"] = sum(s.best_ok for s in samples)
    for key in ("solve_s", "best_s", "analysis_s"):
        values = [getattr(s, key) for s in samples]
        out[key + "_mean"] = statistics.mean(values)
        out[key + "_median"] = statistics.median(values)
        out[key + "_p99"] = percentile(values, 0.99)
        out[key + "_max"] = max(values)
    out["nodes_mean"] = statistics.mean(s.nodes for s in samples)
    solve_total = sum(s.solve_s for s in samples)
    out["nodes_per_s"] = sum(s.nodes for s in samples) / max(solve_total, 1e-9)
    return out


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


def verdict(ok: bool) -> str:
    return "met" if ok else "**not met**"


def report(
    args: argparse.Namespace,
    compiled: tuple[dict[str, object], dict[str, list[Sample]]],
    interpreted: tuple[dict[str, object], dict[str, list[Sample]]] | None,
    loads: tuple[tuple[float, ...], tuple[float, ...]],
    seconds: float,
) -> tuple[list[str], dict[str, object]]:
    """The markdown report and the JSON document of one run."""
    header, by_file = compiled
    sets = [s for s in TEST_SETS if s.file in by_file]
    stats = {s.file: summary(by_file[s.file]) for s in sets}
    istats = {s.file: summary(interpreted[1][s.file]) for s in sets} if interpreted else {}
    shares = header["cpu_share"]
    ishares = interpreted[0]["cpu_share"] if interpreted else {}
    assert isinstance(shares, dict)
    assert isinstance(ishares, dict)
    lines = [
        "# Solver benchmark",
        "",
        f"Machine: {machine()}. Each build in its own process, one core; the machine is shared (load "
        f"average {loads[0][0]:.1f} at the start, {loads[1][0]:.1f} at the end; CPU share of each worker below).",
        "",
        f"Compiled: the mypyc build as installed (`engine.build()` said `{header['build']}`), every "
        f"{'' if args.every == 1 else str(args.every) + 'th '}position of each file. Interpreted: the same "
        f"sources with `CONNECT4_ENGINE=interpreted`, "
        + (f"every {args.interpreted_every}th position (a sample)." if interpreted else "not run.")
        + " C++: Pons' published mean time to score one position (his machine, no opening book).",
        "",
        "Each figure is cold: the transposition table is cleared before every `solve`, every `best_move` "
        "and every `analyze` (outside the timing); the seven columns of one analysis share the table. "
        f"Opening book: {header['book_positions']:,} positions of 12 stones. p99 is the nearest-rank 99th percentile.",
        "",
    ]

    sampled = f" (every {args.interpreted_every}th)" if interpreted else ""

    def table(title: str, key: str, targets: str) -> list[str]:
        rows = [
            f"## {title}",
            "",
            targets,
            "",
            "| file | name | compiled mean | compiled median | compiled p99 | compiled max "
            f"| interpreted mean{sampled} | interpreted p99{sampled} | interpreted / compiled, same positions "
            "| C++ score mean |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for s in sets:
            c = stats[s.file]
            i = istats.get(s.file)
            cells = [s.file, s.name]
            cells += [fmt_time(float(c[f"{key}_{q}"])) for q in ("mean", "median", "p99", "max")]
            if i and interpreted:
                # The ratio compares the same positions: the interpreted sample against those compiled.
                same = {x.moves for x in interpreted[1][s.file]}
                compiled_same = [getattr(x, key) for x in by_file[s.file] if x.moves in same]
                ratio = float(i[f"{key}_mean"]) / max(statistics.mean(compiled_same or [1e-9]), 1e-9)
                cells += [fmt_time(float(i[f"{key}_mean"])), fmt_time(float(i[f"{key}_p99"])), f"{ratio:.1f}x"]
            else:
                cells += ["", "", ""]
            cells.append(s.cpp_mean)
            rows.append("| " + " | ".join(cells) + " |")
        return [*rows, ""]

    lines += table("Score (`solve`)", "solve_s", "No target; the C++ column is the same measure.")
    lines += table(
        "Perfect move (`best_move`)",
        "best_s",
        f"Target per file: mean <= {fmt_time(BEST_MEAN_TARGET)} and p99 <= {fmt_time(BEST_P99_TARGET)}, compiled.",
    )
    lines += table(
        "Seven-column analysis (`analyze`)",
        "analysis_s",
        f"Target per file: p99 <= {fmt_time(ANALYSIS_P99_TARGET)}, compiled.",
    )
    lines += [
        "## Targets, answers and CPU share",
        "",
        "| file | positions | scores exact | best moves right | best_move mean | best_move p99 | analysis p99 "
        "| nodes/position | nodes/s | CPU share compiled | interpreted positions | interpreted right "
        "| CPU share interpreted |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in sets:
        c = stats[s.file]
        i = istats.get(s.file, {})
        right = f"{i['scores_exact']} / {i['best_moves_right']}" if i else ""
        lines.append(
            "| "
            + " | ".join(
                [
                    s.file,
                    str(c["positions"]),
                    str(c["scores_exact"]),
                    str(c["best_moves_right"]),
                    verdict(float(c["best_s_mean"]) <= BEST_MEAN_TARGET),
                    verdict(float(c["best_s_p99"]) <= BEST_P99_TARGET),
                    verdict(float(c["analysis_s_p99"]) <= ANALYSIS_P99_TARGET),
                    f"{float(c['nodes_mean']):,.0f}",
                    f"{float(c['nodes_per_s']):,.0f}",
                    f"{shares.get(s.file, 0):.0%}",
                    str(i.get("positions", "")),
                    right,
                    f"{ishares[s.file]:.0%}" if s.file in ishares else "",
                ]
            )
            + " |"
        )
    lines += ["", f"Total benchmark time: {seconds:.0f} s.", ""]
    document: dict[str, object] = {
        "machine": machine(),
        "load_average": {"start": loads[0], "end": loads[1]},
        "compiled": {"every": args.every, "header": header, "files": stats},
        "interpreted": {"every": args.interpreted_every, "header": interpreted[0], "files": istats}
        if interpreted
        else None,
        "cpp_published_mean": {s.file: s.cpp_mean for s in sets},
        "targets": {
            "best_mean_s": BEST_MEAN_TARGET,
            "best_p99_s": BEST_P99_TARGET,
            "analysis_p99_s": ANALYSIS_P99_TARGET,
        },
        "seconds": seconds,
    }
    return lines, document


def main() -> int:
    """Run both workers and write the report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--files", nargs="+", default=[s.file for s in TEST_SETS], help="test files to run")
    parser.add_argument("--every", type=int, default=1, help="compiled: every n-th position (default: all)")
    parser.add_argument("--interpreted-every", type=int, default=50, help="interpreted: every n-th (default 50)")
    parser.add_argument("--no-interpreted", action="store_true", help="skip the interpreted build")
    parser.add_argument("--out", type=Path, default=RESULTS, help="markdown report to write (and .json beside it)")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker[1:], int(args.worker[0]))
        return 0
    files = [s.file for s in TEST_SETS if s.file in args.files]
    start = time.perf_counter()
    load_start = os.getloadavg()
    compiled = run_worker(files, args.every, interpreted=False)
    if compiled[0].get("build") != "compiled":
        print("warning: the compiled worker runs interpreted; install with the README's commands", file=sys.stderr)
    interpreted = None if args.no_interpreted else run_worker(files, args.interpreted_every, interpreted=True)
    lines, document = report(args, compiled, interpreted, (load_start, os.getloadavg()), time.perf_counter() - start)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines))
    args.out.with_suffix(".json").write_text(json.dumps(document, indent=1) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
