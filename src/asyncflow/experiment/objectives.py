"""Objectives on run figures: ``latency_s.p95<0.2`` and the chance of meeting them."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from asyncflow.errors import ExperimentError
from asyncflow.experiment import arguments

__all__ = ["Objective"]

_OPERATORS: dict[str, Callable[[np.ndarray, float], np.ndarray]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "<": operator.lt,
    ">": operator.gt,
}
_PATTERN = re.compile(r"^\s*([A-Za-z_][^<>=\s]*)\s*(<=|>=|<|>)\s*(\S+)\s*$")


@dataclass(frozen=True, slots=True)
class Objective:
    """A condition a run's figure must meet, e.g. ``latency_s.p95 < 0.2``.

    Attributes:
        path: Dotted path of the figure (as in ``Results.summary()``).
        op: One of ``<``, ``<=``, ``>``, ``>=``.
        threshold: The bound, in the figure's unit.
    """

    path: str
    op: str
    threshold: float

    @classmethod
    def parse(cls, text: str) -> Objective:
        """Read ``PATH OP NUMBER`` (spaces optional), e.g. ``latency_s.p95<0.2``.

        Raises:
            ExperimentError: The text is not of that form.
        """
        if not isinstance(text, str):
            arguments.wrong_type("text", "an objective such as 'latency_s.p95<0.2'", text)
        match = _PATTERN.match(text)
        number: float | None = None
        if match is not None:
            try:
                number = float(match.group(3))
            except ValueError:
                number = None
        if match is None or number is None or number != number:  # NaN never meets anything
            raise ExperimentError(
                f"objective {text!r}: expected PATH OP NUMBER with OP one of <, <=, >, >= "
                "(e.g. 'latency_s.p95<0.2')"
            )
        return cls(match.group(1), match.group(2), number)

    def __str__(self) -> str:
        return f"{self.path}{self.op}{self.threshold:.12g}"

    def met(self, values: np.ndarray) -> np.ndarray:
        """Which values meet the objective; a missing value (NaN) never does."""
        array = np.asarray(values, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            result: np.ndarray = _OPERATORS[self.op](array, self.threshold) & np.isfinite(array)
        return result
