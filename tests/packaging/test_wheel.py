"""The wheel holds the package, its type marker and the example scenarios.

Builds a wheel from a copy of the sources (pip, with build isolation: it
fetches setuptools), so it is marked slow: CI runs it, `make test` does not.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_wheel_ships_the_examples(tmp_path: Path) -> None:
    source = tmp_path / "src-copy"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    for name in ("src", "examples"):
        shutil.copytree(ROOT / name, source / name, symlinks=True, ignore=ignore)
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(source)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("asyncflow-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        f"asyncflow/examples/{path.relative_to(ROOT / 'examples').as_posix()}"
        for pattern in ("*.yml", "*.py", "asyncflow-0.1/*.yml")
        for path in (ROOT / "examples").glob(pattern)
    }
    assert len(expected) >= 7
    assert expected <= names
    assert {"asyncflow/py.typed", "asyncflow/cli/__init__.py", "asyncflow/_files.py"} <= names
