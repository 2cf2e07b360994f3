"""The policies section: exact messages for bad input, the schema, the builder."""

from __future__ import annotations

import re
from typing import Any

import jsonschema
import pytest

from asyncflow.errors import ScenarioError
from asyncflow.scenario import parse_scenario
from asyncflow.scenario.builder import admission_queue, concurrency_limit, rate_limit
from asyncflow.scenario.policies import ConcurrencyLimit, RateLimit
from asyncflow.scenario.schema import scenario_json_schema

from .conftest import guarded, guarded_data

RATE = {"type": "rate_limit", "target": "srv-1", "rate_per_s": 50, "burst": 10}
CAP = {"type": "concurrency_limit", "target": "srv-1", "max_in_flight": 5}

CASES: list[tuple[str, list[Any], list[str]]] = [
    (
        "unknown target",
        [{**RATE, "target": "srv-3"}],
        ["policies[0].target: unknown node (did you mean 'srv-2'?) (got 'srv-3')"],
    ),
    (
        "cap on a balancer",
        [{**CAP, "target": "lb-1"}],
        [
            "policies[0].target: a concurrency_limit needs a server, 'lb-1' is a load balancer "
            "(got 'lb-1')"
        ],
    ),
    (
        "rate limit on the client",
        [{**RATE, "target": "client-1"}],
        [
            "policies[0].target: a rate_limit needs a server or a load balancer, 'client-1' is "
            "the client (got 'client-1')"
        ],
    ),
    (
        "rate limit on a workload",
        [{**RATE, "target": "web"}],
        [
            "policies[0].target: a rate_limit needs a server or a load balancer, 'web' is a "
            "workload (got 'web')"
        ],
    ),
    (
        "misspelled type",
        [{**RATE, "type": "rate_limt"}],
        [
            "policies[0].type: must be one of rate_limit, concurrency_limit, timeout, retry, "
            "circuit_breaker, health_check, outlier_ejection (did you mean 'rate_limit'?) "
            "(got 'rate_limt')"
        ],
    ),
    (
        "no type",
        [{"target": "srv-1", "rate_per_s": 5}],
        [
            "policies[0].type: required field missing (one of rate_limit, concurrency_limit, "
            "timeout, retry, circuit_breaker, health_check, outlier_ejection)"
        ],
    ),
    ("zero rate", [{**RATE, "rate_per_s": 0}], ["policies[0].rate_per_s: must be > 0 (got 0)"]),
    ("small burst", [{**RATE, "burst": 0.5}], ["policies[0].burst: must be >= 1 (got 0.5)"]),
    (
        "rate as text",
        [{**RATE, "rate_per_s": "50"}],
        ["policies[0].rate_per_s: must be a number (got '50')"],
    ),
    (
        "zero cap",
        [{**CAP, "max_in_flight": 0}],
        ["policies[0].max_in_flight: must be >= 1 (got 0)"],
    ),
    (
        "unknown key",
        [{**CAP, "max_inflight": 3}],
        ["policies[0].max_inflight: unknown field (did you mean 'max_in_flight'?)"],
    ),
    (
        "unknown workload",
        [{**RATE, "workload": "wbe"}],
        ["policies[0].workload: unknown workload (did you mean 'web'?) (got 'wbe')"],
    ),
    (
        "unknown endpoint",
        [{**CAP, "endpoint": "/bb"}],
        ["policies[0].endpoint: no endpoint '/bb' at server 'srv-1' (did you mean '/b'?)"],
    ),
    (
        "CoDel setting on a FIFO queue",
        [{**CAP, "queue": {"max_length": 3, "target_delay_s": 0.01}}],
        ["policies[0].queue.target_delay_s: only with discipline codel, not fifo (got 0.01)"],
    ),
    (
        "unknown discipline",
        [{**CAP, "queue": {"max_length": 3, "discipline": "random"}}],
        ["policies[0].queue.discipline: must be one of 'fifo', 'lifo', 'codel' (got 'random')"],
    ),
    (
        "queue without length",
        [{**CAP, "queue": {"discipline": "lifo"}}],
        ["policies[0].queue.max_length: required field missing"],
    ),
    (
        "two caps on one place",
        [CAP, {**CAP, "max_in_flight": 6}],
        [
            "policies[1].target: a second concurrency_limit on the same place (also "
            "policies[0]) (got 'srv-1')"
        ],
    ),
    (
        "two rate limits for one workload",
        [{**RATE, "workload": "web"}, {**RATE, "workload": "web"}],
        [
            "policies[1].target: a second rate_limit on the same place (also policies[0]) "
            "(got 'srv-1')"
        ],
    ),
    (
        "not a list",
        {"type": "rate_limit"},
        ["policies: must be a list (got {'type': 'rate_limit'})"],
    ),
]


