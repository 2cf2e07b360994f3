"""A small API → cache → database scenario, as a mapping to vary."""

from __future__ import annotations

import copy
from typing import Any

import pytest

_STEPS: list[dict[str, Any]] = [
    {"kind": "initial_parsing", "step_operation": {"cpu_time": 0.001}},
    {"kind": "ram", "step_operation": {"necessary_ram": 16}},
    {
        "kind": "cache_get",
        "step_operation": {
            "cache_get": {
                "cache": "cache-1",
                "on_miss": [
                    {
                        "kind": "db_query",
                        "step_operation": {"db_query": {"database": "db-1", "query": "get_user"}},
                    }
                ],
            }
        },
    },
]

BASE: dict[str, Any] = {
    "name": "datastores",
    "rqs_input": {
        "id": "rqs-1",
        "avg_active_users": {"mean": 20},
        "avg_request_per_minute_per_user": {"mean": 60},
        "user_sampling_window": 60,
    },
    "topology_graph": {
        "nodes": {
            "client": {"id": "client-1"},
            "servers": [
                {
                    "id": "srv-1",
                    "server_resources": {"cpu_cores": 2, "ram_mb": 2048},
                    "database_pools": [{"database": "db-1", "size": 4, "acquire_timeout_s": 0.5}],
                    "endpoints": [{"endpoint_name": "/get", "steps": _STEPS}],
                }
            ],
            "databases": [
                {
                    "id": "db-1",
                    "workers": 4,
                    "max_connections": 100,
                    "queries": [
                        {
                            "name": "get_user",
                            "latency": {"mean": 0.004, "distribution": "exponential"},
                        }
                    ],
                }
            ],
            "caches": [
                {
                    "id": "cache-1",
                    "capacity_items": 1000,
                    "eviction": "lru",
                    "keys": {"count": 100000, "popularity": "zipf", "exponent": 0.9},
                    "hit_latency": 0.0005,
                }
            ],
        },
        "edges": [
            {"id": "gen-client", "source": "rqs-1", "target": "client-1", "latency": 0.001},
            {"id": "client-srv", "source": "client-1", "target": "srv-1", "latency": 0.002},
            {"id": "srv-client", "source": "srv-1", "target": "client-1", "latency": 0.002},
            {"id": "srv-db", "source": "srv-1", "target": "db-1", "latency": 0.0005},
            {"id": "db-srv", "source": "db-1", "target": "srv-1", "latency": 0.0005},
            {"id": "srv-cache", "source": "srv-1", "target": "cache-1", "latency": 0.0003},
            {"id": "cache-srv", "source": "cache-1", "target": "srv-1", "latency": 0.0003},
        ],
    },
    "sim_settings": {"total_simulation_time": 120, "sample_period_s": 1},
    "events": [
        {
            "event_id": "flush",
            "target_id": "cache-1",
            "start": {"kind": "cache_flush", "t_start": 60},
        }
    ],
}


@pytest.fixture
def stores_data() -> dict[str, Any]:
    """API → remote cache → database (with a pool), as a mapping."""
    return copy.deepcopy(BASE)


def stores() -> dict[str, Any]:
    """The same, for module-level tables."""
    return copy.deepcopy(BASE)
