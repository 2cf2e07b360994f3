"""Sweeps: a scenario run at every point of a grid of parameter values.

A :class:`Parameter` is a dotted path into the scenario (as ``--set``
takes it, items by id) and the values it takes. :func:`sweep` builds every
point of the grid (the product of the parameters' values), checks every
point's scenario before anything runs, then runs the replications of all
points together on one pool (or a Dask cluster), so a sweep keeps every
worker busy. Replication ``i`` has the same seed at every point (common
random numbers): two points differ by their parameters, not by their luck,
and curves across points are smooth.

The :class:`Sweep` holds one :class:`~asyncflow.experiment.Ensemble` per
point and answers what capacity planning asks of it: per point the latency
percentiles, throughput, utilisation of the busiest resource, share of
failed requests and cost, each with its interval; the objectives met or
missed; the knee of each curve (:mod:`asyncflow.experiment.knee`); and,
for a search (:mod:`asyncflow.experiment.search`), the value found.
"""

from __future__ import annotations

import csv
import itertools
import math
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Executor
from contextlib import ExitStack
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from asyncflow.analysis.stats import describe
from asyncflow.errors import ExperimentError, ScenarioError
from asyncflow.experiment import arguments
from asyncflow.experiment.ensemble import Ensemble
from asyncflow.experiment.executors import run_ordered
from asyncflow.experiment.gates import DEFAULT_SLO_CONFIDENCE, EnsembleGate, check_ensemble
from asyncflow.experiment.objectives import Objective
from asyncflow.experiment.options import Progress, ReplicationOptions
from asyncflow.experiment.parameters import MAX_POINTS, Parameter, Value
from asyncflow.experiment.record import RunRecord, RunTask, band_bin_factor
from asyncflow.experiment.replicate import (
    master_seed,
    open_executor,
    resolve_warm_up,
    with_warm_up,
)
from asyncflow.experiment.seeds import replication_seed

if TYPE_CHECKING:
    from asyncflow.experiment.knee import Knee
    from asyncflow.experiment.search import Found
    from asyncflow.scenario import Scenario

__all__ = [
    "HEADLINE",
    "PointTask",
    "Sweep",
    "SweepPoint",
    "build_points",
    "run_points",
    "sweep",
]

HEADLINE: Final = (
    "latency_s.p50",
    "latency_s.p95",
    "latency_s.p99",
    "throughput_rps.mean",
    "bottleneck.busiest.utilization",
    "requests.failed_share",
    "cost.per_hour",
    "cost.per_million_requests",
)
"""The figures a sweep reports for every point (``requests.failed_share`` is
failed over generated requests, run by run; the cost figures when priced)."""


@dataclass(frozen=True, slots=True)
class SweepPoint:
    """One point of a sweep: its parameter values and the runs made there.

    Attributes:
        values: Value of each parameter, by path, in the sweep's order.
        ensemble: The replications at this point.
        gates: Each objective checked on those replications.
    """

    values: dict[str, Value]
    ensemble: Ensemble
    gates: tuple[EnsembleGate, ...] = ()

    @property
    def passed(self) -> bool | None:
        """Every objective met (``None`` without objectives)."""
        if not self.gates:
            return None
        return all(gate.passed for gate in self.gates)

    def figure(self, path: str) -> np.ndarray:
        """One value per run of a figure; ``requests.failed_share`` is derived."""
        if path == "requests.failed_share":
            generated = self.ensemble.values("requests.generated")
            with np.errstate(invalid="ignore", divide="ignore"):
                share: np.ndarray = self.ensemble.values("requests.failed") / generated
            return np.where(generated > 0, share, np.nan)
        if path not in self.ensemble.figures:
            return np.full(self.ensemble.runs, np.nan)
        return self.ensemble.values(path)

    def headline(self, confidence: float) -> dict[str, dict[str, Any]]:
        """The :data:`HEADLINE` figures with their statistics (those the runs have)."""
        out: dict[str, dict[str, Any]] = {}
        for path in HEADLINE:
            values = self.figure(path)
            if np.isfinite(values).any():
                out[path] = describe(values, confidence).as_dict()
        return out


@dataclass(frozen=True, slots=True)
class PointTask:
    """A point to run: its values and its validated scenario."""

    values: dict[str, Value]
    scenario: Scenario


