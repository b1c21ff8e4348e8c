"""How long the review of a whole game takes: every position analysed by the worker, as the replay page asks.

Three kinds of 42-move games (the longest there are: the board fills up) and a perfect game, each
reviewed through :class:`games.review.Reviewer` with the app's :class:`games.computer.Analyst` (one
worker process, the compiled solver if it is built), timed with ``time.perf_counter``. The first
review also pays for starting the worker and loading the opening book; that is reported apart.

    python bench/bench_review.py            # writes bench/results/review.md
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.connect4 import Connect4  # noqa: E402
from engine.solver import COMPILED, Position, Solver  # noqa: E402
from games.computer import Analyst  # noqa: E402
from games.model import GameRecord, Mode, new_id, new_key  # noqa: E402
from games.review import Reviewer  # noqa: E402
from games.store import MemoryStore  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "review.md"


def drawn_game(seed: int) -> str:
    """A random game that fills the board without a four (each side avoids completing one)."""
    rng = random.Random(seed)
    while True:
        game = Connect4()
        while not game.is_over:
            legal = game.legal_columns()
            calm = [c for c in legal if not _wins(game, c)]
            game.play(game.turn, rng.choice(calm or legal))
        if game.outcome is not None and game.outcome.winner is None:
            return game.moves_str()


def _wins(game: Connect4, column: int) -> bool:
    trial = game.copy()
    trial.play(trial.turn, column)
    return trial.winner is not None


def perfect_game() -> str:
    """Both sides perfect: red wins with its 21st disc."""
    solver, pos = Solver(), Position.from_moves("")
    moves = ""
    while True:
        column = solver.best_move(pos)
        moves += str(column + 1)
        if pos.is_winning_move(column):
            return moves
        pos.play(column)


async def review_seconds(reviewer: Reviewer, store: MemoryStore, moves: str) -> tuple[float, float]:
    """Seconds to review the game, and to open its review again (read from the store)."""
    record = GameRecord(id=new_id(), mode=Mode.LOCAL, join_key=new_key(), watch_key=new_key(), moves=moves)
    await store.create(record)
    start = time.perf_counter()
    review = await reviewer.review(record.id, moves)
    first = time.perf_counter() - start
    assert review.complete
    start = time.perf_counter()
    assert await reviewer.review(record.id, moves) == review
    return first, time.perf_counter() - start


async def main(games: int) -> str:
    analyst = Analyst(workers=1)
    store = MemoryStore()
    reviewer = Reviewer(store, analyst.analyze)
    try:
        start = time.perf_counter()
        await analyst.analyze("4444")  # start the worker and load the book
        warm_up = time.perf_counter() - start
        rows = []
        for seed in range(games):
            moves = drawn_game(seed)
            rows.append((f"drawn random game, seed {seed}", moves, await review_seconds(reviewer, store, moves)))
        moves = perfect_game()
        rows.append(("perfect play (red wins)", moves, await review_seconds(reviewer, store, moves)))
    finally:
        analyst.close()
    lines = [
        "# Reviewing a whole game",
        "",
        f"`python bench/bench_review.py` on {platform.machine()}, Python {platform.python_version()},"
        f" compiled solver: {COMPILED}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} when it ended"
        " (anything else running on the cores makes these figures upper bounds).",
        "",
        f"Starting the worker and loading the opening book: {warm_up:.1f} s (once per server process).",
        "",
        "| game | moves | review (s) | opened again (ms) |",
        "|---|---:|---:|---:|",
        *(f"| {name} | {len(moves)} | {first:.2f} | {again * 1000:.2f} |" for name, moves, (first, again) in rows),
        "",
        "Opening a review again reads it from the store (here the in-memory one): no solver time.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--games", type=int, default=3, help="random 42-move games to review")
    args = parser.parse_args()
    report = asyncio.run(main(args.games))
    RESULTS.write_text(report)
    print(report)
