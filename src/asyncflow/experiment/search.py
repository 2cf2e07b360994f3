"""Searches: the largest load, or the smallest capacity, that meets the objectives.

``find_max`` looks for the largest value of a parameter (users, a request
rate) at which every objective passes; ``find_min`` for the smallest (cores,
servers' RAM) at which they do. A value *passes* when, over its replicated
runs, each objective is met in at least ``slo_confidence`` of the runs (the
gate of :mod:`asyncflow.experiment.gates`); the answer is stated with that
share, the *confidence* that a run at the value found meets the objectives.

Bisection, on values that are monotone in the parameter: for ``max``, values
below the limit pass and values above fail (``min`` the other way round).

1. The bracket: the bounds given (``--range START:STOP[:STEP]``, or a list
   of candidates), else the scenario's current value, doubled (or halved)
   until the outcome changes.
2. The middle of the bracket is run and replaces the end it agrees with,
   until the ends are one step apart (``STEP``, or one candidate apart; 1 for
   whole numbers; else 1 % of the value).

Every point runs with the same replication seeds (common random numbers),
so neighbouring values differ by the parameter, not by luck. Every point run
is kept; the sweep's points are they, in order of value.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from asyncflow.errors import ExperimentError
from asyncflow.experiment.gates import DEFAULT_SLO_CONFIDENCE
from asyncflow.experiment.objectives import Objective
from asyncflow.experiment.options import Progress, ReplicationOptions
from asyncflow.experiment.parameters import Parameter
from asyncflow.experiment.replicate import open_executor
from asyncflow.experiment.sweep import Sweep, SweepPoint, build_points, run_points

__all__ = [
    "DEFAULT_RESOLUTION",
    "MAX_DOUBLINGS",
    "MAX_STEPS",
    "Found",
    "SearchSpace",
    "current_value",
    "find_limit",
    "run_search",
]

DEFAULT_RESOLUTION: Final = 0.01
"""Relative width of the final bracket of a continuous search with no STEP."""

MAX_STEPS: Final = 40
"""Most bisection steps."""

MAX_DOUBLINGS: Final = 20
"""Most doublings or halvings when bracketing (a factor of about a million)."""

Direction = Literal["max", "min"]


@dataclass(frozen=True, slots=True)
class SearchSpace:
    """Where a search looks.

    Attributes:
        path: The parameter's dotted path.
        direction: ``max`` (largest passing value) or ``min`` (smallest).
        low: Lower bound, or ``None`` to bracket from the current value.
        high: Upper bound, or ``None``.
        step: Resolution: values are ``low + k * step``; 0 for continuous.
        candidates: Explicit values to choose among (``--values``), sorted.
        integer: Whether the parameter takes whole numbers only.
    """

    path: str
    direction: Direction
    low: float | None = None
    high: float | None = None
    step: float = 0.0
    candidates: tuple[float, ...] = ()
    integer: bool = False


@dataclass(frozen=True, slots=True)
class Found:
    """The outcome of a search.

    Attributes:
        param: The parameter searched.
        direction: ``max`` or ``min``.
        value: The value found, or ``None`` when no value tried passes.
        confidence: Share of runs at ``value`` meeting the objectives (the
            smallest over objectives), or ``None``.
        ci_low: Lower bound of that share's Wilson interval.
        required: The share needed to pass (``slo_confidence``).
        next_value: The nearest value tried beyond it that fails (``None``
            when the range's end passes).
        next_confidence: Share of runs meeting the objectives there.
        resolution: How close ``value`` and ``next_value`` may end.
        evaluations: Values run.
        limit: One sentence on what the answer means.
    """

    param: str
    direction: Direction
    value: float | None
    confidence: float | None
    ci_low: float | None
    required: float
    next_value: float | None
    next_confidence: float | None
    resolution: float
    evaluations: int
    limit: str

    def as_dict(self) -> dict[str, Any]:
        """``{param, value, confidence}``: the answer."""
        return {"param": self.param, "value": self.value, "confidence": self.confidence}

    def details(self) -> dict[str, Any]:
        """How the answer was reached (the summary's ``search`` block)."""
        return {
            "direction": self.direction,
            "required": self.required,
            "ci_low": self.ci_low,
            "next_value": self.next_value,
            "next_confidence": self.next_confidence,
            "resolution": self.resolution,
            "evaluations": self.evaluations,
            "limit": self.limit,
        }


@dataclass
class _Searcher:
    """Runs points on demand and remembers every outcome."""

    space: SearchSpace
    evaluate: Callable[[float], SweepPoint]
    tried: dict[float, SweepPoint] = field(default_factory=dict)

    def passes(self, value: float) -> bool:
        if value not in self.tried:
            self.tried[value] = self.evaluate(value)
        return bool(self.tried[value].passed)


def _snap(space: SearchSpace, value: float) -> float:
    if space.step > 0 and space.low is not None:
        k = round((value - space.low) / space.step)
        value = space.low + k * space.step
        value = round(value, 12)
    if space.integer:
        value = float(round(value))
    return value


def _resolution(space: SearchSpace, low: float, high: float) -> float:
    if space.step > 0:
        return space.step
    if space.integer:
        return 1.0
    return DEFAULT_RESOLUTION * max(abs(low), abs(high))


def _bracket(searcher: _Searcher, start: float) -> tuple[float, float] | None:
    """Double or halve from ``start`` until one end passes and the other fails."""
    space = searcher.space
    passing_up = space.direction == "max"  # max: passes low, fails high
    value = start
    passes = searcher.passes(value)
    grow = passes == passing_up
    for _ in range(MAX_DOUBLINGS):
        following = value * 2.0 if grow else value / 2.0
        following = _snap(space, following)
        if space.integer and following < 1:
            return None
        if following == value:
            return None
        if searcher.passes(following) != passes:
            pair = sorted((value, following))
            return pair[0], pair[1]
        value = following
    return None


def _bisect(searcher: _Searcher, low: float, high: float) -> None:
    """Narrow ``[low, high]`` (ends with different outcomes) to the resolution."""
    space = searcher.space
    resolution = _resolution(space, low, high)
    for _ in range(MAX_STEPS):
        if high - low <= resolution * (1 + 1e-9):
            return
        middle = _snap(space, 0.5 * (low + high))
        if middle in (low, high):
            return
        if searcher.passes(middle) == searcher.passes(low):
            low = middle
        else:
            high = middle


def _bisect_candidates(searcher: _Searcher, values: Sequence[float]) -> None:
    low, high = 0, len(values) - 1
    while high - low > 1:
        middle = (low + high) // 2
        if searcher.passes(values[middle]) == searcher.passes(values[low]):
            low = middle
        else:
            high = middle


def _explore(searcher: _Searcher, start: float | None) -> None:
    space = searcher.space
    if space.candidates:
        values = list(space.candidates)
        ends_differ = searcher.passes(values[0]) != searcher.passes(values[-1])
        if ends_differ:
            _bisect_candidates(searcher, values)
        return
    if space.low is not None and space.high is not None:
        low, high = _snap(space, space.low), _snap(space, space.high)
        if searcher.passes(low) != searcher.passes(high):
            _bisect(searcher, low, high)
        return
    if start is None or not start > 0:
        raise ExperimentError(
            f"{space.path}: no bounds given and no positive value to start from "
            f"(got {start!r}); give --range START:STOP"
        )
    bracket = _bracket(searcher, _snap(space, start))
    if bracket is not None:
        _bisect(searcher, *bracket)


def _found(searcher: _Searcher, required: float) -> Found:
    space = searcher.space
    ordered = sorted(searcher.tried)
    passing = [v for v in ordered if searcher.tried[v].passed]
    best: float | None = None
    if passing:
        best = passing[-1] if space.direction == "max" else passing[0]
    beyond = [v for v in ordered if not searcher.tried[v].passed]
    if best is not None:
        side = [v for v in beyond if (v > best if space.direction == "max" else v < best)]
        beyond = side
    nearest = None
    if beyond:
        nearest = min(beyond, key=lambda v: abs(v - best)) if best is not None else None
    shares = _share(searcher.tried[best]) if best is not None else (None, None)
    near = _share(searcher.tried[nearest])[0] if nearest is not None else None
    low = ordered[0]
    high = ordered[-1]
    width = _resolution(space, low, high)
    return Found(
        param=space.path,
        direction=space.direction,
        value=best,
        confidence=shares[0],
        ci_low=shares[1],
        required=required,
        next_value=nearest,
        next_confidence=near,
        resolution=width,
        evaluations=len(ordered),
        limit=_limit(space, best, nearest, required),
    )


def _share(point: SweepPoint) -> tuple[float | None, float | None]:
    if not point.gates:
        return None, None
    weakest = min(point.gates, key=lambda g: g.probability.p)
    return weakest.probability.p, weakest.probability.ci_low


def _limit(space: SearchSpace, best: float | None, nearest: float | None, required: float) -> str:
    word = "largest" if space.direction == "max" else "smallest"
    share = f"in at least {required:.0%} of runs"
    if best is None:
        return f"no value tried meets the objectives {share}"
    if nearest is None:
        end = "upper" if space.direction == "max" else "lower"
        return (
            f"{_shown(best)} meets the objectives {share} and is the {end} end of the range "
            "tried: the limit may lie beyond it"
        )
    return (
        f"{_shown(best)} is the {word} value tried that meets the objectives {share}; "
        f"{_shown(nearest)} does not"
    )


def _shown(value: float) -> str:
    return f"{value:.6g}"


def run_search(
    name: str,
    base: Any,
    space: SearchSpace,
    options: ReplicationOptions,
    objectives: Sequence[Objective],
    *,
    seed: int,
    start: float | None = None,
    slo_confidence: float = DEFAULT_SLO_CONFIDENCE,
    fixed: Sequence[Any] = (),
    executor: Executor | Any | None = None,
    progress: Progress | None = None,
) -> Sweep:
    """Search by bisection; return the points run, in order of value, and what was found.

    Args:
        name: The scenario's name.
        base: The scenario (a model or its plain mapping).
        space: Where to look.
        options: Replications at each value.
        objectives: What must be met (at least one).
        seed: Master seed, the same at every value.
        start: The parameter's current value (to bracket from, without bounds).
        slo_confidence: Share of runs an objective must be met in.
        fixed: Overrides applied first (``--set``, ``--duration``).
        executor: Where to run.
        progress: Called as ``progress("values", done, done)`` after each value tried.

    Raises:
        ExperimentError: No objective, or nothing to bracket from.
        ScenarioError: The path is wrong, or a value makes the scenario invalid.
    """
    if not objectives:
        raise ExperimentError(f"a search needs an objective: add --slo (searching {space.path})")
    started = time.perf_counter()
    with ExitStack() as stack:
        pool = open_executor(stack, executor, options.jobs, options.runs)

        def evaluate(value: float) -> SweepPoint:
            shown: float | int = int(value) if space.integer else value
            tasks = build_points(base, [Parameter(space.path, (shown,))], fixed)
            point = run_points(
                tasks,
                options,
                seed=seed,
                pool=pool,
                objectives=objectives,
                slo_confidence=slo_confidence,
            )[0]
            if progress is not None:
                progress("values", len(searcher.tried) + 1, len(searcher.tried) + 1)
            return point

        searcher = _Searcher(space, evaluate)
        _explore(searcher, start)
    points = [searcher.tried[v] for v in sorted(searcher.tried)]
    return Sweep(
        name=name,
        params=[space.path],
        points=points,
        objectives=objectives,
        slo_confidence=slo_confidence,
        confidence=options.confidence,
        seed=seed,
        runs=options.runs,
        wall_s=time.perf_counter() - started,
        found=_found(searcher, slo_confidence),
    )


def current_value(data: Mapping[str, Any], path: str) -> float | None:
    """The number at ``path`` in a scenario mapping (items by id), if there is one."""
    from asyncflow.scenario.overrides import value_at

    value = value_at(data, path)
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def find_limit(
    scenario: Any,
    path: str,
    *,
    direction: Direction,
    slo: Sequence[str | Objective],
    low: float | None = None,
    high: float | None = None,
    step: float = 0.0,
    candidates: Sequence[float] = (),
    runs: int = 10,
    seed: int | None = None,
    executor: Executor | Any | None = None,
    jobs: int | None = None,
    confidence: float = 0.95,
    warm_up: float | str | None = None,
    slo_confidence: float = DEFAULT_SLO_CONFIDENCE,
    progress: Progress | None = None,
) -> Sweep:
    """Search the largest (``direction="max"``) or smallest (``"min"``) passing value.

    Args:
        scenario: A scenario, a mapping with the keys of a scenario file, or
            the path of a file.
        path: The parameter (dotted path, items by id).
        direction: ``"max"`` for a load, ``"min"`` for a capacity.
        slo: The objectives (at least one).
        low: Lower bound; with ``high``, the range searched.
        high: Upper bound.
        step: Resolution, values ``low + k * step``; 0: 1 % (1 for whole numbers).
        candidates: Values to choose among instead of a range.
        runs: Replications at every value tried.
        seed: Master seed, the same at every value.
        executor: As for :func:`~asyncflow.replicate`.
        jobs: As for :func:`~asyncflow.replicate`.
        confidence: Confidence level of intervals.
        warm_up: As for :func:`~asyncflow.replicate`.
        slo_confidence: Share of runs an objective must be met in.
        progress: Called as ``progress(phase, done, total)``.

    Returns:
        The points tried and, in :attr:`Sweep.found`, the answer.

    Raises:
        ExperimentError: No objective, bad bounds, or nothing to bracket from.
        ScenarioError: The path is wrong, or a value makes the scenario invalid.
    """
    from asyncflow.experiment.replicate import master_seed
    from asyncflow.experiment.sweep import _base, base_name
    from asyncflow.scenario.overrides import scenario_data, takes_integers, with_overrides

    if direction not in ("max", "min"):
        raise ExperimentError(f"direction: expected 'max' or 'min' (got {direction!r})")
    options = ReplicationOptions(runs, seed, jobs, confidence, warm_up)  # type: ignore[arg-type]
    goals = [g if isinstance(g, Objective) else Objective.parse(g) for g in slo]
    base = _base(scenario)
    data = dict(base) if isinstance(base, Mapping) else scenario_data(base)
    if (low is None) != (high is None) or (low is not None and high is not None and high < low):
        raise ExperimentError(f"low, high: expected both, with low <= high (got {low}, {high})")
    space = SearchSpace(
        path,
        direction,
        low,
        high,
        step,
        tuple(sorted(float(c) for c in candidates)),
        takes_integers(data, path),
    )
    first = with_overrides(data, [])
    return run_search(
        base_name(base),
        data,
        space,
        options,
        goals,
        seed=master_seed(first, seed),
        start=current_value(data, path),
        slo_confidence=slo_confidence,
        executor=executor,
        progress=progress,
    )
