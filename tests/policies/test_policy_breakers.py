"""Circuit breakers on a server's calls: open on failures, fail fast, close on recovery."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import asyncflow
from asyncflow.errors import ScenarioError
from asyncflow.scenario import Scenario, ScenarioBuilder, parse_scenario
from asyncflow.scenario.builder import call, circuit_breaker, cpu, endpoint, exponential

BREAKER = {
    "type": "circuit_breaker",
    "target": "api",
    "calls_to": "db",
    "window_s": 5,
    "minimum_calls": 10,
    "open_s": 2,
}


def _outage(policies: list[dict[str, Any]]) -> Scenario:
    """``api`` calls ``db``; ``db`` is down from t = 20 s to t = 40 s."""
    return (
        ScenarioBuilder("outage")
        .workload(users=20, requests_per_minute=60, id="web")
        .client()
        .server("api", endpoints=[endpoint("/a", cpu(0.001), call("db"), cpu(0.002))])
        .server("db", cpu_cores=2, endpoints=[endpoint("/q", cpu(exponential(0.004)))])
        .wire(latency=exponential(0.001))
        .outage("db", start=20, end=40)
        .settings(horizon_s=60)
        .policy(*policies)
        .build()
    )


def _outcomes(results: asyncflow.Results, start: float, end: float) -> dict[str, int]:
    r = results.requests
    rows = (r.generated_s >= start) & (r.generated_s < end)
    values, counts = np.unique(r.outcome[rows], return_counts=True)
    return {r.reason_names[v]: int(c) for v, c in zip(values, counts, strict=True)}


@pytest.fixture(scope="module")
def broken() -> asyncflow.Results:
    return asyncflow.run(_outage([BREAKER]), seed=1)


def test_the_breaker_fails_fast_during_an_outage(broken: asyncflow.Results) -> None:
    during = _outcomes(broken, 20.0, 40.0)
    # Once open, calls to db fail at api without being sent; probes still find db down.
    assert during["circuit_open"] > 5 * during.get("server_down", 0)
    assert "completed" not in during
    figures = broken.summary()["policies"]["circuit_breakers"]["api->db"]
    assert figures["refused"] == broken.summary()["requests"]["failed_by_reason"]["circuit_open"]
    assert figures["opens"] >= 2  # a probe during the outage opens it again


def test_the_breaker_closes_once_the_dependency_is_back(broken: asyncflow.Results) -> None:
    assert _outcomes(broken, 0.0, 20.0) == {"completed": _outcomes(broken, 0.0, 20.0)["completed"]}
    assert set(_outcomes(broken, 45.0, 59.0)) == {"completed"}
    level = broken.series("circuit_open:db", "api")
    opened = level.mean[(level.t >= 21.0) & (level.t < 40.0)]
    closed = level.mean[level.t >= 45.0]
    assert opened.mean() > 0.5
    assert np.all(closed == 0.0)
    assert np.all(level.mean[level.t < 20.0] == 0.0)


def test_the_builder_writes_what_a_file_holds() -> None:
    spec = circuit_breaker("api", "db", window_s=5, minimum_calls=10, open_s=2)
    assert spec == {**BREAKER, "failure_ratio": 0.5, "probes": 1}


def test_without_a_breaker_every_call_goes_to_the_dead_dependency() -> None:
    results = asyncflow.run(_outage([]), seed=1)
    during = _outcomes(results, 20.0, 40.0)
    assert set(during) == {"server_down"}
    assert "policies" not in results.summary()


def test_a_breaker_under_its_threshold_changes_nothing() -> None:
    """No outage, no failure: the breaker stays closed and the run is the plain one."""
    plain = _outage([]).model_dump(mode="json", exclude_defaults=True)
    plain["events"] = []
    guarded = {**plain, "policies": [BREAKER]}
    first = asyncflow.run(parse_scenario(plain), seed=3)
    second = asyncflow.run(parse_scenario(guarded), seed=3)
    assert np.array_equal(first.requests.finished_s, second.requests.finished_s, equal_nan=True)
    assert second.summary()["policies"]["circuit_breakers"]["api->db"] == {"opens": 0, "refused": 0}


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (
            {**BREAKER, "target": "web"},
            "policies[0].target: a circuit_breaker needs a server, 'web' is a workload "
            "(got 'web')",
        ),
        (
            {**BREAKER, "target": "apx"},
            "policies[0].target: unknown server (did you mean 'api'?) (got 'apx')",
        ),
        (
            {**BREAKER, "calls_to": "dbb"},
            "policies[0].calls_to: 'api' makes no calls to 'dbb' (did you mean 'db'?)",
        ),
        (
            {**BREAKER, "failure_ratio": 0},
            "policies[0].failure_ratio: must be > 0 (got 0)",
        ),
        (
            {**BREAKER, "probes": 0},
            "policies[0].probes: must be >= 1 (got 0)",
        ),
    ],
)
def test_bad_breakers_are_named_with_rule_and_value(policy: dict[str, Any], expected: str) -> None:
    with pytest.raises(ScenarioError) as info:
        _outage([policy])
    assert list(info.value.problems) == [expected]
