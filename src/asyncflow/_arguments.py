"""Checks of the arguments of public entry points (``asyncflow.run`` and the like).

Each check names the parameter, what it expects and what it got, and raises
:class:`TypeError` for a value of the wrong kind or
:class:`~asyncflow.errors.ScenarioError` (a ``ValueError``) for a value of
the right kind that breaks a rule::

    seed: must be an integer from 0 to 18446744073709551615 or None (got -1)
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from asyncflow.errors import ScenarioError
from asyncflow.scenario._messages import show_value
from asyncflow.scenario.limits import MAX_SEED

if TYPE_CHECKING:
    from asyncflow.scenario import Scenario

__all__ = ["scenario_argument", "seed_argument"]

_SCENARIO_KINDS = (
    "a Scenario, a mapping of the scenario's keys, or the path of a .yml, .yaml or .json file"
)


def _described(value: Any) -> str:
    """``<type> <value>`` for a message, the value cut to a few dozen characters."""
    return "None" if value is None else f"{type(value).__name__} {show_value(value)}"


def scenario_argument(value: object, parameter: str = "scenario") -> Scenario:
    """Return a validated scenario from what a caller passed.

    A :class:`~asyncflow.scenario.Scenario` is validated again from its
    data, since ``model_copy(update=...)`` and similar paths skip pydantic's
    validation; a mapping is validated like a file's content; a string or
    path is loaded.

    Args:
        value: The argument.
        parameter: Its name, for messages.

    Returns:
        The validated scenario.

    Raises:
        TypeError: For anything else (None, numbers, bytes, an unbuilt
            :class:`~asyncflow.scenario.ScenarioBuilder`).
        ScenarioError: When the scenario breaks a rule (``ScenarioFileError``
            for a file that cannot be read).
    """
    from asyncflow.scenario import Scenario, ScenarioBuilder, load_scenario, parse_scenario

    if isinstance(value, Scenario):
        data = value.model_dump(mode="python", exclude_none=True, warnings=False)
        return parse_scenario(data, name=value.name)
    if isinstance(value, ScenarioBuilder):
        raise TypeError(
            f"{parameter}: expected {_SCENARIO_KINDS} (got an unbuilt ScenarioBuilder; "
            "call .build() first)"
        )
    if isinstance(value, str | os.PathLike) and not isinstance(value, bytes):
        return load_scenario(value)
    if isinstance(value, Mapping):
        return parse_scenario(value)
    raise TypeError(f"{parameter}: expected {_SCENARIO_KINDS} (got {_described(value)})")


def seed_argument(value: object, parameter: str = "seed") -> int | None:
    """Return a seed as a plain ``int`` (or ``None``), refusing anything else.

    Args:
        value: The argument: ``None`` or an integer from 0 to 2**64 - 1
            (numpy integers too). ``True``/``False``, floats (even whole
            ones) and text are refused rather than read as a number.
        parameter: Its name, for messages.

    Returns:
        The seed, or ``None``.

    Raises:
        TypeError: Not an integer.
        ScenarioError: An integer out of range.
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        kind = "not a number" if isinstance(value, float) and math.isnan(value) else ""
        got = f"{_described(value)}{', ' + kind if kind else ''}"
        expected = f"an integer from 0 to {MAX_SEED.shown} or None"
        raise TypeError(f"{parameter}: expected {expected} (got {got})")
    seed = int(value)
    if not 0 <= seed <= MAX_SEED.value:
        rule = f"must be an integer from 0 to {MAX_SEED.shown} or None"
        raise ScenarioError([f"{parameter}: {rule}: {MAX_SEED.reason} (got {show_value(seed)})"])
    return seed
