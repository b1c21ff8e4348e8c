"""Small helpers for the user-fixture stories: play a column, read a cell, count what a move sends."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from nicegui import background_tasks, ui
from nicegui.testing import User

KEY_ARGS = {
    "action": "keydown",
    "repeat": False,
    "altKey": False,
    "ctrlKey": False,
    "metaKey": False,
    "shiftKey": False,
    "code": "",
    "location": 0,
}


LONG_LIVED = ("outbox loop", "clean up idle games", "clocks and messages ticker")


async def settle(before: set[asyncio.Task[Any]], timeout: float = 10.0) -> None:
    """Wait for the tasks started since ``before`` (event handlers, and what they started) to finish."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        await asyncio.sleep(0)
        pending = [
            task
            for task in background_tasks.running_tasks - before
            if not task.done() and not task.get_name().startswith(LONG_LIVED)
        ]
        if not pending:
            return
        await asyncio.wait(pending, timeout=deadline - loop.time())
    raise TimeoutError(f"event handlers still running: {[t.get_name() for t in pending]}")


def running() -> set[asyncio.Task[Any]]:
    return set(background_tasks.running_tasks)


async def click(user: User, target: str) -> None:
    """Click the element showing ``target`` and wait for its handler."""
    before = running()
    user.find(target).click()
    await settle(before)


async def click_marker(user: User, marker: str) -> None:
    """Click the one element marked ``marker`` and wait for its handler."""
    before = running()
    user.find(marker=marker).click()
    await settle(before)


async def click_column(user: User, column: int) -> None:
    """Click the control labelled "Column N" (N from 1) and wait until the server has handled it."""
    (element,) = user.find(marker=f"column-{column}").elements
    assert element.props["aria-label"] == f"Column {column}"
    before = running()
    user.find(marker=f"column-{column}").click()
    await settle(before)


async def play(user: User, columns: str) -> None:
    """Click a sequence of columns given in solver notation ("4453")."""
    for char in columns:
        await click_column(user, int(char))


async def press_key(user: User, key: str) -> None:
    """Press and release a key on the page's keyboard listener."""
    before = running()
    user.find(ui.keyboard).trigger("key", {**KEY_ARGS, "key": key})
    await settle(before)


def _cell(user: User, row: int, column: int) -> tuple[list[str], str]:
    """The classes and aria-label of the cell at ``row``, ``column`` in its column's HTML."""
    (element,) = user.find(marker=f"column-{column}").elements
    cell = r'<span class="([^"]*)" role="img" aria-label="([^"]*)" data-cell="(\d)-(\d)"></span>'
    cells = re.findall(cell, element.props["innerHTML"])
    assert [(int(r), int(c)) for *_, r, c in cells] == [(r, column) for r in range(6, 0, -1)], cells
    classes, label, *_ = cells[6 - row]
    return classes.split(), label


def cell_label(user: User, row: int, column: int) -> str:
    """The aria-label of the cell at ``row``, ``column`` (both from 1, rows from the bottom)."""
    return _cell(user, row, column)[1]


def cell_classes(user: User, row: int, column: int) -> list[str]:
    return _cell(user, row, column)[0]


def last_move_marked(user: User) -> tuple[int, int] | None:
    """The cell (row, column from 1) the board marks as the last move, from its c4-last-R-C class."""
    (board,) = user.find(marker="board").elements
    marks = [c for c in board.classes if c.startswith("c4-last-")]
    assert len(marks) <= 1, marks
    if not marks:
        return None
    row, column = marks[0].removeprefix("c4-last-").split("-")
    return int(row), int(column)


def element_of(user: User, marker: str) -> int:
    """The id of the one element with ``marker``."""
    (element,) = user.find(marker=marker).elements
    return element.id


def status(user: User) -> str:
    (label,) = user.find(kind=ui.label, marker="status").elements
    return str(label.text)


@contextmanager
def sent_messages(user: User, kind: str) -> Iterator[list[dict[str, Any]]]:
    """Record the messages of ``kind`` ("update", "run_javascript") sent to this user's browser in the block."""
    assert user.client is not None
    outbox = user.client.outbox
    original = outbox._emit
    sent: list[dict[str, Any]] = []

    async def recording_emit(message: Any) -> None:
        _, message_kind, data = message
        if message_kind == kind:
            sent.append({key: value for key, value in data.items() if key != "_id"})
        await original(message)

    outbox._emit = recording_emit  # type: ignore[method-assign]
    try:
        yield sent
    finally:
        outbox._emit = original  # type: ignore[method-assign]


def sent_updates(user: User) -> AbstractContextManager[list[dict[str, Any]]]:
    """Record the element updates the server sends to this user's browser while the block runs."""
    return sent_messages(user, "update")
