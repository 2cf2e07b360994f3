"""Model behaviour: immutability, properties, the users profile, compatibility keys."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from scenario_helpers import problems

import asyncflow.scenario as scenario_pkg
from asyncflow.scenario import (
    Distribution,
    Scenario,
    Step,
    Workload,
    parse_scenario,
)


def test_models_are_frozen(minimal_data: dict[str, Any]) -> None:
    sc = parse_scenario(minimal_data)
    with pytest.raises(ValidationError):
        sc.sim_settings.seed = 3  # type: ignore[misc]
    with pytest.raises(ValidationError):
        sc.topology_graph.edges[0].latency.mean = 1.0  # type: ignore[misc]
    assert isinstance(sc.topology_graph.edges, tuple)


def test_scenario_validates_cross_rules_when_built_directly(minimal_data: dict[str, Any]) -> None:
    minimal_data["topology_graph"]["edges"].pop()
    with pytest.raises(ValidationError, match="no path back"):
        Scenario.model_validate(minimal_data)


def test_step_properties() -> None:
    cpu = Step(kind="cpu_bound_operation", step_operation={"cpu_time": 0.5})  # type: ignore[dict-item]
    io = Step.model_validate({"kind": "io_db", "step_operation": {"io_waiting_time": {"mean": 1}}})
    ram = Step.model_validate({"kind": "ram", "step_operation": {"necessary_ram": 64}})
    assert (cpu.category, io.category, ram.category) == ("cpu", "io", "ram")
    assert cpu.duration == Distribution(distribution="deterministic", mean=0.5)
    assert io.duration == Distribution(distribution="exponential", mean=1)
    assert ram.ram_mb == 64
    with pytest.raises(TypeError):
        _ = ram.duration
    with pytest.raises(TypeError):
        _ = cpu.ram_mb


def test_endpoint_names_are_lower_cased(minimal_data: dict[str, Any]) -> None:
    minimal_data["topology_graph"]["nodes"]["servers"][0]["endpoints"][0]["endpoint_name"] = "/API"
    sc = parse_scenario(minimal_data)
    assert sc.topology_graph.nodes.servers[0].endpoints[0].endpoint_name == "/api"


def test_defaults(minimal_data: dict[str, Any]) -> None:
    sc = parse_scenario(minimal_data)
    srv = sc.topology_graph.nodes.servers[0]
    assert srv.server_resources.cpu_cores == 1
    assert srv.server_resources.ram_mb == 1024
    assert srv.server_resources.db_connection_pool is None
    assert sc.topology_graph.edges[0].dropout_rate == 0
    assert sc.topology_graph.edges[0].edge_type == "network_connection"
    assert sc.sim_settings.sample_period_s == 0.01
    assert sc.sim_settings.warm_up_s == 0
    assert sc.rqs_input.user_sampling_window == 60
    assert sc.rqs_input.avg_active_users == Distribution(distribution="deterministic", mean=10)
    assert sc.topology_graph.nodes.server("srv") is srv
    with pytest.raises(KeyError):
        sc.topology_graph.nodes.server("nope")


def test_legacy_metric_lists_are_accepted_and_dropped(minimal_data: dict[str, Any]) -> None:
    minimal_data["sim_settings"]["enabled_sample_metrics"] = ["ram_in_use"]
    minimal_data["sim_settings"]["enabled_event_metrics"] = ["rqs_clock", "llm_cost"]
    settings = parse_scenario(minimal_data).sim_settings
    assert "enabled_sample_metrics" not in settings.model_dump()
    minimal_data["sim_settings"]["enabled_event_metrics"] = ["rqs_clok"]
    assert problems(minimal_data) == [
        "sim_settings.enabled_event_metrics[0]: unknown metric; must be one of 'rqs_clock', "
        "'llm_cost' (got 'rqs_clok')"
    ]


def test_non_integer_horizon_is_fine(minimal_data: dict[str, Any]) -> None:
    minimal_data["sim_settings"]["total_simulation_time"] = 2.5
    assert parse_scenario(minimal_data).sim_settings.total_simulation_time == 2.5


def _workload(profile: object) -> dict[str, Any]:
    return {
        "id": "g",
        "avg_active_users": {"mean": 10},
        "avg_request_per_minute_per_user": {"mean": 60},
        "users_profile": profile,
    }


def test_users_profile_interpolation() -> None:
    w = Workload.model_validate(
        _workload([[0, 10], [100, 20], [100, 50], {"t_s": 200, "users": 0}])
    )
    assert w.mean_users_at(0) == 10
    assert w.mean_users_at(50) == 15
    assert w.mean_users_at(99.999) == pytest.approx(20, abs=1e-3)
    assert w.mean_users_at(100) == 50  # a step: the later point wins at its time
    assert w.mean_users_at(150) == 25
    assert w.mean_users_at(1e6) == 0
    assert w.requests_per_second_per_user == 1


def test_no_profile_means_constant_users() -> None:
    w = Workload.model_validate(_workload(None))
    assert w.mean_users_at(123) == 10


@pytest.mark.parametrize(
    ("profile", "expected"),
    [
        ([[5, 1]], ["rqs_input.users_profile[0].t_s: the first point must be at 0 (got 5.0)"]),
        (
            [[0, 1], [10, 2], [5, 3]],
            [
                "rqs_input.users_profile[2].t_s: times must not decrease "
                "(previous point is at 10) (got 5.0)"
            ],
        ),
        (
            [[0, 1], [10, 2], [10, 3], [10, 4]],
            [
                "rqs_input.users_profile[3].t_s: at most two points may share a time "
                "(a step) (got 10.0)"
            ],
        ),
        ([], ["rqs_input.users_profile: must have at least one point (got [])"]),
        (
            [[0, 1, 2]],
            [
                "rqs_input.users_profile[0]: must be [t_s, users] or {t_s: ..., users: ...} "
                "(got [0, 1, 2])"
            ],
        ),
        ([[0, -1]], ["rqs_input.users_profile[0].users: must be >= 0 (got -1)"]),
    ],
)
def test_bad_profiles(minimal_data: dict[str, Any], profile: object, expected: list[str]) -> None:
    minimal_data["rqs_input"]["users_profile"] = profile
    assert problems(minimal_data) == expected


@given(
    points=st.lists(st.tuples(st.floats(0, 1000), st.floats(0, 1000)), min_size=1, max_size=10).map(
        lambda pts: [(0.0, pts[0][1]), *sorted(pts[1:])]
    ),
    t=st.floats(0, 2000),
)
def test_profile_stays_within_its_points(points: list[tuple[float, float]], t: float) -> None:
    # keep at most two points per time
    kept: list[tuple[float, float]] = []
    for p in points:
        if len(kept) >= 2 and kept[-1][0] == kept[-2][0] == p[0]:
            continue
        kept.append(p)
    w = Workload.model_validate(_workload(kept))
    users = [u for _, u in kept]
    assert min(users) - 1e-6 <= w.mean_users_at(t) <= max(users) + 1e-6


def test_public_names() -> None:
    exported = {name for name in dir(scenario_pkg) if not name.startswith("_")}
    modules = {
        "arrivals",
        "builder",
        "calls",
        "cost",
        "datastore_builder",
        "datastore_rules",
        "datastores",
        "distributions",
        "endpoints",
        "graph",
        "events",
        "network",
        "loader",
        "limits",
        "models",
        "overrides",
        "policies",
        "policies_health",
        "policies_retry",
        "replica_graph",
        "replicas",
        "rules",
        "schema",
        "settings",
        "workload",
    }
    assert set(scenario_pkg.__all__) == exported - modules