class Sweep:
    """A scenario run at every point of a grid, with the statistics of each point.

    Attributes:
        name: The scenario's name.
        params: The parameters' paths, in order.
        points: The points, in grid order (a search: in order of value).
        objectives: The objectives checked at every point.
        slo_confidence: Share of runs an objective must be met in.
        confidence: Confidence level of intervals.
        seed: Master seed (replication ``i`` has the same seed at every point).
        runs: Replications per point.
        wall_s: Wall-clock seconds of the whole sweep.
        found: The outcome of a search, else ``None``.
    """

    def __init__(
        self,
        *,
        name: str,
        params: Sequence[str],
        points: Sequence[SweepPoint],
        objectives: Sequence[Objective] = (),
        slo_confidence: float = DEFAULT_SLO_CONFIDENCE,
        confidence: float = 0.95,
        seed: int = 0,
        runs: int = 1,
        wall_s: float = math.nan,
        found: Found | None = None,
    ) -> None:
        if not points:
            raise ExperimentError("a sweep needs at least one point")
        self.name = name
        self.params = tuple(params)
        self.points = tuple(points)
        self.objectives = tuple(objectives)
        self.slo_confidence = slo_confidence
        self.confidence = confidence
        self.seed = seed
        self.runs = runs
        self.wall_s = wall_s
        self.found = found

    @property
    def missed(self) -> list[str]:
        """One sentence per objective missed at a point (``path=value: ...``)."""
        sentences: list[str] = []
        for point in self.points:
            where = ", ".join(f"{p}={v}" for p, v in point.values.items())
            sentences += [f"at {where}: {g.sentence()}" for g in point.gates if not g.passed]
        return sentences

    def knees(self, figure: str = "latency_s.p95") -> list[Knee]:
        """The knee of ``figure`` along the first parameter, for each value of the others."""
        from asyncflow.experiment.knee import knees_of

        return knees_of(self, figure)

    def lines(self) -> list[tuple[dict[str, Value], list[SweepPoint]]]:
        """The points along the first parameter, one line per combination of the others."""
        groups: dict[tuple[tuple[str, Any], ...], list[SweepPoint]] = {}
        for point in self.points:
            others = tuple((p, point.values[p]) for p in self.params[1:])
            groups.setdefault(others, []).append(point)
        first = self.params[0]
        return [
            (dict(key), sorted(group, key=lambda p: _order(p.values[first])))
            for key, group in groups.items()
        ]

    def summary(self) -> dict[str, Any]:
        """The sweep as a JSON-ready dict (see docs/reference/summary.md#sweep-summary)."""
        level = self.confidence
        out: dict[str, Any] = {
            "scenario": self.name,
            "seed": self.seed,
            "runs": self.runs,
            "confidence": level,
            "slo_confidence": self.slo_confidence,
            "params": list(self.params),
            "objectives": [str(o) for o in self.objectives],
            "wall_s": self.wall_s,
            "points": [self._point_summary(p) for p in self.points],
            "knees": [k.as_dict() for k in self.knees()],
        }
        if self.found is not None:
            out["found"] = self.found.as_dict()
            out["search"] = self.found.details()
        return out

    def _point_summary(self, point: SweepPoint) -> dict[str, Any]:
        ensemble = point.ensemble.summary(confidence=self.confidence)
        return {
            "values": dict(point.values),
            "warm_up_s": point.ensemble.warm_up_s,
            "figures": point.headline(self.confidence),
            "slo": {str(g.objective): g.as_dict() for g in point.gates},
            "passed": point.passed,
            "ensemble": ensemble["ensemble"],
            "theory": ensemble["theory"],
        }

    def write_csv(self, path: str | os.PathLike[str]) -> None:
        """Write one row per point.

        The parameters, then ``mean``, ``ci_low``, ``ci_high`` of each headline
        figure, then each objective's share of runs and verdict, then the
        theory's mean and p95 latency (empty where it has none).
        """
        figures = [
            f for f in HEADLINE if any(f in p.headline(self.confidence) for p in self.points)
        ]
        header = [*self.params]
        for figure in figures:
            header += [f"{figure}.mean", f"{figure}.ci_low", f"{figure}.ci_high"]
        for goal in self.objectives:
            header += [f"slo.{goal}.p", f"slo.{goal}.passed"]
        header += ["theory.latency_s.mean", "theory.latency_s.p95"]
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            for point in self.points:
                writer.writerow(self._csv_row(point, figures))

    def _csv_row(self, point: SweepPoint, figures: Sequence[str]) -> list[Any]:
        row: list[Any] = [point.values[p] for p in self.params]
        stats = point.headline(self.confidence)
        for figure in figures:
            entry = stats.get(figure, {})
            row += [_cell(entry.get(k)) for k in ("mean", "ci_low", "ci_high")]
        for gate in point.gates:
            row += [gate.probability.p, gate.passed]
        predictions = point.ensemble.theory(self.confidence)["predictions"]
        for figure in ("latency_s.mean", "latency_s.p95"):
            row.append(_cell(predictions.get(figure, {}).get("theory")))
        return row


