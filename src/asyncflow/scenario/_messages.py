"""Turn pydantic validation errors into ``path: rule (got value)`` lines."""

from __future__ import annotations

import math
import re
import reprlib
import types
import typing
from collections.abc import Mapping
from typing import Any, Final

from pydantic import BaseModel, ValidationError

from asyncflow.scenario._base import RULE_ERROR_TYPE, Loc, did_you_mean, format_loc
from asyncflow.scenario.endpoints import DURATION_TAG, NUMBER_TAG
from asyncflow.scenario.limits import FIELD_LIMITS, ID_PATTERN, ID_RULE, Limit
from asyncflow.scenario.models import Scenario

__all__ = ["format_loc", "problems_from_error", "show_value"]

_TAGS: Final = frozenset({DURATION_TAG, NUMBER_TAG})
_MAX_VALUE_CHARS: Final = 60
_BIG_INT_BITS: Final = 200  # about 60 digits: longer integers are described, not printed

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
    "too_long": "must have at most {max_length} items",
    "string_too_short": "must not be empty",
    "string_too_long": "must be at most {max_length} characters",
}
_NO_VALUE_TYPES: Final = frozenset({"missing"})
_PATTERN_RULES: Final = {ID_PATTERN: ID_RULE}
_RELATIONS: Final = {
    "less_than_equal": ("<=", "le"),
    "greater_than_equal": (">=", "ge"),
    "too_long": ("at most", "max_length"),
}


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


def _rule_with_value(detail: Mapping[str, Any]) -> str:
    kind = detail["type"]
    ctx = detail.get("ctx") or {}
    if kind == RULE_ERROR_TYPE:
        rule, show = str(ctx["rule"]), bool(ctx["show_value"])
    elif kind == "literal_error":
        rule, show = _literal_rule(detail["input"], str(ctx.get("expected", "")))
    elif kind in ("value_error", "assertion_error"):
        rule, show = re.sub(r"^(Value|Assertion) error, ", "", str(detail["msg"])), True
    elif kind == "string_pattern_mismatch":
        pattern = str(ctx.get("pattern", ""))
        rule, show = _PATTERN_RULES.get(pattern, f"must match {pattern}"), True
    elif kind == "float_type" and _is_int(detail["input"]):
        rule, show = "is too large for a number (a double holds at most 1.8e308)", True
    elif kind in _RELATIONS and (limit := _limit_of(detail["loc"], kind, ctx)) is not None:
        if kind == "too_long":
            rule, show = f"must have at most {limit.shown}: {limit.reason}", False
        else:
            rule, show = limit.rule(_RELATIONS[kind][0]), True
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
            return f"unknown value {show_value(value)}{hint}", False
    if len(choices) == 1:
        return f"must be {choices[0]!r}", True
    return "must be one of " + ", ".join(repr(c) for c in choices), True


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _limit_of(loc: Loc, kind: str, ctx: Mapping[str, Any]) -> Limit | None:
    """The documented limit behind a ``le``/``ge``/``max_length`` error, for its reason."""
    relation, key = _RELATIONS[kind]
    bound = ctx.get(key)
    for part in reversed(loc):
        limit = FIELD_LIMITS.get((str(part), relation))
        if limit is not None and limit.value == bound:
            return limit
    return None


class _ShortRepr(reprlib.Repr):
    """``repr`` that cuts before rendering: long text, deep or long containers, huge integers."""

    def __init__(self) -> None:
        super().__init__()
        self.maxlevel = 3
        self.maxlist = self.maxtuple = self.maxset = self.maxfrozenset = self.maxdict = 4
        self.maxstring = self.maxother = _MAX_VALUE_CHARS

    def repr_int(self, x: int, level: int) -> str:
        if x.bit_length() <= _BIG_INT_BITS:
            return repr(x)
        try:
            return f"<an integer of {len(str(abs(x)))} digits>"
        except ValueError:  # beyond Python's int-to-text limit (4300 digits by default)
            digits = math.floor(x.bit_length() * math.log10(2)) + 1
            return f"<an integer of about {digits} digits>"


_SHORT_REPR: Final = _ShortRepr()


def show_value(value: Any) -> str:
    """Render a value for a message, at most about 60 characters, in bounded time.

    Args:
        value: Anything the user gave (possibly huge, deep or self-referencing).

    Returns:
        A short ``repr``-like text.
    """
    text = _SHORT_REPR.repr(value)
    if len(text) > _MAX_VALUE_CHARS:
        text = text[: _MAX_VALUE_CHARS - 3] + "..."
    return text


_show = show_value


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
