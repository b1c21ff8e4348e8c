"""Perfect-play Connect Four solver: Pascal Pons' bitboard negamax, in pure Python.

The board is two Python ints in Pons' layout: column ``c`` owns bits ``7*c .. 7*c+6``, row 0 at
the bottom, and the seventh bit of each column stays empty so that shifted lines never wrap into
the next column. ``current`` holds the stones of the side to move and ``mask`` every stone.

Scores follow Pons' convention, from the side to move: 0 for a draw, a win is
``22 - (stones the winner has played at the end)`` and a loss is its negative, so faster wins
score higher. :class:`Solver` combines negamax with alpha-beta, score bounds, pruning of moves
that lose at once, threat-based move ordering, a transposition table and an iterated null-window
search, and reads exact scores of 12-stone positions from the opening book of :mod:`engine.book`.

Run ``python -m engine.solver [-a | -b] [-w]`` for the command line of Pons' C++ solver: one
position per line on stdin ("4453", columns 1..7), one answer per line on stdout.
"""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from engine.search import (
    BOARD_SIZE,
    CENTRE_ORDER,
    COMPILED,
    HEIGHT,
    WIDTH,
    FullColumnError,
    GameWonError,
    MoveOrder,
    NoMoveError,
    NotationError,
    Position,
    Solver,
    UnknownColumnError,
    winning_cells,
)

__all__ = [
    "BOARD_SIZE",
    "CENTRE_ORDER",
    "COMPILED",
    "HEIGHT",
    "WIDTH",
    "FullColumnError",
    "GameWonError",
    "MoveOrder",
    "NoMoveError",
    "NotationError",
    "Position",
    "Solver",
    "UnknownColumnError",
    "main",
    "winning_cells",
]


# -- command line ---------------------------------------------------------------------------


def _answer(solver: Solver, line: str, mode: str, weak: bool) -> str:
    pos = Position.from_moves(line)
    if mode == "analyze":
        scores = solver.analyze(pos)
        return " ".join([line, *("-1000" if s is None else str(s) for s in scores)])
    if mode == "best":
        return f"{line} {solver.best_move(pos) + 1}"
    return f"{line} {solver.solve(pos, weak)}"


def main(argv: list[str] | None = None, stdin: TextIO | None = None, stdout: TextIO | None = None) -> int:
    """Answer positions read one per line, as Pons' C++ solver does; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m engine.solver",
        description="Read positions in solver notation (columns 1-7, e.g. 4453) one per line and "
        "print each with its score for the side to move.",
    )
    group = parser.add_mutually_exclusive_group()
    group.add_argument("-a", "--analyze", action="store_true", help="print the score of each column (-1000: full)")
    group.add_argument("-b", "--best", action="store_true", help="print the column (1-7) a perfect player picks")
    parser.add_argument("-w", "--weak", action="store_true", help="print only win (1), draw (0) or loss (-1)")
    args = parser.parse_args(argv)
    mode = "analyze" if args.analyze else "best" if args.best else "score"
    source = sys.stdin if stdin is None else stdin
    sink = sys.stdout if stdout is None else stdout
    solver = Solver()
    # readline() rather than iteration, so that each answer goes out before the next line comes.
    number = 0
    while line := source.readline():
        number += 1
        text = line.strip()
        try:
            answer = _answer(solver, text, mode, args.weak)
        except (NotationError, NoMoveError) as exc:
            print(f"Line {number}: invalid position {text!r}: {exc}", file=sys.stderr, flush=True)
            continue
        print(answer, file=sink, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
