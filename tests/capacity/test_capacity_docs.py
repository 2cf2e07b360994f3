"""The examples of docs/capacity.md are valid and run."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from asyncflow.scenario import parse_scenario

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "capacity.md"


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def test_the_yaml_examples_are_valid() -> None:
    cost, mm1 = blocks("yaml")
    priced = parse_scenario({**yaml.safe_load(mm1), **yaml.safe_load(cost)})
    assert priced.cost is not None
    assert priced.cost.per_core_hour == 0.04
    step = priced.topology_graph.nodes.servers[0].endpoints[0].steps[0]
    assert step.duration.moments() == (0.01, pytest.approx(1e-4))


def test_the_pictures_exist() -> None:
    for name in re.findall(r"\]\((img/[^)]+)\)", DOC.read_text(encoding="utf-8")):
        assert (ROOT / "docs" / name).read_bytes().startswith(b"\x89PNG"), name


@pytest.mark.slow
def test_the_python_example_runs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (snippet,) = blocks("python")
    monkeypatch.chdir(ROOT)
    exec(compile(snippet, "capacity.md", "exec"), {"__name__": "__main__"})
    printed = capsys.readouterr().out
    assert "'param': 'rqs_input.avg_active_users.mean'" in printed
