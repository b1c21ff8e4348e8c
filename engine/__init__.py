"""Connect Four engine: the rules and the solver, in pure standard-library Python.

The install compiles some modules with mypyc (see setup.py). ``CONNECT4_ENGINE=interpreted`` in the
environment makes this package load every module from its ``.py`` source instead, so that one
checkout can run, test and benchmark both builds.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import logging
import os
import sys
from collections.abc import Sequence
from types import ModuleType

__all__ = ["INTERPRETED_ENV", "build", "log_build"]

#: The environment variable, and its value, that force the interpreted build.
INTERPRETED_ENV = ("CONNECT4_ENGINE", "interpreted")

_log = logging.getLogger(__name__)


class _SourceFinder(importlib.machinery.PathFinder):
    """Finds ``engine.*`` modules by their ``.py`` files only, skipping any compiled extension."""

    @classmethod
    def find_spec(
        cls, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if not fullname.startswith(__name__ + ".") or path is None:
            return None
        name = fullname.rpartition(".")[2]
        for folder in path:
            source = os.path.join(folder, name + ".py")
            if os.path.isfile(source):
                return importlib.util.spec_from_file_location(fullname, source)
        return None


if os.environ.get(INTERPRETED_ENV[0]) == INTERPRETED_ENV[1]:
    sys.meta_path.insert(0, _SourceFinder())


def build() -> str:
    """Which build of the solver runs: ``"compiled"`` (by mypyc) or ``"interpreted"``."""
    from engine import solver

    return "compiled" if solver.COMPILED else "interpreted"


def log_build() -> str:
    """Log, in one line, which build of the solver runs, and return it."""
    which = build()
    if which == "compiled":
        _log.info("engine: the solver runs compiled by mypyc")
    else:
        _log.info("engine: the solver runs interpreted (no compiled build installed, or %s=%s)", *INTERPRETED_ENV)
    return which
