"""The table of what serving changes in NiceGUI, python-socketio, python-engineio and uvicorn, and how it is installed.

Each :class:`Patch` names the upstream code it changes and carries a fingerprint of that code as
it was when the patch was written. A patch whose upstream source changed (a lock refresh) or
cannot be read (a frozen app) is not installed: the app runs that part unpatched, and the log
says so once, by the patch's name. tests/serving/test_patches.py fails by name in that case.
"""

from __future__ import annotations

import hashlib
import inspect
import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Patch", "PatchState", "fingerprint", "format_table", "install_patches"]

log = logging.getLogger(__name__)

RunOptions = dict[str, Any]
"""Keyword arguments for ``ui.run`` (passed on to uvicorn) that patches may set."""


def fingerprint(function: Callable[..., Any]) -> str | None:
    """The first 16 hex digits of the SHA-256 of ``function``'s source, or None where the source cannot be read."""
    try:
        source = inspect.getsource(function)
    except (OSError, TypeError):  # a frozen app, a compiled-only install, a builtin
        return None
    return hashlib.sha256(source.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Patch:
    """One change to upstream behaviour, as the table in serving/README.md lists it."""

    name: str
    target: str
    """The upstream code it changes."""
    attaches: str
    """How it attaches: a replaced method, a wrapped handler, an attribute, a startup handler, a ``ui.run`` option."""
    written_against: str
    """The upstream version(s) it was written against."""
    buys: str
    """What it buys, as measured."""
    measured_in: str
    """The file that holds the measurement."""
    apply: Callable[[RunOptions], None]
    sources: tuple[tuple[Callable[..., Any], str], ...] = field(default=())
    """Each upstream function whose code the patch depends on, with that code's :func:`fingerprint`."""

    def changed_sources(self) -> list[str]:
        """The qualified names of the upstream functions that are not the code this patch was written against."""
        return [
            f"{function.__module__}.{function.__qualname__}"
            for function, expected in self.sources
            if fingerprint(function) != expected
        ]


@dataclass(frozen=True)
class PatchState:
    """A patch and what became of it at startup."""

    patch: Patch
    installed: bool
    why: str = ""


_WARNED: set[str] = set()


def install_patches(
    patches: tuple[Patch, ...], options: RunOptions, *, enabled: bool = True, skip: Collection[str] = ()
) -> list[PatchState]:
    """Install each patch whose upstream code is unchanged (none unless ``enabled``; none named in ``skip``)."""
    unknown = sorted(set(skip) - {patch.name for patch in patches})
    if unknown:
        names = ", ".join(patch.name for patch in patches)
        raise ValueError(f"SERVER_TUNING_SKIP names no patch: {', '.join(unknown)}; the patches are {names}.")
    states = []
    for patch in patches:
        if not enabled:
            states.append(PatchState(patch, False, "SERVER_TUNING=off"))
            continue
        if patch.name in skip:
            states.append(PatchState(patch, False, "SERVER_TUNING_SKIP"))
            continue
        changed = patch.changed_sources()
        if changed:
            if patch.name not in _WARNED:
                _WARNED.add(patch.name)
                log.warning(
                    "patch %s not installed: upstream %s is not the code it was written against (%s); "
                    "running that part unpatched",
                    patch.name,
                    ", ".join(changed),
                    patch.written_against,
                )
            states.append(PatchState(patch, False, "upstream changed or unreadable"))
            continue
        patch.apply(options)
        states.append(PatchState(patch, True))
    return states


def format_table(states: list[PatchState]) -> str:
    """The patches and whether each is installed, one line each, for the startup log."""
    width = max((len(state.patch.name) for state in states), default=0)
    lines = [
        f"  {state.patch.name:<{width}}  {'installed' if state.installed else 'NOT installed (' + state.why + ')'}"
        f"  {state.patch.target}: {state.patch.buys}"
        for state in states
    ]
    return "\n".join(lines)
