"""``asyncflow.replicate``: run a scenario many times and gather an ensemble.

Warm-up, three ways: the scenario's own ``sim_settings.warm_up_s`` (default),
a number of seconds given here, or ``"auto"``: a pilot of the first
:data:`PILOT_RUNS` replications is run, their per-bin throughput and mean
latency are averaged across the pilot, MSER-5 picks a cut on each, and the
later of the two cuts is applied to every run (the pilot runs are run again
with it, so every figure of the ensemble uses the same window).

Sequential stopping: with ``precision`` set, runs are added one by one
(in replication order, whatever order they finish in) until the confidence
interval of ``metric`` has a half-width of at most ``precision`` times its
mean, or ``max_runs`` is reached. ``runs`` is then the minimum.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from asyncflow.analysis.stats import describe, mser
from asyncflow.errors import ExperimentError
from asyncflow.experiment.ensemble import Ensemble, Stopping, WarmUp
from asyncflow.experiment.executors import as_executor, available_cores, local_pool, run_ordered
from asyncflow.experiment.record import RunRecord, RunTask, band_bin_factor
from asyncflow.experiment.seeds import replication_seed

if TYPE_CHECKING:
    from asyncflow.scenario import Scenario

__all__ = [
    "PILOT_RUNS",
    "Progress",
    "detect_warm_up",
    "master_seed",
    "replicate",
    "resolve_scenario",
    "with_warm_up",
]

PILOT_RUNS = 5
"""Replications averaged to choose an automatic warm-up."""

MIN_SEQUENTIAL_RUNS = 5
"""Sequential stopping never trusts an interval from fewer runs."""

DEFAULT_MAX_RUNS = 1000

Progress = Callable[[str, int, int], None]
"""``progress(phase, done, total)``: ``phase`` is ``"pilot"`` or ``"runs"``;
with sequential stopping ``total`` is the cap on runs."""

WarmUpArg = float | Literal["auto"] | None


def resolve_scenario(scenario: Scenario | str | os.PathLike[str]) -> Scenario:
    """Load a scenario given by path; pass a model through."""
    if isinstance(scenario, str | os.PathLike):
        from asyncflow.scenario import load_scenario

        return load_scenario(Path(scenario))
    return scenario


def master_seed(scenario: Scenario, seed: int | None) -> int:
    """The experiment's seed: ``seed``, else ``sim_settings.seed``, else 0."""
    if seed is None:
        seed = scenario.sim_settings.seed
    if seed is None:
        return 0
    if seed < 0:
        raise ExperimentError(f"seed must be >= 0 (got {seed})")
    return seed


def with_warm_up(scenario: Scenario, warm_up_s: float) -> Scenario:
    """A copy of ``scenario`` with ``sim_settings.warm_up_s`` replaced.

    Raises:
        ExperimentError: The warm-up is negative or reaches the horizon.
    """
    horizon = float(scenario.sim_settings.total_simulation_time)
    if not 0.0 <= warm_up_s < horizon or math.isnan(warm_up_s):
        raise ExperimentError(
            f"warm-up must be in [0, {horizon:g}) s, below the horizon (got {warm_up_s})"
        )
    settings = scenario.sim_settings.model_copy(update={"warm_up_s": float(warm_up_s)})
    return scenario.model_copy(update={"sim_settings": settings})


def replicate(
    scenario: Scenario | str | os.PathLike[str],
    *,
    runs: int = 10,
    seed: int | None = None,
    executor: Executor | Any | None = None,
    jobs: int | None = None,
    confidence: float = 0.95,
    warm_up: WarmUpArg = None,
    precision: float | None = None,
    metric: str = "latency_s.mean",
    max_runs: int = DEFAULT_MAX_RUNS,
    progress: Progress | None = None,
) -> Ensemble:
    """Run ``runs`` independent replications of a scenario and gather them.

    Replication ``i`` uses the seed derived from ``SeedSequence(seed).spawn``
    (see :mod:`asyncflow.experiment.seeds`), so the ensemble is the same
    whatever the executor and number of workers.

    Args:
        scenario: A :class:`~asyncflow.scenario.Scenario` or a path to one.
        runs: Number of replications (the minimum, with ``precision``).
        seed: Master seed; default ``sim_settings.seed``, else 0.
        executor: Where to run: any ``concurrent.futures.Executor`` or a
            Dask ``distributed.Client``. Default: a pool of ``jobs`` local
            processes.
        jobs: Local worker processes when no executor is given; default
            all cores; 1 runs everything in this process.
        confidence: Confidence level of every interval.
        warm_up: ``None`` keeps the scenario's, a number of seconds
            replaces it, ``"auto"`` chooses it by MSER-5 on a pilot.
        precision: Stop adding runs once the interval half-width of
            ``metric`` is at most this fraction of its mean.
        metric: The figure ``precision`` watches.
        max_runs: Cap on runs with ``precision``.
        progress: Called as ``progress(phase, done, total)`` after each run.

    Returns:
        The :class:`Ensemble`.

    Raises:
        ExperimentError: A bad argument, or a ``metric`` no run produces.
    """
    model = resolve_scenario(scenario)
    base_seed = master_seed(model, seed)
    check_arguments(runs, jobs, confidence, precision, max_runs)
    started = time.perf_counter()
    with ExitStack() as stack:
        pool = open_executor(stack, executor, jobs, max_runs if precision is not None else runs)
        chosen = resolve_warm_up(model, warm_up, base_seed, runs, pool, progress)
        model = with_warm_up(model, chosen.warm_up_s) if chosen.method != "scenario" else model
        records, stopping = gather(
            model, base_seed, runs, pool, precision, metric, max_runs, confidence, progress
        )
    return Ensemble(
        scenario=model,
        seed=base_seed,
        records=records,
        confidence=confidence,
        warm_up=chosen,
        stopping=stopping,
        wall_s=time.perf_counter() - started,
    )


