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
from collections.abc import Iterator, Mapping
from concurrent.futures import Executor
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

import numpy as np

from asyncflow.analysis.stats import describe, mser
from asyncflow.errors import ExperimentError
from asyncflow.experiment import arguments
from asyncflow.experiment.ensemble import Ensemble, Stopping, WarmUp
from asyncflow.experiment.executors import as_executor, available_cores, local_pool, run_ordered
from asyncflow.experiment.options import (
    DEFAULT_CONFIDENCE,
    DEFAULT_MAX_RUNS,
    DEFAULT_METRIC,
    DEFAULT_RUNS,
    MIN_SEQUENTIAL_RUNS,
    Progress,
    ReplicationOptions,
    StoppingRule,
    WarmUpArg,
)
from asyncflow.experiment.record import RunRecord, RunTask, band_bin_factor
from asyncflow.experiment.seeds import replication_seed

if TYPE_CHECKING:
    from asyncflow.scenario import Scenario

__all__ = [
    "PILOT_RUNS",
    "detect_warm_up",
    "master_seed",
    "replicate",
    "run_replications",
    "with_warm_up",
]

PILOT_RUNS = 5
"""Replications averaged to choose an automatic warm-up."""


def master_seed(scenario: Scenario, seed: int | None) -> int:
    """The experiment's seed: ``seed``, else ``sim_settings.seed``, else 0."""
    if seed is None:
        seed = scenario.sim_settings.seed
    return 0 if seed is None else seed


def with_warm_up(scenario: Scenario, warm_up_s: float) -> Scenario:
    """A copy of ``scenario`` with ``sim_settings.warm_up_s`` replaced.

    Raises:
        ExperimentError: The warm-up is negative or reaches the horizon.
    """
    horizon = float(scenario.sim_settings.total_simulation_time)
    if not 0.0 <= warm_up_s < horizon or math.isnan(warm_up_s):
        raise ExperimentError(
            f"warm_up: expected seconds in [0, {horizon:g}), below the horizon of "
            f"{scenario.name!r} (got {warm_up_s:g})"
        )
    settings = scenario.sim_settings.model_copy(update={"warm_up_s": float(warm_up_s)})
    return scenario.model_copy(update={"sim_settings": settings})


def replicate(
    scenario: Scenario | Mapping[str, Any] | str | os.PathLike[str],
    *,
    runs: int = DEFAULT_RUNS,
    seed: int | None = None,
    executor: Executor | Any | None = None,
    jobs: int | None = None,
    confidence: float = DEFAULT_CONFIDENCE,
    warm_up: WarmUpArg = None,
    precision: float | None = None,
    metric: str = DEFAULT_METRIC,
    max_runs: int = DEFAULT_MAX_RUNS,
    progress: Progress | None = None,
    streaming: bool = False,
) -> Ensemble:
    """Run ``runs`` independent replications of a scenario and gather them.

    Replication ``i`` uses the seed derived from ``SeedSequence(seed).spawn``
    (see :mod:`asyncflow.experiment.seeds`), so the ensemble is the same
    whatever the executor and number of workers.

    Args:
        scenario: A :class:`~asyncflow.scenario.Scenario`, a mapping with
            the keys of a scenario file, or the path of a file.
        runs: As in :class:`~asyncflow.experiment.ReplicationOptions` (the
            minimum, with ``precision``).
        seed: As in :class:`~asyncflow.experiment.ReplicationOptions`.
        executor: Where to run: any ``concurrent.futures.Executor`` or a
            Dask ``distributed.Client``. Default: a pool of ``jobs`` local
            processes.
        jobs: As in :class:`~asyncflow.experiment.ReplicationOptions`.
        confidence: As in :class:`~asyncflow.experiment.ReplicationOptions`.
        warm_up: As in :class:`~asyncflow.experiment.ReplicationOptions`.
        precision: Sequential stopping (see
            :class:`~asyncflow.experiment.StoppingRule`); ``None`` runs
            exactly ``runs``.
        metric: The figure ``precision`` watches.
        max_runs: Cap on runs with ``precision``.
        progress: Called as ``progress(phase, done, total)`` after each run.
        streaming: As in :class:`~asyncflow.experiment.ReplicationOptions`.

    Returns:
        The :class:`Ensemble`.

    Raises:
        TypeError: An argument of the wrong type (the message names it).
        ExperimentError: An argument out of range, or a ``metric`` no run
            produces.
        ScenarioError: The scenario is not valid.
    """
    if not isinstance(streaming, bool):
        arguments.wrong_type("streaming", "True or False", streaming)
    options = ReplicationOptions(runs, seed, jobs, confidence, warm_up, streaming)
    stopping = None
    if precision is not None:
        stopping = StoppingRule(precision, metric, max_runs)
    else:
        arguments.text("metric", metric, "a figure path such as 'latency_s.mean'")
        arguments.integer("max_runs", max_runs, 1)
    arguments.callable_or_none("progress", progress)
    model = arguments.scenario("scenario", scenario)
    return run_replications(model, options, stopping, executor=executor, progress=progress)


