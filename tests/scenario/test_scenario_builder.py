"""The fluent builder produces what the equivalent file produces."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from asyncflow.errors import ScenarioError
from asyncflow.scenario import (
    Distribution,
    ScenarioBuilder,
    cpu,
    deterministic,
    empirical,
    endpoint,
    exponential,
    gamma,
    io,
    load_scenario,
    log_normal,
    normal,
    poisson,
    ram,
    uniform,
)


def _single_server(name: str = "single_server") -> ScenarioBuilder:
    api = endpoint(
        "ep-1", cpu(0.001, kind="initial_parsing"), ram(100), io(0.1, kind="io_wait"), weight=1.0
    )
    return (
        ScenarioBuilder(name)
        .workload(users=100, requests_per_minute=20)
        .client("client-1")
        .server("srv-1", cpu_cores=1, ram_mb=2048, endpoints=[api])
        .edge("rqs-1", "client-1", latency=exponential(0.003), id="gen-to-client")
        .edge("client-1", "srv-1", latency=exponential(0.003), id="client-to-server")
        .edge("srv-1", "client-1", latency=exponential(0.003), id="server-to-client")
        .settings(horizon_s=500, sample_period_s=0.05)
    )


def test_equals_single_server_yaml(examples_dir: Path) -> None:
    assert _single_server().build() == load_scenario(examples_dir / "single_server.yml")


def test_to_dict_is_plain_data() -> None:
    data = _single_server().to_dict()
    assert json.loads(json.dumps(data)) == data


def test_lb_example_with_wire_and_events(examples_dir: Path) -> None:
    api = endpoint("/api", cpu(0.002, kind="initial_parsing"), ram(128), io(0.012))
    built = (
        ScenarioBuilder("lb")
        .workload(users=120, requests_per_minute=20)
        .client()
        .server("srv-1", ram_mb=2048, endpoints=[api])
        .server("srv-2", ram_mb=2048, endpoints=[api])
        .load_balancer("lb-1", servers=["srv-1", "srv-2"])
        .edge("client-1", "lb-1", latency=exponential(0.002), id="client-lb")
        .wire(latency=exponential(0.003))
        .outage("srv-1", start=180, end=240)
        .spike("client-lb", start=100, end=160, spike_s=0.015)
        .settings(600, seed=7, warm_up_s=30)
        .build()
    )
    topo = built.topology_graph
    assert [(e.id, e.source, e.target) for e in topo.edges] == [
        ("client-lb", "client-1", "lb-1"),
        ("rqs-1->client-1", "rqs-1", "client-1"),
        ("lb-1->srv-1", "lb-1", "srv-1"),
        ("lb-1->srv-2", "lb-1", "srv-2"),
        ("srv-1->client-1", "srv-1", "client-1"),
        ("srv-2->client-1", "srv-2", "client-1"),
    ]
    assert topo.edges[0].latency.mean == 0.002
    assert topo.edges[1].latency.mean == 0.003
    assert [e.event_id for e in built.events] == ["outage-1", "spike-2"]
    assert built.events[1].start.spike_s == 0.015
    assert built.sim_settings.seed == 7
    assert built.sim_settings.warm_up_s == 30
    reference = load_scenario(examples_dir / "two_servers_lb.yml")
    assert topo.nodes.servers == reference.topology_graph.nodes.servers


def test_users_profile_and_distribution_family() -> None:
    built = (
        _single_server()
        .workload(users_profile=[(0, 100), (300, 200)], requests_per_minute=20)
        .build()
    )
    workload = built.rqs_input
    assert workload.avg_active_users == Distribution(distribution="poisson", mean=100)
    assert workload.mean_users_at(150) == 150
    det = _single_server().workload(users=50, distribution="deterministic").build().rqs_input
    assert det.avg_active_users.distribution == "deterministic"
    assert det.avg_request_per_minute_per_user.distribution == "poisson"
    assert det.avg_request_per_minute_per_user.mean == 1.0


def test_weighted_load_balancer() -> None:
    api = endpoint("/a", cpu(0.001))
    built = (
        ScenarioBuilder()
        .workload(users=10, requests_per_minute=6)
        .client()
        .server("a", endpoints=[api])
        .server("b", endpoints=[api])
        .load_balancer(
            servers=["a", "b"], algorithm="weighted_round_robin", weights={"a": 3, "b": 1}
        )
        .wire(latency=0.001, dropout_rate=0.01)
        .settings(10)
        .build()
    )
    lb = built.topology_graph.nodes.load_balancer
    assert lb is not None
    assert lb.weights == {"a": 3.0, "b": 1.0}
    assert all(e.dropout_rate == 0.01 for e in built.topology_graph.edges)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (deterministic(2), Distribution(distribution="deterministic", mean=2)),
        (exponential(2), Distribution(distribution="exponential", mean=2)),
        (normal(2, 1), Distribution(distribution="normal", mean=2, variance=1)),
        (log_normal(2), Distribution(distribution="log_normal", mean=2, variance=2)),
        (uniform(3), Distribution(distribution="uniform", mean=3, variance=3)),
        (gamma(2, 8), Distribution(distribution="gamma", mean=2, variance=8)),
        (poisson(2), Distribution(distribution="exponential", mean=2)),
        (empirical([1, 3]), Distribution(distribution="empirical", values=(1, 3))),
        (Distribution(distribution="gamma", mean=1, variance=2), None),
    ],
)
def test_distribution_helpers_on_a_duration(spec: object, expected: Distribution | None) -> None:
    step_built = (
        ScenarioBuilder()
        .workload(users=1)
        .client()
        .server("s", endpoints=[endpoint("e", io(spec))])  # type: ignore[arg-type]
        .wire(latency=spec)  # type: ignore[arg-type]
        .settings(10)
        .build()
    )
    latency = step_built.topology_graph.edges[0].latency
    assert latency == (expected if expected is not None else spec)
    assert step_built.topology_graph.nodes.servers[0].endpoints[0].steps[0].duration == latency


def test_build_reports_problems_like_a_file() -> None:
    builder = ScenarioBuilder().client().settings(0)
    with pytest.raises(ScenarioError) as info:
        builder.build()
    assert info.value.problems == (
        "rqs_input: required field missing (or give workloads, a list of request classes)",
        "topology_graph.nodes.servers: must not be empty (got [])",
        "sim_settings.total_simulation_time: must be >= 0.001 s: a millisecond; "
        "the engine's periodic "
        "steps are fractions of the run (got 0)",
    )


def test_builder_ram_too_large() -> None:
    builder = (
        ScenarioBuilder()
        .workload(users=1)
        .client()
        .server("s", ram_mb=64, endpoints=[endpoint("e", ram(128))])
        .wire(latency=0.001)
        .settings(10)
    )
    with pytest.raises(
        ScenarioError, match=r"^topology_graph\.nodes\.servers\[0\]\.endpoints\[0\]: ram"
    ):
        builder.build()
