"""Checks of the arguments of the experiment API.

Every public entry point of :mod:`asyncflow.experiment` checks what it is
given before running anything. A value of the wrong type raises
``TypeError``; a value of the right type outside its range raises
:class:`~asyncflow.errors.ExperimentError` (a ``ValueError``). Both name the
parameter, what was expected and what was given::

    runs: expected an integer >= 1 (got '3', a str)
    confidence: expected a number in (0, 1) (got 1.5)
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from asyncflow.errors import ExperimentError

if TYPE_CHECKING:
    from asyncflow.scenario import Scenario

__all__ = [
    "callable_or_none",
    "integer",
    "number",
    "optional_integer",
    "scenario",
    "shown",
    "text",
    "type_error",
    "wrong_type",
    "wrong_value",
]

_SHOWN_CHARS = 60


def shown(value: Any) -> str:
    """``repr(value)``, cut to a readable length before it is built in full."""
    if isinstance(value, str | bytes) and len(value) > _SHOWN_CHARS:
        value = value[:_SHOWN_CHARS]
        return repr(value)[:-1] + "…" + repr(value)[-1]
    if isinstance(value, list | tuple | dict | set) and len(value) > 8:
        return f"a {type(value).__name__} of {len(value)} items"
    text_ = repr(value)
    return text_ if len(text_) <= _SHOWN_CHARS else text_[: _SHOWN_CHARS - 1] + "…"


def type_error(name: str, expected: str, value: Any) -> TypeError:
    """The ``TypeError`` ``name: expected ... (got value, a type)``, to raise."""
    kind = type(value).__name__
    article = "an" if kind[:1].lower() in "aeiou" else "a"
    return TypeError(f"{name}: expected {expected} (got {shown(value)}, {article} {kind})")


def wrong_type(name: str, expected: str, value: Any) -> NoReturn:
    """Raise :func:`type_error`."""
    raise type_error(name, expected, value)


def wrong_value(name: str, expected: str, value: Any) -> NoReturn:
    """Raise :class:`ExperimentError`: ``name: expected ... (got value)``."""
    raise ExperimentError(f"{name}: expected {expected} (got {shown(value)})")


def _is_integer(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def integer(name: str, value: Any, minimum: int) -> int:
    """Check an integer ``>= minimum``."""
    expected = f"an integer >= {minimum}"
    if not _is_integer(value):
        wrong_type(name, expected, value)
    if value < minimum:
        wrong_value(name, expected, value)
    return int(value)


def optional_integer(name: str, value: Any, minimum: int) -> int | None:
    """Check an integer ``>= minimum``, or ``None``."""
    if value is None:
        return None
    expected = f"an integer >= {minimum} or None"
    if not _is_integer(value):
        wrong_type(name, expected, value)
    if value < minimum:
        wrong_value(name, expected, value)
    return int(value)


def number(
    name: str,
    value: Any,
    *,
    above: float | None = None,
    below: float | None = None,
    at_least: float | None = None,
    expected: str | None = None,
) -> float:
    """Check a finite real number within the given bounds.

    Args:
        name: The parameter, for the message.
        value: What was given.
        above: Exclusive lower bound.
        below: Exclusive upper bound.
        at_least: Inclusive lower bound.
        expected: What the message says was expected; by default built
            from the bounds (``a number in (0, 1)``).

    Returns:
        The number as a float.
    """
    if expected is None:
        rules = []
        if at_least is not None:
            rules.append(f">= {at_least:g}")
        if above is not None and below is not None:
            rules.append(f"in ({above:g}, {below:g})")
        elif above is not None:
            rules.append(f"> {above:g}")
        elif below is not None:
            rules.append(f"< {below:g}")
        expected = " ".join(["a number", *rules])
    if not _is_number(value):
        wrong_type(name, expected, value)
    result = float(value)
    inside = (
        math.isfinite(result)
        and (at_least is None or result >= at_least)
        and (above is None or result > above)
        and (below is None or result < below)
    )
    if not inside:
        wrong_value(name, expected, value)
    return result


def text(name: str, value: Any, expected: str = "a string") -> str:
    """Check a non-empty string."""
    if not isinstance(value, str):
        wrong_type(name, expected, value)
    if not value.strip():
        wrong_value(name, expected, value)
    return value


def callable_or_none(name: str, value: Any) -> None:
    """Check a callable, or ``None``."""
    if value is not None and not callable(value):
        wrong_type(name, "a callable or None", value)


def scenario(name: str, value: Any) -> Scenario:
    """A scenario given as a model, a mapping (validated) or the path of a file.

    Raises:
        TypeError: ``value`` is none of these.
        ScenarioError: The mapping or the file is not a valid scenario.
    """
    from asyncflow.scenario import Scenario, load_scenario, parse_scenario

    if isinstance(value, Scenario):
        return value
    if isinstance(value, Mapping):
        return parse_scenario(value)
    if isinstance(value, str | os.PathLike):
        return load_scenario(Path(value))
    wrong_type(name, "a Scenario, a mapping or the path of a YAML/JSON file", value)
