"""Retries at the client and at call sites: attempts, phases, budgets, bad input."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import asyncflow
from asyncflow.errors import ScenarioError
from asyncflow.scenario import Scenario, ScenarioBuilder, parse_scenario
from asyncflow.scenario.builder import backoff, call, cpu, deterministic, endpoint, exponential
from asyncflow.scenario.builder import retry as retry_policy

DROP_IN = ("client-1", "api")
DROP_DB = ("api", "db")


def _chain(
    policies: list[dict[str, Any]],
    *,
    drops: dict[tuple[str, str], float] | None = None,
    rate: float = 20.0,
    horizon_s: float = 60.0,
    db_cpu_s: float = 0.004,
) -> Scenario:
    """``web`` → ``api`` (CPU, a call to ``db``, CPU); ``drops``: edges' drop probabilities."""
    data = (
        ScenarioBuilder("chain")
        .workload(users=rate, requests_per_minute=60, id="web")
        .client()
        .server("api", endpoints=[endpoint("/a", cpu(0.001), call("db"), cpu(0.002))])
        .server("db", cpu_cores=2, endpoints=[endpoint("/q", cpu(exponential(db_cpu_s)))])
        .wire(latency=exponential(0.001))
        .settings(horizon_s=horizon_s)
        .policy(*policies)
        .to_dict()
    )
    for edge in data["topology_graph"]["edges"]:
        edge["dropout_rate"] = (drops or {}).get((edge["source"], edge["target"]), 0.0)
    return parse_scenario(data)


def _summary(results: asyncflow.Results) -> dict[str, Any]:
    summary: dict[str, Any] = results.summary()
    return summary


def _phases_add_up(results: asyncflow.Results) -> float:
    """The largest gap between a finished request's phases and its latency (seconds)."""
    r = results.requests
    latency = r.finished_s - r.generated_s
    done = ~np.isnan(latency)
    total = sum(r.phases().values())
    return float(np.max(np.abs(total[done] - latency[done])))


DROP = ["network_drop"]


def test_client_retries_recover_dropped_requests_and_phases_add_up() -> None:
    policy = retry_policy("web", max_attempts=3, retry_on=DROP, backoff=backoff(0.05, 1.0))
    results = asyncflow.run(_chain([policy], drops={DROP_IN: 0.3}), seed=3)
    summary = _summary(results)
    requests = summary["requests"]
    place = summary["attempts"]["by_place"]["web"]
    assert place["requests"] == requests["generated"]
    # Each request keeps one outcome: the failures are the attempts that ran out.
    assert requests["failed_by_reason"] == {"network_drop": place["exhausted"]}
    assert summary["attempts"]["per_request"] == pytest.approx(
        (place["requests"] + place["retries"]) / requests["generated"]
    )
    assert 1.3 < summary["attempts"]["per_request"] < 1.5  # 1 + 0.3 + 0.09 in theory
    assert _phases_add_up(results) < 1e-6
    breakdown = summary["latency_breakdown_s"]
    assert breakdown["backoff"] > 0.0
    assert breakdown["failed_attempt"] > 0.0


def test_without_retry_policy_the_phases_of_retries_stay_empty() -> None:
    summary = _summary(asyncflow.run(_chain([], drops={DROP_IN: 0.3}), seed=3))
    assert "attempts" not in summary
    assert summary["latency_breakdown_s"]["backoff"] == 0.0
    assert summary["latency_breakdown_s"]["failed_attempt"] == 0.0


def test_retries_are_bit_reproducible_with_the_same_seed() -> None:
    policy = retry_policy("web", retry_on=DROP, backoff=backoff(0.05, 1.0, jitter="decorrelated"))
    scenario = _chain([policy], drops={DROP_IN: 0.3})
    first, second = asyncflow.run(scenario, seed=5), asyncflow.run(scenario, seed=5)
    assert np.array_equal(first.requests.finished_s, second.requests.finished_s, equal_nan=True)
    assert first.requests.slots.tobytes() == second.requests.slots.tobytes()
    other = asyncflow.run(scenario, seed=6)
    assert first.requests.slots.tobytes() != other.requests.slots.tobytes()


