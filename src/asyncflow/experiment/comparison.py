"""``asyncflow.compare``: two designs side by side, with common random numbers.

Replication ``i`` of design A and of design B run with the same seed. The
engine keys each component's random stream by the component's name, so a
component present in both designs draws the same numbers in both: the
workload, the edges, the service times. What differs between the two runs
is then mostly the design, and the paired difference ``B - A`` has a much
narrower interval than the difference of two independent ensembles.

Each figure gets a verdict on B relative to A: ``better`` or ``worse`` when
the interval of the difference excludes 0 and the figure has a preferred
direction (lower latency, fewer failures, shorter queues, more throughput),
``higher`` or ``lower`` when it excludes 0 and the figure has none
(utilisation, RAM in use), else ``no significant difference``.
"""

from __future__ import annotations

import math
import os
import time
from concurrent.futures import Executor
from contextlib import ExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from asyncflow.analysis.stats import paired_difference
from asyncflow.errors import ExperimentError
from asyncflow.experiment.ensemble import Ensemble
from asyncflow.experiment.record import RunRecord
from asyncflow.experiment.replicate import (
    Progress,
    WarmUpArg,
    check_arguments,
    gather,
    master_seed,
    open_executor,
    resolve_scenario,
    resolve_warm_up,
    with_warm_up,
)

if TYPE_CHECKING:
    from asyncflow.scenario import Scenario

__all__ = ["Comparison", "Difference", "compare", "direction"]

BETTER = "better"
WORSE = "worse"
HIGHER = "higher"
LOWER = "lower"
NO_DIFFERENCE = "no significant difference"

_LOWER_IS_BETTER_PREFIXES = ("latency_s.", "requests.failed", "requests.in_flight")
_LOWER_IS_BETTER_SUFFIXES = (
    ".ready_queue_mean",
    ".ready_queue_max",
    ".ram_wait_queue_mean",
    ".ram_wait_queue_max",
)
_HIGHER_IS_BETTER = ("throughput_rps.mean", "requests.completed")


def direction(path: str) -> int:
    """Preferred direction of a figure: -1 lower is better, +1 higher, 0 neither."""
    if path in _HIGHER_IS_BETTER:
        return 1
    if path.startswith(_LOWER_IS_BETTER_PREFIXES) or path.endswith(_LOWER_IS_BETTER_SUFFIXES):
        return -1
    return 0


@dataclass(frozen=True, slots=True)
class Difference:
    """The paired difference ``B - A`` of one figure.

    Attributes:
        path: The figure.
        mean: Mean of the differences.
        ci_low: Lower bound of its confidence interval.
        ci_high: Upper bound.
        n: Pairs with a value on both sides.
        relative: ``mean`` over A's mean (NaN when A's mean is 0).
        verdict: ``better``, ``worse``, ``higher``, ``lower`` or
            ``no significant difference`` (B relative to A).
    """

    path: str
    mean: float
    ci_low: float
    ci_high: float
    n: int
    relative: float
    verdict: str

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready fields (NaN becomes ``None``)."""
        return {
            "mean": _or_none(self.mean),
            "ci_low": _or_none(self.ci_low),
            "ci_high": _or_none(self.ci_high),
            "n": self.n,
            "relative": _or_none(self.relative),
            "verdict": self.verdict,
        }


def _or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _verdict(path: str, low: float, high: float) -> str:
    if not (math.isfinite(low) and math.isfinite(high)) or low <= 0.0 <= high:
        return NO_DIFFERENCE
    sign = 1 if low > 0.0 else -1
    preferred = direction(path)
    if preferred == 0:
        return HIGHER if sign > 0 else LOWER
    return BETTER if sign == preferred else WORSE


class Comparison:
    """Two ensembles run with common random numbers, and their paired differences.

    Attributes:
        a: The ensemble of design A (the baseline).
        b: The ensemble of design B.
        confidence: Default confidence level.
    """

    def __init__(self, a: Ensemble, b: Ensemble, confidence: float | None = None) -> None:
        if a.seeds != b.seeds:
            raise ExperimentError("a comparison pairs runs by seed: both ensembles need the same")
        self.a = a
        self.b = b
        self.confidence = a.confidence if confidence is None else confidence

    @property
    def runs(self) -> int:
        """Number of pairs of runs."""
        return self.a.runs

    @property
    def figures(self) -> tuple[str, ...]:
        """Figures present in both ensembles, in A's order."""
        theirs = set(self.b.figures)
        return tuple(p for p in self.a.figures if p in theirs)

    def difference(self, path: str, confidence: float | None = None) -> Difference:
        """The paired difference ``B - A`` of figure ``path``, with its verdict."""
        level = self.confidence if confidence is None else confidence
        first, second = self.a.values(path), self.b.values(path)
        stats = paired_difference(first, second, level)
        finite = first[np.isfinite(first)]
        base = float(finite.mean()) if finite.size else math.nan
        relative = stats.mean / base if base and math.isfinite(base) else math.nan
        verdict = _verdict(path, stats.ci_low, stats.ci_high)
        return Difference(path, stats.mean, stats.ci_low, stats.ci_high, stats.n, relative, verdict)

    def differences(self, confidence: float | None = None) -> dict[str, Difference]:
        """Every common figure's paired difference, by path."""
        return {path: self.difference(path, confidence) for path in self.figures}

    def summary(self, confidence: float | None = None) -> dict[str, Any]:
        """The comparison as a JSON-ready dict (``differences`` plus both ensembles)."""
        level = self.confidence if confidence is None else confidence
        return {
            "scenarios": {"a": self.a.name, "b": self.b.name},
            "seed": self.a.seed,
            "runs": self.runs,
            "confidence": level,
            "warm_up_s": {"a": self.a.warm_up_s, "b": self.b.warm_up_s},
            "wall_s": self.a.wall_s + self.b.wall_s,
            "differences": {p: d.as_dict() for p, d in self.differences(level).items()},
            "a": self.a.summary(confidence=level)["ensemble"],
            "b": self.b.summary(confidence=level)["ensemble"],
        }


