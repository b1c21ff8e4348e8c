"""Which live objects keep CPython's small-object arenas from being returned (a census for gcprobe.py).

CPython gives an arena (1 MiB) back to the system only when no block in it is in use. After a
crowd of browsers has left, most arenas it filled are almost empty yet held. This walks every
object it can reach (what the collector tracks, and what those refer to: strings, numbers,
bytes), finds the pool and arena each one lives in by reading the pool's header, and reports for
each arena how many objects it found there and of which kinds, so the few that pin an arena show up.

Only objects of 512 bytes or less live in arenas; for each, the pool header (at the object's
address rounded down to the pool size) must say the object's size class, or the object is
counted as "elsewhere". Memory is read only inside the process's own mappings. Allocations that
are not objects (a dict's key table, a list's item array) are invisible here: an arena where
nothing was found is held by those.
"""

from __future__ import annotations

import ctypes
import gc
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

POOL_SIZE = 16 * 1024  # CPython 3.10+ on 64-bit
ARENA_SIZE = 1024 * 1024
_ALIGNMENT_SHIFT = 4  # 16-byte blocks
_SMALL = 512


def _mappings() -> list[tuple[int, int]]:
    spans = []
    for line in Path("/proc/self/maps").read_text().splitlines():
        low, _, high = line.split()[0].partition("-")
        spans.append((int(low, 16), int(high, 16)))
    spans.sort()
    return spans


def _mapped(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    low, high = 0, len(spans)
    while low < high:
        mid = (low + high) // 2
        if spans[mid][1] <= start:
            low = mid + 1
        else:
            high = mid
    return low < len(spans) and spans[low][0] <= start and end <= spans[low][1]


def _describe(obj: object) -> str:
    kind = type(obj).__name__
    if isinstance(obj, str | bytes):
        return f"{kind} {obj[:40]!r}"
    if callable(obj) and hasattr(obj, "__qualname__"):
        return f"{kind} {getattr(obj, '__module__', None)}.{obj.__qualname__}"
    try:
        return f"{kind} {repr(obj)[:80]}"
    except Exception as exc:  # a half-torn object
        return f"{kind} <repr failed: {exc}>"


def census(sparse_kib: int = 64, examples: int = 12) -> dict[str, Any]:
    """Objects per arena; for arenas with less than ``sparse_kib`` of objects found, what they are.

    Frozen objects (``gc.freeze``) are unfrozen for the walk and the live heap is frozen again
    after it: a probe's last report, not something to run in the middle of a measurement.
    """
    frozen = gc.get_freeze_count()
    gc.unfreeze()  # frozen objects are not in gc.get_objects()
    try:
        return _census(sparse_kib, examples)
    finally:
        if frozen:
            gc.freeze()


def _census(sparse_kib: int, examples: int) -> dict[str, Any]:
    tracked = gc.get_objects()
    spans = _mappings()
    seen: set[int] = set()
    by_arena: dict[int, list[object]] = defaultdict(list)
    pools: dict[int, set[int]] = defaultdict(set)
    elsewhere = 0

    def place(obj: object) -> None:
        nonlocal elsewhere
        address = id(obj)
        if address in seen:
            return
        seen.add(address)
        pool = address & ~(POOL_SIZE - 1)  # a block never straddles pools
        if not _mapped(spans, pool, pool + 48):
            elsewhere += 1
            return
        arena_index, size_index, _, last_offset = (ctypes.c_uint * 4).from_address(pool + 32)
        # A pool's header says its block size, and the last offset a block can start at follows from it.
        block_size = (size_index + 1) << _ALIGNMENT_SHIFT
        if size_index >= _SMALL >> _ALIGNMENT_SHIFT or last_offset != POOL_SIZE - block_size:
            elsewhere += 1
            return
        by_arena[arena_index].append(obj)
        pools[arena_index].add(pool)

    for obj in tracked:
        place(obj)
        for referent in gc.get_referents(obj):
            if not gc.is_tracked(referent):
                place(referent)
    arenas = []
    sparse_kinds: Counter[str] = Counter()
    sparse_examples: dict[str, list[str]] = {}
    for index, objects in by_arena.items():
        found = sum(sys.getsizeof(o) for o in objects)
        row: dict[str, Any] = {"arena": index, "objects": len(objects), "kib": round(found / 1024, 1)}
        row["pools"] = len(pools[index])
        if found < sparse_kib * 1024:
            kinds = Counter(type(o).__name__ for o in objects)
            row["kinds"] = dict(kinds.most_common(8))
            for o in objects:
                kind = type(o).__name__
                sparse_kinds[kind] += 1
                kept = sparse_examples.setdefault(kind, [])
                if len(kept) < examples:
                    kept.append(_describe(o))
        arenas.append(row)
    arenas.sort(key=lambda r: r["kib"])
    sparse = [r for r in arenas if r["kib"] < sparse_kib]
    return {
        "arenas_with_objects": len(arenas),
        "sparse_arenas": len(sparse),
        "sparse_objects": sum(r["objects"] for r in sparse),
        "sparse_kinds": dict(sparse_kinds.most_common(40)),
        "sparse_examples": {k: sparse_examples[k] for k, _ in sparse_kinds.most_common(25)},
        "elsewhere": elsewhere,
        "arenas": arenas,
    }
