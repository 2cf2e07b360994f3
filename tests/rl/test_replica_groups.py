"""Replica groups in plain simulations: rules, life cycle, records, summary."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rl_scenarios import group_scenario

from asyncflow import ScenarioError
from asyncflow.components.replicas import DRAINING, OFF, READY, STARTING
from asyncflow.scenario import parse_scenario
from asyncflow.simulation import Simulation

G = "topology_graph.nodes.servers[0].replicas"


def _with_edge(data: dict[str, Any]) -> dict[str, Any]:
    data["topology_graph"]["edges"].append(
        {"id": "c-api", "source": "client", "target": "api", "latency": 0.001}
    )
    data["rqs_input"]["target"] = "lb"
    return data


def _with_outage(data: dict[str, Any]) -> dict[str, Any]:
    data["events"] = [
        {
            "event_id": "o",
            "target_id": "api",
            "start": {"kind": "server_down", "t_start": 1},
            "end": {"kind": "server_up", "t_end": 2},
        }
    ]
    return data


BAD: list[tuple[dict[str, Any], str]] = [
    (
        group_scenario({"min_replicas": 3, "max_replicas": 2}),
        f"{G}.max_replicas: must be at least min_replicas (3) (got 2)",
    ),
    (
        group_scenario({"initial_replicas": 9}),
        f"{G}.initial_replicas: must be within min_replicas and max_replicas (1..4) (got 9)",
    ),
    (
        group_scenario(
            {"autoscaler": {"policy": "threshold", "scale_out_above": 0.5, "scale_in_below": 0.6}}
        ),
        f"{G}.autoscaler.scale_in_below: must be below scale_out_above (0.5) (got 0.6)",
    ),
    (
        group_scenario({"autoscaler": {"policy": "hap", "target_utilization": 0.5}}),
        f"{G}.autoscaler.policy: unknown autoscaler (did you mean 'hpa'?): one of static, "
        "threshold, hpa, target_tracking, step_scaling, knative (got 'hap')",
    ),
    (
        group_scenario(
            {
                "autoscaler": {
                    "policy": "step_scaling",
                    "steps": [{"lower": 0.5, "upper": 0.4, "change": 1}],
                }
            }
        ),
        f"{G}.autoscaler.steps[0].upper: must be above lower (0.5) (got 0.4)",
    ),
    (
        group_scenario({"autoscaler": {"policy": "hpa", "target_utilization": 1.5}}),
        f"{G}.autoscaler.target_utilization: must be <= 1 (got 1.5)",
    ),
    (
        _with_edge(group_scenario()),
        "topology_graph.edges[4].source: only the load balancer covering the replica group "
        "'api' may send to it (got 'client')",
    ),
    (
        _with_outage(group_scenario()),
        "events[0].target_id: outages of a replica group are not modelled (its replicas "
        "start and stop) (got 'api')",
    ),
]


@pytest.mark.parametrize(("data", "message"), BAD)
def test_bad_groups_are_refused_with_their_path(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ScenarioError, match=f"^{re.escape(message)}$"):
        parse_scenario(data)


def test_a_group_becomes_its_replicas_behind_the_balancer() -> None:
    sim = Simulation(parse_scenario(group_scenario()), 1)
    assert list(sim.servers) == ["api.1", "api.2", "api.3", "api.4"]
    group = sim.groups["api"]
    assert [r.state for r in group.replicas] == [READY, READY, OFF, OFF]
    assert [r.up for r in group.replicas] == [True, True, False, False]
    results = sim.run()
    served = results.requests.server[results.requests.outcome == 1]
    # Only the two ready replicas serve (servers are indexed in scenario order).
    assert set(np.unique(served).tolist()) == {0, 1}


def _static(**extra: Any) -> Simulation:
    return Simulation(parse_scenario(group_scenario(extra, horizon=120.0)), 3)


def test_a_started_replica_is_billed_while_starting_and_serves_once_in_rotation() -> None:
    sim = _static(startup_s=10.0, endpoint_delay_s=2.0, initial_replicas=1)
    group = sim.groups["api"]
    sim.advance(20.0)
    group.scale_to(20.0, 2)
    replica = group.replicas[1]
    assert (replica.state, replica.up, replica.server.up) == (STARTING, False, False)
    sim.advance(30.5)
    assert (replica.state, replica.up, replica.server.up) == (READY, False, True)
    sim.advance(32.5)
    assert replica.up
    results = sim.results()
    billed = results.series("replicas_billed", "api")
    ready = results.series("replicas_ready", "api")
    rotation = results.series("replicas_in_rotation", "api")
    t = billed.t
    assert np.all(billed.mean[(t >= 21) & (t < 30)] == 2.0)
    assert np.all(ready.mean[(t >= 21) & (t < 30)] == 1.0)
    assert np.all(rotation.mean[(t >= 31) & (t < 32)] == 1.0)
    assert np.all(rotation.mean[t >= 33] == 2.0)
    first = results.requests.generated_s[results.requests.server == 1].min()
    assert first >= 32.0 - 0.01  # nothing reached it before it joined the rotation


def test_a_removed_replica_drains_then_stops_and_its_billing_ends() -> None:
    sim = _static(endpoint_delay_s=1.0, drain_grace_s=30.0)
    group = sim.groups["api"]
    sim.advance(50.0)
    group.scale_to(50.0, 1)
    replica = group.replicas[1]
    assert (replica.state, replica.up) == (DRAINING, True)
    sim.advance(51.0)
    assert not replica.up
    sim.advance(53.0)
    assert replica.state == OFF
    assert not replica.server.up
    results = sim.results()
    billed = results.series("replicas_billed", "api")
    assert np.all(billed.mean[billed.t >= 53.0] == 1.0)
    assert results.failed_by_reason() == {}  # the calls inside finished before it stopped


def test_calls_still_inside_at_the_end_of_the_grace_fail_as_server_down() -> None:
    data = group_scenario({"drain_grace_s": 0.0}, horizon=60.0, cpu_s=0.5, users=120)
    sim = Simulation(parse_scenario(data), 2)
    sim.advance(30.0)
    sim.groups["api"].scale_to(30.0, 1)
    results = sim.run()
    assert results.failed_by_reason().get("server_down", 0) > 0


def test_scale_to_keeps_within_bounds_and_takes_back_draining_replicas() -> None:
    sim = _static(drain_grace_s=60.0, endpoint_delay_s=5.0, max_replicas=2)
    group = sim.groups["api"]
    sim.advance(10.0)
    assert group.scale_to(10.0, 0) == 1
    assert [r.state for r in group.replicas] == [READY, DRAINING]
    assert group.scale_to(10.0, 7) == 2
    assert [r.state for r in group.replicas] == [READY, READY]


def test_same_seed_same_run_and_the_summary_shows_the_replicas() -> None:
    data = group_scenario(
        {
            "autoscaler": {"policy": "hpa", "target_utilization": 0.5},
            "startup_s": 5.0,
            "cost_per_replica_s": 0.01,
        },
        horizon=200.0,
        profile=[{"t_s": 0, "users": 60}, {"t_s": 80, "users": 60}, {"t_s": 81, "users": 200}],
    )
    first = Simulation(parse_scenario(data), 9).run()
    second = Simulation(parse_scenario(data), 9).run()
    assert np.array_equal(first.requests.finished_s, second.requests.finished_s, equal_nan=True)
    summary = first.summary()
    group = summary["replica_groups"]["api"]
    assert group["replicas"] == ["api.1", "api.2", "api.3", "api.4"]
    assert group["cost"] == pytest.approx(group["replica_seconds"] * 0.01)
    assert group["billed"]["max"] > 2  # the step in load started replicas
    assert 0 < group["utilization_over_ready"] <= 1
    assert len(group["series"]["t_s"]) == len(group["series"]["ready"])
    assert second.summary()["replica_groups"]["api"] == group


def test_a_scenario_without_groups_has_no_replica_section() -> None:
    data = group_scenario()
    del data["topology_graph"]["nodes"]["servers"][0]["replicas"]
    assert "replica_groups" not in Simulation(parse_scenario(data), 1).run().summary()


def test_the_metrics_integrals_stay_exact_across_the_flushes_of_the_levels() -> None:
    # 300 requests/s for 400 s: the busy levels are flushed many times during the run.
    data = group_scenario(
        {"autoscaler": {"policy": "hpa", "target_utilization": 0.5}}, users=300, horizon=400.0
    )
    sim = Simulation(parse_scenario(data), 4)
    results = sim.run()
    group = sim.groups["api"]
    group.sync(400.0)
    for replica in group.replicas:
        rid = replica.server.id
        assert replica.busy.area == pytest.approx(results.level_mean("busy_cores", rid) * 400.0)
        assert replica.ready.area == pytest.approx(results.level_mean("ready", rid) * 400.0)


def test_runs_with_groups_draw_their_replicas_over_time(tmp_path: Path) -> None:
    from asyncflow.report.replicas import write_replica_chart

    results = _static(startup_s=5.0).run()
    written = write_replica_chart(results, lambda name: tmp_path / name)
    assert written == [tmp_path / "replicas.png"]
    assert written[0].read_bytes().startswith(b"\x89PNG")
    data = group_scenario()
    del data["topology_graph"]["nodes"]["servers"][0]["replicas"]
    plain = Simulation(parse_scenario(data), 1).run()
    assert write_replica_chart(plain, lambda name: tmp_path / "x" / name) == []


@pytest.mark.parametrize("lag_s", [0.0, 0.5])  # scrapes once an interval, or every second
def test_scraped_utilisation_is_exact_across_the_flushes(lag_s: float) -> None:
    data = group_scenario({"initial_replicas": 3}, users=250, horizon=390.0)  # 26 intervals
    sim = Simulation(parse_scenario(data), 5)
    group = sim.groups["api"]
    group.watch(0.0, 15.0, keep_s=500.0, lag_s=lag_s)
    results = sim.run()
    ids = [r.server.id for r in group.replicas]
    busy = sum(results.level_mean("busy_cores", rid) for rid in ids)
    ready = sum(results.level_mean("ready", rid) for rid in ids)
    assert group.scrapes is not None
    assert group.scrapes.utilization(0.0, 390.0) == pytest.approx(busy / ready, rel=1e-9)
