"""Load scenarios from YAML or JSON files and from plain mappings."""

from __future__ import annotations

import json
import os
from collections.abc import Hashable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from asyncflow.errors import ScenarioError, ScenarioFileError
from asyncflow.scenario._messages import problems_from_error
from asyncflow.scenario.models import Scenario

__all__ = ["load_scenario", "parse_scenario", "scenario_json_schema"]

_YAML_SUFFIXES = (".yml", ".yaml")


def load_scenario(path: str | os.PathLike[str]) -> Scenario:
    """Read and validate a scenario file.

    The format follows the suffix: ``.yml``/``.yaml`` for YAML, ``.json`` for
    JSON. The scenario's ``name`` is the file stem unless the file sets one.

    Args:
        path: The file.

    Returns:
        The validated scenario.

    Raises:
        ScenarioFileError: The file is missing, unreadable, of an unknown
            type, not valid YAML/JSON, or not a mapping at the top level.
        ScenarioError: The content breaks one or more rules (all listed).
    """
    file = Path(path)
    suffix = file.suffix.lower()
    if suffix not in (*_YAML_SUFFIXES, ".json"):
        raise ScenarioFileError(
            [f"{file}: unsupported file type {suffix!r} (use .yml, .yaml or .json)"]
        )
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioFileError([f"{file}: file not found"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioFileError([f"{file}: cannot read the file ({exc})"]) from None
    data = _parse_yaml(file, text) if suffix in _YAML_SUFFIXES else _parse_json(file, text)
    if not isinstance(data, Mapping):
        raise ScenarioFileError(
            [
                f"{file}: the top level must be a mapping of rqs_input, topology_graph, "
                f"sim_settings and events (got {type(data).__name__})"
            ]
        )
    return parse_scenario(data, name=file.stem)


def parse_scenario(data: Mapping[str, Any], name: str = "scenario") -> Scenario:
    """Validate a scenario given as a mapping (parsed YAML or JSON).

    Args:
        data: The scenario; the same keys as a file.
        name: Name of the scenario, unless ``data`` has a ``name`` key.

    Returns:
        The validated scenario.

    Raises:
        ScenarioError: With one ``path: rule (got value)`` line per problem.
    """
    if not isinstance(data, Mapping):
        raise ScenarioError([f"<scenario>: must be a mapping (got {type(data).__name__})"])
    payload = dict(data)
    payload.setdefault("name", name)
    try:
        return Scenario.model_validate(payload)
    except ValidationError as exc:
        raise ScenarioError(problems_from_error(exc)) from None


def scenario_json_schema() -> dict[str, Any]:
    """Return the JSON Schema of a scenario file, for editors.

    Returns:
        A JSON-serialisable dict (``$defs`` hold the nested models).
    """
    return Scenario.model_json_schema(mode="validation")


class _StrictLoader(yaml.SafeLoader):
    """A safe YAML loader that rejects duplicate keys instead of keeping the last."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Hashable, Any]:
    loader.flatten_mapping(node)
    result: dict[Hashable, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in result:
            mark = key_node.start_mark
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", mark)
        result[key] = loader.construct_object(value_node, deep=True)
    return result


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _parse_yaml(file: Path, text: str) -> Any:
    try:
        return yaml.load(text, Loader=_StrictLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise ScenarioFileError([f"{file}: invalid YAML{where}: {problem}"]) from None


def _parse_json(file: Path, text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        where = f" at line {exc.lineno}, column {exc.colno}"
        raise ScenarioFileError([f"{file}: invalid JSON{where}: {exc.msg}"]) from None
