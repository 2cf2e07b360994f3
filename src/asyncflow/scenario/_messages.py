"""Turn pydantic validation errors into ``path: rule (got value)`` lines."""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Mapping
from typing import Any, Final

from pydantic import BaseModel, ValidationError

from asyncflow.scenario._base import RULE_ERROR_TYPE, Loc, did_you_mean
from asyncflow.scenario.models import DURATION_TAG, NUMBER_TAG, Scenario

__all__ = ["format_loc", "problems_from_error"]

_TAGS: Final = frozenset({DURATION_TAG, NUMBER_TAG})
_MAX_VALUE_CHARS: Final = 60

_RULES: Final[dict[str, str]] = {
    "missing": "required field missing",
    "greater_than": "must be > {gt}",
    "greater_than_equal": "must be >= {ge}",
    "less_than": "must be < {lt}",
    "less_than_equal": "must be <= {le}",
    "finite_number": "must be a finite number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "int_from_float": "must be a whole number",
    "string_type": "must be a string",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "dict_type": "must be a mapping",
    "model_type": "must be a mapping",
    "model_attributes_type": "must be a mapping",
    "tuple_type": "must be a list",
    "list_type": "must be a list",
    "too_short": "must not be empty",
}
_NO_VALUE_TYPES: Final = frozenset({"missing"})


def problems_from_error(error: ValidationError) -> list[str]:
    """Convert a pydantic error on :class:`Scenario` into problem lines.

    Args:
        error: Raised while validating a scenario mapping.

    Returns:
        One ``path: rule (got value)`` line per problem, in pydantic's order.
    """
    details: list[dict[str, Any]] = [
        {**detail, "loc": tuple(part for part in detail["loc"] if part not in _TAGS)}
        for detail in error.errors(include_url=False)
    ]
    details = [d for d in details if not _is_echo(d, details)]
    suggested: set[Loc] = set()
    lines: list[tuple[Loc, str]] = []
    for detail in details:
        loc: Loc = detail["loc"]
        if detail["type"] == "extra_forbidden":
            rule, suggestion = _unknown_field(loc)
            if suggestion is not None:
                suggested.add((*loc[:-1], suggestion))
            lines.append((loc, rule))
        else:
            lines.append((loc, _rule_with_value(detail)))
    kept = [
        (loc, rule)
        for (loc, rule), detail in zip(lines, details, strict=True)
        if not (detail["type"] == "missing" and loc in suggested)
    ]
    return [f"{format_loc(loc)}: {rule}" for loc, rule in kept]


def _is_echo(detail: Mapping[str, Any], details: list[dict[str, Any]]) -> bool:
    """Pydantic adds "too short" to a list whose items failed: drop it."""
    if detail["type"] != "too_short":
        return False
    loc = detail["loc"]
    return any(len(d["loc"]) > len(loc) and d["loc"][: len(loc)] == loc for d in details)


def format_loc(loc: Loc) -> str:
    """Spell a location as in YAML: ``topology_graph.edges[2].target``.

    Args:
        loc: Keys and indices.

    Returns:
        The dotted path, or ``<scenario>`` for the top level.
    """
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "<scenario>"


def _rule_with_value(detail: Mapping[str, Any]) -> str:
    kind = detail["type"]
    ctx = detail.get("ctx") or {}
    if kind == RULE_ERROR_TYPE:
        rule, show = str(ctx["rule"]), bool(ctx["show_value"])
    elif kind == "literal_error":
        rule, show = _literal_rule(detail["input"], str(ctx.get("expected", "")))
    elif kind in ("value_error", "assertion_error"):
        rule, show = re.sub(r"^(Value|Assertion) error, ", "", str(detail["msg"])), True
    elif kind in _RULES:
        numbers = {k: f"{v:g}" if isinstance(v, int | float) else v for k, v in ctx.items()}
        rule, show = _RULES[kind].format(**numbers), kind not in _NO_VALUE_TYPES
    else:
        message = str(detail["msg"])
        rule, show = message[:1].lower() + message[1:], True
    return f"{rule} (got {_show(detail['input'])})" if show else rule


def _literal_rule(value: Any, expected: str) -> tuple[str, bool]:
    choices = re.findall(r"'([^']*)'", expected)
    if isinstance(value, str):
        hint = did_you_mean(value, choices)
        if hint:
            return f"unknown value {value!r}{hint}", False
    if len(choices) == 1:
        return f"must be {choices[0]!r}", True
    return "must be one of " + ", ".join(repr(c) for c in choices), True


def _show(value: Any) -> str:
    text = repr(value)
    if len(text) > _MAX_VALUE_CHARS:
        text = text[: _MAX_VALUE_CHARS - 3] + "..."
    return text


def _unknown_field(loc: Loc) -> tuple[str, str | None]:
    model = _model_at(loc[:-1])
    if model is None or not isinstance(loc[-1], str):
        return "unknown field", None
    allowed = list(model.model_fields)
    matches = did_you_mean(loc[-1], allowed)
    if matches:
        return f"unknown field{matches}", matches.split("'")[1]
    return "unknown field (expected one of: " + ", ".join(allowed) + ")", None


def _model_at(loc: Loc) -> type[BaseModel] | None:
    """Find the model class that validates the value at ``loc``, if any."""
    current: Any = Scenario
    for part in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                return None
            current = field.annotation
        elif typing.get_origin(current) in (tuple, list, dict):
            current = typing.get_args(current)[-1 if typing.get_origin(current) is dict else 0]
        else:
            return None
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return current
    return None


def _unwrap(annotation: Any) -> Any:
    """Strip ``Annotated`` and pick the model member of a union."""
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        members = [_unwrap(arg) for arg in typing.get_args(annotation) if arg is not type(None)]
        models = [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)]
        if models:
            return models[0]
        return members[0] if len(members) == 1 else annotation
    return annotation
