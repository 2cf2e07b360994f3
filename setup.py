"""Build of the compiled core: the engine, components and metrics modules through mypyc.

The metadata lives in ``pyproject.toml``; this file only adds the extension
modules. They are built from the same source as the pure-Python package and
land beside it (``make`` runs ``python setup.py build_ext --inplace`` in the
project's virtualenv, where mypy, which carries mypyc, is a dev extra).
Every module of those three packages is compiled, found by globbing, so a new
module there is compiled too.

The build falls back to the pure-Python core, with a one-line notice, when
mypyc is not installed (an install without the dev extras, pip's isolated
build environment), when there is no C compiler, or when a module does not
compile; ``ASYNCFLOW_PURE=1`` asks for the pure-Python core. The package
runs the same either way.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent
COMPILED_PACKAGES = ("engine", "components", "metrics")
NOTICE = "asyncflow: building the pure-Python core"


def compiled_sources() -> list[str]:
    """Every module of the compiled packages (their ``__init__`` files stay Python)."""
    found: list[str] = []
    for package in COMPILED_PACKAGES:
        for path in sorted((ROOT / "src" / "asyncflow" / package).glob("*.py")):
            if path.name != "__init__.py":
                found.append(str(path.relative_to(ROOT)))
    return found


def _notice(reason: str) -> None:
    print(f"{NOTICE} ({reason})", file=sys.stderr, flush=True)


def extensions() -> list[object]:
    """The mypyc extension modules, or none when the compiled core cannot be built."""
    if os.environ.get("ASYNCFLOW_PURE", "") not in ("", "0"):
        return []
    if "build_ext" not in sys.argv:
        return []  # metadata, sdists and wheels from pip: the pure-Python core
    try:
        from mypyc.build import mypycify
    except ImportError:
        _notice("mypyc is not installed")
        return []
    try:
        modules: list[object] = mypycify(compiled_sources(), opt_level="3", debug_level="0")
    except (SystemExit, Exception) as error:  # mypyc exits on a type error
        _notice(f"mypyc refused the source: {error}")
        return []
    return modules


class OptionalBuildExt(build_ext):
    """``build_ext`` that leaves the pure-Python core in place when compiling fails."""

    def run(self) -> None:
        """Build the extension modules; on failure remove them all and say so."""
        try:
            super().run()
        except Exception as error:  # no compiler, a compiler error, a link error
            remove_compiled()  # no mix of compiled and pure modules
            _notice(f"compiling failed: {type(error).__name__}: {error}")
            return
        # Stamped now: a module is current when its compiled file is newer than its
        # source (copies keep the time of an earlier build when nothing changed).
        for path in compiled_files():
            path.touch()


def compiled_files() -> list[Path]:
    """The compiled modules built in place."""
    src = ROOT / "src"
    paths = list(src.glob("*__mypyc*"))
    for package in COMPILED_PACKAGES:
        paths += (src / "asyncflow" / package).glob("*.so")
        paths += (src / "asyncflow" / package).glob("*.pyd")
    return paths


def remove_compiled() -> None:
    """Delete the compiled modules built in place (the pure-Python core remains)."""
    for path in compiled_files():
        path.unlink()


setup(ext_modules=extensions(), cmdclass={"build_ext": OptionalBuildExt})
