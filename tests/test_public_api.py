from __future__ import annotations

import asyncflow


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
    assert issubclass(asyncflow.SimulationError, RuntimeError)
