"""Build hook: compile the engine with mypyc where a C compiler is present, else install it as Python source.

Everything else about the package is declared in pyproject.toml; this file only adds the compiled
extensions. Set CONNECT4_NO_COMPILE=1 to skip compiling on purpose.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from setuptools import setup
from setuptools.command.build_ext import build_ext

#: The modules mypyc compiles: the bitboard core and everything that searches.
COMPILED_MODULES = ["engine/bitboard.py", "engine/book.py", "engine/search.py", "engine/levels.py"]

log = logging.getLogger("connect4.build")


class OptionalBuildExt(build_ext):
    """build_ext that leaves the engine interpreted, with a warning, when the C build fails."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # no compiler, no Python.h: the .py sources still work
            self.warn(f"the engine stays interpreted: compiling it failed ({exc})")

    def build_extension(self, ext: Any) -> None:
        try:
            super().build_extension(ext)
        except Exception as exc:
            self.warn(f"the engine stays interpreted: compiling {ext.name} failed ({exc})")


def ext_modules() -> list[Any]:
    if os.environ.get("CONNECT4_NO_COMPILE") == "1":
        return []
    try:
        from mypyc.build import mypycify
    except ImportError as exc:
        log.warning("the engine stays interpreted: mypyc is not available (%s)", exc)
        return []
    try:
        extensions = list(mypycify(COMPILED_MODULES, opt_level="3", strict_dunder_typing=False))
    except Exception as exc:  # mypyc refused the source: still install it as Python
        log.warning("the engine stays interpreted: mypyc failed (%s)", exc)
        return []
    if os.name == "posix":
        for extension in extensions:
            # Lets the C compiler inline the small bitboard functions into the search (they are
            # exported symbols of one shared library, which it otherwise must call through the PLT).
            extension.extra_compile_args = [*extension.extra_compile_args, "-fno-semantic-interposition"]
    return extensions


setup(ext_modules=ext_modules(), cmdclass={"build_ext": OptionalBuildExt})
