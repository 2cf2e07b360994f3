"""Reading files: YAML, JSON, file errors."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from asyncflow.errors import ScenarioError, ScenarioFileError
from asyncflow.scenario import load_scenario, parse_scenario


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_json_loads_like_yaml(tmp_path: Path, examples_dir: Path) -> None:
    data = yaml.safe_load((examples_dir / "event_inj_lb.yml").read_text(encoding="utf-8"))
    path = _write(tmp_path / "event_inj_lb.json", json.dumps(data))
    assert load_scenario(path) == load_scenario(examples_dir / "event_inj_lb.yml")


def test_yaml_suffix_and_str_path(tmp_path: Path, minimal_data: dict[str, Any]) -> None:
    path = _write(tmp_path / "tiny.yaml", yaml.safe_dump(minimal_data))
    scenario = load_scenario(str(path))
    assert scenario.name == "tiny"


def test_name_in_file_wins(tmp_path: Path, minimal_data: dict[str, Any]) -> None:
    path = _write(tmp_path / "tiny.yml", yaml.safe_dump({**minimal_data, "name": "custom"}))
    assert load_scenario(path).name == "custom"


def test_parse_scenario_default_name(minimal_data: dict[str, Any]) -> None:
    assert parse_scenario(minimal_data).name == "scenario"
    assert parse_scenario(minimal_data, name="x").name == "x"


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yml"
    with pytest.raises(ScenarioFileError, match=f"^{re.escape(f'{path}: file not found')}$"):
        load_scenario(path)


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = _write(tmp_path / "bad.yml", "rqs_input:\n  id: a\n  avg: [1, 2\nsim_settings: {}\n")
    with pytest.raises(ScenarioFileError) as info:
        load_scenario(path)
    (line,) = info.value.problems
    assert line.startswith(f"{path}: invalid YAML at line 4, column 13: ")


def test_yaml_bad_indentation(tmp_path: Path) -> None:
    path = _write(tmp_path / "bad.yml", "a:\n  b: 1\n c: 2\n")
    msg = f"{path}: invalid YAML at line 3, column 2: did not find expected key"
    with pytest.raises(ScenarioFileError, match=f"^{re.escape(msg)}$"):
        load_scenario(path)


def test_yaml_duplicate_key(tmp_path: Path) -> None:
    path = _write(tmp_path / "dup.yml", "sim_settings:\n  seed: 1\n  seed: 2\n")
    msg = f"{path}: invalid YAML at line 3, column 3: duplicate key 'seed'"
    with pytest.raises(ScenarioFileError, match=f"^{re.escape(msg)}$"):
        load_scenario(path)


def test_json_syntax_error(tmp_path: Path) -> None:
    path = _write(tmp_path / "bad.json", '{"rqs_input": {\n  "id": "a",\n}\n')
    msg = (
        f"{path}: invalid JSON at line 3, column 1: "
        "Expecting property name enclosed in double quotes"
    )
    with pytest.raises(ScenarioFileError, match=f"^{re.escape(msg)}$"):
        load_scenario(path)


@pytest.mark.parametrize(("text", "kind"), [("", "NoneType"), ("- 1\n- 2\n", "list")])
def test_top_level_not_a_mapping(tmp_path: Path, text: str, kind: str) -> None:
    path = _write(tmp_path / "list.yml", text)
    msg = (
        f"{path}: the top level must be a mapping of rqs_input, topology_graph, "
        f"sim_settings and events (got {kind})"
    )
    with pytest.raises(ScenarioFileError, match=f"^{re.escape(msg)}$"):
        load_scenario(path)


def test_unsupported_suffix(tmp_path: Path) -> None:
    path = _write(tmp_path / "scenario.toml", "")
    msg = f"{path}: unsupported file type '.toml' (use .yml, .yaml or .json)"
    with pytest.raises(ScenarioFileError, match=f"^{re.escape(msg)}$"):
        load_scenario(path)


def test_content_errors_are_scenario_errors_not_file_errors(tmp_path: Path) -> None:
    path = _write(tmp_path / "empty.yml", "{}\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert not isinstance(info.value, ScenarioFileError)
    assert info.value.problems == (
        "rqs_input: required field missing (or give workloads, a list of request classes)",
        "topology_graph: required field missing",
        "sim_settings: required field missing",
    )


def test_yaml_1_1_exponent_string_is_a_number(tmp_path: Path, minimal_data: dict[str, Any]) -> None:
    text = yaml.safe_dump(minimal_data).replace("latency: 0.001", "latency: 1e-3")
    assert "1e-3" in text
    scenario = load_scenario(_write(tmp_path / "exp.yml", text))
    assert scenario.topology_graph.edges[0].latency.mean == 0.001