def _cell(value: Any) -> Any:
    return "" if value is None or (isinstance(value, float) and not math.isfinite(value)) else value


def _order(value: Any) -> tuple[int, Any]:
    """Numbers before text, each in its own order."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (0, value)
    return (1, str(value))


# --------------------------------------------------------------------------- running


def build_points(
    base: Scenario | Mapping[str, Any], params: Sequence[Parameter], fixed: Sequence[Any] = ()
) -> list[PointTask]:
    """Every point of the grid with its validated scenario; every bad point is reported.

    Paths are checked once (a wrong path is wrong at every point), then each
    point's scenario is validated.

    Args:
        base: The scenario (a model or its plain mapping).
        params: The parameters; the grid is the product of their values.
        fixed: Overrides applied to every point first (``--set``, ``--duration``).

    Raises:
        ExperimentError: More than :data:`~asyncflow.experiment.parameters.MAX_POINTS`
            points.
        ScenarioError: A wrong path; or one line per problem of each bad
            point, prefixed by the point (``at PATH=VALUE: ...``).
    """
    from asyncflow.scenario.overrides import (
        Override,
        apply_overrides,
        scenario_data,
        with_overrides,
    )

    size = math.prod(len(p.values) for p in params)
    if size > MAX_POINTS:
        raise ExperimentError(f"a grid of {size:,} points; at most {MAX_POINTS:,}")
    data = scenario_data(base) if not isinstance(base, Mapping) else dict(base)
    grid = [
        {p.path: v for p, v in zip(params, combination, strict=True)}
        for combination in itertools.product(*(p.values for p in params))
    ]

    def changes(values: dict[str, Value]) -> list[Any]:
        return [*fixed, *(Override(path, value) for path, value in values.items())]

    apply_overrides(data, changes(grid[0]))  # raises on a wrong path
    points: list[PointTask] = []
    problems: list[str] = []
    for values in grid:
        try:
            points.append(PointTask(values, with_overrides(data, changes(values))))
        except ScenarioError as error:
            where = ", ".join(f"{path}={value}" for path, value in values.items())
            problems += [f"at {where}: {problem}" for problem in error.problems]
    if problems:
        raise ScenarioError(problems)
    return points


@dataclass
class _Progress:
    report: Progress | None
    total: int
    done: int = 0

    def step(self) -> None:
        self.done += 1
        if self.report is not None:
            self.report("runs", self.done, self.total)


def run_points(
    tasks: Sequence[PointTask],
    options: ReplicationOptions,
    *,
    seed: int,
    pool: Executor | None,
    objectives: Sequence[Objective] = (),
    slo_confidence: float = DEFAULT_SLO_CONFIDENCE,
    progress: Progress | None = None,
) -> list[SweepPoint]:
    """Run the replications of every point on one pool, in order; gather a point each.

    Replication ``i`` runs with ``replication_seed(seed, i)`` at every point.
    """
    prepared = [_with_cut(task, options, seed, pool, progress) for task in tasks]
    runs = options.runs
    counter = _Progress(progress, len(prepared) * runs)
    records: list[list[RunRecord]] = [[] for _ in prepared]

    def keep(record: RunRecord) -> bool:
        point, index = divmod(record.index, runs)
        records[point].append(replace(record, index=index))
        counter.step()
        return False

    run_ordered(_tasks(prepared, seed, runs), keep, executor=pool)
    points: list[SweepPoint] = []
    for (task, cut), mine in zip(prepared, records, strict=True):
        ensemble = Ensemble(
            scenario=task.scenario,
            seed=seed,
            records=mine,
            confidence=options.confidence,
            warm_up=cut,
            wall_s=math.fsum(r.wall_s for r in mine),
        )
        gates = tuple(check_ensemble(ensemble, objectives, slo_confidence))
        points.append(SweepPoint(task.values, ensemble, gates))
    return points


def _with_cut(
    task: PointTask,
    options: ReplicationOptions,
    seed: int,
    pool: Executor | None,
    progress: Progress | None,
) -> tuple[PointTask, Any]:
    cut = resolve_warm_up(task.scenario, options.warm_up, seed, options.runs, pool, progress)
    scenario = task.scenario
    if cut.method != "scenario":
        scenario = with_warm_up(scenario, cut.warm_up_s)
    return PointTask(task.values, scenario), cut


def _tasks(prepared: Sequence[tuple[PointTask, Any]], seed: int, runs: int) -> Iterator[RunTask]:
    seeds = [replication_seed(seed, i) for i in range(runs)]
    for p, (task, _) in enumerate(prepared):
        factor = band_bin_factor(task.scenario)
        for i in range(runs):
            yield RunTask(task.scenario, p * runs + i, seeds[i], factor)


def sweep(
    scenario: Scenario | Mapping[str, Any] | str | os.PathLike[str],
    params: Mapping[str, Sequence[Value]] | Sequence[Parameter],
    *,
    runs: int = 10,
    seed: int | None = None,
    executor: Executor | Any | None = None,
    jobs: int | None = None,
    confidence: float = 0.95,
    warm_up: float | str | None = None,
    slo: Sequence[str | Objective] = (),
    slo_confidence: float = DEFAULT_SLO_CONFIDENCE,
    progress: Progress | None = None,
) -> Sweep:
    """Run a scenario at every point of a grid of parameter values.

    Args:
        scenario: A scenario, a mapping with the keys of a scenario file, or
            the path of a file.
        params: ``{path: values}`` (or :class:`Parameter` objects); the grid
            is the product of their values.
        runs: Replications at every point.
        seed: Master seed; default ``sim_settings.seed``, else 0.
        executor: As for :func:`~asyncflow.replicate`.
        jobs: As for :func:`~asyncflow.replicate`.
        confidence: Confidence level of intervals.
        warm_up: As for :func:`~asyncflow.replicate` (``"auto"``: a pilot per point).
        slo: Objectives checked at every point.
        slo_confidence: Share of runs an objective must be met in.
        progress: Called as ``progress(phase, done, total)``.

    Returns:
        The :class:`Sweep`.

    Raises:
        TypeError: An argument of the wrong type.
        ExperimentError: An argument out of range.
        ScenarioError: A point's scenario is invalid (every bad point listed).
    """
    options = ReplicationOptions(runs, seed, jobs, confidence, warm_up)  # type: ignore[arg-type]
    parameters = _parameters(params)
    goals = [g if isinstance(g, Objective) else Objective.parse(g) for g in slo]
    base = _base(scenario)
    tasks = build_points(base, parameters)
    return run_sweep(
        base_name(base),
        tasks,
        parameters,
        options,
        goals,
        slo_confidence,
        seed=master_seed(tasks[0].scenario, seed),
        executor=executor,
        progress=progress,
    )


def run_sweep(
    name: str,
    tasks: Sequence[PointTask],
    params: Sequence[Parameter],
    options: ReplicationOptions,
    objectives: Sequence[Objective],
    slo_confidence: float,
    *,
    seed: int,
    executor: Executor | Any | None = None,
    progress: Progress | None = None,
) -> Sweep:
    """:func:`sweep` with its points built and its options checked (the command line's entry)."""
    started = time.perf_counter()
    with ExitStack() as stack:
        pool = open_executor(stack, executor, options.jobs, len(tasks) * options.runs)
        points = run_points(
            tasks,
            options,
            seed=seed,
            pool=pool,
            objectives=objectives,
            slo_confidence=slo_confidence,
            progress=progress,
        )
    return Sweep(
        name=name,
        params=[p.path for p in params],
        points=points,
        objectives=objectives,
        slo_confidence=slo_confidence,
        confidence=options.confidence,
        seed=seed,
        runs=options.runs,
        wall_s=time.perf_counter() - started,
    )


def _parameters(params: Mapping[str, Sequence[Value]] | Sequence[Parameter]) -> list[Parameter]:
    if isinstance(params, Mapping):
        return [Parameter(path, tuple(values)) for path, values in params.items()]
    if not params or not all(isinstance(p, Parameter) for p in params):
        arguments.wrong_type("params", "a mapping of path to values, or Parameters", params)
    return list(params)


def _base(scenario: Any) -> Scenario | Mapping[str, Any]:
    """A scenario model, or the plain mapping of a file or of a mapping given."""
    from asyncflow.scenario import Scenario
    from asyncflow.scenario.overrides import read_scenario_data

    if isinstance(scenario, Scenario | Mapping):
        return scenario
    if isinstance(scenario, str | os.PathLike):
        return read_scenario_data(os.fspath(scenario))
    raise arguments.type_error(
        "scenario", "a Scenario, a mapping or the path of a YAML/JSON file", scenario
    )


def base_name(base: Scenario | Mapping[str, Any]) -> str:
    """The name of a scenario given as a model or a mapping."""
    if isinstance(base, Mapping):
        return str(base.get("name", "scenario"))
    return base.name
