"""The examples in docs/reference/scenario.md are valid."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from asyncflow.scenario import Scenario, parse_scenario

DOC = Path(__file__).resolve().parents[2] / "docs" / "reference" / "scenario.md"


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def test_full_yaml_example_loads() -> None:
    scenario = parse_scenario(yaml.safe_load(_blocks("yaml")[0]))
    assert len(scenario.topology_graph.nodes.servers) == 2
    assert scenario.topology_graph.edges[1].latency.distribution == "deterministic"


def test_builder_example_builds() -> None:
    source = next(b for b in _blocks("python") if "ScenarioBuilder(" in b)
    namespace: dict[str, object] = {}
    exec(source, namespace)
    assert isinstance(namespace["scenario"], Scenario)
