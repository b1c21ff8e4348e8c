"""The computer opponent and position analysis: every search runs in a worker process, never on the event loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import random
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from games.errors import ConflictError, GameError
from games.hub import COMPUTER, GameChanged, GameHub, LiveGame
from games.model import Mode

__all__ = ["Analyst", "ComputerPlayer", "describe_score"]

log = logging.getLogger(__name__)

T = TypeVar("T")

# -- in the worker process -------------------------------------------------------------------------

_solver: Any = None


def _init_worker() -> None:
    global _solver
    from engine.solver import Solver

    _solver = Solver()
    _solver.book  # noqa: B018  # load the opening book once, before the first game needs it


def _choose(moves: str, level: str, seed: int) -> int:
    from engine.levels import Level, choose_move

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


def describe_score(score: int | None, moves_played: int) -> str:
    """A column's value in words, for the side to move: "win in 3" counts that side's own moves."""
    if score is None:
        return "full"
    if score == 0:
        return "draw"
    mover_stones = moves_played // 2  # red moves after an even count, yellow after an odd one
    if score > 0:
        return f"win in {22 - score - mover_stones}"
    opponent_stones = moves_played - mover_stones
    return f"loss in {22 + score - opponent_stones}"


class Analyst:
    """A pool of worker processes that search positions; a warm solver in each keeps its table."""

    def __init__(self, workers: int = 1) -> None:
        self._workers = workers
        self._pool: ProcessPoolExecutor | None = None

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

    async def choose(self, moves: str, level: str, seed: int | None = None) -> int:
        """The column (0..6) the computer plays at ``level``."""
        return await self._run(_choose, moves, level, random.randrange(2**32) if seed is None else seed)

    async def score(self, moves: str, column: int) -> int | None:
        """The exact score of playing ``column`` for the side to move (None for a full column)."""
        return await self._run(_score, moves, column)

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
            column = await self.analyst.choose(moves, live.record.level or "PERFECT")
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
