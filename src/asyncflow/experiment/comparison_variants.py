"""A base scenario and several variants, run with common random numbers and judged together.

Replication ``i`` of the base and of every variant runs with the same seed,
so each variant is paired with the base run by run (see
:mod:`asyncflow.experiment.comparison`). For each variant and each figure
of :mod:`asyncflow.experiment.comparison_figures`, the paired difference
``variant - base`` gets a t interval, a p-value and a verdict; the
variant × figure family is corrected for multiple comparisons as
:mod:`asyncflow.experiment.comparison_stats` describes (Holm–Bonferroni by
default), and the correction is stated in the table and the JSON.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from concurrent.futures import Executor, Future
from contextlib import ExitStack
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from asyncflow.experiment.comparison import (
    BETTER,
    HIGHER,
    LOWER,
    NO_DIFFERENCE,
    WORSE,
    same_offered_load,
)
from asyncflow.experiment.comparison_figures import (
    GOODPUT,
    GOODPUT_SHARE,
    ComparedFigure,
    compared_figures,
    figure_values,
)
from asyncflow.experiment.comparison_stats import (
    PairedTest,
    adjust,
    interval_level,
    paired_test,
)
from asyncflow.experiment.ensemble import Ensemble, WarmUp
from asyncflow.experiment.options import Progress, ReplicationOptions
from asyncflow.experiment.record import RunRecord, RunTask, band_bin_factor, record_of
from asyncflow.experiment.replicate import (
    master_seed,
    open_executor,
    resolve_warm_up,
    with_warm_up,
)
from asyncflow.experiment.seeds import replication_seed

if TYPE_CHECKING:
    from asyncflow.results import Results
    from asyncflow.scenario import Scenario

__all__ = ["Judged", "VariantComparison", "VariantTask", "run_variants", "simulate_variant"]


@dataclass(frozen=True, slots=True)
class VariantTask:
    """One replication of one compared scenario.

    Attributes:
        run: The replication.
        goodput_within_s: The goodput threshold, or ``None``.
    """

    run: RunTask
    goodput_within_s: float | None


def simulate_variant(task: VariantTask) -> RunRecord:
    """Run one replication and reduce it to a record with its goodput (the workers' entry).

    Args:
        task: What to run.

    Returns:
        The record; with a threshold, its figures also hold ``goodput_rps``
        and ``goodput_share``.
    """
    from asyncflow.simulation import run

    started = time.perf_counter()
    results = run(task.run.scenario, seed=task.run.seed)
    record = record_of(results, index=task.run.index, bin_factor=task.run.bin_factor)
    if task.goodput_within_s is not None:
        record.figures.update(_goodput(results, task.goodput_within_s))
    return replace(record, wall_s=time.perf_counter() - started)


def _goodput(results: Results, within_s: float) -> dict[str, float]:
    """Requests generated after the warm-up and answered within ``within_s``: rate and share."""
    from asyncflow.metrics.requests import COMPLETED

    r = results.requests
    measured = r.generated_s >= results.warm_up_s
    answered = measured & (r.outcome == COMPLETED)
    good = int(np.count_nonzero(answered & (r.finished_s - r.generated_s <= within_s)))
    generated = int(np.count_nonzero(measured))
    return {
        GOODPUT: good / results.measured_s,
        GOODPUT_SHARE: good / generated if generated else math.nan,
    }


@dataclass(frozen=True, slots=True)
class Judged:
    """One variant's paired difference from the base on one figure.

    Attributes:
        variant: The variant's name.
        figure: The figure.
        base_mean: Mean of the base across runs.
        variant_mean: Mean of the variant across runs.
        mean: Mean of the paired differences ``variant - base``.
        ci_low: Lower bound of its interval (at the corrected level).
        ci_high: Upper bound.
        n: Pairs with a value on both sides.
        relative: ``mean`` over the base's mean (NaN when that is 0).
        p_value: Two-sided p-value of a paired t test.
        p_adjusted: The p-value after the correction.
        verdict: ``better``, ``worse``, ``higher``, ``lower`` or
            ``no significant difference``.
    """

    variant: str
    figure: ComparedFigure
    base_mean: float
    variant_mean: float
    mean: float
    ci_low: float
    ci_high: float
    n: int
    relative: float
    p_value: float
    p_adjusted: float
    verdict: str

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready fields (NaN becomes ``None``)."""
        return {
            "base_mean": _or_none(self.base_mean),
            "variant_mean": _or_none(self.variant_mean),
            "difference": _or_none(self.mean),
            "ci_low": _or_none(self.ci_low),
            "ci_high": _or_none(self.ci_high),
            "n": self.n,
            "relative": _or_none(self.relative),
            "p_value": _or_none(self.p_value),
            "p_adjusted": _or_none(self.p_adjusted),
            "verdict": self.verdict,
        }


def _or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


class VariantComparison:
    """A base and its variants, paired run by run, every difference judged in one family.

    Attributes:
        base: The base's ensemble.
        variants: Each variant's ensemble, by name, in the order given.
        sources: Each variant's file and whether it was an overlay, by name.
        confidence: The family-wise confidence level.
        correction: ``holm``, ``bonferroni`` or ``none``.
        goodput_within_s: The goodput threshold, or ``None``.
        figures: The compared figures.
        family: Number of tests in the family: pairs with a p-value, less
            those whose runs were all exactly equal (they cannot be
            significant, so they are left out, as Tarone's rule leaves out
            tests that cannot reach significance).
        level: Confidence level of each interval.
        judged: Every (variant, figure) difference, variant by variant.
    """

    def __init__(
        self,
        base: Ensemble,
        variants: dict[str, Ensemble],
        *,
        confidence: float,
        correction: str,
        goodput_within_s: float | None = None,
        sources: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        self.base = base
        self.variants = variants
        self.sources = sources or {}
        self.confidence = confidence
        self.correction = correction
        self.goodput_within_s = goodput_within_s
        everyone = [base.records, *(e.records for e in variants.values())]
        self.figures = compared_figures(everyone, goodput_within_s)
        self.family, self.level, self.judged = self._judge()

    def same_load(self, name: str) -> bool:
        """Whether a variant is offered the same load as the base."""
        return same_offered_load(self.base.scenario, self.variants[name].scenario)

    def _judge(self) -> tuple[int, float, list[Judged]]:
        cells = [(name, f) for name in self.variants for f in self.figures]
        values = {f.path: figure_values(self.base.records, f.path) for f in self.figures}
        raw = [
            paired_test(values[f.path], figure_values(self.variants[n].records, f.path), 0.5)
            for n, f in cells
        ]
        # Pairs that are all exactly equal cannot be significant: left out of the family.
        tested = [math.nan if _all_equal(t) else t.p_value for t in raw]
        family = sum(1 for p in tested if math.isfinite(p))
        level = interval_level(self.confidence, family, self.correction)
        adjusted = [
            t.p_value if _all_equal(t) else p
            for t, p in zip(raw, adjust(tested, self.correction), strict=True)
        ]
        alpha = 1.0 - self.confidence
        judged: list[Judged] = []
        for (name, figure), p_adjusted in zip(cells, adjusted, strict=True):
            other = figure_values(self.variants[name].records, figure.path)
            test = paired_test(values[figure.path], other, level)
            base_mean = _mean(values[figure.path])
            relative = test.mean / base_mean if base_mean else math.nan
            direction = figure.judged(self.same_load(name))
            verdict = _verdict(test.mean, p_adjusted, alpha, direction)
            judged.append(
                Judged(
                    name, figure, base_mean, _mean(other), test.mean, test.ci_low,
                    test.ci_high, test.n, relative, test.p_value, p_adjusted, verdict,
                )
            )  # fmt: skip
        return family, level, judged

    @property
    def runs(self) -> int:
        """Pairs of runs per variant."""
        return self.base.runs

    @property
    def caption(self) -> str:
        """How the family was corrected, in one sentence (the table's and the JSON's)."""
        level = f"{self.confidence:.0%}"
        if self.correction == "none" or self.family <= 1:
            extra = " (no correction for multiple comparisons)" if self.family > 1 else ""
            return f"{level} intervals and tests at {1 - self.confidence:g} each{extra}"
        name = "Holm–Bonferroni" if self.correction == "holm" else "Bonferroni"
        return (
            f"family of {self.family} comparisons (variants × figures) at {level} family-wise: "
            f"verdicts by {name}-adjusted p-values < {1 - self.confidence:g}; intervals "
            f"Bonferroni-simultaneous, each at {self.level:.4%}"
        )

    @property
    def warnings(self) -> tuple[str, ...]:
        """What makes a variant harder to compare with the base, one sentence each."""
        found = []
        for name, ensemble in self.variants.items():
            if ensemble.end_s != self.base.end_s:
                found.append(f"{name} simulates {ensemble.end_s:g} s and the base "
                             f"{self.base.end_s:g} s")  # fmt: skip
            if not self.same_load(name):
                found.append(
                    f"{name} is offered a different load than the base: failures, wasted work "
                    "and attempts are reported as higher or lower, not judged"
                )
        return tuple(found)

    def summary(self) -> dict[str, Any]:
        """The comparison as a JSON-ready dict."""
        return {
            "base": self.base.name,
            "variants": {
                name: {**self.sources.get(name, {}), "same_load": self.same_load(name)}
                for name in self.variants
            },
            "seed": self.base.seed,
            "runs": self.runs,
            "confidence": self.confidence,
            "goodput_within_s": self.goodput_within_s,
            "warm_up_s": self.base.warm_up_s,
            "correction": {
                "method": self.correction,
                "family": self.family,
                "alpha": round(1.0 - self.confidence, 12),
                "interval_level": self.level,
                "statement": self.caption,
            },
            "warnings": list(self.warnings),
            "figures": {
                f.path: {"label": f.label.strip(), "better": _better(f.direction)}
                for f in self.figures
            },
            "differences": {
                name: {j.figure.path: j.as_dict() for j in self.judged if j.variant == name}
                for name in self.variants
            },
        }


def _all_equal(test: PairedTest) -> bool:
    """Whether every pair was exactly equal (a difference of 0 with no spread)."""
    return test.n >= 2 and test.mean == 0.0 and test.ci_low == test.ci_high == 0.0


def _mean(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else math.nan


def _better(direction: int) -> str:
    return "higher" if direction > 0 else "lower"


def _verdict(mean: float, p_adjusted: float, alpha: float, direction: int) -> str:
    if not math.isfinite(p_adjusted) or p_adjusted >= alpha or mean == 0.0:
        return NO_DIFFERENCE
    sign = 1 if mean > 0.0 else -1
    if direction == 0:
        return HIGHER if sign > 0 else LOWER
    return BETTER if sign == direction else WORSE


def run_variants(
    base: Scenario,
    variants: Sequence[Scenario],
    options: ReplicationOptions,
    *,
    correction: str = "holm",
    goodput_within_s: float | None = None,
    sources: dict[str, dict[str, Any]] | None = None,
    executor: Executor | Any | None = None,
    progress: Progress | None = None,
) -> VariantComparison:
    """Run the base and each variant with the same seeds and judge every difference.

    Args:
        base: The base scenario.
        variants: The variants (names must differ).
        options: Runs, seed, jobs, confidence, warm-up (``"auto"``: the
            latest of every scenario's cuts is applied to all).
        correction: ``holm``, ``bonferroni`` or ``none``.
        goodput_within_s: The goodput threshold, or ``None``.
        sources: What to report of each variant's origin, by name.
        executor: As for :func:`~asyncflow.replicate`.
        progress: Called as ``progress(name, done, total)`` per scenario.

    Returns:
        The :class:`VariantComparison`.
    """
    options = options.for_comparison()
    seed = master_seed(base, options.seed)
    models = [base, *variants]
    ensembles: list[Ensemble] = []
    with ExitStack() as stack:
        pool = open_executor(stack, executor, options.jobs, options.runs)
        cuts = [
            resolve_warm_up(m, options.warm_up, seed, options.runs, pool, progress) for m in models
        ]
        common = max(cuts, key=lambda c: c.warm_up_s) if options.warm_up == "auto" else None
        for model, cut in zip(models, cuts, strict=True):
            ensembles.append(
                _ensemble(model, common or cut, seed, options, pool, goodput_within_s, progress)
            )
    return VariantComparison(
        ensembles[0],
        {e.name: e for e in ensembles[1:]},
        confidence=options.confidence,
        correction=correction,
        goodput_within_s=goodput_within_s,
        sources=sources,
    )


def _ensemble(
    model: Scenario,
    cut: WarmUp,
    seed: int,
    options: ReplicationOptions,
    pool: Executor | None,
    within_s: float | None,
    progress: Progress | None,
) -> Ensemble:
    started = time.perf_counter()
    if cut.method != "scenario":
        model = with_warm_up(model, cut.warm_up_s)
    factor = band_bin_factor(model)
    tasks = [
        VariantTask(RunTask(model, i, replication_seed(seed, i), factor), within_s)
        for i in range(options.runs)
    ]
    records = _run_all(tasks, pool, model.name, progress)
    return Ensemble(
        scenario=model,
        seed=seed,
        records=records,
        confidence=options.confidence,
        warm_up=cut,
        wall_s=time.perf_counter() - started,
    )


def _run_all(
    tasks: list[VariantTask], pool: Executor | None, phase: str, progress: Progress | None
) -> list[RunRecord]:
    """Run the tasks (in the pool, else here) and return their records in task order."""
    records: list[RunRecord] = []
    if pool is None:
        for task in tasks:
            records.append(simulate_variant(task))
            if progress is not None:
                progress(phase, len(records), len(tasks))
        return records
    futures: list[Future[RunRecord]] = [pool.submit(simulate_variant, t) for t in tasks]
    try:
        for future in futures:
            records.append(future.result())
            if progress is not None:
                progress(phase, len(records), len(tasks))
    finally:
        for future in futures:
            future.cancel()
    return records
