"""Which core a benchmark's child processes run: the compiled one or pure Python.

The compiled core is the same source with extension modules built beside it
(``setup.py``); a child process runs the pure-Python core when its
``PYTHONPATH`` starts with a copy of ``src/`` that leaves them out.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PURE = ROOT / "bench" / "results" / "pure-src"


def pure_source() -> Path:
    """A fresh copy of ``src/`` without extension modules (its parent for ``PYTHONPATH``)."""
    if PURE.exists():
        shutil.rmtree(PURE)
    shutil.copytree(
        ROOT / "src" / "asyncflow",
        PURE / "asyncflow",
        ignore=shutil.ignore_patterns("*.so", "*.pyd", "__pycache__"),
    )
    return PURE


def core_environment(pure: bool) -> dict[str, str]:
    """The environment of a child process running the pure or the installed core."""
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    if pure:
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(pure_source()), env.get("PYTHONPATH", "")) if p
        )
    return env


def installed_core() -> subprocess.CompletedProcess[str]:
    """Ask a child process which core it runs: ``compiled`` or ``pure-Python`` on stdout."""
    return subprocess.run(
        [sys.executable, "-c", "from asyncflow.cli.app import core_name; print(core_name())"],
        capture_output=True,
        text=True,
        env=core_environment(False),
    )
