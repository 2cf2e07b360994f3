"""Equal servers share one plan per site; a server that differs, or makes calls, has its own."""

from __future__ import annotations

from typing import Any

from asyncflow.scenario import Scenario
from asyncflow.simulation import Simulation


def _cpu(mean: float) -> dict[str, Any]:
    return {"kind": "cpu_bound_operation", "step_operation": {"cpu_time": mean}}


def _scenario(endpoints: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """A balancer in front of one server per entry of ``endpoints`` (its steps)."""
    ids = list(endpoints)
    edges = [
        {"id": "gen-client", "source": "gen", "target": "client", "latency": 0.001},
        {"id": "client-lb", "source": "client", "target": "lb", "latency": 0.001},
    ]
    for sid in ids:
        edges.append({"id": f"lb-{sid}", "source": "lb", "target": sid, "latency": 0.001})
        edges.append({"id": f"{sid}-client", "source": sid, "target": "client", "latency": 0.001})
    return {
        "rqs_input": {
            "id": "gen",
            "avg_active_users": 20,
            "avg_request_per_minute_per_user": 60,
            "user_sampling_window": 60,
        },
        "topology_graph": {
            "nodes": {
                "client": {"id": "client"},
                "load_balancer": {"id": "lb", "server_covered": ids},
                "servers": [
                    {
                        "id": sid,
                        "server_resources": {"cpu_cores": 1, "ram_mb": 1024},
                        "endpoints": [{"endpoint_name": "/work", "steps": steps}],
                    }
                    for sid, steps in endpoints.items()
                ],
            },
            "edges": edges,
        },
        "sim_settings": {"total_simulation_time": 5, "seed": 1},
    }


def _entries(spec: dict[str, Any]) -> list[Any]:
    simulation = Simulation(Scenario.model_validate(spec), seed=1)
    root = simulation.runtime.sites[0]
    return list(root.entries)


def test_equal_servers_share_one_entry_and_plan() -> None:
    entries = _entries(_scenario({f"srv-{i}": [_cpu(0.002)] for i in range(4)}))
    assert len({id(e) for e in entries}) == 1
    assert len({id(e.fixed) for e in entries}) == 1


def test_a_server_that_works_differently_has_its_own_plan() -> None:
    entries = _entries(_scenario({"a": [_cpu(0.002)], "b": [_cpu(0.002)], "c": [_cpu(0.003)]}))
    a, b, c = (e.fixed for e in entries)
    assert a is b
    assert c is not a
    assert c.ops[0].fixed == 0.003


def test_a_server_that_makes_calls_keeps_plans_of_its_own() -> None:
    call = {"kind": "call", "step_operation": {"call": {"target": "db", "endpoint": "/q"}}}
    spec = _scenario({"a": [_cpu(0.002), call], "b": [_cpu(0.002), call]})
    spec["topology_graph"]["nodes"]["servers"].append(
        {
            "id": "db",
            "server_resources": {"cpu_cores": 1, "ram_mb": 1024},
            "endpoints": [{"endpoint_name": "/q", "steps": [_cpu(0.001)]}],
        }
    )
    for sid in ("a", "b"):
        spec["topology_graph"]["edges"] += [
            {"id": f"{sid}-db", "source": sid, "target": "db", "latency": 0.001},
            {"id": f"db-{sid}", "source": "db", "target": sid, "latency": 0.001},
        ]
    a, b = (e.fixed for e in _entries(spec)[:2])
    assert a is not b  # each server's calls leave from sites of its own
    assert a.children[1][0].caller.id == "a"
    assert b.children[1][0].caller.id == "b"
