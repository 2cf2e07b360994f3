"""The bundled scenarios of the environments, and the replica group an agent scales."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from asyncflow.scenario import Scenario
from asyncflow.scenario.replicas import ReplicaGroup

__all__ = ["BUNDLED", "bundled", "control_group", "group_spec"]

_HERE = Path(__file__).resolve().parent / "scenarios"

BUNDLED = {
    "autoscaling": "autoscaling.yml",
    "autoscaling_train": "autoscaling_train.yml",
    "autoscaling_test": "autoscaling_test.yml",
    "autoscaling_bursts": "autoscaling_bursts.yml",
    "load_balancing": "load_balancing.yml",
}
"""Names of the bundled scenarios and their files."""


def bundled(name: str) -> Path:
    """The path of a bundled scenario.

    Raises:
        ValueError: For an unknown name.
    """
    if name not in BUNDLED:
        raise ValueError(f"unknown bundled scenario {name!r}: one of {', '.join(BUNDLED)}")
    return _HERE / BUNDLED[name]


def group_spec(scenario: Scenario, group: str) -> ReplicaGroup:
    """The ``replicas`` block of a group.

    Raises:
        ValueError: When ``group`` is not a replica group of the scenario.
    """
    groups = {s.id: s.replicas for s in scenario.topology_graph.nodes.servers if s.replicas}
    spec = groups.get(group)
    if spec is None:
        known = ", ".join(repr(g) for g in groups) or "none"
        raise ValueError(
            f"group: {group!r} is not a replica group of the scenario (groups: {known})"
        )
    return spec


def control_group(
    scenario: Scenario | Mapping[str, Any] | str | os.PathLike[str], group: str | None
) -> tuple[Scenario, str]:
    """The scenario with ``group``'s autoscaler removed (the agent decides), and the group.

    Raises:
        ValueError: Without a replica group, or with several and none named.
        ScenarioError: A scenario that breaks a rule.
    """
    from asyncflow._arguments import scenario_argument

    model = scenario_argument(scenario)
    groups = [s.id for s in model.topology_graph.nodes.servers if s.replicas is not None]
    if group is None:
        if len(groups) != 1:
            what = "no replica group" if not groups else f"replica groups {groups}"
            raise ValueError(f"group: required, the scenario has {what}")
        group = groups[0]
    spec = group_spec(model, group)
    servers = tuple(
        s.model_copy(update={"replicas": spec.model_copy(update={"autoscaler": None})})
        if s.id == group
        else s
        for s in model.topology_graph.nodes.servers
    )
    nodes = model.topology_graph.nodes.model_copy(update={"servers": servers})
    topology = model.topology_graph.model_copy(update={"nodes": nodes})
    return model.model_copy(update={"topology_graph": topology}), group