def test_retries_leave_the_other_streams_alone() -> None:
    """Requests that never fail are served alike with and without a retry policy."""
    policy = retry_policy("web", retry_on=["shed"])  # nothing is ever shed here
    plain = asyncflow.run(_chain([]), seed=2)
    retried = asyncflow.run(_chain([policy]), seed=2)
    assert np.array_equal(plain.requests.finished_s, retried.requests.finished_s, equal_nan=True)


def test_retries_at_two_layers_multiply() -> None:
    """Client and api → db both retry drops: db sees about the product of the two factors."""
    policies = [
        retry_policy("web", max_attempts=3, retry_on=DROP, backoff=backoff(0.01, 0.1)),
        retry_policy(
            "api", calls_to="db", max_attempts=3, retry_on=DROP, backoff=backoff(0.01, 0.1)
        ),
    ]
    drops = {DROP_IN: 0.2, DROP_DB: 0.2}
    results = asyncflow.run(_chain(policies, drops=drops, horizon_s=120), seed=4)
    summary = _summary(results)
    by_place = summary["attempts"]["by_place"]
    client = summary["attempts"]["per_request"]
    to_db = by_place["api->db"]["per_request"]
    assert 1.15 < client < 1.33  # 1 + 0.2 + 0.04
    # Every attempt reaching api (4/5 of the client's) calls db 1.24 times.
    assert to_db == pytest.approx(client * 0.8 * 1.24, rel=0.06)
    first_calls = by_place["api->db"]["requests"]
    assert first_calls == pytest.approx(client * 0.8 * len(results.requests), rel=0.05)
    assert _phases_add_up(results) < 1e-6


def test_client_timeouts_are_retried_and_late_answers_ignored() -> None:
    """db is slow half the time: attempts time out, run on, and their answers are ignored."""
    policies = [
        {"type": "timeout", "target": "web", "timeout_s": 0.05},
        retry_policy("web", max_attempts=4, retry_on=["timeout"], backoff=backoff(0.01, 0.1)),
    ]
    results = asyncflow.run(_chain(policies, db_cpu_s=0.03), seed=1)
    summary = _summary(results)
    place = summary["attempts"]["by_place"]["web"]
    requests = summary["requests"]
    assert place["retries"] > 100
    assert requests["failed_by_reason"].get("timeout", 0) == place["exhausted"]
    assert summary["policies"]["wasted_cpu_s"] > 0.0
    r = results.requests
    completed = r.outcome == 1
    # A completed request's last attempt answered within the timeout.
    latency = r.finished_s - r.generated_s
    last = latency - r.phase("backoff") - r.phase("failed_attempt")
    assert float(np.max(last[completed])) <= 0.05 + 1e-6
    assert _phases_add_up(results) < 1e-5


def test_a_retry_budget_caps_retries() -> None:
    policy = retry_policy("web", max_attempts=5, retry_on=DROP, budget_ratio=0.05)
    summary = _summary(asyncflow.run(_chain([policy], drops={DROP_IN: 0.5}), seed=1))
    place = summary["attempts"]["by_place"]["web"]
    assert place["budget_denied"] > 0
    # Over any 10 s, retries stay within 5% of the first attempts of those 10 s.
    assert place["retries"] <= 0.05 * place["requests"] + 10


def test_a_call_site_retry_absorbs_drops_towards_its_callee() -> None:
    policy = retry_policy("api", calls_to="db", max_attempts=5, retry_on=DROP)
    plain = _summary(asyncflow.run(_chain([], drops={DROP_DB: 0.3}), seed=2))
    retried = _summary(asyncflow.run(_chain([policy], drops={DROP_DB: 0.3}), seed=2))
    assert plain["requests"]["failed_by_reason"]["network_drop"] > 300
    assert retried["requests"]["failed_by_reason"].get("network_drop", 0) < 20


