"""Parameters of sweeps and searches: a dotted path and the values it takes.

``--values 100,200,400`` lists them (each read as YAML, so numbers stay
numbers); ``--range START:STOP:STEP`` counts them, STOP included (all
integers give integers). A search reads ``--range START:STOP[:STEP]`` as its
bounds and resolution (:func:`parse_range`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

from asyncflow.errors import ExperimentError, ScenarioError
from asyncflow.experiment import arguments

__all__ = ["MAX_POINTS", "Parameter", "Value", "parse_range"]

Value = float | int | str


@dataclass(frozen=True, slots=True)
class Parameter:
    """A parameter of a sweep: a dotted path and the values it takes, in order.

    Attributes:
        path: Dotted path into the scenario, items of lists by id.
        values: The values, at least one.
    """

    path: str
    values: tuple[Value, ...]

    def __post_init__(self) -> None:
        arguments.text("path", self.path, "a dotted path such as 'sim_settings.seed'")
        if not self.values:
            arguments.wrong_value("values", "at least one value", self.values)

    @classmethod
    def from_values(cls, path: str, text: str) -> Parameter:
        """Read ``--values 100,200,400`` (each value read as YAML: numbers stay numbers).

        Raises:
            ExperimentError: An empty value or no value.
        """
        from asyncflow.scenario.overrides import parse_value

        parts = [p.strip() for p in text.split(",")]
        if not text.strip() or any(not p for p in parts):
            raise ExperimentError(
                f"--values for {path}: expected values separated by commas (got {text!r})"
            )
        try:
            return cls(path, tuple(parse_value(path, p) for p in parts))
        except ScenarioError as error:
            raise ExperimentError(f"--values for {error.problems[0]}") from None

    @classmethod
    def from_range(cls, path: str, text: str) -> Parameter:
        """Read ``--range START:STOP:STEP``: START, START+STEP, ... up to STOP included.

        All integers give integers. At most 10,000 values.

        Raises:
            ExperimentError: Not three numbers, a step that is not > 0, or
                STOP below START.
        """
        start, stop, step = parse_range(path, text, step_required=True)
        count = math.floor((stop - start) / step + 1e-9) + 1
        if count > MAX_POINTS:
            raise ExperimentError(
                f"--range for {path}: {count:,} values; at most {MAX_POINTS:,} (got {text!r})"
            )
        whole = all(isinstance(v, int) for v in (start, stop, step))
        values = [start + k * step for k in range(count)]
        if not whole:
            values = [round(v, 12) for v in values]
        return cls(path, tuple(values))


MAX_POINTS: Final = 10_000
"""Most values a ``--range`` may produce."""


def parse_range(
    path: str, text: str, *, step_required: bool
) -> tuple[float | int, float | int, float | int]:
    """``START:STOP[:STEP]`` as numbers (integers stay integers); STEP 0 when not given.

    Raises:
        ExperimentError: The text is not of that form or its numbers do not fit.
    """
    expected = "START:STOP:STEP" if step_required else "START:STOP or START:STOP:STEP"
    parts = text.split(":")
    numbers: list[float | int] = []
    for part in parts:
        try:
            number = float(part)
        except ValueError:
            break
        numbers.append(int(number) if part.strip().lstrip("+-").isdigit() else number)
    sizes = (3,) if step_required else (2, 3)
    if (
        len(numbers) != len(parts)
        or len(parts) not in sizes
        or not all(math.isfinite(n) for n in numbers)
    ):
        raise ExperimentError(f"--range for {path}: expected {expected} (got {text!r})")
    start, stop = numbers[0], numbers[1]
    step = numbers[2] if len(numbers) == 3 else 0
    if len(numbers) == 3 and not step > 0:
        raise ExperimentError(f"--range for {path}: STEP must be > 0 (got {text!r})")
    if stop < start:
        raise ExperimentError(f"--range for {path}: STOP must be >= START (got {text!r})")
    return start, stop, step
