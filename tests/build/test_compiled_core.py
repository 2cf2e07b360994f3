"""The compiled core (mypyc, ``setup.py``) and the pure-Python core give the same results.

The compiled core is the same source built into extension modules beside it.
A copy of ``src/`` without them runs the pure-Python core in a subprocess
(``PYTHONPATH``); both run every bundled example and write its summary and
request table, which must be identical byte for byte. In CI (``CI=true``)
the suite must run on the compiled core.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

import pytest

import asyncflow
from asyncflow.cli.app import core_name

SRC = Path(asyncflow.__file__).resolve().parent.parent
COMPILED_PACKAGES = ("engine", "components", "metrics")
IN_CI = os.environ.get("CI", "").lower() in ("true", "1", "yes")

# Run in a child process: every bundled example, its summary (without the wall
# time) as JSON and its request table as CSV, into the directory given.
CHILD = """
import json, sys
from pathlib import Path
import asyncflow
from asyncflow.cli.app import core_name

def without_wall_time(value):
    if isinstance(value, dict):
        return {k: without_wall_time(v) for k, v in value.items() if k != "wall_s"}
    if isinstance(value, list):
        return [without_wall_time(v) for v in value]
    return value

out = Path(sys.argv[1])
examples = Path(asyncflow.__file__).parent / "examples"
print(core_name())
for path in sorted(examples.rglob("*.yml")):
    name = str(path.relative_to(examples)).replace("/", "_")
    results = asyncflow.run(path)
    summary = without_wall_time(results.summary())
    (out / f"{name}.json").write_text(json.dumps(summary, sort_keys=True, default=str))
    results.write_csv(out / f"{name}.csv")
"""


def _modules(package: str) -> list[Path]:
    return sorted(p for p in (SRC / "asyncflow" / package).glob("*.py") if p.name != "__init__.py")


def _compiled(module: Path) -> list[Path]:
    return [
        module.with_suffix(suffix)
        for suffix in EXTENSION_SUFFIXES
        if module.with_suffix(suffix).exists()
    ]


def _require_compiled() -> None:
    if core_name() != "compiled":
        if IN_CI:
            pytest.fail("CI must run on the compiled core, but the pure-Python core is installed")
        pytest.skip("no compiled core is built here (make core builds it; needs a C compiler)")


def _run_child(out: Path, pythonpath: Path | None) -> str:
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    out.mkdir()
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(out)], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()[0]


def test_the_suite_runs_on_the_compiled_core_in_ci() -> None:
    if not IN_CI:
        pytest.skip("only CI requires the compiled core (CI=true)")
    assert core_name() == "compiled", "CI runs the suite on the compiled core: build it (make core)"


def test_every_module_of_the_compiled_packages_is_compiled_and_current() -> None:
    _require_compiled()
    for package in COMPILED_PACKAGES:
        for module in _modules(package):
            built = _compiled(module)
            assert built, f"{module.relative_to(SRC)} has no compiled module: run make core"
            # An extension module older than its source would run the old code.
            assert built[0].stat().st_mtime >= module.stat().st_mtime, (
                f"{built[0].relative_to(SRC)} is older than its source: run make core"
            )


def test_compiled_and_pure_cores_give_identical_results_on_every_example(tmp_path: Path) -> None:
    _require_compiled()
    pure_src = tmp_path / "pure-src"
    shutil.copytree(
        SRC / "asyncflow",
        pure_src / "asyncflow",
        ignore=shutil.ignore_patterns("*.so", "*.pyd", "__pycache__"),
    )
    assert _run_child(tmp_path / "compiled", None) == "compiled"
    assert _run_child(tmp_path / "pure", pure_src) == "pure-Python"
    compiled = sorted(p.name for p in (tmp_path / "compiled").iterdir())
    assert compiled == sorted(p.name for p in (tmp_path / "pure").iterdir())
    assert len(compiled) >= 2 * 7  # a summary and a table for each bundled example
    for name in compiled:
        a = (tmp_path / "compiled" / name).read_bytes()
        b = (tmp_path / "pure" / name).read_bytes()
        assert a == b, f"{name}: the compiled and pure-Python cores differ"
