"""The figures a comparison of protections reports, read from each run's record.

The list is data-driven: a figure is shown when some compared scenario
produces it, so ``attempts_per_request`` appears once a scenario retries,
and ``wasted_cpu_s`` once one has timeouts. Every figure is a number per
run, so that the base and a variant can be paired run by run:

=========================== ======================================= ==========
figure                      per run                                 better
=========================== ======================================= ==========
``goodput_rps``             requests generated after the warm-up     higher
                            and answered within ``--goodput-within``
                            seconds, per second of the measured
                            window
``latency_s.p99``           the summary's p99 of answered requests   lower
``error_rate``              failed / generated (whole run)           lower [*]
``error_rate.<reason>``     failed for that reason / generated       lower [*]
``wasted_cpu_s``            ``policies.wasted_cpu_s``: CPU seconds   lower [*]
                            spent after the client gave up (0 for a
                            scenario without timeouts)
``attempts_per_request``    ``attempts.per_request`` (1 for a        lower [*]
                            scenario that never retries)
=========================== ======================================= ==========

[*] when the base and the variant are offered the same load (same
workloads and horizon); otherwise reported as higher or lower, not judged.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from asyncflow.experiment.record import RunRecord

__all__ = ["GOODPUT", "GOODPUT_SHARE", "ComparedFigure", "compared_figures", "figure_values"]

GOODPUT = "goodput_rps"
"""The figure of answers within the goodput threshold per second (added by the worker)."""
GOODPUT_SHARE = "goodput_share"
"""Those answers over the requests generated after the warm-up (added by the worker)."""

_REASONS = "requests.failed_by_reason."
_WASTED = "policies.wasted_cpu_s"
_ATTEMPTS = "attempts.per_request"


@dataclass(frozen=True, slots=True)
class ComparedFigure:
    """One figure of the comparison.

    Attributes:
        path: Its name in the tables and the JSON (``error_rate.shed``).
        label: Its label in the table and the chart, in the unit shown.
        scale: Factor from its unit to the unit shown (1000 for ms, 100 for %).
        direction: +1 higher is better, -1 lower is better.
        needs_same_load: Judged only when both are offered the same load.
    """

    path: str
    label: str
    scale: float
    direction: int
    needs_same_load: bool

    def judged(self, same_load: bool) -> int:
        """The direction used for a pair: 0 (not judged) when the load differs and it matters."""
        return 0 if self.needs_same_load and not same_load else self.direction


def compared_figures(
    records: Iterable[Iterable[RunRecord]], goodput_within_s: float | None
) -> list[ComparedFigure]:
    """The figures to report, given every compared scenario's records.

    Args:
        records: The records of each scenario (base first).
        goodput_within_s: The goodput threshold, or ``None`` (no goodput).

    Returns:
        The figures, in the order of the module's table.
    """
    paths: set[str] = set()
    for runs in records:
        for record in runs:
            paths.update(record.figures)
    chosen: list[ComparedFigure] = []
    if goodput_within_s is not None:
        label = f"goodput (req/s within {goodput_within_s:g} s)"
        chosen.append(ComparedFigure(GOODPUT, label, 1.0, +1, False))
        share = f"goodput share (% within {goodput_within_s:g} s)"
        chosen.append(ComparedFigure(GOODPUT_SHARE, share, 100.0, +1, False))
    chosen.append(ComparedFigure("latency_s.p99", "p99 latency (ms)", 1000.0, -1, False))
    chosen.append(ComparedFigure("error_rate", "error rate (%)", 100.0, -1, True))
    for reason in sorted(p[len(_REASONS) :] for p in paths if p.startswith(_REASONS)):
        label = f"  error rate: {reason} (%)"
        chosen.append(ComparedFigure(f"error_rate.{reason}", label, 100.0, -1, True))
    if _WASTED in paths:
        chosen.append(ComparedFigure("wasted_cpu_s", "wasted CPU (s)", 1.0, -1, True))
    if _ATTEMPTS in paths:
        label = "attempts per request"
        chosen.append(ComparedFigure("attempts_per_request", label, 1.0, -1, True))
    return chosen


def figure_values(records: Iterable[RunRecord], path: str) -> np.ndarray:
    """The value of a compared figure in each run (NaN where it is not defined).

    Args:
        records: One scenario's records, in replication order.
        path: A :class:`ComparedFigure` path.

    Returns:
        One float per run.
    """
    return np.array([_value(r.figures, path) for r in records], dtype=np.float64)


def _value(figures: Mapping[str, float], path: str) -> float:
    if path == "error_rate":
        return _ratio(figures.get("requests.failed", 0.0), figures)
    if path.startswith("error_rate."):
        return _ratio(figures.get(_REASONS + path[len("error_rate.") :], 0.0), figures)
    if path == "wasted_cpu_s":
        return figures.get(_WASTED, 0.0)
    if path == "attempts_per_request":
        return figures.get(_ATTEMPTS, 1.0)
    return figures.get(path, math.nan)


def _ratio(count: float, figures: Mapping[str, float]) -> float:
    generated = figures.get("requests.generated", 0.0)
    return count / generated if generated > 0 else math.nan
