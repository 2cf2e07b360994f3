"""Helpers shared by the scenario tests."""

from __future__ import annotations

from typing import Any

import pytest

from asyncflow.errors import ScenarioError
from asyncflow.scenario import parse_scenario


def problems(data: dict[str, Any]) -> list[str]:
    """Validate ``data`` and return the problem lines (fails if it is valid)."""
    with pytest.raises(ScenarioError) as info:
        parse_scenario(data)
    return list(info.value.problems)


def nodes(data: dict[str, Any]) -> dict[str, Any]:
    node_map: dict[str, Any] = data["topology_graph"]["nodes"]
    return node_map


def server(data: dict[str, Any], k: int = 0) -> dict[str, Any]:
    srv: dict[str, Any] = nodes(data)["servers"][k]
    return srv


def step_op(data: dict[str, Any], k: int = 0, step: int = 0) -> dict[str, Any]:
    op: dict[str, Any] = server(data, k)["endpoints"][0]["steps"][step]["step_operation"]
    return op


def edge(data: dict[str, Any], i: int) -> dict[str, Any]:
    e: dict[str, Any] = data["topology_graph"]["edges"][i]
    return e
