"""Small helpers for the user-fixture stories: play a column, read a cell, count what a move sends."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from nicegui import ui
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


def click_column(user: User, column: int) -> None:
    """Click the control labelled "Column N" (N from 1)."""
    element = user.find(marker=f"column-{column}").elements.pop()
    assert element.props["aria-label"] == f"Column {column}"
    user.find(marker=f"column-{column}").click()


def play(user: User, columns: str) -> None:
    """Click a sequence of columns given in solver notation ("4453")."""
    for char in columns:
        click_column(user, int(char))


def press_key(user: User, key: str) -> None:
    """Press and release a key on the page's keyboard listener."""
    user.find(ui.keyboard).trigger("key", {**KEY_ARGS, "key": key})


def cell_label(user: User, row: int, column: int) -> str:
    """The aria-label of the cell at ``row``, ``column`` (both from 1, rows from the bottom)."""
    element = user.find(marker=f"cell-{row}-{column}").elements.pop()
    return str(element.props["aria-label"])


def cell_classes(user: User, row: int, column: int) -> list[str]:
    return list(user.find(marker=f"cell-{row}-{column}").elements.pop().classes)


def element_of(user: User, marker: str) -> int:
    """The id of the one element with ``marker``."""
    (element,) = user.find(marker=marker).elements
    return element.id


def status(user: User) -> str:
    (label,) = user.find(kind=ui.label, marker="status").elements
    return str(label.text)


@contextmanager
def sent_updates(user: User) -> Iterator[list[dict[str, Any]]]:
    """Record the element updates the server sends to this user's browser while the block runs."""
    assert user.client is not None
    outbox = user.client.outbox
    original = outbox._emit
    sent: list[dict[str, Any]] = []

    async def recording_emit(message: Any) -> None:
        _, kind, data = message
        if kind == "update":
            sent.append({key: value for key, value in data.items() if key != "_id"})
        await original(message)

    outbox._emit = recording_emit  # type: ignore[method-assign]
    try:
        yield sent
    finally:
        outbox._emit = original  # type: ignore[method-assign]
