"""``asyncflow.compare``: two designs side by side, with common random numbers.

Replication ``i`` of design A and of design B run with the same seed. The
engine keys each component's random stream by the component's name, so a
component present in both designs draws the same numbers in both: the
workload, the edges, the service times. What differs between the two runs
is then mostly the design, and the paired difference ``B - A`` has a much
narrower interval than the difference of two independent ensembles.

Each figure gets a verdict on B relative to A: ``better`` or ``worse`` when
the interval of the difference excludes 0 and the figure has a preferred
direction, ``higher`` or ``lower`` when it excludes 0 and the figure has
none, else ``no significant difference``. Which figures have a direction,
and when, is decided in one place: :mod:`asyncflow.experiment.figures`
(time spent and queues: lower is better; failures: lower is better when
both designs are offered the same load; completions, throughput and
resource use: no direction).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Mapping
from concurrent.futures import Executor
from contextlib import ExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from asyncflow.analysis.stats import paired_difference
from asyncflow.errors import ExperimentError
from asyncflow.experiment import arguments
from asyncflow.experiment.ensemble import Ensemble
from asyncflow.experiment.figures import direction
from asyncflow.experiment.options import (
    DEFAULT_CONFIDENCE,
    DEFAULT_RUNS,
    Progress,
    ReplicationOptions,
    WarmUpArg,
)
from asyncflow.experiment.replicate import (
    gather,
    master_seed,
    open_executor,
    resolve_warm_up,
    with_warm_up,
)

if TYPE_CHECKING:
    from asyncflow.scenario import Scenario

__all__ = ["Comparison", "Difference", "compare", "direction", "run_comparison"]

BETTER = "better"
WORSE = "worse"
HIGHER = "higher"
LOWER = "lower"
NO_DIFFERENCE = "no significant difference"


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


def _verdict(path: str, low: float, high: float, same_load: bool) -> str:
    if not (math.isfinite(low) and math.isfinite(high)) or low <= 0.0 <= high:
        return NO_DIFFERENCE
    sign = 1 if low > 0.0 else -1
    preferred = direction(path, same_load)
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
        if not isinstance(a, Ensemble) or not isinstance(b, Ensemble):
            wrong = a if not isinstance(a, Ensemble) else b
            arguments.wrong_type("a" if wrong is a else "b", "an Ensemble", wrong)
        if a.seeds != b.seeds:
            raise ExperimentError("a comparison pairs runs by seed: both ensembles need the same")
        self.a = a
        self.b = b
        self.confidence = a.confidence if confidence is None else confidence
        if confidence is not None:
            arguments.number("confidence", confidence, above=0.0, below=1.0)
        self.same_load = same_offered_load(a.scenario, b.scenario)

    @property
    def warnings(self) -> tuple[str, ...]:
        """What makes the two designs harder to compare, one sentence each."""
        found: list[str] = []
        a, b = self.a, self.b
        if a.end_s != b.end_s:
            found.append(
                f"A simulates {a.end_s:g} s and B {b.end_s:g} s: counts cover different spans "
                "and the charts' time axes differ"
            )
        if a.warm_up_s != b.warm_up_s:
            found.append(
                f"A's warm-up is {a.warm_up_s:g} s and B's {b.warm_up_s:g} s: "
                "latencies and levels are measured over different windows"
            )
        if not self.same_load:
            found.append(
                "A and B are offered different loads (workload or horizon differ): "
                "failures and counts are reported as higher or lower, not judged"
            )
        return tuple(found)

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
        verdict = _verdict(path, stats.ci_low, stats.ci_high, self.same_load)
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
            "same_load": self.same_load,
            "warnings": list(self.warnings),
            "differences": {p: d.as_dict() for p, d in self.differences(level).items()},
            "a": self.a.summary(confidence=level)["ensemble"],
            "b": self.b.summary(confidence=level)["ensemble"],
        }


def compare(
    a: Scenario | Mapping[str, Any] | str | os.PathLike[str],
    b: Scenario | Mapping[str, Any] | str | os.PathLike[str],
    *,
    runs: int = DEFAULT_RUNS,
    seed: int | None = None,
    executor: Executor | Any | None = None,
    jobs: int | None = None,
    confidence: float = DEFAULT_CONFIDENCE,
    warm_up: WarmUpArg = None,
    progress: Progress | None = None,
) -> Comparison:
    """Run two scenarios with common random numbers and compare them run by run.

    Args:
        a: Design A (the baseline): a scenario, a mapping or a path.
        b: Design B.
        runs: Replications of each, at least 2 (see
            :class:`~asyncflow.experiment.ReplicationOptions`).
        seed: Master seed shared by both; default A's ``sim_settings.seed``,
            else 0.
        executor: As for :func:`~asyncflow.replicate`.
        jobs: As in :class:`~asyncflow.experiment.ReplicationOptions`.
        confidence: As in :class:`~asyncflow.experiment.ReplicationOptions`.
        warm_up: As in :class:`~asyncflow.experiment.ReplicationOptions`;
            with ``"auto"`` each design's cut is found and the later one
            applied to both, so both are measured over the same window.
        progress: Called as ``progress(phase, done, total)`` with phases
            ``"pilot"``, ``"a"`` and ``"b"``.

    Returns:
        The :class:`Comparison`.

    Raises:
        TypeError: An argument of the wrong type (the message names it).
        ExperimentError: An argument out of range (e.g. ``runs=1``).
        ScenarioError: A scenario is not valid.
    """
    options = ReplicationOptions(runs, seed, jobs, confidence, warm_up).for_comparison()
    arguments.callable_or_none("progress", progress)
    first, second = arguments.scenario("a", a), arguments.scenario("b", b)
    return run_comparison(first, second, options, executor=executor, progress=progress)


def run_comparison(
    first: Scenario,
    second: Scenario,
    options: ReplicationOptions,
    *,
    executor: Executor | Any | None = None,
    progress: Progress | None = None,
) -> Comparison:
    """:func:`compare` with its options already checked (the command line's entry)."""
    options = options.for_comparison()
    base_seed = master_seed(first, options.seed)
    runs, warm_up = options.runs, options.warm_up
    started = time.perf_counter()
    ensembles: list[Ensemble] = []
    with ExitStack() as stack:
        pool = open_executor(stack, executor, options.jobs, runs)
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
            records, _ = gather(model, base_seed, runs, pool, None, options.confidence, step)
            ensembles.append(
                Ensemble(
                    scenario=model,
                    seed=base_seed,
                    records=records,
                    confidence=options.confidence,
                    warm_up=chosen,
                    wall_s=time.perf_counter() - started,
                )
            )
            started = time.perf_counter()
    return Comparison(ensembles[0], ensembles[1], options.confidence)


def same_offered_load(a: Scenario, b: Scenario) -> bool:
    """Whether two scenarios are offered the same load: the same workload and horizon.

    The generator's id is left out: renaming it changes its random numbers,
    not the load it offers.
    """
    same_workload = [w.model_dump(exclude={"id"}) for w in a.workload_list] == [
        w.model_dump(exclude={"id"}) for w in b.workload_list
    ]
    horizon_a = a.sim_settings.total_simulation_time
    return same_workload and horizon_a == b.sim_settings.total_simulation_time


def _phase(progress: Progress | None, phase: str) -> Progress | None:
    if progress is None:
        return None
    report = progress

    def renamed(_: str, done: int, total: int) -> None:
        report(phase, done, total)

    return renamed
