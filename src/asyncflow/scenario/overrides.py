"""Change values of a scenario by dotted path: ``--set PATH=VALUE`` and ``--duration``.

Overrides work on the plain mapping of a scenario (what its file holds), and
the result is then validated like a file (:func:`~asyncflow.scenario.parse_scenario`),
so an overridden value breaks the same rules, with the same messages, as the
value written in the file.

A path is the file's keys joined by dots. Items of a list are addressed by
their id (``id``, ``event_id`` or ``endpoint_name``), or by their position
(from 0) in lists whose items have none (the steps of an endpoint)::

    topology_graph.nodes.servers.srv-1.server_resources.cpu_cores=4
    topology_graph.nodes.servers.srv-1.endpoints./api.steps.0.step_operation.cpu_time=0.002
    rqs_input.avg_active_users.mean=250
    sim_settings.total_simulation_time=600

An id may contain dots: the longest run of segments that names an item wins.
Every key is checked against the scenario's models before anything is set:
an unknown key, an unknown id or a path through a number is refused with the
closest valid path. A key the model knows but the file leaves out is added;
a missing section is added only when every one of its fields has a default
(``server_resources`` yes, a ``load_balancer`` with no id no).

A value is read as YAML: ``4`` is a number, ``round_robin`` a string,
``{mean: 2, distribution: exponential}`` a mapping, ``[srv-1, srv-2]`` a list.
Setting ``.mean`` of a duration or count written as a bare number turns it
into ``{distribution: deterministic, mean: ...}`` first.
"""

from __future__ import annotations

import copy
import re
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml
from pydantic import BaseModel

from asyncflow.errors import ScenarioError
from asyncflow.scenario._base import did_you_mean
from asyncflow.scenario.distributions import Distribution
from asyncflow.scenario.models import Scenario

__all__ = [
    "DURATION_PATH",
    "ID_KEYS",
    "Override",
    "apply_overrides",
    "load_with_overrides",
    "read_scenario_data",
    "scenario_data",
    "takes_integers",
    "value_at",
    "with_overrides",
]

DURATION_PATH: Final = "sim_settings.total_simulation_time"
"""The path ``--duration SECONDS`` sets."""

ID_KEYS: Final = ("id", "event_id", "endpoint_name")
"""Keys that name an item of a list, tried in this order."""

_NUMBER: Final = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


@dataclass(frozen=True, slots=True)
class Override:
    """One value to set: ``path`` (dotted, items by id) and the new ``value``.

    Attributes:
        path: The dotted path, e.g. ``sim_settings.total_simulation_time``.
        value: The new value (a number, a string, a list or a mapping).
    """

    path: str
    value: Any

    @classmethod
    def parse(cls, text: str) -> Override:
        """Read ``PATH=VALUE``; the value is read as YAML (a number stays a number).

        Raises:
            ScenarioError: The text has no ``=``, an empty path or a value
                that is not valid YAML.
        """
        path, equals, raw = text.partition("=")
        path = path.strip()
        if not equals or not path:
            raise ScenarioError([f"--set: expected PATH=VALUE (got {text!r})"])
        return cls(path, parse_value(path, raw.strip()))

    def __str__(self) -> str:
        return f"{self.path}={self.value}"


def parse_value(path: str, raw: str) -> Any:
    """A value as YAML reads it, numbers such as ``1e3`` included (YAML 1.1 reads text)."""
    if _NUMBER.match(raw):
        number = float(raw)
        return int(number) if number.is_integer() and re.fullmatch(r"[+-]?\d+", raw) else number
    try:
        return yaml.safe_load(raw) if raw else None
    except yaml.YAMLError as error:
        problem = getattr(error, "problem", None) or "invalid YAML"
        rule = f"the value is not valid YAML: {problem} (got {raw!r})"
        raise ScenarioError([f"{path}: {rule}"]) from None


def duration_override(seconds: float) -> Override:
    """The override of ``--duration SECONDS`` (the horizon of the run)."""
    return Override(DURATION_PATH, seconds)


# --------------------------------------------------------------------------- reading


def read_scenario_data(path: str | Path) -> dict[str, Any]:
    """The plain mapping of a scenario file: the values it gives, its name included.

    The file is loaded and validated as it is (so a broken file is reported
    as such, before any override), then turned back into the values it
    gives (:func:`scenario_data`); defaults stay out, and validating the
    mapping again gives the same scenario.

    Raises:
        ScenarioFileError: As :func:`~asyncflow.scenario.load_scenario`.
        ScenarioError: The file breaks a rule.
    """
    from asyncflow.scenario.loader import load_scenario

    return scenario_data(load_scenario(path))


def scenario_data(scenario: Scenario) -> dict[str, Any]:
    """The plain mapping of a validated scenario: the values it was given, no defaults."""
    data: dict[str, Any] = scenario.model_dump(mode="json", exclude_unset=True)
    data["name"] = scenario.name
    return data


