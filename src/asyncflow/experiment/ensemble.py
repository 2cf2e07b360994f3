"""An ensemble: many replications of one scenario, reduced to figures and series.

Each replication contributes a :class:`~asyncflow.experiment.record.RunRecord`
(the numeric figures of its summary and a few binned series), never its
request table. The ensemble turns them into statistics across runs:

- :meth:`Ensemble.stats`: mean, standard deviation, extremes and a Student t
  confidence interval of any figure, by its dotted path;
- :meth:`Ensemble.quantile`: a bootstrap interval of a quantile across runs;
- :meth:`Ensemble.probability`: the chance that a run meets an objective
  (``"latency_s.p95<0.2"``), with a Wilson interval;
- :meth:`Ensemble.band`: per time bin, the mean, its confidence band and the
  5-95% envelope of a series;
- :meth:`Ensemble.summary`: all of it as the JSON-ready dictionary the
  command line writes.
"""

from __future__ import annotations

import csv
import difflib
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from asyncflow.analysis.stats import (
    FigureStats,
    Proportion,
    band,
    bootstrap_interval,
    describe,
    proportion_interval,
)
from asyncflow.errors import ExperimentError
from asyncflow.experiment import arguments
from asyncflow.experiment.objectives import Objective
from asyncflow.metrics.sketch import QuantileSketch
from asyncflow.metrics.stream import LATENCY_ALPHA
from asyncflow.results import fault_windows_of

if TYPE_CHECKING:
    from asyncflow.experiment.record import RunRecord
    from asyncflow.scenario import Scenario

__all__ = ["Ensemble", "Stopping", "TimeBand", "WarmUp"]

FAILED_BY_REASON = "requests.failed_by_reason."
"""Figures under this prefix are 0 in a run where that reason did not occur."""


@dataclass(frozen=True, slots=True)
class WarmUp:
    """How the warm-up of an ensemble was chosen.

    Attributes:
        method: ``"scenario"`` (``sim_settings.warm_up_s``), ``"fixed"``
            (given to :func:`~asyncflow.replicate`) or ``"mser-5"``.
        warm_up_s: The cut applied to every run.
        pilot_runs: Runs used to choose the cut (MSER-5 only; else 0).
    """

    method: str
    warm_up_s: float
    pilot_runs: int = 0


@dataclass(frozen=True, slots=True)
class Stopping:
    """Outcome of sequential stopping (``precision`` given).

    Attributes:
        metric: The figure whose interval was watched.
        precision: Target half-width, relative to the figure's mean.
        relative_half_width: Half-width over mean reached at the end.
        met: Whether the target was reached (else ``max_runs`` stopped it).
        max_runs: The cap on runs.
    """

    metric: str
    precision: float
    relative_half_width: float
    met: bool
    max_runs: int


@dataclass(frozen=True, slots=True)
class TimeBand:
    """A series across runs, bin by bin.

    Attributes:
        name: The series (e.g. ``throughput_rps``).
        t: Bin starts (s).
        bin_s: Bin width (s); the last bin ends at the horizon.
        mean: Mean across runs.
        ci_low: Lower confidence bound of the mean.
        ci_high: Upper confidence bound of the mean.
        low: 5th percentile across runs (the envelope's lower edge).
        high: 95th percentile across runs.
        n: Runs with a value in each bin.
        confidence: Confidence level of the band.
    """

    name: str
    t: np.ndarray
    bin_s: float
    mean: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    low: np.ndarray
    high: np.ndarray
    n: np.ndarray
    confidence: float


