"""SLO gates: does a run, an ensemble or a design meet its objectives?

A single run meets an objective when its figure does (``latency_s.p95 <
0.2``). Replications meet it when the share of runs that do is at least the
required probability (``--slo-confidence``, default 0.95): the point
estimate, reported with its Wilson interval. A command that checks
objectives exits with :data:`EXIT_SLO_MISSED` when one is missed, after
writing its outputs, so a CI pipeline can gate on a design.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from asyncflow.errors import ExperimentError
from asyncflow.experiment import arguments
from asyncflow.experiment.ensemble import FAILED_BY_REASON
from asyncflow.experiment.objectives import Objective

if TYPE_CHECKING:
    from asyncflow.analysis.stats import Proportion
    from asyncflow.experiment.ensemble import Ensemble

__all__ = [
    "DEFAULT_SLO_CONFIDENCE",
    "EXIT_SLO_MISSED",
    "EnsembleGate",
    "RunGate",
    "check_ensemble",
    "check_run",
    "check_slo_confidence",
    "missed",
]

EXIT_SLO_MISSED: Final = 3
"""Exit code of a command whose objectives are not all met."""

DEFAULT_SLO_CONFIDENCE: Final = 0.95
"""Share of runs that must meet an objective, with replications."""


@dataclass(frozen=True, slots=True)
class RunGate:
    """An objective checked on one run.

    Attributes:
        objective: The objective.
        value: The run's figure (NaN when the run has none: never met).
        passed: Whether the run meets it.
    """

    objective: Objective
    value: float
    passed: bool

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready fields (NaN becomes ``None``)."""
        return {"value": self.value if math.isfinite(self.value) else None, "passed": self.passed}

    def sentence(self) -> str:
        """``latency_s.p95<0.2: 0.251 in the run``."""
        shown = f"{self.value:.6g}" if math.isfinite(self.value) else "no value"
        return f"{self.objective}: {self.objective.path} = {shown}"


@dataclass(frozen=True, slots=True)
class EnsembleGate:
    """An objective checked on replications.

    Attributes:
        objective: The objective.
        probability: Share of runs meeting it, with its Wilson interval.
        required: The share needed to pass.
        passed: ``probability.p >= required``.
    """

    objective: Objective
    probability: Proportion
    required: float
    passed: bool

    def as_dict(self) -> dict[str, Any]:
        """The keys of an ensemble summary's ``slo`` entry, plus ``required`` and ``passed``."""
        p = self.probability
        return {
            "p": p.p,
            "ci_low": p.ci_low,
            "ci_high": p.ci_high,
            "met": p.successes,
            "n": p.n,
            "required": self.required,
            "passed": self.passed,
        }

    def sentence(self) -> str:
        """``latency_s.p95<0.2: met in 17 of 20 runs (85%), 95% needed``."""
        p = self.probability
        return (
            f"{self.objective}: met in {p.successes} of {p.n} runs ({p.p:.0%}), "
            f"{self.required:.0%} needed"
        )


def check_slo_confidence(value: Any) -> float:
    """Check a required share of runs: a number in (0, 1]."""
    number = arguments.number("slo_confidence", value, above=0.0, expected="a number in (0, 1]")
    if number > 1.0:
        arguments.wrong_value("slo_confidence", "a number in (0, 1]", value)
    return number


def check_run(figures: Mapping[str, float], objectives: Sequence[Objective]) -> list[RunGate]:
    """Check objectives on one run's flattened figures.

    Raises:
        ExperimentError: An objective names a figure the run does not have
            (the message suggests the closest).
    """
    gates: list[RunGate] = []
    for goal in objectives:
        if goal.path in figures:
            value = figures[goal.path]
        elif goal.path.startswith(FAILED_BY_REASON):
            value = 0.0
        else:
            close = difflib.get_close_matches(goal.path, list(figures), n=3)
            hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
            raise ExperimentError(f"unknown figure {goal.path!r}{hint}")
        passed = bool(goal.met(_array(value))[0])
        gates.append(RunGate(goal, value, passed))
    return gates


def check_ensemble(
    ensemble: Ensemble, objectives: Sequence[Objective], required: float
) -> list[EnsembleGate]:
    """Check objectives on replications: passed when the share meeting each is >= ``required``."""
    check_slo_confidence(required)
    gates: list[EnsembleGate] = []
    for goal in objectives:
        p = ensemble.probability(goal)
        gates.append(EnsembleGate(goal, p, required, p.p >= required - 1e-12))
    return gates


def missed(gates: Sequence[RunGate | EnsembleGate]) -> list[str]:
    """One sentence per objective not met."""
    return [gate.sentence() for gate in gates if not gate.passed]


def _array(value: float) -> Any:
    import numpy as np

    return np.array([value], dtype=np.float64)
