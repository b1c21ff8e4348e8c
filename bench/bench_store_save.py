"""Time the SQLite store's save of a move against a save that changes a seat, on a real file.

A move leaves the indexed columns (seats, replay key) as they were, and the store then writes
fewer columns; a join changes a seat and writes them all. Each save is awaited alone, like a move
under load (one writer transaction per batch), and the figures are the store thread's time per
save as the caller waits for it.

    python bench/bench_store_save.py --games 500 --saves 20000
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from games.model import GameRecord, Mode, new_id, new_key  # noqa: E402
from games.sqlite_store import SQLiteStore  # noqa: E402


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def measure(games: int, saves: int) -> dict[str, list[float]]:
    with tempfile.TemporaryDirectory() as folder:
        store = SQLiteStore(Path(folder) / "games.db")
        await store.start(lambda _: None)
        try:
            records = [
                GameRecord(id=new_id(), mode=Mode.ONLINE, join_key=new_key(), watch_key=new_key(), red="alice")
                for _ in range(games)
            ]
            for record in records:
                await store.create(record)
            times: dict[str, list[float]] = {"move": [], "seat": []}
            for index in range(saves):
                kind = "move" if index % 2 else "seat"
                slot = index % games
                record = records[slot]
                if kind == "move":
                    changed = record.changed(moves=(record.moves + "4")[-40:])
                else:  # a seat that changes back and forth: every index entry of the seats rewritten
                    changed = record.changed(yellow=None if record.yellow else "bob")
                started = time.perf_counter()
                assert await store.save(changed), "a save was refused"
                times[kind].append(time.perf_counter() - started)
                records[slot] = changed
            return times
        finally:
            await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--games", type=int, default=500, help="games in the file")
    parser.add_argument("--saves", type=int, default=20000, help="saves in all, half of each kind")
    args = parser.parse_args()
    times = asyncio.run(measure(args.games, args.saves))
    print(f"{args.games} games, {args.saves} saves, Python {sys.version.split()[0]}")
    print("| save | median us | p99 us |")
    print("|---|---|---|")
    for kind, values in times.items():
        micros = [1e6 * value for value in values]
        print(f"| {kind} | {statistics.median(micros):.1f} | {percentile(micros, 0.99):.1f} |")


if __name__ == "__main__":
    main()
