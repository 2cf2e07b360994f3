"""Workloads for autoscaling: diurnal curves, bursts, and request-rate traces.

Each function returns the points of a workload's ``users_profile`` (mean
active users over time, linear between points, steps where two points share
a time); :func:`with_profile` puts them in a scenario. The generator looks
the profile up by bisection, so a long trace costs a logarithm per window,
not a scan.

* :func:`diurnal`: a day's cosine between a low and a peak;
* :func:`bursts`: a Markov-modulated on/off process, one seeded realisation
  of its rate as a profile: quiet periods and bursts of exponential
  lengths, the load jumping between two levels (the same path for every
  run of the scenario);
* :func:`with_bursts`: the workload's ``bursts`` key instead, a two-state
  Markov-modulated Poisson process drawn by each run from its own seed,
  around the workload's rate (``scenario.arrivals``);
* :func:`rate_trace`: a CSV of ``t_s,rate_rps`` (requests per second)
  replayed as users at the workload's rate per user.
"""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from asyncflow.scenario import Scenario
from asyncflow.scenario.limits import MAX_PROFILE_POINTS

__all__ = ["bursts", "diurnal", "rate_trace", "with_bursts", "with_profile"]

Point = dict[str, float]


def diurnal(
    *,
    low: float,
    peak: float,
    horizon_s: float,
    peak_at_s: float | None = None,
    period_s: float | None = None,
    points: int = 97,
) -> list[Point]:
    """Users following ``low + (peak - low) (1 + cos(2π (t - peak_at) / period)) / 2``.

    Args:
        low: Fewest users.
        peak: Most users.
        horizon_s: Length of the profile.
        peak_at_s: Time of the peak (default: the middle of the period).
        period_s: Length of a day (default: the horizon).
        points: Points of the profile (evenly spaced, both ends included).

    Raises:
        ValueError: Bad bounds or counts.
    """
    period = horizon_s if period_s is None else period_s
    if not 0 <= low <= peak or not horizon_s > 0 or not period > 0:
        raise ValueError("diurnal: needs 0 <= low <= peak and a positive horizon and period")
    if not 2 <= points <= MAX_PROFILE_POINTS.value:
        raise ValueError(f"points: must be 2 to {MAX_PROFILE_POINTS.shown} (got {points})")
    top = period / 2.0 if peak_at_s is None else peak_at_s
    times = np.linspace(0.0, horizon_s, points)
    users = low + (peak - low) * (1.0 + np.cos(2.0 * math.pi * (times - top) / period)) / 2.0
    return [{"t_s": float(t), "users": float(u)} for t, u in zip(times, users, strict=True)]


def bursts(
    *,
    base: float,
    burst: float,
    mean_quiet_s: float,
    mean_burst_s: float,
    horizon_s: float,
    seed: int,
) -> list[Point]:
    """A seeded on/off realisation: ``base`` users, jumping to ``burst`` during bursts.

    Quiet periods and bursts last exponential times of means ``mean_quiet_s``
    and ``mean_burst_s``; the first period is quiet.

    Raises:
        ValueError: Bad levels or durations, or more points than a profile holds.
    """
    if not 0 <= base <= burst or not mean_quiet_s > 0 or not mean_burst_s > 0:
        raise ValueError("bursts: needs 0 <= base <= burst and positive mean durations")
    rng = np.random.default_rng(seed)
    points: list[Point] = [{"t_s": 0.0, "users": base}]
    t, on = 0.0, False
    while True:
        t += float(rng.exponential(mean_burst_s if on else mean_quiet_s))
        if t >= horizon_s:
            break
        level_before, on = (burst if on else base), not on
        points += [{"t_s": t, "users": level_before}, {"t_s": t, "users": burst if on else base}]
        if len(points) > MAX_PROFILE_POINTS.value:
            raise ValueError(f"bursts: more than {MAX_PROFILE_POINTS.shown} profile points")
    return points


def rate_trace(
    path: str | os.PathLike[str], *, requests_per_minute_per_user: float = 60.0
) -> list[Point]:
    """A request-rate trace (CSV with columns ``t_s`` and ``rate_rps``) as users.

    Raises:
        ValueError: A file without those columns, times not increasing, or a
            negative rate (the line is named).
    """
    per_user_s = requests_per_minute_per_user / 60.0
    if not per_user_s > 0:
        raise ValueError("requests_per_minute_per_user: must be > 0")
    points: list[Point] = []
    with Path(path).open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or not {"t_s", "rate_rps"} <= set(reader.fieldnames):
            raise ValueError(f"{path}: needs the columns t_s and rate_rps")
        for line, row in enumerate(reader, start=2):
            try:
                t, rate = float(row["t_s"]), float(row["rate_rps"])
            except (TypeError, ValueError):
                raise ValueError(f"{path}:{line}: t_s and rate_rps must be numbers") from None
            if not (math.isfinite(t) and math.isfinite(rate)) or rate < 0:
                raise ValueError(f"{path}:{line}: rate_rps must be a finite number >= 0")
            if points and t < points[-1]["t_s"]:
                raise ValueError(f"{path}:{line}: t_s must not decrease (got {t:g})")
            points.append({"t_s": t, "users": rate / per_user_s})
    if not points:
        raise ValueError(f"{path}: no rows")
    if len(points) > MAX_PROFILE_POINTS.value:
        raise ValueError(f"{path}: more than {MAX_PROFILE_POINTS.shown} rows")
    return points


def with_profile(scenario: Scenario, points: list[Point], workload: int = 0) -> Scenario:
    """The scenario with a workload's ``users_profile`` replaced (validated again)."""
    from asyncflow.scenario import parse_scenario

    data: dict[str, Any] = scenario.model_dump(mode="python", exclude_none=True, warnings=False)
    if "workloads" in data:
        data["workloads"][workload]["users_profile"] = points
    else:
        data["rqs_input"]["users_profile"] = points
    return parse_scenario(data, name=scenario.name)


def with_bursts(
    scenario: Scenario,
    *,
    rate_ratio: float,
    mean_quiet_s: float,
    mean_burst_s: float,
    workload: int = 0,
) -> Scenario:
    """The scenario with a workload's arrivals bursty (its ``bursts`` key; validated again).

    Args:
        scenario: The scenario.
        rate_ratio: Arrival rate in a burst over the rate between bursts (>= 1).
        mean_quiet_s: Mean seconds between two bursts.
        mean_burst_s: Mean seconds of a burst.
        workload: Index of the workload.

    Raises:
        ScenarioError: Values the ``bursts`` key refuses (named by their path).
    """
    from asyncflow.scenario import parse_scenario

    data: dict[str, Any] = scenario.model_dump(mode="python", exclude_none=True, warnings=False)
    block = {"rate_ratio": rate_ratio, "mean_quiet_s": mean_quiet_s, "mean_burst_s": mean_burst_s}
    if "workloads" in data:
        data["workloads"][workload]["bursts"] = block
    else:
        data["rqs_input"]["bursts"] = block
    return parse_scenario(data, name=scenario.name)