def load_with_overrides(path: str | Path, overrides: Sequence[Override] = ()) -> Scenario:
    """Read a scenario file, apply ``overrides`` in order, then validate.

    Raises:
        ScenarioFileError: The file cannot be read.
        ScenarioError: The file breaks a rule, a path is wrong, or the
            result breaks a rule.
    """
    from asyncflow.scenario.loader import load_scenario

    return with_overrides(load_scenario(path), overrides)


def with_overrides(
    scenario: Scenario | Mapping[str, Any], overrides: Sequence[Override]
) -> Scenario:
    """A scenario (model or plain mapping) with ``overrides`` applied, validated.

    Raises:
        ScenarioError: A path is wrong, or the result breaks a rule.
    """
    from asyncflow.scenario.loader import parse_scenario

    if isinstance(scenario, Scenario):
        if not overrides:
            return scenario
        scenario = scenario_data(scenario)
    return parse_scenario(apply_overrides(scenario, overrides))


# --------------------------------------------------------------------------- applying


def apply_overrides(data: Mapping[str, Any], overrides: Sequence[Override]) -> dict[str, Any]:
    """A deep copy of ``data`` with every override applied, in order.

    Args:
        data: The plain mapping of a scenario.
        overrides: The values to set.

    Returns:
        The new mapping (``data`` is left as it was).

    Raises:
        ScenarioError: With one ``PATH: rule`` line per override whose path
            is wrong (every override is checked).
    """
    result = copy.deepcopy(dict(data))
    problems: list[str] = []
    for override in overrides:
        try:
            _set(result, override)
        except _PathError as error:
            problems.append(f"{override.path}: {error}")
    if problems:
        raise ScenarioError(problems)
    return result


class _PathError(Exception):
    """A path that does not lead to a value of the scenario."""


def _set(data: dict[str, Any], override: Override) -> None:
    container, key, _ = _resolve(data, override.path)
    container[key] = override.value


def _resolve(data: dict[str, Any], path: str) -> tuple[Any, Any, Any]:
    """The container, key and field type a path ends at (sections on the way are added)."""
    segments = path.split(".")
    if any(not s for s in segments):
        raise _PathError("empty segment in the path (two dots, or a dot at an end)")
    walker = _Walker(segments)
    container: Any = data
    annotation: Any = Scenario
    while True:
        key, annotation, is_last = walker.step(container, annotation)
        if is_last:
            return container, key, annotation
        container = walker.descend(container, key, annotation)


def value_at(data: Mapping[str, Any], path: str) -> Any:
    """The value at ``path`` in a scenario mapping, or ``None`` when the file leaves it out.

    Raises:
        ScenarioError: The path is wrong (as for :func:`apply_overrides`).
    """
    try:
        container, key, _ = _resolve(copy.deepcopy(dict(data)), path)
    except _PathError as error:
        raise ScenarioError([f"{path}: {error}"]) from None
    return container[key] if _has(container, key) else None


def takes_integers(data: Mapping[str, Any], path: str) -> bool:
    """Whether the field at ``path`` holds whole numbers only (``cpu_cores``, ...).

    Raises:
        ScenarioError: The path is wrong.
    """
    try:
        _, _, annotation = _resolve(copy.deepcopy(dict(data)), path)
    except _PathError as error:
        raise ScenarioError([f"{path}: {error}"]) from None
    return _unwrap(annotation) is int