@pytest.mark.parametrize(
    ("policies", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_policies_are_named_with_rule_and_value(policies: Any, expected: list[str]) -> None:
    data = guarded_data()
    data["policies"] = policies
    with pytest.raises(ScenarioError) as info:
        parse_scenario(data)
    assert list(info.value.problems) == expected


def test_error_message_lists_each_problem() -> None:
    data = guarded_data()
    data["policies"] = [{**RATE, "target": "srv-3"}]
    message = "policies[0].target: unknown node (did you mean 'srv-2'?) (got 'srv-3')"
    with pytest.raises(ScenarioError, match=re.escape(message)):
        parse_scenario(data)


def test_the_issue_syntax_validates_with_defaults() -> None:
    scenario = guarded([RATE, CAP, {**CAP, "endpoint": "/B", "queue": {"max_length": 2}}])
    rate, cap, bulkhead = scenario.policies
    assert rate == RateLimit(type="rate_limit", target="srv-1", rate_per_s=50.0, burst=10.0)
    assert isinstance(cap, ConcurrencyLimit)
    assert (cap.queue, cap.endpoint) == (None, None)
    assert isinstance(bulkhead, ConcurrencyLimit)
    assert bulkhead.endpoint == "/b"
    assert bulkhead.queue is not None
    assert bulkhead.queue.discipline == "fifo"


def test_null_and_missing_policies_mean_none() -> None:
    data = guarded_data()
    assert parse_scenario(data).policies == ()
    data["policies"] = None
    assert parse_scenario(data).policies == ()


def test_builder_writes_the_file_syntax() -> None:
    policies = [
        rate_limit("lb-1", 100, burst=20, workload="batch"),
        concurrency_limit(
            "srv-2", 8, endpoint="/a", queue=admission_queue(16, "codel", interval_s=0.2)
        ),
    ]
    assert policies == [
        {
            "type": "rate_limit",
            "target": "lb-1",
            "rate_per_s": 100,
            "burst": 20,
            "workload": "batch",
        },
        {
            "type": "concurrency_limit",
            "target": "srv-2",
            "max_in_flight": 8,
            "endpoint": "/a",
            "queue": {"discipline": "codel", "max_length": 16, "interval_s": 0.2},
        },
    ]
    assert len(guarded(policies).policies) == 2


def test_schema_accepts_valid_and_refuses_malformed_policies() -> None:
    validator = jsonschema.Draft202012Validator(scenario_json_schema())
    good = guarded_data([RATE, {**CAP, "queue": {"max_length": 3, "discipline": "lifo"}}])
    assert list(validator.iter_errors(good)) == []
    for bad in ({**RATE, "rate_per_s": -1}, {**CAP, "max_in_flight": 2.5}, {**RATE, "kind": 1}):
        data = guarded_data()
        data["policies"] = [bad]
        assert list(validator.iter_errors(data)) != [], bad


def test_schema_describes_every_policy_field_with_its_unit() -> None:
    defs = scenario_json_schema()["$defs"]
    rate = defs["RateLimit"]["properties"]
    assert "per second" in rate["rate_per_s"]["description"]
    assert "a count" in defs["ConcurrencyLimit"]["properties"]["max_in_flight"]["description"]
    assert "seconds" in defs["AdmissionQueue"]["properties"]["interval_s"]["description"]
