"""Run the app's ``main.py`` with the garbage collector measured (and, for experiments, tuned), app code untouched.

    python bench/load/gcprobe.py [path/to/main.py]

Environment (all optional):

- ``PROBE_STATS``: a JSON file rewritten every 2 s with every collection's pause by generation,
  and each collection of 5 ms or more with its wall-clock time (to line it up with a run).
- ``PROBE_GC_THRESHOLD``: ``"700,10,10"`` style, passed to ``gc.set_threshold`` (again 1 s after
  startup, after the app's own ``tune_gc``).
- ``PROBE_GC_FREEZE``: ``startup`` calls ``gc.freeze()`` 3 s after the app started, so the
  import-time heap is never scanned again; ``signal`` calls it on SIGUSR1 (the load generator
  sends that once every browser is connected: "freeze after building pages").
- ``PROBE_MESSAGE_HISTORY``: NiceGUI's ``message_history_length`` (messages kept per page for a
  reconnect to replay), set at startup.
- ``PROBE_SLOW_CALLBACKS``: ``1`` puts the event loop in debug mode, which logs every callback
  that ran 20 ms or more (slower: for finding stalls, not for figures).
- ``PROBE_MEMORY``: a JSON file; on SIGUSR2 the probe writes what the heap holds: tracemalloc's
  top sites against the first SIGUSR2's snapshot (with ``PROBE_TRACEMALLOC=1``; with
  ``PROBE_TRACEMALLOC_FRAMES=N`` also the N callers of each), object counts
  by type, NiceGUI clients and elements per client, the small-object allocator's arenas and how
  much of them live objects use, jemalloc's figures when it is the allocator (``LD_PRELOAD``),
  and (once few are left) the objects new since the first report;
  with ``PROBE_ARENAS=1`` (once few are left) which objects sit in which arena (``arenas.py``), and
  with ``PROBE_CLEAR_CACHES=1`` after the app's and the standard library's caches were emptied (an experiment).
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import gc
import json
import os
import runpy
import signal
import sys
import tempfile
import threading
import time
import tracemalloc
from collections import Counter
from pathlib import Path
from typing import Any

_pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}
_long: list[dict[str, Any]] = []
_started: float | None = None
_counts: list[int] = [0, 0, 0]
"""``gc.get_count()`` when the running collection started."""
_frozen: list[dict[str, Any]] = []
_stalls: list[dict[str, Any]] = []
"""Times the server's event loop woke up 20 ms or more late (a 5 ms sleep that took longer)."""


def _on_gc(phase: str, info: dict[str, Any]) -> None:
    global _started
    if phase == "start":
        _started = time.perf_counter()
        _counts[:] = gc.get_count()
        return
    if _started is None:
        return
    pause = time.perf_counter() - _started
    _started = None
    generation = int(info["generation"])
    _pauses[generation].append(pause)
    if pause >= 0.005:
        _long.append(
            {
                "at": round(time.time(), 3),
                "gen": generation,
                "ms": round(pause * 1000, 2),
                "counts_at_start": list(_counts),
                "collected": int(info.get("collected", 0)),
            }
        )


def _summary(samples: list[float]) -> dict[str, float | int]:
    ordered = sorted(samples)
    if not ordered:
        return {"count": 0}
    return {
        "count": len(ordered),
        "total_ms": round(sum(ordered) * 1000, 1),
        "p50_ms": round(ordered[len(ordered) // 2] * 1000, 3),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000, 3),
        "max_ms": round(ordered[-1] * 1000, 2),
    }


def _write_stats(path: Path) -> None:
    while True:
        time.sleep(2.0)
        data = {
            "threshold": gc.get_threshold(),
            "freeze_count": gc.get_freeze_count(),
            "frozen": _frozen,
            "by_generation": {str(g): _summary(list(s)) for g, s in _pauses.items()},
            "long_pauses": list(_long),
            "loop_stalls": list(_stalls),
            "written": time.time(),
        }
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data))
        tmp.replace(path)


def _freeze(reason: str) -> None:
    gc.collect()  # freeze what survives, not garbage waiting for a collection
    gc.freeze()
    _frozen.append({"at": round(time.time(), 3), "reason": reason, "objects": gc.get_freeze_count()})


_baseline: tracemalloc.Snapshot | None = None
_baseline_types: Counter[str] | None = None


_baseline_ids: set[int] | None = None


def _describe_new(baseline: set[int]) -> dict[str, int]:
    """The objects the collector tracks that were not there at the first report, by type, with examples."""
    described: Counter[str] = Counter()
    new = [o for o in gc.get_objects() if id(o) not in baseline]
    if len(new) > 20_000:  # a crowd still connected: too many to be worth describing
        return {"(too many to describe)": len(new)}
    samples: dict[str, list[str]] = {}
    for o in new:
        what = type(o).__name__
        if callable(o) and hasattr(o, "__qualname__"):
            what += f" {getattr(o, '__module__', None)}.{o.__qualname__}"
        described[what] += 1
        if len(kept := samples.setdefault(what, [])) < 3:
            try:
                kept.append(repr(o)[:160])
            except Exception as exc:  # a repr may fail on a half-torn object
                kept.append(f"<repr failed: {exc}>")
    del new
    return {f"{what} e.g. {samples[what]}": count for what, count in described.most_common(30)}