@dataclass
class _Walker:
    """Walks the segments of a path through data and models together."""

    segments: list[str]
    position: int = 0

    def done_path(self, *extra: str) -> str:
        return ".".join([*self.segments[: self.position], *extra])

    def rest(self) -> list[str]:
        return self.segments[self.position :]

    def step(self, container: Any, annotation: Any) -> tuple[Any, Any, bool]:
        """Consume the next key (or item id); return it, its annotation, whether it is last."""
        model = _model(annotation)
        if isinstance(container, list):
            index, used = self._item(container)
            self.position += used
            return index, _item_annotation(annotation), self.position == len(self.segments)
        key = self.segments[self.position]
        model = _member_for(annotation, container) or model
        if model is not None:
            fields = model.model_fields
            if key not in fields:
                raise _PathError(self._unknown_key(key, list(fields)))
            self.position += 1
            return key, fields[key].annotation, self.position == len(self.segments)
        if _is_dict(annotation):
            self.position += 1
            return key, _dict_value(annotation), self.position == len(self.segments)
        raise _PathError(f"{self.done_path()!r} holds no keys")  # pragma: no cover - guarded

    def descend(self, container: Any, key: Any, annotation: Any) -> Any:
        """The value under ``key``, created or converted when the path may go through it."""
        value = container[key] if _has(container, key) else None
        where = self.done_path()
        if value is None:
            model = _model(annotation)
            if model is not None and not _all_defaults(model):
                raise _PathError(f"{where!r} is not in the scenario: add it to the file first")
            if model is None and not _is_dict(annotation):
                raise _PathError(f"{where!r} is not in the scenario: add it to the file first")
            value = {}
            container[key] = value
        elif _is_number(value) and _model(annotation) is Distribution:
            value = {"distribution": "deterministic", "mean": value}
            container[key] = value
        if isinstance(value, list):
            if not self.rest():  # pragma: no cover - a last segment is assigned, not descended
                raise _PathError(f"{where!r} is a list: name an item")
            return value
        if not isinstance(value, dict):
            shown = f"{value!r}"
            raise _PathError(
                f"{where!r} is a value ({shown}), not a section: set {where}=VALUE instead"
            )
        if _model(annotation) is None and not _is_dict(annotation):
            raise _PathError(f"{where!r} is a value, not a section: set {where}=VALUE instead")
        return value

    def _item(self, items: list[Any]) -> tuple[int, int]:
        """The index of the item the next segments name, and how many segments they are."""
        rest = self.rest()
        ids = [_item_id(item) for item in items]
        for used in range(len(rest), 0, -1):
            name = ".".join(rest[:used])
            if name in ids:
                return ids.index(name), used
        first = rest[0]
        if first.isdigit() and int(first) < len(items) and not any(i is not None for i in ids):
            return int(first), 1
        raise _PathError(self._unknown_item(first, ids, len(items)))

    def _unknown_key(self, key: str, allowed: list[str]) -> str:
        hint = did_you_mean(key, allowed)
        if hint:
            better = hint.split("'")[1]
            fixed = self.done_path(better, *self.segments[self.position + 1 :])
            return f"unknown key {key!r} (did you mean {fixed!r}?)"
        where = self.done_path() or "the scenario"
        return f"unknown key {key!r} in {where} (expected one of: {', '.join(allowed)})"

    def _unknown_item(self, name: str, ids: list[str | None], count: int) -> str:
        where = self.done_path()
        known = [i for i in ids if i is not None]
        if not known:
            return f"no item {name!r} in {where!r}: give a position from 0 to {count - 1}"
        hint = did_you_mean(name, known)
        if hint:
            better = hint.split("'")[1]
            fixed = self.done_path(better, *self.segments[self.position + 1 :])
            return f"no item with id {name!r} in {where!r} (did you mean {fixed!r}?)"
        return f"no item with id {name!r} in {where!r} (ids: {', '.join(known)})"


def _has(container: Any, key: Any) -> bool:
    if isinstance(container, list):
        return isinstance(key, int) and 0 <= key < len(container)
    return isinstance(container, Mapping) and key in container


def _item_id(item: Any) -> str | None:
    if isinstance(item, Mapping):
        for key in ID_KEYS:
            value = item.get(key)
            if isinstance(value, str):
                return value
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _all_defaults(model: type[BaseModel]) -> bool:
    return not any(bool(field.is_required()) for field in model.model_fields.values())


def _unwrap(annotation: Any) -> Any:
    """Strip ``Annotated`` and ``None`` from a field's type."""
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        members = [_unwrap(a) for a in typing.get_args(annotation) if a is not type(None)]
        models = [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)]
        if models:
            return models[0]
        containers = [m for m in members if typing.get_origin(m) in (tuple, list, dict)]
        if containers:
            return containers[0]
        return members[0] if len(members) == 1 else annotation
    return annotation


def _member_for(annotation: Any, data: Any) -> type[BaseModel] | None:
    """The model of a union of models whose tag fields match ``data`` (``type: retry``...).

    A tag is a field typed as a ``Literal``; the first member whose tags all
    hold the values ``data`` gives is the one, or ``None`` when no member is
    told apart that way (a plain model, or data without tags).
    """
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) not in (typing.Union, types.UnionType):
        return None
    if not isinstance(data, Mapping):
        return None
    for member in typing.get_args(annotation):
        if not (isinstance(member, type) and issubclass(member, BaseModel)):
            continue
        tags = {
            name: typing.get_args(field.annotation)
            for name, field in member.model_fields.items()
            if typing.get_origin(field.annotation) is typing.Literal
        }
        if tags and all(name in data and data[name] in values for name, values in tags.items()):
            return member
    return None


def _model(annotation: Any) -> type[BaseModel] | None:
    inner = _unwrap(annotation)
    return inner if isinstance(inner, type) and issubclass(inner, BaseModel) else None


def _is_dict(annotation: Any) -> bool:
    return typing.get_origin(_unwrap(annotation)) is dict


def _dict_value(annotation: Any) -> Any:
    return typing.get_args(_unwrap(annotation))[1]


def _item_annotation(annotation: Any) -> Any:
    inner = _unwrap(annotation)
    if typing.get_origin(inner) in (tuple, list):
        return typing.get_args(inner)[0]
    return Any
