"""Theory set beside what a run (or an ensemble of runs) measured.

:func:`theory_block` builds the ``theory`` section of a summary: each
predicted figure with the simulated value, the relative error and whether
they agree, the queue models with their assumptions, the mean value
analysis table, and sentences on when and why they differ.

Agreement, figure by figure: the simulated value is within ``tolerance`` of
the theory, where the tolerance is 10 % of the theory for one run (5 % for
an ensemble, which also agrees when the theory lies inside the confidence
interval of the mean), and never less than a floor that keeps negligible
figures from disagreeing: 1 % of the predicted mean latency for times, 0.01
for utilisations, three Poisson standard deviations for counts.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, Final

from asyncflow.analysis.theory import Prediction, Theory

__all__ = ["ENSEMBLE_TOLERANCE", "RUN_TOLERANCE", "agrees", "theory_block", "value_in"]

RUN_TOLERANCE: Final = 0.10
"""Relative tolerance of agreement for a single run."""

ENSEMBLE_TOLERANCE: Final = 0.05
"""Relative tolerance of agreement for an ensemble's mean."""

Interval = tuple[float, float]


def value_in(summary: Mapping[str, Any], path: tuple[str, ...]) -> float | None:
    """The number at ``path`` in a nested summary, or ``None``."""
    node: Any = summary
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            return None
        node = node[key]
    if isinstance(node, bool) or not isinstance(node, int | float):
        return None
    return float(node) if math.isfinite(node) else None


def _floor(path: tuple[str, ...], theory: float, latency: float | None) -> float:
    last = path[-1]
    if last == "refused":
        return 3.0 * math.sqrt(max(theory, 0.0)) + 1.0
    if last.endswith("utilization"):
        return 0.01
    if last.endswith("_s_mean") or path[0] == "latency_s" or "latency_s" in path:
        return 0.01 * latency if latency else 0.0
    return 0.0


def agrees(
    prediction: Prediction,
    simulated: float,
    interval: Interval | None,
    latency: float | None,
) -> bool:
    """Whether a simulated value agrees with the prediction (see the module's rule)."""
    relative = ENSEMBLE_TOLERANCE if interval is not None else RUN_TOLERANCE
    floor = _floor(prediction.path, prediction.value, latency)
    tolerance = max(relative * abs(prediction.value), floor)
    if interval is not None and interval[0] <= prediction.value <= interval[1]:
        return True
    return abs(simulated - prediction.value) <= tolerance


def theory_block(
    theory: Theory,
    value_of: Callable[[tuple[str, ...]], float | None],
    interval_of: Callable[[tuple[str, ...]], Interval | None] | None = None,
) -> dict[str, Any]:
    """The ``theory`` section of a summary.

    Args:
        theory: The scenario's models and predictions.
        value_of: The simulated value of a figure (a run's, or an ensemble's mean).
        interval_of: The confidence interval of that mean, for an ensemble.

    Returns:
        ``predictions``, ``queues``, ``network``, ``notes`` and ``differences``
        (see docs/reference/summary.md).
    """
    latency = next((p.value for p in theory.predictions if p.path == ("latency_s", "mean")), None)
    predictions: dict[str, Any] = {}
    differences: list[str] = []
    for prediction in theory.predictions:
        simulated = value_of(prediction.path)
        interval = interval_of(prediction.path) if interval_of is not None else None
        entry = _entry(prediction, simulated, interval, latency)
        predictions[prediction.figure] = entry
        if entry["agrees"] is False:
            differences.append(_difference(prediction, entry, theory.notes))
    return {
        "predictions": predictions,
        "queues": _queues(theory),
        "network": {
            "model": theory.network_model,
            "assumptions": list(theory.assumptions),
            "stations": {s.name: _station(s) for s in theory.stations},
        },
        "notes": list(theory.notes),
        "differences": differences,
    }


def _entry(
    prediction: Prediction,
    simulated: float | None,
    interval: Interval | None,
    latency: float | None,
) -> dict[str, Any]:
    relative = None
    if simulated is not None and prediction.value != 0:
        relative = (simulated - prediction.value) / abs(prediction.value)
    entry: dict[str, Any] = {
        "theory": prediction.value,
        "simulated": simulated,
        "relative_error": relative,
        "model": prediction.model,
        "exact": prediction.exact,
    }
    if interval is not None:
        entry["ci_low"], entry["ci_high"] = interval
    usable = interval if interval is not None and all(map(math.isfinite, interval)) else None
    entry["agrees"] = None if simulated is None else agrees(prediction, simulated, usable, latency)
    return entry


def _difference(prediction: Prediction, entry: Mapping[str, Any], notes: tuple[str, ...]) -> str:
    relative = entry["relative_error"]
    gap = f"{relative:+.1%}" if relative is not None else "a difference"
    head = f"{prediction.figure}: simulated {gap} off the theory ({prediction.model})"
    if prediction.caveats:
        return f"{head}. {prediction.caveats[0]}"
    if notes:
        return f"{head}. {notes[0]}"
    if prediction.exact:
        return (
            f"{head}. The model is exact here, so the gap is the run's own noise: more runs "
            "(--runs) or a longer horizon narrow it."
        )
    return f"{head}. The model is an approximation here."


def _queues(theory: Theory) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for queue in theory.queues:
        out.setdefault(queue.node, {})[queue.resource] = queue.as_dict()
    return out


def _station(station: Any) -> dict[str, Any]:
    return {
        "kind": station.kind,
        "visits": station.visits,
        "demand_s": station.demand_s,
        "utilization": station.utilization,
        "residence_s": station.residence_s,
    }