def run_replications(
    scenario: Scenario,
    options: ReplicationOptions,
    stopping: StoppingRule | None = None,
    *,
    executor: Executor | Any | None = None,
    progress: Progress | None = None,
) -> Ensemble:
    """:func:`replicate` with its options already checked (the command line's entry).

    Args:
        scenario: The validated scenario.
        options: How the replications run.
        stopping: The sequential-stopping rule, or ``None``.
        executor: As for :func:`replicate`.
        progress: As for :func:`replicate`.

    Returns:
        The :class:`Ensemble`.
    """
    if stopping is not None:
        stopping.check_runs(options.runs)
    base_seed = master_seed(scenario, options.seed)
    started = time.perf_counter()
    most = stopping.max_runs if stopping is not None else options.runs
    with ExitStack() as stack:
        pool = open_executor(stack, executor, options.jobs, most)
        chosen = resolve_warm_up(
            scenario, options.warm_up, base_seed, options.runs, pool, progress, options.streaming
        )
        if chosen.method != "scenario":
            scenario = with_warm_up(scenario, chosen.warm_up_s)
        records, outcome = gather(
            scenario,
            base_seed,
            options.runs,
            pool,
            stopping,
            options.confidence,
            progress,
            streaming=options.streaming,
        )
    return Ensemble(
        scenario=scenario,
        seed=base_seed,
        records=records,
        confidence=options.confidence,
        warm_up=chosen,
        stopping=outcome,
        wall_s=time.perf_counter() - started,
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
    streaming: bool = False,
) -> WarmUp:
    """Turn the ``warm_up`` argument into the cut to apply (running a pilot for ``"auto"``)."""
    if warm_up is None:
        return WarmUp("scenario", float(scenario.sim_settings.warm_up_s))
    if warm_up == "auto":
        pilot = min(runs, PILOT_RUNS)
        cut = detect_warm_up(scenario, seed, pilot, executor, progress, streaming=streaming)
        return WarmUp("mser-5", cut, pilot)
    with_warm_up(scenario, float(warm_up))  # checks it is below the horizon
    return WarmUp("fixed", float(warm_up))


def detect_warm_up(
    scenario: Scenario,
    seed: int,
    pilot_runs: int,
    executor: Executor | None = None,
    progress: Progress | None = None,
    *,
    streaming: bool = False,
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

    tasks = _tasks(scenario, seed, 1, stop=pilot_runs, streaming=streaming)
    run_ordered(tasks, keep, executor=executor)
    cut = 0
    for name in ("throughput_rps", "latency_s.mean"):
        rows = np.vstack([r.series[name] for r in records]).astype(np.float64)
        finite = np.isfinite(rows)
        counts = finite.sum(axis=0)
        total = np.where(finite, rows, 0.0).sum(axis=0)
        average = np.where(counts > 0, total / np.maximum(counts, 1), np.nan)
        cut = max(cut, mser(average, 5))
    return cut * records[0].bin_s


def _tasks(
    scenario: Scenario, seed: int, factor: int, stop: int | None, *, streaming: bool = False
) -> Iterator[RunTask]:
    index = 0
    while stop is None or index < stop:
        yield RunTask(scenario, index, replication_seed(seed, index), factor, streaming)
        index += 1


def gather(
    scenario: Scenario,
    seed: int,
    runs: int,
    executor: Executor | None,
    rule: StoppingRule | None,
    confidence: float,
    progress: Progress | None,
    *,
    streaming: bool = False,
) -> tuple[list[RunRecord], Stopping | None]:
    """Run the replications, stopping at ``runs`` or by the stopping rule."""
    records: list[RunRecord] = []
    limit = runs if rule is None else rule.max_runs
    minimum = runs if rule is None else max(runs, MIN_SEQUENTIAL_RUNS)
    watched: list[float] = []
    reached = [math.nan]

    def keep(record: RunRecord) -> bool:
        records.append(record)
        if progress is not None:
            progress("runs", len(records), limit)
        if rule is None:
            return False
        if rule.metric not in record.figures:
            raise ExperimentError(_unknown_metric(rule.metric, record.figures))
        watched.append(record.figures[rule.metric])
        if len(records) < minimum:
            return False
        stats = describe(watched, confidence)
        reached[0] = abs(stats.half_width / stats.mean) if stats.mean else math.inf
        return reached[0] <= rule.precision

    tasks = _tasks(scenario, seed, band_bin_factor(scenario), stop=limit, streaming=streaming)
    run_ordered(tasks, keep, executor=executor)
    if rule is None:
        return records, None
    relative = reached[0]
    met = bool(relative <= rule.precision)
    return records, Stopping(rule.metric, rule.precision, relative, met, rule.max_runs)


def _unknown_metric(metric: str, figures: dict[str, float]) -> str:
    import difflib

    close = difflib.get_close_matches(metric, list(figures), n=3)
    hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
    return f"unknown figure {metric!r} for the stopping rule{hint}"
