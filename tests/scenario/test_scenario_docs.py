"""docs/reference/scenario.md: its examples are valid, its builder table is the code."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from pathlib import Path

import yaml

from asyncflow.scenario import Scenario, builder, limits, parse_scenario

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


def _render(name: str, function: Callable[..., object]) -> str:
    """Spell a signature as the builder table does: names and defaults, no types."""
    parts: list[str] = []
    starred = False
    for param in inspect.signature(function).parameters.values():
        if param.name == "self":
            continue
        if param.kind is param.VAR_POSITIONAL:
            parts.append(f"*{param.name}")
            starred = True
            continue
        if param.kind is param.KEYWORD_ONLY and not starred:
            parts.append("*")
            starred = True
        if param.default is param.empty:
            parts.append(param.name)
        else:
            default = param.default
            shown = f'"{default}"' if isinstance(default, str) else repr(default)
            parts.append(f"{param.name}={shown}")
    return f"{name}({', '.join(parts)})"


def _builder_signatures() -> set[str]:
    signatures = {_render("ScenarioBuilder", builder.ScenarioBuilder.__init__)}
    for name, member in vars(builder.ScenarioBuilder).items():
        if callable(member) and not name.startswith("_"):
            signatures.add(_render(f".{name}", member))
    for name in builder.__all__:
        member = getattr(builder, name)
        if inspect.isfunction(member):
            signatures.add(_render(name, member))
    return signatures


def _documented_signatures() -> set[str]:
    text = DOC.read_text(encoding="utf-8")
    table = text[text.index("| method / helper | maps to |") :].split("\n\n", 1)[0]
    rows = [line for line in table.splitlines()[2:] if line.startswith("|")]
    return {span for row in rows for span in re.findall(r"`([^`]+\))`", row.split(" | ")[0])}


def test_builder_table_matches_the_code() -> None:
    documented, real = _documented_signatures(), _builder_signatures()
    assert sorted(documented - real) == []  # in the table but not in the code (or stale)
    assert sorted(real - documented) == []  # in the code but missing from the table


def test_signature_rendering_sees_every_kind_of_parameter() -> None:
    def sample(a: int, *rest: int, b: str = "x", c: float | None = None) -> None:
        del a, rest, b, c

    def keyword_only(a: int, *, b: float = 1.0) -> None:
        del a, b

    assert _render("sample", sample) == 'sample(a, *rest, b="x", c=None)'
    assert _render(".kw", keyword_only) == ".kw(a, *, b=1.0)"


def test_every_limit_is_documented_with_its_reason() -> None:
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index("## Limits") : text.index("## JSON Schema")]
    rows = [line for line in section.splitlines() if line.startswith("| ")]
    found = [value for value in vars(limits).values() if isinstance(value, limits.Limit)]
    assert len(found) >= 25
    undocumented = [
        f"{limit.shown}: {limit.reason}"
        for limit in found
        if not any(f"`{limit.shown}` | {limit.reason} |" in row for row in rows)
    ]
    assert undocumented == []
