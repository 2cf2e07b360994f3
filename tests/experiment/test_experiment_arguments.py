"""Every public entry point of the experiment API checks its arguments first.

A wrong type raises TypeError, a wrong value ExperimentError (a ValueError);
both name the parameter, what was expected and what was given.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from experiment_scenarios import small

from asyncflow.errors import ExperimentError, ScenarioError
from asyncflow.experiment import (
    Comparison,
    Ensemble,
    ReplicationOptions,
    StoppingRule,
    compare,
    replicate,
)

REPLICATE_CASES: list[tuple[dict[str, Any], type[Exception], str]] = [
    ({"runs": 0}, ExperimentError, "runs: expected an integer >= 1 (got 0)"),
    ({"runs": "3"}, TypeError, "runs: expected an integer >= 1 (got '3', a str)"),
    ({"runs": 2.0}, TypeError, "runs: expected an integer >= 1 (got 2.0, a float)"),
    ({"runs": True}, TypeError, "runs: expected an integer >= 1 (got True, a bool)"),
    ({"jobs": 0}, ExperimentError, "jobs: expected an integer >= 1 or None (got 0)"),
    ({"jobs": "all"}, TypeError, "jobs: expected an integer >= 1 or None (got 'all', a str)"),
    ({"seed": -2}, ExperimentError, "seed: expected an integer >= 0 or None (got -2)"),
    ({"seed": 1.5}, TypeError, "seed: expected an integer >= 0 or None (got 1.5, a float)"),
    ({"confidence": 1.0}, ExperimentError, "confidence: expected a number in (0, 1) (got 1.0)"),
    (
        {"confidence": float("nan")},
        ExperimentError,
        "confidence: expected a number in (0, 1) (got nan)",
    ),
    (
        {"confidence": "95%"},
        TypeError,
        "confidence: expected a number in (0, 1) (got '95%', a str)",
    ),
    ({"precision": 0.0}, ExperimentError, "precision: expected a number > 0 (got 0.0)"),
    (
        {"precision": 0.1, "max_runs": 3},
        ExperimentError,
        "max_runs: expected an integer >= 5 (got 3)",
    ),
    (
        {"precision": 0.1, "runs": 20, "max_runs": 10},
        ExperimentError,
        "max_runs: expected an integer >= runs (20) (got 10)",
    ),
    (
        {"metric": 3},
        TypeError,
        "metric: expected a figure path such as 'latency_s.mean' (got 3, an int)",
    ),
    (
        {"warm_up": 20.0},
        ExperimentError,
        "warm_up: expected seconds in [0, 20), below the horizon of 'small' (got 20)",
    ),
    (
        {"warm_up": "soon"},
        ExperimentError,
        "warm_up: expected a number of seconds >= 0, 'auto' or None (got 'soon')",
    ),
    (
        {"warm_up": -1},
        ExperimentError,
        "warm_up: expected a number of seconds >= 0, 'auto' or None (got -1)",
    ),
    ({"progress": "bar"}, TypeError, "progress: expected a callable or None (got 'bar', a str)"),
]


@pytest.mark.parametrize(("kwargs", "error", "message"), REPLICATE_CASES)
def test_replicate_refuses_bad_arguments(
    kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=f"^{re.escape(message)}$"):
        replicate(small(), **{"jobs": 1, **kwargs})


@pytest.mark.parametrize(
    ("scenario", "message"),
    [
        (
            42,
            "scenario: expected a Scenario, a mapping or the path of a YAML/JSON file "
            "(got 42, an int)",
        ),
        (
            None,
            "scenario: expected a Scenario, a mapping or the path of a YAML/JSON file "
            "(got None, a NoneType)",
        ),
        (
            b"s.yml",
            "scenario: expected a Scenario, a mapping or the path of a YAML/JSON file "
            "(got b's.yml', a bytes)",
        ),
    ],
)
def test_a_scenario_of_the_wrong_type_is_named(scenario: object, message: str) -> None:
    with pytest.raises(TypeError, match=f"^{re.escape(message)}$"):
        replicate(scenario, runs=1, jobs=1)  # type: ignore[arg-type]


def test_a_mapping_is_validated_as_a_scenario(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError):
        replicate({"rqs_input": {}}, runs=1, jobs=1)
    data = small().model_dump(mode="json", exclude_none=True)
    ensemble = replicate(data, runs=1, jobs=1)
    assert ensemble.runs == 1


def test_compare_refuses_one_run_like_the_command_line() -> None:
    message = (
        "runs: expected an integer >= 2: a paired difference needs two pairs for an interval "
        "(got 1)"
    )
    with pytest.raises(ExperimentError, match=f"^{re.escape(message)}$"):
        compare(small("a"), small("b"), runs=1, jobs=1)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            {"a": 1},
            TypeError,
            "a: expected a Scenario, a mapping or the path of a YAML/JSON file (got 1, an int)",
        ),
        (
            {"b": [1]},
            TypeError,
            "b: expected a Scenario, a mapping or the path of a YAML/JSON file (got [1], a list)",
        ),
        ({"confidence": 0}, ExperimentError, "confidence: expected a number in (0, 1) (got 0)"),
        (
            {"warm_up": "later"},
            ExperimentError,
            "warm_up: expected a number of seconds >= 0, 'auto' or None (got 'later')",
        ),
    ],
)
def test_compare_refuses_bad_arguments(
    kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    arguments = {"a": small("a"), "b": small("b"), "runs": 2, "jobs": 1, **kwargs}
    with pytest.raises(error, match=f"^{re.escape(message)}$"):
        compare(**arguments)


@pytest.fixture(scope="module")
def ensemble() -> Ensemble:
    return replicate(small(), runs=2, jobs=1)


def test_ensemble_methods_check_their_arguments(ensemble: Ensemble) -> None:
    with pytest.raises(ExperimentError, match=r"^confidence: expected a number in \(0, 1\) "):
        ensemble.stats("latency_s.mean", confidence=2.0)
    with pytest.raises(TypeError, match=r"^path: expected a figure path \(got 3, an int\)$"):
        ensemble.values(3)  # type: ignore[arg-type]
    with pytest.raises(ExperimentError, match=r"^q: expected a number in \(0, 1\) \(got 1.5\)$"):
        ensemble.quantile("latency_s.mean", 1.5)
    with pytest.raises(TypeError, match=r"^objective: expected an objective such as "):
        ensemble.probability(0.2)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^a: expected an Ensemble \(got 'x', a str\)$"):
        Comparison("x", ensemble)  # type: ignore[arg-type]
    assert np.isfinite(ensemble.values("latency_s.mean")).all()


def test_options_are_checked_when_built() -> None:
    assert ReplicationOptions().runs == 10
    with pytest.raises(TypeError, match=r"^runs: expected an integer >= 1 \(got None"):
        ReplicationOptions(runs=None)  # type: ignore[arg-type]
    with pytest.raises(ExperimentError, match=r"^precision: expected a number > 0 \(got -1\)$"):
        StoppingRule(precision=-1)


@pytest.mark.parametrize(
    ("envelope", "error"),
    [((5.0,), TypeError), ((95.0, 5.0), ExperimentError), ((5.0, 101.0), ExperimentError)],
)
def test_band_envelope_is_checked(
    ensemble: Ensemble, envelope: tuple[float, ...], error: type[Exception]
) -> None:
    expected = "envelope: expected two percentiles (low, high) with 0 <= low < high <= 100"
    with pytest.raises(error, match=f"^{re.escape(expected)} "):
        ensemble.band("throughput_rps", envelope=envelope)  # type: ignore[arg-type]


def test_seeds_and_dask_addresses_are_checked() -> None:
    from asyncflow.experiment import dask_executor, replication_seed, replication_seeds

    with pytest.raises(TypeError, match=r"^index: expected an integer >= 0 \(got '1', a str\)$"):
        replication_seed(0, "1")  # type: ignore[arg-type]
    with pytest.raises(ExperimentError, match=r"^runs: expected an integer >= 0 \(got -1\)$"):
        replication_seeds(0, -1)
    opening = dask_executor(8786)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^address: expected a scheduler address such as "):
        opening.__enter__()
