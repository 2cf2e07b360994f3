from __future__ import annotations

import importlib.metadata
import inspect
import re
import tomllib
from pathlib import Path

import pytest

import asyncflow
import asyncflow.errors

ROOT = Path(__file__).resolve().parents[1]


def test_all_lists_exactly_the_public_names() -> None:
    public = {
        name
        for name in vars(asyncflow)
        if not name.startswith("_")
        and not isinstance(getattr(asyncflow, name), type(asyncflow))  # submodules
    }
    assert set(asyncflow.__all__) == public
    assert sorted(asyncflow.__all__) == list(asyncflow.__all__)


def test_errors_derive_from_the_matching_builtins() -> None:
    assert issubclass(asyncflow.ScenarioError, ValueError)
    assert issubclass(asyncflow.ScenarioError, asyncflow.AsyncFlowError)
    assert issubclass(asyncflow.ExperimentError, ValueError)
    assert issubclass(asyncflow.ExperimentError, asyncflow.AsyncFlowError)
    assert issubclass(asyncflow.SimulationError, RuntimeError)


ERRORS = [
    obj
    for _, obj in inspect.getmembers(asyncflow.errors, inspect.isclass)
    if issubclass(obj, asyncflow.AsyncFlowError)
]


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: e.__name__)
def test_every_error_is_exported_and_drawn_in_the_tree(error: type) -> None:
    assert error.__name__ in asyncflow.__all__
    assert error.__name__ in asyncflow.errors.__all__
    assert f"{error.__name__}" in (asyncflow.errors.__doc__ or "")


def test_the_version_has_one_source() -> None:
    """pyproject.toml reads the version from the package; no other copy exists."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in pyproject["project"]
    assert pyproject["project"]["dynamic"] == ["version"]
    dynamic = pyproject["tool"]["setuptools"]["dynamic"]
    assert dynamic["version"] == {"attr": "asyncflow.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+(\.dev\d+)?", asyncflow.__version__)
    assert importlib.metadata.version("asyncflow").startswith(
        asyncflow.__version__.split(".dev")[0]
    )
