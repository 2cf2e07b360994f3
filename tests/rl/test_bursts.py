"""Bursty arrivals (a two-state MMPP): its mean rate and dispersion, and its checks."""

from __future__ import annotations

import re
from typing import Any

import jsonschema
import numpy as np
import pytest
from rl_scenarios import group_scenario

from asyncflow import ScenarioError
from asyncflow.scenario import ScenarioBuilder, parse_scenario, scenario_json_schema
from asyncflow.scenario.arrivals import BurstProcess
from asyncflow.simulation import Simulation

BURSTS = {"rate_ratio": 6, "mean_quiet_s": 8, "mean_burst_s": 2}


def bursty(bursts: dict[str, Any] | None, *, horizon: float = 60.0) -> dict[str, Any]:
    data = group_scenario(users=20.0, horizon=horizon)
    if bursts is not None:
        data["rqs_input"]["bursts"] = bursts
    return data


def arrivals(bursts: dict[str, Any] | None, horizon: float, seed: int) -> np.ndarray:
    """The arrival times the workload's generator draws over ``horizon`` (run nothing else)."""
    sim = Simulation(parse_scenario(bursty(bursts)), seed)
    generator = sim.runtime.generators[0]
    window = 10.0
    parts = [generator.window_arrivals(a, a + window) for a in np.arange(0.0, horizon, window)]
    return np.concatenate(parts)


def test_the_formulas_of_the_process() -> None:
    process = BurstProcess.model_validate(BURSTS)
    assert process.burst_share == pytest.approx(0.2)
    assert process.factors() == pytest.approx((0.5, 3.0))  # 10 and 60 requests/s around 20
    # 1 + 2 (60 - 10)² 0.2 0.8 / 20 (1/s - (1 - e^(-sT)) / (s² T)), s = 0.625, T = 10.
    assert process.dispersion(20.0, 10.0) == pytest.approx(1 + 40 * (1.6 - 0.2555), rel=1e-3)
    assert BurstProcess(rate_ratio=1, mean_quiet_s=1, mean_burst_s=1).dispersion(20.0, 10.0) == 1


@pytest.mark.parametrize(
    ("bursts", "seed"), [(BURSTS, 1), (BURSTS, 2), ({**BURSTS, "rate_ratio": 1}, 3), (None, 4)]
)
def test_mean_rate_and_dispersion_of_the_counts_match_the_formulas(
    bursts: dict[str, Any] | None, seed: int
) -> None:
    """Counts in 10 s windows over 100,000 s (10,000 windows, about 2 million arrivals).

    Tolerances are four standard errors: the mean rate's is about 0.6% (the
    variance of the total is IDC(∞) λ H with IDC(∞) = 65), the sample index
    of dispersion's about 2% (10,000 nearly independent windows of counts
    with a heavier tail than normal); with Poisson arrivals the index is 1
    within 4 × sqrt(2 / 10,000).
    """
    horizon, window, rate = 100_000.0, 10.0, 20.0
    times = arrivals(bursts, horizon, seed)
    counts, _ = np.histogram(times, bins=np.arange(0.0, horizon + window, window))
    expected = (
        1.0 if bursts is None else BurstProcess.model_validate(bursts).dispersion(rate, window)
    )
    assert times.size / horizon == pytest.approx(rate, rel=0.025 if expected > 2 else 0.005)
    assert counts.var(ddof=1) / counts.mean() == pytest.approx(expected, rel=0.08, abs=0.06)


def test_bursty_runs_differ_from_poisson_only_by_their_arrivals() -> None:
    plain = Simulation(parse_scenario(bursty(None)), 5).run()
    again = Simulation(parse_scenario(bursty(None)), 5).run()
    burst = Simulation(parse_scenario(bursty(BURSTS)), 5).run()
    assert np.array_equal(plain.requests.generated_s, again.requests.generated_s)
    assert not np.array_equal(plain.requests.generated_s, burst.requests.generated_s)
    same = Simulation(parse_scenario(bursty(BURSTS)), 5).run()
    assert np.array_equal(burst.requests.generated_s, same.requests.generated_s)


def test_the_builder_and_the_json_schema_know_bursts() -> None:
    api = {
        "endpoint_name": "/api",
        "steps": [{"kind": "cpu_bound_operation", "step_operation": {"cpu_time": 0.01}}],
    }
    built = (
        ScenarioBuilder("b")
        .workload(users=20, requests_per_minute=60, bursts=BURSTS)
        .client("client-1")
        .server("srv-1", endpoints=[api])
        .edge("rqs-1", "client-1", latency=0.001)
        .edge("client-1", "srv-1", latency=0.001)
        .edge("srv-1", "client-1", latency=0.001)
        .settings(horizon_s=10)
        .build()
    )
    assert built.workload_list[0].bursts == BurstProcess.model_validate(BURSTS)
    validator = jsonschema.Draft202012Validator(scenario_json_schema())
    assert not list(validator.iter_errors(bursty(BURSTS)))
    assert list(validator.iter_errors(bursty({**BURSTS, "rate_ratio": 0.5})))


BAD = [
    ({**BURSTS, "rate_ratio": 0.5}, "rqs_input.bursts.rate_ratio: must be >= 1 (got 0.5)"),
    ({**BURSTS, "mean_burst_s": 0}, "rqs_input.bursts.mean_burst_s: must be > 0 (got 0)"),
    (
        {**BURSTS, "spread": 1},
        "rqs_input.bursts.spread: unknown field "
        "(expected one of: rate_ratio, mean_quiet_s, mean_burst_s)",
    ),
]


@pytest.mark.parametrize(("bursts", "message"), BAD)
def test_bad_bursts_are_refused_with_their_path(bursts: dict[str, Any], message: str) -> None:
    with pytest.raises(ScenarioError, match=f"^{re.escape(message)}$"):
        parse_scenario(bursty(bursts))


def test_the_bundled_bursty_day_drives_the_autoscaling_environment() -> None:
    from asyncflow.rl import workloads
    from asyncflow.rl.autoscaling import AutoscalingEnv
    from asyncflow.rl.scenarios import bundled
    from asyncflow.scenario import load_scenario

    bursty_day = load_scenario(bundled("autoscaling_bursts"))
    day = load_scenario(bundled("autoscaling"))
    assert bursty_day.workload_list[0].bursts == BurstProcess(
        rate_ratio=4, mean_quiet_s=120, mean_burst_s=30
    )
    assert (
        workloads.with_bursts(day, rate_ratio=4, mean_quiet_s=120, mean_burst_s=30)
        .workload_list[0]
        .bursts
        == bursty_day.workload_list[0].bursts
    )
    env = AutoscalingEnv(bursty_day)
    env.reset(seed=3)
    for _ in range(8):
        env.step(2)
    assert env.sim is not None
    assert env.sim.now == pytest.approx(120.0)