def compare(
    a: Scenario | str | os.PathLike[str],
    b: Scenario | str | os.PathLike[str],
    *,
    runs: int = 10,
    seed: int | None = None,
    executor: Executor | Any | None = None,
    jobs: int | None = None,
    confidence: float = 0.95,
    warm_up: WarmUpArg = None,
    progress: Progress | None = None,
) -> Comparison:
    """Run two scenarios with common random numbers and compare them run by run.

    Args:
        a: Design A (the baseline): a scenario or a path.
        b: Design B.
        runs: Replications of each.
        seed: Master seed shared by both; default A's ``sim_settings.seed``,
            else 0.
        executor: As for :func:`~asyncflow.replicate`.
        jobs: As for :func:`~asyncflow.replicate`.
        confidence: Confidence level of the intervals.
        warm_up: As for :func:`~asyncflow.replicate`; with ``"auto"`` each
            design's cut is found and the later one applied to both, so
            both are measured over the same window.
        progress: Called as ``progress(phase, done, total)`` with phases
            ``"pilot"``, ``"a"`` and ``"b"``.

    Returns:
        The :class:`Comparison`.
    """
    first, second = resolve_scenario(a), resolve_scenario(b)
    base_seed = master_seed(first, seed)
    check_arguments(runs, jobs, confidence, None, runs)
    started = time.perf_counter()
    ensembles: list[Ensemble] = []
    with ExitStack() as stack:
        pool = open_executor(stack, executor, jobs, runs)
        cuts = [
            resolve_warm_up(model, warm_up, base_seed, runs, pool, progress)
            for model in (first, second)
        ]
        common = max(cuts, key=lambda c: c.warm_up_s) if warm_up == "auto" else None
        for phase, model, cut in (("a", first, cuts[0]), ("b", second, cuts[1])):
            chosen = common or cut
            if chosen.method != "scenario":
                model = with_warm_up(model, chosen.warm_up_s)
            step = _phase(progress, phase)
            records: list[RunRecord]
            records, _ = gather(model, base_seed, runs, pool, None, "", runs, confidence, step)
            ensembles.append(
                Ensemble(
                    scenario=model,
                    seed=base_seed,
                    records=records,
                    confidence=confidence,
                    warm_up=chosen,
                    wall_s=time.perf_counter() - started,
                )
            )
            started = time.perf_counter()
    return Comparison(ensembles[0], ensembles[1], confidence)


def _phase(progress: Progress | None, phase: str) -> Progress | None:
    if progress is None:
        return None
    report = progress

    def renamed(_: str, done: int, total: int) -> None:
        report(phase, done, total)

    return renamed