def check_arguments(
    runs: int, jobs: int | None, confidence: float, precision: float | None, max_runs: int
) -> None:
    if runs < 1:
        raise ExperimentError(f"runs must be >= 1 (got {runs})")
    if jobs is not None and jobs < 1:
        raise ExperimentError(f"jobs must be >= 1 (got {jobs})")
    if not 0.0 < confidence < 1.0:
        raise ExperimentError(f"confidence must be between 0 and 1, exclusive (got {confidence})")
    if precision is not None:
        if not precision > 0.0:
            raise ExperimentError(f"precision must be > 0 (got {precision})")
        if max_runs < max(runs, MIN_SEQUENTIAL_RUNS):
            raise ExperimentError(
                f"max_runs must be >= runs and >= {MIN_SEQUENTIAL_RUNS} (got {max_runs})"
            )


def open_executor(
    stack: ExitStack, executor: Executor | Any | None, jobs: int | None, most_runs: int
) -> Executor | None:
    """The executor to use; a local pool is entered on ``stack`` (closed after)."""
    if executor is not None:
        return as_executor(executor)
    workers = min(jobs if jobs is not None else available_cores(), most_runs)
    return stack.enter_context(local_pool(workers))


def resolve_warm_up(
    scenario: Scenario,
    warm_up: WarmUpArg,
    seed: int,
    runs: int,
    executor: Executor | None,
    progress: Progress | None = None,
) -> WarmUp:
    """Turn the ``warm_up`` argument into the cut to apply (running a pilot for ``"auto"``)."""
    if warm_up is None:
        return WarmUp("scenario", float(scenario.sim_settings.warm_up_s))
    if warm_up == "auto":
        pilot = min(runs, PILOT_RUNS)
        return WarmUp("mser-5", detect_warm_up(scenario, seed, pilot, executor, progress), pilot)
    if isinstance(warm_up, str):
        raise ExperimentError(f"warm-up must be a number of seconds or 'auto' (got {warm_up!r})")
    with_warm_up(scenario, float(warm_up))  # validates the range
    return WarmUp("fixed", float(warm_up))


def detect_warm_up(
    scenario: Scenario,
    seed: int,
    pilot_runs: int,
    executor: Executor | None = None,
    progress: Progress | None = None,
) -> float:
    """Choose a warm-up by MSER-5 on the first ``pilot_runs`` replications.

    The pilot's per-bin throughput and mean latency (at the run's own bin
    width) are averaged across runs; MSER-5 gives a cut for each, and the
    later cut is returned, as a multiple of the bin width.

    Returns:
        The warm-up in seconds (0 when no transient is found).
    """
    records: list[RunRecord] = []

    def keep(record: RunRecord) -> bool:
        records.append(record)
        if progress is not None:
            progress("pilot", len(records), pilot_runs)
        return False

    run_ordered(_tasks(scenario, seed, 1, stop=pilot_runs), keep, executor=executor)
    cut = 0
    for name in ("throughput_rps", "latency_s.mean"):
        rows = np.vstack([r.series[name] for r in records]).astype(np.float64)
        finite = np.isfinite(rows)
        counts = finite.sum(axis=0)
        total = np.where(finite, rows, 0.0).sum(axis=0)
        average = np.where(counts > 0, total / np.maximum(counts, 1), np.nan)
        cut = max(cut, mser(average, 5))
    return cut * records[0].bin_s


def _tasks(scenario: Scenario, seed: int, factor: int, stop: int | None) -> Iterator[RunTask]:
    index = 0
    while stop is None or index < stop:
        yield RunTask(scenario, index, replication_seed(seed, index), factor)
        index += 1


def gather(
    scenario: Scenario,
    seed: int,
    runs: int,
    executor: Executor | None,
    precision: float | None,
    metric: str,
    max_runs: int,
    confidence: float,
    progress: Progress | None,
) -> tuple[list[RunRecord], Stopping | None]:
    """Run the replications, stopping at ``runs`` or by the precision rule."""
    records: list[RunRecord] = []
    limit = runs if precision is None else max_runs
    minimum = runs if precision is None else max(runs, MIN_SEQUENTIAL_RUNS)
    watched: list[float] = []
    reached = [math.nan]

    def keep(record: RunRecord) -> bool:
        records.append(record)
        if progress is not None:
            progress("runs", len(records), limit)
        if precision is None:
            return False
        if metric not in record.figures:
            raise ExperimentError(_unknown_metric(metric, record.figures))
        watched.append(record.figures[metric])
        if len(records) < minimum:
            return False
        stats = describe(watched, confidence)
        reached[0] = abs(stats.half_width / stats.mean) if stats.mean else math.inf
        return reached[0] <= precision

    tasks = _tasks(scenario, seed, band_bin_factor(scenario), stop=limit)
    run_ordered(tasks, keep, executor=executor)
    if precision is None:
        return records, None
    relative = reached[0]
    stopping = Stopping(metric, precision, relative, bool(relative <= precision), max_runs)
    return records, stopping


def _unknown_metric(metric: str, figures: dict[str, float]) -> str:
    import difflib

    close = difflib.get_close_matches(metric, list(figures), n=3)
    hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
    return f"unknown figure {metric!r} for the stopping rule{hint}"
