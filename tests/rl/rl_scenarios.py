"""Small scenarios of replica groups for the tests."""

from __future__ import annotations

from typing import Any


def group_scenario(
    replicas: dict[str, Any] | None = None,
    *,
    users: float = 100.0,
    rate_per_min: float = 60.0,
    horizon: float = 300.0,
    cpu_s: float = 0.01,
    profile: list[dict[str, float]] | None = None,
    algorithm: str = "round_robin",
    reply_s: float = 0.001,
) -> dict[str, Any]:
    """A client, a balancer and one server ``api`` run as a replica group."""
    block = {"min_replicas": 1, "max_replicas": 4, "initial_replicas": 2}
    block.update(replicas or {})
    workload: dict[str, Any] = {
        "id": "load",
        "avg_active_users": {"mean": users, "distribution": "deterministic"},
        "avg_request_per_minute_per_user": {"mean": rate_per_min, "distribution": "deterministic"},
        "user_sampling_window": 10,
    }
    if profile is not None:
        workload["users_profile"] = profile
    return {
        "rqs_input": workload,
        "topology_graph": {
            "nodes": {
                "client": {"id": "client"},
                "load_balancer": {"id": "lb", "algorithms": algorithm, "server_covered": ["api"]},
                "servers": [
                    {
                        "id": "api",
                        "server_resources": {"cpu_cores": 1, "ram_mb": 1024},
                        "endpoints": [
                            {
                                "endpoint_name": "/x",
                                "steps": [
                                    {
                                        "kind": "cpu_bound_operation",
                                        "step_operation": {
                                            "cpu_time": {
                                                "mean": cpu_s,
                                                "distribution": "exponential",
                                            }
                                        },
                                    }
                                ],
                            }
                        ],
                        "replicas": block,
                    }
                ],
            },
            "edges": [
                {"id": "load-client", "source": "load", "target": "client", "latency": 0.001},
                {"id": "client-lb", "source": "client", "target": "lb", "latency": 0.001},
                {"id": "lb-api", "source": "lb", "target": "api", "latency": 0.001},
                {"id": "api-client", "source": "api", "target": "client", "latency": reply_s},
            ],
        },
        "sim_settings": {"total_simulation_time": horizon, "sample_period_s": 1.0},
    }