class Ensemble:
    """Replications of one scenario: per-run figures and series, and their statistics.

    Built by :func:`asyncflow.replicate`; records are kept in replication
    order, so the same scenario, seed and number of runs give the same
    ensemble on any executor.

    Attributes:
        scenario: The scenario as run (with the chosen warm-up).
        name: Scenario name.
        seed: Master seed of the experiment.
        confidence: Default confidence level of intervals.
        warm_up: How the warm-up was chosen.
        stopping: Outcome of sequential stopping, when used.
        end_s: Simulated horizon of each run.
        bin_s: Width of the series' bins.
        t: Start of each bin.
        fault_windows: The scenario's event windows.
        wall_s: Wall-clock seconds of the whole experiment.
    """

    def __init__(
        self,
        *,
        scenario: Scenario,
        seed: int,
        records: Sequence[RunRecord],
        confidence: float = 0.95,
        warm_up: WarmUp | None = None,
        stopping: Stopping | None = None,
        wall_s: float = math.nan,
    ) -> None:
        if not records:
            raise ExperimentError("an ensemble needs at least one run")
        _check_confidence(confidence)
        self.scenario = scenario
        self.name = scenario.name
        self.seed = seed
        self.confidence = confidence
        self.warm_up = warm_up or WarmUp("scenario", float(scenario.sim_settings.warm_up_s))
        self.stopping = stopping
        self.wall_s = wall_s
        self.end_s = float(scenario.sim_settings.total_simulation_time)
        self._records = tuple(sorted(records, key=lambda r: r.index))
        self.bin_s = self._records[0].bin_s
        bins = next(iter(self._records[0].series.values())).size
        self.t = np.arange(bins) * self.bin_s
        self.fault_windows = fault_windows_of(scenario)
        self._figures = _union(r.figures for r in self._records)
        self._series_names = _union(r.series for r in self._records)

    # ------------------------------------------------------------------ runs

    @property
    def runs(self) -> int:
        """Number of replications."""
        return len(self._records)

    @property
    def records(self) -> tuple[RunRecord, ...]:
        """Per-run records in replication order."""
        return self._records

    def pooled_latency(self) -> QuantileSketch | None:
        """The latency sketch of every measured request of every run (streaming runs).

        The runs' sketches merged: the same counts as one sketch of all the
        runs' requests, so pooled percentiles hold the sketch's relative
        error. None when the runs were not streaming.
        """
        sketches = [r.latency for r in self._records]
        if not sketches or any(s is None for s in sketches):
            return None
        pooled = QuantileSketch(LATENCY_ALPHA)
        for sketch in sketches:
            if sketch is not None:
                pooled.merge(sketch)
        return pooled

    @property
    def seeds(self) -> tuple[int, ...]:
        """The seed of each replication: ``asyncflow.run(scenario, seed=...)`` repeats it."""
        return tuple(r.seed for r in self._records)

    @property
    def warm_up_s(self) -> float:
        """The warm-up cut applied to every run."""
        return self.warm_up.warm_up_s

    # ------------------------------------------------------------------ figures

    @property
    def figures(self) -> tuple[str, ...]:
        """Dotted paths of every figure some run produced, in summary order."""
        return self._figures

    def values(self, path: str) -> np.ndarray:
        """One value of figure ``path`` per run (NaN where a run has none).

        Raises:
            ExperimentError: No run produced ``path``; the message suggests
                the closest paths.
        """
        arguments.text("path", path, "a figure path")
        if path not in self._figures and not path.startswith(FAILED_BY_REASON):
            raise ExperimentError(_unknown("figure", path, self._figures))
        missing = 0.0 if path.startswith(FAILED_BY_REASON) else math.nan
        return np.array([r.figures.get(path, missing) for r in self._records], dtype=np.float64)

    def stats(self, path: str, confidence: float | None = None) -> FigureStats:
        """Mean, std, min, max and t interval of a figure across runs."""
        return describe(self.values(path), self._confidence(confidence))

    def quantile(
        self, path: str, q: float, confidence: float | None = None
    ) -> tuple[float, float, float]:
        """The ``q`` quantile of a figure across runs, with a bootstrap interval.

        Example: ``ensemble.quantile("latency_s.p95", 0.9)`` is the p95
        latency that 90% of runs stay under.

        Returns:
            ``(estimate, ci_low, ci_high)``.
        """
        arguments.number("q", q, above=0.0, below=1.0)
        return bootstrap_interval(self.values(path), self._confidence(confidence), quantile=q)

    def probability(
        self, objective: str | Objective, confidence: float | None = None
    ) -> Proportion:
        """Share of runs that meet ``objective``, with a Wilson interval.

        A run without a value for the figure (a latency when nothing
        completed) does not meet it.
        """
        goal = _objective(objective)
        met = goal.met(self.values(goal.path))
        return proportion_interval(int(met.sum()), met.size, self._confidence(confidence))

    # ------------------------------------------------------------------ series

    @property
    def series_names(self) -> tuple[str, ...]:
        """Names of the binned series (see :func:`~asyncflow.experiment.record.record_of`)."""
        return self._series_names

    def series(self, name: str) -> np.ndarray:
        """The series ``name`` of every run: shape ``(runs, bins)``, float64."""
        arguments.text("name", name, "a series name")
        if name not in self._series_names:
            raise ExperimentError(_unknown("series", name, self._series_names))
        empty = np.full(self.t.size, np.nan)
        rows = [r.series.get(name, empty) for r in self._records]
        return np.vstack(rows).astype(np.float64)

    def band(
        self,
        name: str,
        confidence: float | None = None,
        envelope: tuple[float, float] = (5.0, 95.0),
    ) -> TimeBand:
        """Per-bin mean, confidence band and envelope of series ``name``."""
        level = self._confidence(confidence)
        _check_envelope(envelope)
        stats = band(self.series(name), level, envelope)
        return TimeBand(
            name,
            self.t.copy(),
            self.bin_s,
            stats.mean,
            stats.ci_low,
            stats.ci_high,
            stats.low,
            stats.high,
            stats.n,
            level,
        )

    # ------------------------------------------------------------------ output

    def summary(
        self,
        objectives: Iterable[str | Objective] = (),
        confidence: float | None = None,
        slo_confidence: float = 0.95,
    ) -> dict[str, Any]:
        """The ensemble as a JSON-ready dict (see docs/reference/summary.md).

        Args:
            objectives: Objectives whose probability to report under ``slo``.
            confidence: Confidence level; default: the ensemble's.
            slo_confidence: Share of runs an objective must be met in to pass.

        Returns:
            Keys ``scenario``, ``seed``, ``runs``, ``confidence``,
            ``simulated_s``, ``warm_up_s``, ``warm_up``, ``wall_s``,
            ``run_seeds``, ``ensemble``, ``theory`` and, when asked for,
            ``slo`` and ``stopping``.
        """
        level = self._confidence(confidence)
        out: dict[str, Any] = {
            "scenario": self.name,
            "seed": self.seed,
            "runs": self.runs,
            "confidence": level,
            "simulated_s": self.end_s,
            "warm_up_s": self.warm_up_s,
            "warm_up": {
                "method": self.warm_up.method,
                "cut_s": self.warm_up.warm_up_s,
                "pilot_runs": self.warm_up.pilot_runs,
            },
            "wall_s": self.wall_s,
            "run_seeds": list(self.seeds),
            "ensemble": {path: self.stats(path, level).as_dict() for path in self._figures},
        }
        out["theory"] = self.theory(level)
        goals = [_objective(g) for g in objectives]
        if goals:
            from asyncflow.experiment.gates import check_ensemble

            gates = check_ensemble(self.with_confidence(level), goals, slo_confidence)
            out["slo"] = {str(gate.objective): gate.as_dict() for gate in gates}
        if self.stopping is not None:
            s = self.stopping
            out["stopping"] = {
                "metric": s.metric,
                "precision": s.precision,
                "relative_half_width": s.relative_half_width,
                "met": s.met,
                "max_runs": s.max_runs,
            }
        return out

    def theory(self, confidence: float | None = None) -> dict[str, Any]:
        """Queueing theory beside the ensemble's means and their intervals.

        The ``theory`` block of a run's summary (docs/reference/summary.md),
        with each prediction set beside the mean across runs and its
        confidence interval (``ci_low``, ``ci_high``).
        """
        from asyncflow.analysis.theory import theory_of
        from asyncflow.analysis.theory_compare import theory_block

        level = self._confidence(confidence)
        known = set(self._figures)

        def mean(path: tuple[str, ...]) -> float | None:
            figure = ".".join(path)
            value = self.stats(figure, level).mean if figure in known else math.nan
            return value if math.isfinite(value) else None

        def interval(path: tuple[str, ...]) -> tuple[float, float] | None:
            figure = ".".join(path)
            if figure not in known:
                return None
            stats = self.stats(figure, level)
            return (stats.ci_low, stats.ci_high)

        return theory_block(theory_of(self.scenario), mean, interval)

    def with_confidence(self, confidence: float) -> Ensemble:
        """The same runs at another default confidence level."""
        if confidence == self.confidence:
            return self
        return Ensemble(
            scenario=self.scenario,
            seed=self.seed,
            records=self._records,
            confidence=confidence,
            warm_up=self.warm_up,
            stopping=self.stopping,
            wall_s=self.wall_s,
        )

    def write_csv(self, path: str | os.PathLike[str]) -> None:
        """Write one row per run: ``run``, ``seed``, then every figure (empty if missing)."""
        columns = {p: self.values(p) for p in self._figures}
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["run", "seed", *columns])
            for i, record in enumerate(self._records):
                cells = [_cell(float(values[i])) for values in columns.values()]
                writer.writerow([record.index, record.seed, *cells])

    def _confidence(self, confidence: float | None) -> float:
        level = self.confidence if confidence is None else confidence
        _check_confidence(level)
        return level


