from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "asyncflow-0.1"


def _read(name: str) -> dict[str, Any]:
    data = yaml.safe_load((EXAMPLES / name).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@pytest.fixture
def examples_dir() -> Path:
    return EXAMPLES


@pytest.fixture
def lb_data() -> dict[str, Any]:
    """event_inj_lb.yml as a mapping: LB, two servers, five events."""
    return copy.deepcopy(_read("event_inj_lb.yml"))


@pytest.fixture
def single_data() -> dict[str, Any]:
    """single_server.yml as a mapping: client, one server, no events."""
    return copy.deepcopy(_read("single_server.yml"))


@pytest.fixture
def minimal_data() -> dict[str, Any]:
    """The smallest valid scenario: constant latencies, one server."""
    return {
        "rqs_input": {"id": "gen", "avg_active_users": 10, "avg_request_per_minute_per_user": 6},
        "topology_graph": {
            "nodes": {
                "client": {"id": "client"},
                "servers": [
                    {"id": "srv", "endpoints": [{"endpoint_name": "e", "steps": []}]},
                ],
            },
            "edges": [
                {"id": "g-c", "source": "gen", "target": "client", "latency": 0.001},
                {"id": "c-s", "source": "client", "target": "srv", "latency": 0.001},
                {"id": "s-c", "source": "srv", "target": "client", "latency": 0.001},
            ],
        },
        "sim_settings": {"total_simulation_time": 10},
    }


Mutation = Callable[[dict[str, Any]], object]
