"""Load scenarios from YAML or JSON files and from plain mappings."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

from pydantic import BaseModel, ValidationError

from asyncflow.errors import ScenarioError, ScenarioFileError
from asyncflow.scenario._base import SCALARS, Loc, format_loc
from asyncflow.scenario._messages import problems_from_error
from asyncflow.scenario._reading import parse_json, parse_yaml, read_text
from asyncflow.scenario.limits import MAX_NESTING, MAX_VALUES
from asyncflow.scenario.models import Scenario
from asyncflow.scenario.schema import scenario_json_schema

__all__ = ["load_scenario", "parse_scenario", "scenario_json_schema"]

_YAML_SUFFIXES = (".yml", ".yaml")
_MAX_PROBLEM_LINES: Final = 100
_SHOWN_LOC_PARTS: Final = 8


def load_scenario(path: str | os.PathLike[str]) -> Scenario:
    """Read and validate a scenario file.

    The format follows the suffix: ``.yml``/``.yaml`` for YAML, ``.json`` for
    JSON. The scenario's ``name`` is the file stem unless the file sets one.
    Only regular files up to 16 MiB are read (see ``docs/reference/scenario.md``).

    Args:
        path: The file.

    Returns:
        The validated scenario.

    Raises:
        TypeError: ``path`` is not a path.
        ScenarioFileError: The file is missing, unreadable, not a regular
            file, too large, of an unknown type, not valid YAML/JSON, or not a
            mapping at the top level.
        ScenarioError: The content breaks one or more rules (all listed).
    """
    if not isinstance(path, str | os.PathLike) or isinstance(path, bytes):
        kind = "None" if path is None else type(path).__name__
        raise TypeError(f"path: expected a str or os.PathLike path of a scenario file (got {kind})")
    file = Path(path)
    suffix = file.suffix.lower()
    if suffix not in (*_YAML_SUFFIXES, ".json"):
        raise ScenarioFileError(
            [f"{file}: unsupported file type {suffix!r} (use .yml, .yaml or .json)"]
        )
    with _collector_paused():
        text = read_text(file)
        data = parse_yaml(file, text) if suffix in _YAML_SUFFIXES else parse_json(file, text)
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
        ScenarioError: With one ``path: rule (got value)`` line per problem
            (the first 100, then a count of the others).
    """
    if not isinstance(data, Mapping):
        raise ScenarioError([f"<scenario>: must be a mapping (got {type(data).__name__})"])
    with _collector_paused():
        shape = _shape_problems(data)
        if shape:
            raise ScenarioError(_at_most_lines(shape))
        payload = dict(data)
        payload.setdefault("name", name)
        try:
            return Scenario.model_validate(payload)
        except ValidationError as exc:
            raise ScenarioError(_at_most_lines(problems_from_error(exc))) from None


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a scenario is read and validated.

    Parsing and validating allocate hundreds of thousands of containers that
    all stay alive, and every burst of allocations starts a collection that
    walks them again: a 10,000-server file loaded in 3.5 s with the collector
    and 1.2 s without (``bench/validation.py``). Nothing cyclic is built
    (shared YAML aliases aside), so nothing piles up while it waits.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _at_most_lines(problems: list[str]) -> list[str]:
    if len(problems) <= _MAX_PROBLEM_LINES:
        return problems
    hidden = len(problems) - _MAX_PROBLEM_LINES
    return [*problems[:_MAX_PROBLEM_LINES], f"... and {hidden} more problems"]


def _shape_problems(data: Mapping[str, Any]) -> list[str]:
    """Problems of the raw data's shape, found before any model sees it.

    Values are counted with shared parts (YAML aliases, repeated Python
    objects) counted every time they appear, so that an alias bomb or a
    self-referencing list stops here, in bounded time and memory; nesting is
    bounded; sets are refused (their order is not reproducible).
    """
    problems: list[str] = []
    stack: list[tuple[Loc, Iterator[tuple[str | int, Any]]]] = [((), _children(data))]
    count = 1
    while stack:
        loc, children = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
            continue
        count += 1
        if count > MAX_VALUES.value:
            return [f"<scenario>: more than {MAX_VALUES.shown}: {MAX_VALUES.reason}"]
        key, value = child
        if isinstance(value, SCALARS):
            continue
        where = (*loc, key)
        if len(where) > MAX_NESTING.value:
            shown = format_loc(where[:_SHOWN_LOC_PARTS])
            return [f"{shown}...: nested deeper than {MAX_NESTING.shown}: {MAX_NESTING.reason}"]
        if isinstance(value, set | frozenset):
            problems.append(f"{format_loc(where)}: {_SET_RULE}")
        elif isinstance(value, Mapping | list | tuple) and not isinstance(value, BaseModel):
            stack.append((where, _children(value)))
    return problems


_SET_RULE: Final = (
    "must be a list, not a set: a set's order changes from run to run, so results "
    "would not be reproducible"
)


def _children(
    value: Mapping[Any, Any] | list[Any] | tuple[Any, ...],
) -> Iterator[tuple[str | int, Any]]:
    if isinstance(value, Mapping):
        return ((str(key), item) for key, item in value.items())
    return enumerate(value)
