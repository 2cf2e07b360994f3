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
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Final, NoReturn, get_args

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

__all__ = [
    "NO_VALUE",
    "RULE_ERROR_TYPE",
    "FrozenModel",
    "Loc",
    "Problem",
    "did_you_mean",
    "raise_problems",
]

Loc = tuple[str | int, ...]
"""A location inside the scenario, as pydantic spells it: keys and indices."""

RULE_ERROR_TYPE: Final = "asyncflow"
"""The pydantic error type used for our own rules."""


class _NoValue:
    """Marker for a problem that has no offending value to show."""

    def __repr__(self) -> str:
        return "NO_VALUE"


NO_VALUE: Final = _NoValue()

Problem = tuple[Loc, str, Any]
"""One broken rule: (location, rule text, offending value or ``NO_VALUE``)."""


class FrozenModel(BaseModel):
    """Base of every scenario model: immutable, strict about unknown keys.

    ``true``/``false`` is refused wherever the field is not a boolean
    (pydantic would otherwise read ``cpu_cores: true`` as 1).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _refuse_booleans(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            fields = cls.model_fields
            flags = {name for name, f in fields.items() if f.annotation is bool}
            nested = {name for name, f in fields.items() if _holds_model(f.annotation)}
            problems = [
                (loc, _BOOL_RULE, value)
                for loc, value in _booleans(data)
                if loc[0] in fields  # unknown keys get their own error
                and not (len(loc) == 1 and loc[0] in flags)
                and not (len(loc) > 1 and loc[0] in nested)
            ]
            if problems:
                raise_problems(problems, cls.__name__)
        return data


_BOOL_RULE: Final = "must be a number or text, not true/false"


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


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """Return `` (did you mean 'x'?)`` for the closest candidate, or ``""``.

    Args:
        word: What the user wrote.
        candidates: The valid spellings.

    Returns:
        The suggestion suffix, starting with a space, or an empty string.
    """
    matches = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean {matches[0]!r}?)" if matches else ""
