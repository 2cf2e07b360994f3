"""The five AsyncFlow 0.1 examples load unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest

from asyncflow.scenario import Distribution, load_scenario

NAMES = [
    "event_inj_lb",
    "event_inj_single_server",
    "heavy_inj_single_server",
    "single_server",
    "two_servers_lb",
]


@pytest.mark.parametrize("name", NAMES)
def test_example_loads(examples_dir: Path, name: str) -> None:
    scenario = load_scenario(examples_dir / f"{name}.yml")
    assert scenario.name == name
    assert all(edge.dropout_rate == 0.0 for edge in scenario.topology_graph.edges)
    assert all(edge.latency.distribution == "exponential" for edge in scenario.topology_graph.edges)


def test_single_server_values(examples_dir: Path) -> None:
    sc = load_scenario(examples_dir / "single_server.yml")
    gen_edge = sc.topology_graph.edges[0]
    assert gen_edge.latency == Distribution(distribution="exponential", mean=0.003)
    assert gen_edge.latency.moments() == pytest.approx((0.003, 0.003**2))
    workload = sc.rqs_input
    assert workload.avg_active_users == Distribution(distribution="poisson", mean=100)
    assert workload.requests_per_second_per_user == pytest.approx(20 / 60)
    assert workload.user_sampling_window == 60
    srv = sc.topology_graph.nodes.servers[0]
    assert srv.server_resources.cpu_cores == 1
    assert srv.server_resources.ram_mb == 2048
    ep = srv.endpoints[0]
    assert ep.probability == 1.0
    assert ep.weight == 1.0
    assert [s.category for s in ep.steps] == ["cpu", "ram", "io"]
    assert ep.steps[0].duration == Distribution(distribution="deterministic", mean=0.001)
    assert ep.steps[1].ram_mb == 100
    assert ep.ram_mb == 100
    assert ep.steps[2].duration.moments() == (0.1, 0.0)
    assert sc.sim_settings.total_simulation_time == 500
    assert sc.sim_settings.sample_period_s == 0.05
    assert sc.sim_settings.seed is None
    assert sc.events == ()
    assert sc.topology_graph.nodes.load_balancer is None


def test_lb_example_values(examples_dir: Path) -> None:
    sc = load_scenario(examples_dir / "event_inj_lb.yml")
    lb = sc.topology_graph.nodes.load_balancer
    assert lb is not None
    assert lb.algorithms == "round_robin"
    assert lb.server_covered == ("srv-1", "srv-2")
    assert lb.weights is None
    ep = sc.topology_graph.nodes.servers[1].endpoints[0]
    assert ep.endpoint_name == "/api"
    assert ep.probability is None
    assert ep.weight == 1.0
    assert [e.event_id for e in sc.events] == [
        "ev-spike-1",
        "ev-srv1-down",
        "ev-spike-2",
        "ev-srv2-down",
        "ev-spike-3",
    ]
    assert [e.is_outage for e in sc.events] == [False, True, False, True, False]
    assert sc.events[0].start.spike_s == 0.015
    assert sc.events[1].start.spike_s is None
    assert sc.events[1].end.t_end == 240


def test_heavy_example_values(examples_dir: Path) -> None:
    sc = load_scenario(examples_dir / "heavy_inj_single_server.yml")
    assert sc.rqs_input.avg_active_users.mean == 300
    assert sc.topology_graph.nodes.servers[0].server_resources.ram_mb == 8000
    (event,) = sc.events
    assert event.target_id == "client-to-server"
    assert (event.start.t_start, event.end.t_end, event.start.spike_s) == (180, 300, 3.0)
