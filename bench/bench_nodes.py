"""Count the solver's nodes per position for the score, the perfect move and the analysis.

Node counts do not depend on the machine or its load, so two versions of the search compare by
them first. Each line of output is one position as JSON; ``--compare`` sums two such runs.

    python bench/bench_nodes.py --every 5 > /tmp/before.jsonl
    python bench/bench_nodes.py --compare /tmp/before.jsonl /tmp/after.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "gamesolver"
FILES = ("Test_L3_R1", "Test_L2_R1", "Test_L2_R2", "Test_L1_R1", "Test_L1_R2", "Test_L1_R3")


def count(files: list[str], every: int, positions: list[str]) -> None:
    """Print one JSON line per position: its nodes and seconds for each of the three answers."""
    sys.path.insert(0, str(ROOT))
    import engine
    from engine import book as book_module
    from engine.solver import Position, Solver

    solver = Solver(book=book_module.default_book())
    print(json.dumps({"build": engine.build()}), file=sys.stderr)
    todo: list[tuple[str, str, int | None]] = [(line, "", None) for line in positions]
    for file in files:
        lines = [line.split() for line in (DATA / file).read_text().splitlines() if line.strip()]
        todo += [(moves, file, int(score)) for moves, score in lines[::every]]
    for moves, file, expected in todo:
        pos = Position.from_moves(moves)
        record: dict[str, object] = {"file": file, "moves": moves}
        for name in ("solve", "best", "analyze"):
            solver.reset()
            start = time.perf_counter()
            answer = getattr(solver, {"best": "best_move"}.get(name, name))(pos)
            record[name + "_s"] = time.perf_counter() - start
            record[name + "_nodes"] = solver.node_count
            record[name] = answer
        if expected is not None and record["solve"] != expected:
            raise SystemExit(f"{moves}: scored {record['solve']}, the file says {expected}")
        print(json.dumps(record), flush=True)


def compare(before: Path, after: Path) -> None:
    """Print, per file and answer, the total nodes of two runs and their ratio."""
    runs = []
    for path in (before, after):
        runs.append({r["moves"]: r for r in map(json.loads, path.read_text().splitlines())})
    common = [m for m in runs[0] if m in runs[1]]
    files = sorted({runs[0][m]["file"] for m in common})
    for file in files:
        mine = [m for m in common if runs[0][m]["file"] == file]
        for name in ("solve", "best", "analyze"):
            pairs = [(runs[0][m][name + "_nodes"], runs[1][m][name + "_nodes"]) for m in mine]
            a, b = sum(p[0] for p in pairs), sum(p[1] for p in pairs)
            worst = max(pairs)
            print(f"{file or 'given'} {name:8} {a:>12,} -> {b:>12,}  {b / max(a, 1):.3f}", end="")
            print(f"  worst {worst[0]:,} -> {worst[1]:,}")
        differ = [m for m in mine if any(runs[0][m][k] != runs[1][m][k] for k in ("solve", "best", "analyze"))]
        if differ:
            print(f"  answers differ: {differ[:5]}")


def main() -> int:
    """Count, or compare two counts."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--files", nargs="*", default=list(FILES), help="test files to run")
    parser.add_argument("--every", type=int, default=1, help="every n-th position of each file")
    parser.add_argument("--positions", type=Path, help="a file of extra positions, one a line")
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("BEFORE", "AFTER"), help="compare two runs")
    args = parser.parse_args()
    if args.compare:
        compare(*args.compare)
        return 0
    extra = args.positions.read_text().split() if args.positions else []
    count(args.files, args.every, extra)
    return 0


if __name__ == "__main__":
    sys.exit(main())