RETRY = {"type": "retry", "target": "web", "retry_on": ["shed"]}


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (
            {**RETRY, "target": "wbe"},
            "policies[0].target: unknown workload or server (did you mean 'web'?) (got 'wbe')",
        ),
        (
            {**RETRY, "calls_to": "db"},
            "policies[0].calls_to: only with a server target (a workload's client retries) "
            "(got 'db')",
        ),
        (
            {**RETRY, "target": "api"},
            "policies[0].calls_to: required with a server target: the node whose calls retry",
        ),
        (
            {**RETRY, "target": "api", "calls_to": "web"},
            "policies[0].calls_to: 'api' makes no calls to 'web'",
        ),
        (
            {**RETRY, "target": "client-1"},
            "policies[0].target: a retry needs a workload or a server, 'client-1' is the client "
            "(got 'client-1')",
        ),
        (
            {**RETRY, "retry_on": ["timeout"]},
            "policies[0].retry_on: timeout is retried but no timeout is set on web "
            "(got 'timeout')",
        ),
        (
            {**RETRY, "retry_on": ["shed", "shed"]},
            "policies[0].retry_on[1]: named twice (got 'shed')",
        ),
        (
            {**RETRY, "retry_on": []},
            "policies[0].retry_on: must not be empty (got [])",
        ),
        (
            {**RETRY, "max_attempts": 0},
            "policies[0].max_attempts: must be >= 1 (got 0)",
        ),
        (
            {**RETRY, "backoff": {"base_s": 2, "max_s": 1}},
            "policies[0].backoff.max_s: must be >= base_s (2.0) (got 1.0)",
        ),
        (
            {**RETRY, "backoff": {"jitter": "random"}},
            "policies[0].backoff.jitter: must be one of 'none', 'full', 'equal', 'decorrelated' "
            "(got 'random')",
        ),
        (
            {**RETRY, "budget": {"min_per_s": 1}},
            "policies[0].budget.ratio: required field missing",
        ),
        (
            {**RETRY, "attempts": 3},
            "policies[0].attempts: unknown field (did you mean 'max_attempts'?)",
        ),
    ],
)
def test_bad_retries_are_named_with_rule_and_value(policy: dict[str, Any], expected: str) -> None:
    with pytest.raises(ScenarioError) as info:
        _chain([policy])
    assert list(info.value.problems) == [expected]


def test_a_second_retry_on_one_place_is_refused() -> None:
    with pytest.raises(ScenarioError) as info:
        _chain([RETRY, RETRY])
    assert list(info.value.problems) == [
        "policies[1].target: a second retry on the same place (also policies[0]) (got 'web')"
    ]


def test_the_builder_writes_what_a_file_holds() -> None:
    spec = retry_policy(
        "api",
        calls_to="db",
        max_attempts=4,
        retry_on=["shed"],
        backoff=backoff(0.2, 3.0, multiplier=3.0, jitter="equal"),
        budget_ratio=0.2,
        budget_min_per_s=2.0,
    )
    assert spec == {
        "type": "retry",
        "target": "api",
        "max_attempts": 4,
        "calls_to": "db",
        "retry_on": ["shed"],
        "backoff": {"base_s": 0.2, "max_s": 3.0, "multiplier": 3.0, "jitter": "equal"},
        "budget": {"ratio": 0.2, "min_per_s": 2.0},
    }
    assert _chain([spec]).policies[0].type == "retry"


def test_deterministic_backoff_spaces_attempts_exactly() -> None:
    """Every attempt dropped at once, no jitter: 0.1, 0.2, 0.4 s of backoff before failing."""
    data = (
        ScenarioBuilder("lost")
        .workload(users=1, requests_per_minute=60, distribution="deterministic", id="web")
        .client()
        .server("api", endpoints=[endpoint("/a", cpu(0.001))])
        .wire(latency=deterministic(0.001))
        .settings(horizon_s=10)
        .policy(
            retry_policy(
                "web", max_attempts=4, retry_on=DROP, backoff=backoff(0.1, 1.0, jitter="none")
            )
        )
        .to_dict()
    )
    for edge in data["topology_graph"]["edges"]:
        if edge["source"] == "client-1":
            edge["dropout_rate"] = 1.0
    results = asyncflow.run(parse_scenario(data), seed=1)
    r = results.requests
    ended = r.generated_s < 9.0  # the later ones are still retrying at the horizon
    assert ended.sum() >= 8
    assert (r.outcome[ended] == r.reason_names.index("network_drop")).all()
    assert np.allclose(r.phase("backoff")[ended], 0.7, atol=1e-6)
    assert np.allclose(r.phase("failed_attempt")[ended], 0.001, atol=1e-6)
    assert np.allclose((r.finished_s - r.generated_s)[ended], 0.701, atol=1e-6)