def _pymalloc_stats() -> dict[str, int]:
    """Python's small-object allocator: arenas held, and how much of them live objects use."""
    with tempfile.TemporaryFile() as out:
        saved = os.dup(2)
        sys.stderr.flush()
        os.dup2(out.fileno(), 2)
        try:
            sys._debugmallocstats()  # writes to the C stderr
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        out.seek(0)
        text = out.read().decode()
    wanted = {
        "# arenas allocated current": "arenas",
        "# arenas highwater mark": "arenas_peak",
        "# bytes in allocated blocks": "allocated_bytes",
        "# bytes in available blocks": "available_bytes",
    }
    stats = {}
    for line in text.splitlines():
        name, _, value = line.partition("=")
        if name.strip() in wanted:
            stats[wanted[name.strip()]] = int(value.strip().replace(",", ""))
    return stats


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            *("arena", "ordblks", "smblks", "hblks", "hblkhd"),
            *("usmblks", "fsmblks", "uordblks", "fordblks", "keepcost"),
        )
    ]


def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _c_heap_stats() -> dict[str, int]:
    """glibc's heap (where objects over 512 bytes go, and every object with PYTHONMALLOC=malloc).

    ``in_use``/``free`` are bytes in the heap's chunks; RSS is read before and after
    ``malloc_trim(0)``, which hands back the free pages (what the app's MemoryReturner does).
    """
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        mallinfo2 = libc.mallinfo2
    except (OSError, AttributeError, TypeError):
        return {}
    mallinfo2.restype = _MallInfo2
    info = mallinfo2()
    before = _rss_kib()
    libc.malloc_trim(ctypes.c_size_t(0))
    return {
        "heap_bytes": info.arena,
        "mmapped_bytes": info.hblkhd,
        "in_use_bytes": info.uordblks,
        "free_bytes": info.fordblks,
        "rss_kib_before_trim": before,
        "rss_kib_after_trim": _rss_kib(),
    }


def _jemalloc_stats() -> dict[str, int]:
    """jemalloc's view when it is the process's allocator (``LD_PRELOAD`` with ``PYTHONMALLOC=malloc``).

    ``allocated`` is what live objects use; ``active`` the pages that hold any; ``resident`` what
    the process keeps in memory for it (active, dirty pages not purged yet, metadata). Empty when
    jemalloc is not loaded.
    """
    try:
        mallctl = ctypes.CDLL(None).mallctl
    except AttributeError:
        return {}
    size_p = ctypes.POINTER(ctypes.c_size_t)
    mallctl.argtypes = [ctypes.c_char_p, ctypes.c_void_p, size_p, ctypes.c_void_p, ctypes.c_size_t]
    epoch = ctypes.c_uint64(1)
    size = ctypes.c_size_t(8)
    mallctl(b"epoch", ctypes.byref(epoch), ctypes.byref(size), ctypes.byref(epoch), 8)
    stats = {}
    for name in ("allocated", "active", "resident", "mapped", "metadata", "retained"):
        value = ctypes.c_size_t(0)
        size = ctypes.c_size_t(ctypes.sizeof(value))
        if mallctl(f"stats.{name}".encode(), ctypes.byref(value), ctypes.byref(size), None, 0) == 0:
            stats[f"{name}_bytes"] = value.value
    return stats


def _clear_caches() -> None:
    """Experiment: what the app and the standard library keep from a crowd, dropped."""
    import urllib.parse

    from games.hub import GameHub
    from ui import board

    board.column_html.cache_clear()
    board._RECENT_COLUMNS.clear()
    urllib.parse.clear_cache()  # type: ignore[attr-defined]  # undocumented, but there
    gc.unfreeze()  # the hub was made at startup, and frozen with the rest
    hubs = [o for o in gc.get_objects() if isinstance(o, GameHub)]
    gc.freeze()
    for hub in hubs:
        for limiter in (hub.move_limit, hub.create_limit):
            limiter._sweep(float("inf"))
    gc.collect()