def _check_confidence(confidence: float) -> None:
    arguments.number("confidence", confidence, above=0.0, below=1.0)


def _check_envelope(envelope: tuple[float, float]) -> None:
    expected = "two percentiles (low, high) with 0 <= low < high <= 100"
    if not isinstance(envelope, tuple | list) or len(envelope) != 2:
        arguments.wrong_type("envelope", expected, envelope)
    low = arguments.number("envelope", envelope[0], at_least=0.0, expected=expected)
    high = arguments.number("envelope", envelope[1], at_least=0.0, expected=expected)
    if not low < high <= 100.0:
        arguments.wrong_value("envelope", expected, envelope)


def _objective(objective: str | Objective) -> Objective:
    if isinstance(objective, Objective):
        return objective
    if not isinstance(objective, str):
        arguments.wrong_type(
            "objective", "an objective such as 'latency_s.p95<0.2' (str or Objective)", objective
        )
    return Objective.parse(objective)


def _union(keys_per_run: Iterable[Iterable[str]]) -> tuple[str, ...]:
    """Every key in first-seen order."""
    seen: dict[str, None] = {}
    for keys in keys_per_run:
        for key in keys:
            seen.setdefault(key, None)
    return tuple(seen)


def _unknown(kind: str, name: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, known, n=3)
    hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
    return f"unknown {kind} {name!r}{hint}"


def _cell(value: float) -> str | float:
    return "" if math.isnan(value) else value
