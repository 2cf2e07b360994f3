"""Bulkheads per dependency: a cap on the calls a server has out to one node."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from asyncflow.errors import ScenarioError
from asyncflow.scenario import Scenario, ScenarioBuilder, parse_scenario
from asyncflow.scenario.builder import call, concurrency_limit, cpu, deterministic, endpoint, io
from asyncflow.simulation import Simulation


def _fan(policies: list[dict[str, Any]]) -> Scenario:
    """``api`` calls a slow ``db`` and a fast ``cache``; 30 requests per second."""
    return (
        ScenarioBuilder("fan")
        .workload(users=30, requests_per_minute=60, distribution="deterministic", id="web")
        .client()
        .server("api", endpoints=[endpoint("/a", cpu(0.001), call("cache"), call("db"))])
        .server("db", endpoints=[endpoint("/q", io(deterministic(0.5)))])
        .server("cache", endpoints=[endpoint("/g", io(deterministic(0.001)))])
        .wire(latency=deterministic(0.001))
        .settings(horizon_s=60)
        .policy(*policies)
        .build()
    )


def _most_out_at_once(simulation: Simulation, site_key_end: str) -> int:
    """The most answered calls of a site that were out at the same time."""
    results_calls = simulation.results().calls
    assert results_calls is not None
    keys = [s.key for s in simulation.runtime.sites]
    site = next(i for i, k in enumerate(keys) if k.endswith(site_key_end))
    mask = (results_calls.site == site) & (results_calls.outcome == 1)
    starts, ends = results_calls.start_s[mask], results_calls.end_s[mask]
    events = sorted([(t, 1) for t in starts] + [(t, -1) for t in ends], key=lambda e: (e[0], e[1]))
    level = top = 0
    for _, step in events:
        level += step
        top = max(top, level)
    return top


def test_calls_beyond_the_cap_fail_at_once_at_the_caller() -> None:
    simulation = Simulation(
        _fan([concurrency_limit("api", 4, calls_to="db")]), 1, record_calls=True
    )
    results = simulation.run()
    r = results.requests
    shed = r.outcome == r.reason_names.index("shed")
    assert np.count_nonzero(shed) > 500
    assert set(np.asarray(results.places)[r.failed_at[shed]]) == {"api"}
    assert float((r.finished_s - r.generated_s)[shed].max()) < 0.1  # no wait for db
    assert _most_out_at_once(simulation, "/a@2.0") <= 4
    assert results.summary()["policies"]["calls_out"]["api->db"]["shed"] == int(
        np.count_nonzero(shed)
    )


def test_the_other_dependency_is_not_limited() -> None:
    simulation = Simulation(
        _fan([concurrency_limit("api", 4, calls_to="db")]), 1, record_calls=True
    )
    simulation.run()
    assert _most_out_at_once(simulation, "/a@1.0") >= 1
    assert simulation.runtime.bulkheads[("api", "db")].shed > 0
    assert ("api", "cache") not in simulation.runtime.bulkheads


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (
            {"endpoint": "/a"},
            ["policies[0].endpoint: not with calls_to (a limit on calls out sheds at the caller)"],
        ),
        (
            {"queue": {"max_length": 3}},
            ["policies[0].queue: not with calls_to (a limit on calls out sheds at the caller)"],
        ),
        (
            {"calls_to": "web"},
            ["policies[0].calls_to: 'api' makes no calls to 'web'"],
        ),
    ],
)
def test_bad_bulkheads_are_named(extra: dict[str, Any], expected: list[str]) -> None:
    data = _fan([]).model_dump(mode="json", exclude_defaults=True)
    data["policies"] = [{**concurrency_limit("api", 4, calls_to="db"), **extra}]
    with pytest.raises(ScenarioError) as info:
        parse_scenario(data)
    assert list(info.value.problems) == expected