def _memory_report(path: Path) -> None:
    """On SIGUSR2: what the heap holds now, against the first call (taken before the browsers came)."""
    global _baseline, _baseline_types, _baseline_ids
    from nicegui import Client

    if os.environ.get("PROBE_CLEAR_CACHES") == "1" and len(Client.instances) < 10:
        _clear_caches()
    gc.collect()
    types = Counter(type(o).__name__ for o in gc.get_objects())
    clients = list(Client.instances.values())
    elements_per_client = Counter(len(c.elements) for c in clients)
    tags: Counter[str] = Counter()
    for client in clients:
        for element in client.elements.values():
            tags[element.tag] += 1
    data: dict[str, Any] = {
        "at": time.time(),
        "clients": len(clients),
        "elements_per_client": dict(elements_per_client.most_common(10)),
        "elements_by_tag": dict(tags.most_common(25)),
        "gc_objects": sum(types.values()),
    }
    data["pymalloc"] = _pymalloc_stats()
    data["c_heap"] = _c_heap_stats()
    data["jemalloc"] = _jemalloc_stats()
    if os.environ.get("PROBE_ARENAS") == "1" and len(clients) < 10:
        from arenas import census  # beside this file

        data["arena_census"] = census()
    if _baseline_ids is None:
        _baseline_ids = {id(o) for o in gc.get_objects()}
    else:
        data["new_since_first"] = _describe_new(_baseline_ids)
    if _baseline_types is not None:
        diff = types - _baseline_types
        data["new_objects_by_type"] = dict(diff.most_common(30))
        data["new_objects"] = sum(diff.values())
    if tracemalloc.is_tracing():
        ignored = [tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, "<frozen importlib.*")]
        snapshot = tracemalloc.take_snapshot().filter_traces(ignored)
        data["traced_kib"] = round(sum(s.size for s in snapshot.statistics("filename")) / 1024, 1)
        if _baseline is not None:
            for key in ("filename", "lineno"):
                stats = snapshot.compare_to(_baseline, key)[:30]
                data[f"growth_by_{key}"] = [
                    {"where": str(s.traceback), "kib": round(s.size_diff / 1024, 1), "count": s.count_diff}
                    for s in stats
                ]
            if tracemalloc.get_traceback_limit() > 1:  # where the biggest sites were called from
                data["growth_by_traceback"] = [
                    {"where": s.traceback.format(), "kib": round(s.size_diff / 1024, 1), "count": s.count_diff}
                    for s in snapshot.compare_to(_baseline, "traceback")[:40]
                ]
            data["traced_growth_kib"] = round(
                sum(s.size_diff for s in snapshot.compare_to(_baseline, "filename")) / 1024, 1
            )
        else:
            _baseline = snapshot
    if _baseline_types is None:
        _baseline_types = types
    reports = json.loads(path.read_text()) if path.exists() else []
    reports.append(data)
    path.write_text(json.dumps(reports, indent=1))


def main() -> None:
    main_file = Path(sys.argv[1] if len(sys.argv) > 1 else "main.py").resolve()
    sys.argv = [str(main_file)]
    sys.path.insert(0, str(main_file.parent))
    gc.callbacks.append(_on_gc)
    from nicegui import app

    if threshold := os.environ.get("PROBE_GC_THRESHOLD"):
        values = [int(v) for v in threshold.split(",")]
        gc.set_threshold(*values)

        async def again() -> None:  # after the app's own tuning at startup
            await asyncio.sleep(1.0)
            gc.set_threshold(*values)

        app.on_startup(again)
    if history := os.environ.get("PROBE_MESSAGE_HISTORY"):

        def set_history() -> None:  # ui.run() set the app's value by now
            app.config.message_history_length = int(history)

        app.on_startup(set_history)
    if stats := os.environ.get("PROBE_STATS"):
        threading.Thread(target=_write_stats, args=(Path(stats),), daemon=True).start()
    if os.environ.get("PROBE_TRACEMALLOC") == "1":
        tracemalloc.start(int(os.environ.get("PROBE_TRACEMALLOC_FRAMES", "1")))

    async def watch_loop() -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(0.005)
            late = loop.time() - before - 0.005
            if late >= 0.02:
                _stalls.append({"at": round(time.time(), 3), "ms": round(late * 1000, 1)})

    app.on_startup(lambda: asyncio.get_running_loop().create_task(watch_loop()))
    if os.environ.get("PROBE_SLOW_CALLBACKS") == "1":

        def debug_loop() -> None:  # asyncio logs every callback that runs 20 ms or more, with its source
            loop = asyncio.get_running_loop()
            loop.set_debug(True)
            loop.slow_callback_duration = 0.02

        app.on_startup(debug_loop)
    freeze = os.environ.get("PROBE_GC_FREEZE", "")
    if freeze == "startup":

        async def later() -> None:
            await asyncio.sleep(3.0)
            _freeze("startup")

        app.on_startup(later)
    if freeze == "signal":
        signal.signal(signal.SIGUSR1, lambda *_: _freeze("signal"))
    if memory := os.environ.get("PROBE_MEMORY"):
        signal.signal(signal.SIGUSR2, lambda *_: _memory_report(Path(memory)))
    runpy.run_path(str(main_file), run_name="__main__")


if __name__ == "__main__":
    main()
