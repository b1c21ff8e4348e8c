"""The solver's node rate on one benchmark file, for one engine tree or several in turn.

Two builds compare by their rate only when measured within the same minutes (this machine's speed
drifts by a third over an hour), so the trees given are measured in turn, ``--rounds`` times. Each
tree is a directory holding an ``engine/`` (compiled in place, or not) and ``tests/data/gamesolver``:

    git archive a530758 engine tests/data | tar -x -C /tmp/old    # then mypyc its modules there
    python bench/bench_rate.py /tmp/old . --every 5 --rounds 3
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ONE_TREE = """
import sys, time
sys.path.insert(0, sys.argv[1])
import engine
from engine import book
from engine.solver import Position, Solver
lines = [line.split() for line in open(sys.argv[2]).read().splitlines() if line.strip()][:: int(sys.argv[3])]
solver = Solver(book=book.default_book())
nodes, seconds = 0, 0.0
for moves, score in lines:
    position = Position.from_moves(moves)
    solver.reset()
    start = time.process_time()
    answer = solver.solve(position)
    seconds += time.process_time() - start
    if answer != int(score):
        raise SystemExit(f"{moves}: scored {answer}, the file says {score}")
    nodes += solver.node_count
print(f"{engine.build()}: {len(lines)} positions, {nodes:,} nodes in {seconds:.2f} s of CPU, "
      f"{nodes / seconds / 1e6:.2f} million nodes a second")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("trees", nargs="+", type=Path, help="directories with an engine/ to measure")
    parser.add_argument("--file", default="Test_L1_R2", help="benchmark file (default: begin-medium)")
    parser.add_argument("--every", type=int, default=5, help="every n-th position")
    parser.add_argument("--rounds", type=int, default=3, help="times to measure each tree, in turn")
    args = parser.parse_args()
    for round_number in range(1, args.rounds + 1):
        for tree in args.trees:
            data = tree.resolve() / "tests" / "data" / "gamesolver" / args.file
            result = subprocess.run(
                [sys.executable, "-c", ONE_TREE, str(tree.resolve()), str(data), str(args.every)],
                capture_output=True,
                text=True,
                check=False,
            )
            line = result.stdout.strip() or result.stderr.strip().splitlines()[-1]
            print(f"round {round_number}, {tree}: {line}", flush=True)


if __name__ == "__main__":
    main()
