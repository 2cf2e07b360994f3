"""The options of experiments, defined once.

:class:`ReplicationOptions` says how the replications of an experiment run
(how many, from which master seed, where, at which confidence, after which
warm-up) and :class:`StoppingRule` when sequential stopping ends them.
:func:`~asyncflow.replicate`, :func:`~asyncflow.compare` and the command line
all build these two, so their defaults, meaning and checks live here only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from asyncflow.experiment import arguments

__all__ = [
    "DEFAULT_CONFIDENCE",
    "DEFAULT_MAX_RUNS",
    "DEFAULT_METRIC",
    "DEFAULT_RUNS",
    "MIN_COMPARED_RUNS",
    "MIN_SEQUENTIAL_RUNS",
    "Progress",
    "ReplicationOptions",
    "StoppingRule",
    "WarmUpArg",
]

DEFAULT_RUNS = 10
"""Replications when none are asked for (of each design, in a comparison)."""

DEFAULT_CONFIDENCE = 0.95
"""Confidence level of every interval when none is asked for."""

DEFAULT_METRIC = "latency_s.mean"
"""The figure sequential stopping watches when none is named."""

DEFAULT_MAX_RUNS = 1000
"""Cap on runs of sequential stopping when none is given."""

MIN_SEQUENTIAL_RUNS = 5
"""Sequential stopping never trusts an interval from fewer runs."""

MIN_COMPARED_RUNS = 2
"""A paired difference needs two pairs for an interval."""

Progress = Callable[[str, int, int], None]
"""``progress(phase, done, total)``: ``phase`` is ``"pilot"``, ``"runs"`` or, in a
comparison, ``"a"`` and ``"b"``; with sequential stopping ``total`` is the cap."""

WarmUpArg = float | Literal["auto"] | None
"""``None`` (the scenario's), seconds, or ``"auto"`` (MSER-5 on a pilot)."""

WARM_UP_EXPECTED = "a number of seconds >= 0, 'auto' or None"


@dataclass(frozen=True, slots=True)
class ReplicationOptions:
    """How the replications of an experiment run; checked when built.

    Attributes:
        runs: Number of replications (of each design, in a comparison; the
            minimum, with sequential stopping).
        seed: Master seed: replication ``i`` runs with the seed derived from
            ``SeedSequence(seed).spawn(N)[i]``; ``None`` takes
            ``sim_settings.seed``, else 0.
        jobs: Local worker processes when no executor is given; ``None``
            uses every core; 1 runs everything in the calling process. The
            results do not depend on it.
        confidence: Confidence level of every interval, in ``(0, 1)``.
        warm_up: ``None`` keeps the scenario's ``sim_settings.warm_up_s``, a
            number of seconds replaces it, ``"auto"`` chooses it by MSER-5 on
            a pilot of the first ``min(runs, 5)`` replications (in a
            comparison, the later of the two designs' cuts applies to both).
        streaming: Run each replication in streaming mode (its requests
            folded into sums and sketches as they end: memory constant in
            the horizon; latency percentiles to 0.5 %).

    Raises:
        TypeError: A value of the wrong type.
        ExperimentError: A value out of its range.
    """

    runs: int = DEFAULT_RUNS
    seed: int | None = None
    jobs: int | None = None
    confidence: float = DEFAULT_CONFIDENCE
    warm_up: WarmUpArg = None
    streaming: bool = False

    def __post_init__(self) -> None:
        arguments.integer("runs", self.runs, 1)
        arguments.optional_integer("seed", self.seed, 0)
        arguments.optional_integer("jobs", self.jobs, 1)
        arguments.number("confidence", self.confidence, above=0.0, below=1.0)
        check_warm_up(self.warm_up)

    def for_comparison(self) -> ReplicationOptions:
        """These options, checked for a comparison (at least two pairs of runs)."""
        if self.runs < MIN_COMPARED_RUNS:
            arguments.wrong_value(
                "runs",
                f"an integer >= {MIN_COMPARED_RUNS}: a paired difference needs two pairs "
                "for an interval",
                self.runs,
            )
        return self


@dataclass(frozen=True, slots=True)
class StoppingRule:
    """Sequential stopping: add runs until a figure's interval is narrow enough.

    Runs are added one by one, in replication order, until the confidence
    interval of ``metric`` has a half-width of at most ``precision`` times
    its mean (with at least ``max(runs, 5)`` runs), or ``max_runs`` is
    reached.

    Attributes:
        precision: Target half-width over mean, > 0 (e.g. 0.02).
        metric: Dotted path of the watched figure.
        max_runs: Cap on runs.
    """

    precision: float
    metric: str = DEFAULT_METRIC
    max_runs: int = DEFAULT_MAX_RUNS

    def __post_init__(self) -> None:
        arguments.number("precision", self.precision, above=0.0)
        arguments.text("metric", self.metric, "a figure path such as 'latency_s.mean'")
        arguments.integer("max_runs", self.max_runs, MIN_SEQUENTIAL_RUNS)

    def check_runs(self, runs: int) -> None:
        """``max_runs`` must leave room for ``runs``."""
        if self.max_runs < runs:
            arguments.wrong_value("max_runs", f"an integer >= runs ({runs})", self.max_runs)


def check_warm_up(value: Any) -> WarmUpArg:
    """Check a warm-up argument: ``None``, ``"auto"`` or seconds >= 0."""
    if value is None or value == "auto":
        return value  # type: ignore[no-any-return]
    if isinstance(value, str):
        arguments.wrong_value("warm_up", WARM_UP_EXPECTED, value)
    return arguments.number("warm_up", value, at_least=0.0, expected=WARM_UP_EXPECTED)
