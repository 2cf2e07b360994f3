"""Health policies in the scenario: exact messages for bad input, the schema, the builder."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from asyncflow.errors import ScenarioError
from asyncflow.scenario import parse_scenario
from asyncflow.scenario.builder import health_check, outlier_ejection
from asyncflow.scenario.policies_health import HealthCheck, OutlierEjection
from asyncflow.scenario.schema import scenario_json_schema

from .conftest import fleet, fleet_data

CHECK = {"type": "health_check", "target": "lb-1"}
EJECT = {"type": "outlier_ejection", "target": "lb-1"}

CASES: list[tuple[str, list[Any], list[str]]] = [
    (
        "check on a server",
        [{**CHECK, "target": "srv-1"}],
        [
            "policies[0].target: a health_check needs a load balancer, 'srv-1' is a server "
            "(got 'srv-1')"
        ],
    ),
    (
        "ejection on the client",
        [{**EJECT, "target": "client-1"}],
        [
            "policies[0].target: an outlier_ejection needs a load balancer, 'client-1' is the "
            "client (got 'client-1')"
        ],
    ),
    (
        "check on a workload",
        [{**CHECK, "target": "web"}],
        [
            "policies[0].target: a health_check needs a load balancer, 'web' is a workload "
            "(got 'web')"
        ],
    ),
    (
        "unknown balancer",
        [{**CHECK, "target": "lb-2"}],
        ["policies[0].target: unknown load balancer (did you mean 'lb-1'?) (got 'lb-2')"],
    ),
    (
        "timeout past the interval",
        [{**CHECK, "interval_s": 1, "timeout_s": 1.5}],
        [
            "policies[0].timeout_s: must be <= interval_s (1): one probe at a time per server "
            "(got 1.5)"
        ],
    ),
    (
        "zero interval",
        [{**CHECK, "interval_s": 0}],
        ["policies[0].interval_s: must be > 0 (got 0)"],
    ),
    (
        "zero threshold",
        [{**CHECK, "unhealthy_threshold": 0}],
        ["policies[0].unhealthy_threshold: must be >= 1 (got 0)"],
    ),
    (
        "threshold as a float",
        [{**CHECK, "healthy_threshold": 2.5}],
        ["policies[0].healthy_threshold: must be an integer (got 2.5)"],
    ),
    (
        "ratio above one",
        [{**EJECT, "max_ejected_ratio": 1.5}],
        ["policies[0].max_ejected_ratio: must be <= 1 (got 1.5)"],
    ),
    (
        "longest below the first",
        [{**EJECT, "ejection_s": 30, "max_ejection_s": 10}],
        ["policies[0].max_ejection_s: must be >= ejection_s (30) (got 10.0)"],
    ),
    (
        "misspelled key",
        [{**EJECT, "consecutive_failure": 3}],
        ["policies[0].consecutive_failure: unknown field (did you mean 'consecutive_failures'?)"],
    ),
    (
        "two checks on one balancer",
        [CHECK, EJECT, {**CHECK, "interval_s": 5}],
        [
            "policies[2].target: a second health_check on the same balancer (also policies[0]) "
            "(got 'lb-1')"
        ],
    ),
]


@pytest.mark.parametrize(
    ("policies", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_health_policies_are_named_with_rule_and_value(
    policies: list[Any], expected: list[str]
) -> None:
    data = fleet_data()
    data["policies"] = policies
    with pytest.raises(ScenarioError) as info:
        parse_scenario(data)
    assert list(info.value.problems) == expected


def test_a_replica_group_behind_the_balancer_is_refused() -> None:
    data = fleet_data(outage=None)
    data["topology_graph"]["nodes"]["servers"][0]["replicas"] = {
        "min_replicas": 1,
        "max_replicas": 2,
        "initial_replicas": 1,
    }
    data["policies"] = [CHECK]
    with pytest.raises(ScenarioError) as info:
        parse_scenario(data)
    assert list(info.value.problems) == [
        "policies[0].target: a health_check cannot watch a replica group yet ('srv-1': its "
        "readiness decides its rotation) (got 'lb-1')"
    ]


def test_the_defaults_are_the_documented_ones() -> None:
    check, eject = fleet([CHECK, EJECT]).policies
    assert isinstance(check, HealthCheck)
    assert (check.interval_s, check.timeout_s) == (2.0, 1.0)
    assert (check.healthy_threshold, check.unhealthy_threshold) == (2, 3)
    assert isinstance(eject, OutlierEjection)
    assert (eject.consecutive_failures, eject.ejection_s, eject.max_ejected_ratio) == (5, 30.0, 0.1)
    assert eject.longest_s == 300.0


def test_the_builder_writes_what_a_file_holds() -> None:
    built = fleet(
        [health_check("lb-1", interval_s=5.0), outlier_ejection("lb-1", ejection_s=400.0)]
    )
    check, eject = built.policies
    assert isinstance(check, HealthCheck)
    assert check.interval_s == 5.0
    assert isinstance(eject, OutlierEjection)
    assert eject.longest_s == 400.0


def test_the_schema_accepts_them_and_refuses_unknown_keys() -> None:
    schema = scenario_json_schema()
    data = fleet_data([health_check("lb-1"), outlier_ejection("lb-1", max_ejection_s=60.0)])
    jsonschema.validate(data, schema)
    data["policies"][0]["probe"] = 1
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, schema)
