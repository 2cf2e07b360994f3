"""What one replication sends back: its figures and binned series.

A worker runs the scenario, reduces its :class:`~asyncflow.results.Results`
to a :class:`RunRecord` and returns that alone: the flattened numeric
figures of the summary (a few dozen floats) and a handful of series on
fixed bins (at most :data:`MAX_BAND_BINS` float32 values each). The request
table stays in the worker, so an ensemble's memory grows by a few kilobytes
a run, whatever the run's length.

:func:`simulate_run` is a top-level function of a plain module, so process
pools started with ``spawn`` and Dask workers can import it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from asyncflow.metrics.requests import COMPLETED
from asyncflow.metrics.sketch import QuantileSketch
from asyncflow.results import rebin

if TYPE_CHECKING:
    from asyncflow.results import Results
    from asyncflow.scenario import Scenario

__all__ = [
    "MAX_BAND_BINS",
    "META_KEYS",
    "RunRecord",
    "RunTask",
    "band_bin_factor",
    "flatten_summary",
    "record_of",
    "simulate_run",
]

MAX_BAND_BINS = 200
"""Most bins of an ensemble's series (a multiple of the run's own bin width)."""

META_KEYS = frozenset(
    {"format_version", "scenario", "seed", "simulated_s", "warm_up_s", "wall_s", "theory"}
)
"""Top-level summary keys that describe a run rather than measure it (theory: the
scenario's predictions, set beside an ensemble's means by the ensemble itself)."""

LEVEL_SERIES = ("ready_queue", "ram_wait_queue", "busy_cores")
"""Server levels kept as series (time-weighted mean per bin)."""


@dataclass(frozen=True, slots=True)
class RunTask:
    """One replication to run.

    Attributes:
        scenario: The validated scenario (pydantic models pickle).
        index: Replication number, from 0.
        seed: The run's integer seed.
        bin_factor: Width of the record's bins as a multiple of the run's
            own ``bin_s`` (1 keeps the run's resolution).
        streaming: Run in streaming mode (no request table kept).
    """

    scenario: Scenario
    index: int
    seed: int
    bin_factor: int
    streaming: bool = False


@dataclass(frozen=True, slots=True)
class RunRecord:
    """The figures and series of one replication.

    Attributes:
        index: Replication number, from 0.
        seed: The run's seed.
        figures: Every numeric leaf of ``Results.summary()`` by dotted path,
            meta keys aside (:data:`META_KEYS`); a missing value is NaN.
        series: Per-bin values by name (see :func:`record_of`), float32.
        bin_s: Width of the bins of ``series``.
        wall_s: Wall-clock seconds of the run and its reduction to a record.
        latency: The run's latency sketch (streaming runs; None otherwise):
            sketches of replications merge into the sketch of all their
            requests (``Ensemble.pooled_latency``).
    """

    index: int
    seed: int
    figures: dict[str, float]
    series: dict[str, np.ndarray]
    bin_s: float
    wall_s: float
    latency: QuantileSketch | None = None


def band_bin_factor(scenario: Scenario) -> int:
    """How many of a run's bins make one ensemble bin (at most MAX_BAND_BINS bins)."""
    from asyncflow.simulation import series_bin_s

    settings = scenario.sim_settings
    end_s = float(settings.total_simulation_time)
    fine = series_bin_s(end_s, settings.sample_period_s)
    bins = max(1, math.ceil(end_s / fine - 1e-9))
    return max(1, math.ceil(bins / MAX_BAND_BINS))


def simulate_run(task: RunTask) -> RunRecord:
    """Run one replication and reduce it to a record (the workers' entry point).

    Args:
        task: What to run.

    Returns:
        The run's record.
    """
    from asyncflow.simulation import Simulation, run

    started = time.perf_counter()
    if task.streaming:
        results = Simulation(task.scenario, task.seed, streaming=True).run()
    else:
        results = run(task.scenario, seed=task.seed)
    record = record_of(results, index=task.index, bin_factor=task.bin_factor)
    return replace(record, wall_s=time.perf_counter() - started)


def flatten_summary(summary: Mapping[str, Any]) -> dict[str, float]:
    """The numeric leaves of a summary by dotted path, meta keys left out.

    ``None`` (e.g. a latency when nothing completed) becomes NaN; booleans
    and strings are not figures and are skipped.

    Args:
        summary: The dictionary returned by ``Results.summary()``.

    Returns:
        ``{"latency_s.p95": 0.041, "servers.srv-1.cpu_utilization": 0.4, ...}``.
    """
    flat: dict[str, float] = {}

    def walk(prefix: str, node: Mapping[str, Any]) -> None:
        for key, value in node.items():
            path = f"{prefix}{key}"
            if isinstance(value, Mapping):
                walk(f"{path}.", value)
            elif value is None:
                flat[path] = math.nan
            elif isinstance(value, int | float | np.number) and not isinstance(value, bool):
                flat[path] = float(value)

    walk("", {k: v for k, v in summary.items() if k not in META_KEYS})
    return flat


def record_of(results: Results, *, index: int, bin_factor: int) -> RunRecord:
    """Reduce a run's results to its record.

    Series (bins of ``bin_factor`` times the run's ``bin_s``, by finish time
    for requests): ``throughput_rps`` (completions per second),
    ``failed_rps`` (failures per second, any reason), ``error_rate``
    (failures over finished requests; NaN when none finished),
    ``latency_s.mean``, ``latency_s.p50``, ``latency_s.p95``,
    ``latency_s.p99`` (NaN when none completed) and, for each server,
    ``servers.<id>.ready_queue``, ``servers.<id>.ram_wait_queue`` and
    ``servers.<id>.busy_cores`` (time-weighted means).

    Args:
        results: The run.
        index: Replication number.
        bin_factor: Run bins per record bin.

    Returns:
        The record (``wall_s`` is the run's own).
    """
    width = results.bin_s * bin_factor
    rates = results.throughput(width)
    failed = np.zeros_like(rates.completed)
    for values in rates.failed.values():
        failed = failed + values
    finished = rates.completed + failed
    with np.errstate(invalid="ignore", divide="ignore"):
        error_rate = np.where(finished > 0, failed / np.where(finished > 0, finished, 1.0), np.nan)
    series: dict[str, np.ndarray] = {
        "throughput_rps": rates.completed,
        "failed_rps": failed,
        "error_rate": error_rate,
        "latency_s.mean": _mean_latency(results, rates.t, width),
    }
    percentiles = results.latency_over_time(width, (50, 95, 99))
    for p, values in percentiles.values.items():
        series[f"latency_s.p{p}"] = values
    bins = rates.t.size
    for sid in results.server_ids:
        recorded = set(results.level_metrics(sid))
        for metric in LEVEL_SERIES:
            if metric in recorded:
                rebinned = _rebin_level(results, metric, sid, bin_factor, bins)
                series[f"servers.{sid}.{metric}"] = rebinned
    return RunRecord(
        index=index,
        seed=results.seed,
        figures=flatten_summary(results.summary()),
        series={name: np.asarray(values, dtype=np.float32) for name, values in series.items()},
        bin_s=width,
        wall_s=results.wall_s,
        latency=results.stream.latency if results.stream is not None else None,
    )


def _mean_latency(results: Results, t: np.ndarray, width: float) -> np.ndarray:
    """Mean latency of the requests completed in each bin (NaN when none)."""
    if results.stream is not None:
        factor = results.stream_factor(width)
        counts = rebin(results.stream.completed_bins, factor, t.size)
        sums = rebin(results.stream.latency_sum_bins, factor, t.size)
        with np.errstate(invalid="ignore", divide="ignore"):
            means: np.ndarray = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
        return means
    r = results.requests
    done = r.outcome == COMPLETED
    finished = r.finished_s[done]
    latency = finished - r.generated_s[done]
    where = np.minimum((finished // width).astype(np.int64), t.size - 1)
    counts = np.bincount(where, minlength=t.size)
    sums = np.bincount(where, weights=latency, minlength=t.size)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean: np.ndarray = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    return mean


def _rebin_level(results: Results, metric: str, node: str, factor: int, bins: int) -> np.ndarray:
    """Time-weighted mean of a level over bins of ``factor`` run bins (exact)."""
    level = results.series(metric, node)
    edges = np.append(level.t, results.end_s)
    area = level.mean * np.diff(edges)
    padded = np.zeros(bins * factor)
    padded[: min(area.size, padded.size)] = area[: padded.size]
    coarse_t = np.arange(bins) * (results.bin_s * factor)
    widths = np.minimum(coarse_t + results.bin_s * factor, results.end_s) - coarse_t
    summed: np.ndarray = padded.reshape(bins, factor).sum(axis=1) / widths
    return summed
