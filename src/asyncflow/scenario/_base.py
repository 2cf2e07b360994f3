"""Shared pieces of the scenario models: the frozen base class and rule errors.

Rules that pydantic cannot express as field constraints are checked in
validators that call :func:`raise_problems`. It raises a pydantic
``ValidationError`` whose errors carry our own message (type ``asyncflow``),
so pydantic adds the location of the enclosing field and
:mod:`asyncflow.scenario._messages` turns everything into
``path: rule (got value)`` lines.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import cache
from types import UnionType
from typing import Annotated, Any, Final, NamedTuple, NoReturn, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

__all__ = [
    "DEF_MARKER",
    "NO_VALUE",
    "RULE_ERROR_TYPE",
    "SCALARS",
    "FrozenModel",
    "Loc",
    "Problem",
    "did_you_mean",
    "format_loc",
    "missing_first",
    "raise_problems",
    "relocate",
]

Loc = tuple[str | int, ...]
"""A location inside the scenario, as pydantic spells it: keys and indices."""

RULE_ERROR_TYPE: Final = "asyncflow"
"""The pydantic error type used for our own rules."""

DEF_MARKER: Final = "x-asyncflow-def"
"""JSON Schema key naming a definition that :mod:`asyncflow.scenario.schema` supplies."""


class _NoValue:
    """Marker for a problem that has no offending value to show."""

    def __repr__(self) -> str:
        return "NO_VALUE"


NO_VALUE: Final = _NoValue()

SCALARS: Final = (str, int, float, type(None))
"""Types of plain values (``bool`` is an ``int``: test it first where it matters)."""

Problem = tuple[Loc, str, Any]
"""One broken rule: (location, rule text, offending value or ``NO_VALUE``)."""


class FrozenModel(BaseModel):
    """Base of every scenario model: immutable, strict about unknown keys.

    ``true``/``false`` is refused wherever the field is not a boolean
    (pydantic would otherwise read ``cpu_cores: true`` as 1), and a whole
    decimal such as ``2.0`` is read as the integer 2 in an integer field, as
    JSON Schema reads it.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _refuse_booleans(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            kinds = _field_kinds(cls)
            problems = [
                (loc, _BOOL_RULE, value)
                for loc, value in _booleans(data)
                if loc[0] in kinds.names  # unknown keys get their own error
                and not (len(loc) == 1 and loc[0] in kinds.flags)
                and not (len(loc) > 1 and loc[0] in kinds.nested)
            ]
            if problems:
                raise_problems(problems, cls.__name__)
            if any(key in kinds.integers and _is_whole(value) for key, value in data.items()):
                return {
                    key: int(value) if key in kinds.integers and _is_whole(value) else value
                    for key, value in data.items()
                }
        return data


_BOOL_RULE: Final = "must be a number or text, not true/false"


class _FieldKinds(NamedTuple):
    """The fields of a model, sorted by what the before-validator does with them."""

    names: frozenset[str]
    flags: frozenset[str]  # booleans
    nested: frozenset[str]  # fields holding models, which check their own values
    integers: frozenset[str]


@cache
def _field_kinds(model: type[BaseModel]) -> _FieldKinds:
    """Classify a model's fields once (validation of large scenarios calls this a lot)."""
    fields = model.model_fields
    return _FieldKinds(
        names=frozenset(fields),
        flags=frozenset(name for name, f in fields.items() if bool in _leaf_types(f.annotation)),
        nested=frozenset(name for name, f in fields.items() if _holds_model(f.annotation)),
        integers=frozenset(name for name, f in fields.items() if int in _leaf_types(f.annotation)),
    )


def _is_whole(value: Any) -> bool:
    return isinstance(value, float) and value.is_integer() and abs(value) < 2.0**63


def _leaf_types(annotation: Any) -> set[Any]:
    """The types a field may hold, with ``Annotated`` and unions taken apart."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _leaf_types(get_args(annotation)[0])
    if origin in (Union, UnionType):
        return set().union(*(_leaf_types(arg) for arg in get_args(annotation)))
    return {annotation}


def _holds_model(annotation: Any) -> bool:
    """Whether a field's type is (or contains) a model: it checks its own values."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return True
    return any(_holds_model(arg) for arg in get_args(annotation))


def _booleans(data: Mapping[Any, Any]) -> Iterator[tuple[Loc, bool]]:
    """Booleans among the values of ``data`` and inside its lists and plain mappings."""
    for key, value in data.items():
        if isinstance(value, bool):
            yield (str(key),), value
        elif isinstance(value, SCALARS):
            continue  # the common case, before the slower abstract-class check below
        elif isinstance(value, list | tuple):
            yield from (((str(key), i), v) for i, v in enumerate(value) if isinstance(v, bool))
        elif isinstance(value, Mapping) and not isinstance(value, BaseModel):
            items = value.items()
            yield from (((str(key), str(k)), v) for k, v in items if isinstance(v, bool))


def raise_problems(problems: Sequence[Problem], title: str = "Scenario") -> NoReturn:
    """Raise the given problems as one pydantic ``ValidationError``.

    Called from inside validators: pydantic prefixes each location with the
    location of the value being validated.

    Args:
        problems: The broken rules, locations relative to the validated value.
        title: Name shown by pydantic if the error escapes unconverted.

    Raises:
        ValidationError: Always.
    """
    details = [
        InitErrorDetails(
            type=PydanticCustomError(
                RULE_ERROR_TYPE, "{rule}", {"rule": rule, "show_value": value is not NO_VALUE}
            ),
            loc=loc,
            input=None if value is NO_VALUE else value,
        )
        for loc, rule, value in problems
    ]
    raise ValidationError.from_exception_data(title, details)


def format_loc(loc: Loc) -> str:
    """Spell a location as in YAML: ``topology_graph.edges[2].target``.

    Args:
        loc: Keys and indices.

    Returns:
        The dotted path, or ``<scenario>`` for the top level. A key that is
        not plain text (control characters, spaces, more than 100
        characters) is shown quoted and cut, in brackets: ``client['a b']``.
    """
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif not _PLAIN_KEY.fullmatch(str(part)):
            shown = repr(str(part)[:_MAX_KEY_CHARS])
            text += (
                f"[{shown[:-1]}...{shown[-1]}]" if len(str(part)) > _MAX_KEY_CHARS else f"[{shown}]"
            )
        else:
            text += f".{part}" if text else str(part)
    return text or "<scenario>"


_PLAIN_KEY: Final = re.compile(r"[A-Za-z0-9_./:>@+=-]{1,100}")
_MAX_KEY_CHARS: Final = 40


_MAX_SUGGESTED_CHARS: Final = 200


def _details(error: ValidationError, prefix: Loc = ()) -> list[InitErrorDetails]:
    """The errors of ``error`` as details to raise again, under ``prefix``."""
    details: list[InitErrorDetails] = []
    for item in error.errors():
        ctx = item.get("ctx") or {}
        kind: Any = item["type"]
        if kind == RULE_ERROR_TYPE:
            kind = PydanticCustomError(RULE_ERROR_TYPE, "{rule}", ctx)
        detail = InitErrorDetails(type=kind, loc=(*prefix, *item["loc"]), input=item["input"])
        if ctx and not isinstance(kind, PydanticCustomError):
            detail["ctx"] = ctx
        details.append(detail)
    return details


def missing_first(
    error: ValidationError | None, loc: Loc, data: Any, title: str, *, rule: str = ""
) -> NoReturn:
    """Raise "required field missing" at ``loc``, then the errors of ``error`` if any.

    Args:
        error: Other problems of the same value, reported after this one.
        loc: Where the field is missing.
        data: The value validated.
        title: Name shown by pydantic if the error escapes unconverted.
        rule: A rule to state instead of "required field missing".

    Raises:
        ValidationError: Always.
    """
    first = (
        InitErrorDetails(
            type=PydanticCustomError(
                RULE_ERROR_TYPE, "{rule}", {"rule": rule, "show_value": False}
            ),
            loc=loc,
            input=None,
        )
        if rule
        else InitErrorDetails(type="missing", loc=loc, input=data)
    )
    details = [first]
    if error is not None:
        details += _details(error)
    raise ValidationError.from_exception_data(title, details)


def relocate(error: ValidationError, prefix: Loc, title: str) -> NoReturn:
    """Raise ``error`` again with every location under ``prefix``.

    For a part validated on its own inside a validator (a call step's value,
    validated by its kind), so its errors name their place in the scenario.
    Error types and contexts are kept: messages read as they would in place.

    Raises:
        ValidationError: Always.
    """
    raise ValidationError.from_exception_data(title, _details(error, prefix))


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """Return `` (did you mean 'x'?)`` for the closest candidate, or ``""``.

    Args:
        word: What the user wrote.
        candidates: The valid spellings.

    Returns:
        The suggestion suffix, starting with a space, or an empty string.
    """
    if len(word) > _MAX_SUGGESTED_CHARS:  # nothing that long is close to a valid name
        return ""
    matches = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean {matches[0]!r}?)" if matches else ""
