"""Workloads for autoscaling: diurnal curves, bursts, rate traces."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from rl_scenarios import group_scenario

from asyncflow.rl.workloads import bursts, diurnal, rate_trace, with_profile
from asyncflow.scenario import parse_scenario
from asyncflow.simulation import Simulation


def test_diurnal_runs_from_its_low_to_its_peak_and_back() -> None:
    points = diurnal(low=10, peak=110, horizon_s=3600, points=5)
    assert [p["t_s"] for p in points] == [0, 900, 1800, 2700, 3600]
    assert [p["users"] for p in points] == pytest.approx([10, 60, 110, 60, 10])


def test_bursts_are_a_seeded_on_off_realisation_of_steps() -> None:
    points = bursts(base=10, burst=50, mean_quiet_s=60, mean_burst_s=10, horizon_s=3600, seed=1)
    assert points == bursts(
        base=10, burst=50, mean_quiet_s=60, mean_burst_s=10, horizon_s=3600, seed=1
    )
    assert {p["users"] for p in points} == {10, 50}
    steps = points[1:]
    assert all(a["t_s"] == b["t_s"] for a, b in zip(steps[::2], steps[1::2], strict=True))
    starts = np.array([p["t_s"] for p in steps[::2]])
    durations = np.diff(np.append(starts, 3600))
    on = durations[::2]  # each step starts a burst or a quiet period, bursts first
    assert 5 < float(np.mean(on)) < 20
    assert len(starts) > 60  # about one burst a 70 s


def test_a_bursty_workload_is_burstier_than_poisson() -> None:
    data = group_scenario({"max_replicas": 4}, users=10, horizon=1200.0)
    scenario = parse_scenario(data)
    points = bursts(base=10, burst=80, mean_quiet_s=40, mean_burst_s=8, horizon_s=1200, seed=3)
    results = Simulation(with_profile(scenario, points), 2).run()
    counts, _ = np.histogram(results.requests.generated_s, bins=np.arange(0, 1201, 5.0))
    assert counts.var() / counts.mean() > 5  # index of dispersion: 1 for Poisson


def test_a_rate_trace_becomes_users_at_the_rate_per_user(tmp_path: Path) -> None:
    path = tmp_path / "trace.csv"
    path.write_text("t_s,rate_rps\n0,5\n60,5\n60,20\n120,10\n", encoding="utf-8")
    points = rate_trace(path, requests_per_minute_per_user=30)
    assert points == [
        {"t_s": 0, "users": 10},
        {"t_s": 60, "users": 10},
        {"t_s": 60, "users": 40},
        {"t_s": 120, "users": 20},
    ]
    scenario = with_profile(parse_scenario(group_scenario(horizon=120.0)), points)
    workload = scenario.workload_list[0]
    assert workload.mean_users_at(30) == 10
    assert workload.mean_users_at(60) == 40  # right-continuous at a step
    assert workload.mean_users_at(90) == 30


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("time,rate\n0,1\n", ": needs the columns t_s and rate_rps"),
        ("t_s,rate_rps\n0,1\n5,x\n", ":3: t_s and rate_rps must be numbers"),
        ("t_s,rate_rps\n0,1\n5,-2\n", ":3: rate_rps must be a finite number >= 0"),
        ("t_s,rate_rps\n10,1\n5,2\n", ":3: t_s must not decrease (got 5)"),
        ("t_s,rate_rps\n", ": no rows"),
    ],
)
def test_bad_traces_name_the_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "t.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=f"^{re.escape(str(path))}{re.escape(message)}$"):
        rate_trace(path)
