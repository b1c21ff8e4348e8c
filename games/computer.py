"""The computer opponent and position analysis: every search runs in a worker process, never on the event loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import random
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, TypeVar

import engine
from engine.levels import Level
from engine.score import Score
from games.errors import ConflictError, GameError
from games.hub import COMPUTER, GameChanged, GameHub, LiveGame
from games.model import Mode

__all__ = ["Analyst", "ComputerPlayer", "WorkerState"]

log = logging.getLogger(__name__)

T = TypeVar("T")

# -- in the worker process -------------------------------------------------------------------------

_solver: Any = None


def _init_worker() -> None:
    global _solver
    from engine import levels

    # The levels' solver, book loaded: one table and one book for moves, hints and analysis.
    _solver = levels.warm()


@dataclass(frozen=True)
class WorkerState:
    """What a worker process reports once it is ready: who it is and what it has loaded."""

    pid: int
    book_positions: int
    """Positions in the opening book it loaded (0 when the book is not installed)."""
    build: str
    """``"compiled"`` or ``"interpreted"``: which engine the worker runs."""


def _state() -> WorkerState:
    book = _solver.book
    return WorkerState(os.getpid(), len(book) if book is not None else 0, engine.build())


def _choose(moves: str, level: str, seed: int) -> int:
    from engine.levels import choose_move

    column: int = choose_move(moves, Level[level], random.Random(seed))
    return column


def _score(moves: str, column: int) -> int | None:
    from engine.solver import Position

    result: int | None = _solver.score_move(Position.from_moves(moves), column)
    return result


def _analyze(moves: str) -> list[int | None]:
    from engine.solver import Position

    result: list[int | None] = _solver.analyze(Position.from_moves(moves))
    return result


def _best(moves: str) -> int:
    from engine.solver import Position

    result: int = _solver.best_move(Position.from_moves(moves))
    return result


# -- in the server ---------------------------------------------------------------------------------


class Analyst:
    """A pool of worker processes that search positions; a warm solver in each keeps its table."""

    def __init__(self, workers: int = 1) -> None:
        self._workers = workers
        self._pool: ProcessPoolExecutor | None = None
        #: What each worker reported when it was warmed up by :meth:`warm`, by process id.
        self.warm_workers: dict[int, WorkerState] = {}

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # spawn: the server has threads (the SQLite writer), which fork does not copy safely.
            self._pool = ProcessPoolExecutor(
                self._workers, mp_context=multiprocessing.get_context("spawn"), initializer=_init_worker
            )
        return self._pool

    async def _run(self, func: Callable[..., T], *args: Any) -> T:
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor(), func, *args)
        except BrokenProcessPool:
            log.exception("the analysis worker died; starting a new one")
            self._pool = None
            return await asyncio.get_running_loop().run_in_executor(self._executor(), func, *args)

    async def warm(self) -> list[WorkerState]:
        """Start every worker and load its book now, so that no player waits for it later.

        One request per worker at once: the pool starts a process for each, as none is idle yet.
        """
        states = await asyncio.gather(*(self._run(_state) for _ in range(self._workers)))
        self.warm_workers.update((state.pid, state) for state in states)
        log.info("computer: %d worker(s) ready, engine %s", len(self.warm_workers), states[0].build)
        return list(states)

    async def choose(self, moves: str, level: Level, seed: int | None = None) -> int:
        """The column (0..6) the computer plays at ``level``."""
        return await self._run(_choose, moves, level.name, random.randrange(2**32) if seed is None else seed)

    async def score(self, moves: str, column: int) -> Score | None:
        """The exact score of playing ``column`` for the side to move (None for a full column)."""
        value = await self._run(_score, moves, column)
        return None if value is None else Score(value, len(moves))

    async def analyze(self, moves: str) -> list[int | None]:
        """The exact score of each of the seven columns for the side to move (None for a full one)."""
        return await self._run(_analyze, moves)

    async def best(self, moves: str) -> int:
        """A perfect move (0..6)."""
        return await self._run(_best, moves)

    def close(self) -> None:
        """Stop the workers."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
            self.warm_workers.clear()


class ComputerPlayer:
    """Plays the computer's seat in every computer game this process shows, whenever it is its turn."""

    def __init__(self, hub: GameHub, analyst: Analyst) -> None:
        self.hub = hub
        self.analyst = analyst
        self._thinking: dict[str, tuple[asyncio.Task[None], str]] = {}
        """Each game's thought: the task, and the moves of the position it is for."""
        hub.on_change(self.consider)

    def is_thinking(self, live: LiveGame) -> bool:
        """Whether the computer is choosing a move in this game now."""
        return live.id in self._thinking

    def consider(self, live: LiveGame) -> None:
        """Start thinking if it is the computer's turn in ``live`` (and it is not thinking already).

        A position that changed while it thought (an undo, a new game) drops that thought at once:
        the status says so straight away, and the move it finds later is thrown away.
        """
        record = live.record
        if record.mode is not Mode.COMPUTER:
            return
        moves = live.board.moves_str()
        thinking = self._thinking.get(live.id)
        if thinking is not None:
            if thinking[1] == moves:
                return
            del self._thinking[live.id]
            live.thinking = False
        if live.is_over or record.seat(live.board.turn) != COMPUTER:
            if thinking is not None:
                live.announce(GameChanged())
            return
        task = asyncio.get_running_loop().create_task(self._move(live, moves))
        self._thinking[live.id] = (task, moves)
        live.thinking = True
        live.announce(GameChanged())

    async def _move(self, live: LiveGame, moves: str) -> None:
        try:
            column = await self.analyst.choose(moves, live.record.level or Level.PERFECT)
            if self._is_current(live, moves):  # nobody undid or restarted while it thought
                await self.hub.play(live, COMPUTER, column)
        except (ConflictError, GameError) as exc:
            log.info("game %s: the computer's move was not needed: %s", live.id, exc)
        except Exception:
            log.exception("game %s: the computer could not move", live.id)
        finally:
            mine = self._is_current(live, moves)
            if mine:
                del self._thinking[live.id]
                live.thinking = False
                live.announce(GameChanged())
        if mine:
            # The position may have changed while it moved: look again.
            self.consider(live)

    def _is_current(self, live: LiveGame, moves: str) -> bool:
        thinking = self._thinking.get(live.id)
        return thinking is not None and thinking[1] == moves

    async def close(self) -> None:
        """Stop thinking."""
        for task, _ in list(self._thinking.values()):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
