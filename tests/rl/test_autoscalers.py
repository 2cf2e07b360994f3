"""Autoscalers: each rule on given metrics, and in runs against what they predict."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from rl_scenarios import group_scenario

from asyncflow.components.autoscalers import (
    GroupState,
    Hpa,
    Knative,
    StepScaling,
    TargetTracking,
    Threshold,
)
from asyncflow.scenario import parse_scenario
from asyncflow.scenario.replicas import (
    HpaScaler,
    KnativeScaler,
    ScalingBehavior,
    ScalingRule,
    StepScaler,
    TargetTrackingScaler,
    ThresholdScaler,
)
from asyncflow.simulation import Simulation


class Given:
    """Metrics that are what the test says, whatever the window."""

    def __init__(self, utilization: float | None = None, concurrency: float | None = None) -> None:
        self.util = utilization
        self.conc = concurrency
        self.windows: list[tuple[float, float]] = []

    def utilization(self, t0: float, t1: float) -> float | None:
        self.windows.append((t0, t1))
        return self.util

    def concurrency(self, t0: float, t1: float) -> float | None:
        self.windows.append((t0, t1))
        return self.conc


def state(ready: int, starting: int = 0, low: int = 1, high: int = 100) -> GroupState:
    return GroupState(ready, starting, low, high)


@pytest.mark.parametrize(
    ("ready", "starting", "util", "expected"),
    [
        (4, 0, 0.9, 6),  # ratio 1.5: ceil(1.5 * 4)
        (4, 0, 0.63, 4),  # ratio 1.05: within the tolerance
        (4, 0, 0.3, 2),  # ratio 0.5
        (4, 0, 0.545, 4),  # ratio 0.908: within the tolerance
        (2, 2, 0.9, 4),  # starting counted idle: 0.45 / 0.6 < 1, no reversal: keep 4
        (2, 1, 1.0, 4),  # rebalanced 1.11 over 3 replicas: ceil(3.33)
        (2, 1, 0.3, 1),  # scaling down ignores the starting replicas: ceil(0.5 * 2)
    ],
)
def test_hpa_ratio_rule(ready: int, starting: int, util: float, expected: int) -> None:
    hpa = Hpa(HpaScaler(policy="hpa", target_utilization=0.6))
    assert hpa.recommend(util, state(ready, starting)) == expected


def test_hpa_scale_down_waits_for_its_stabilisation_window() -> None:
    hpa = Hpa(HpaScaler(policy="hpa", target_utilization=0.5))
    assert hpa.decide(15.0, state(4), Given(0.5)) == 4
    low = Given(0.25)
    for t in range(30, 301, 15):
        assert hpa.decide(float(t), state(4), low) == 4  # the recommendation of 4 at 15 s holds
    assert hpa.decide(315.0, state(4), low) == 2


def test_hpa_scale_up_is_limited_by_its_policies_per_period() -> None:
    hpa = Hpa(HpaScaler(policy="hpa", target_utilization=0.1))
    busy = Given(1.0)
    assert hpa.decide(15.0, state(2), busy) == 6  # max(+100% = 4, +4 pods = 6)
    assert hpa.decide(20.0, state(6), busy) == 6  # same period: 4 added already
    assert hpa.decide(30.0, state(6), busy) == 12  # a new period: max(12, 10)
    assert hpa.decide(45.0, state(12, high=15), busy) == 15  # max_replicas


def test_hpa_scale_down_rules_with_min_selection_and_pods() -> None:
    down = ScalingBehavior(
        stabilization_window_s=0.0,
        select_policy="min",
        policies=(
            ScalingRule(type="pods", value=1, period_s=60.0),
            ScalingRule(type="percent", value=50, period_s=60.0),
        ),
    )
    hpa = Hpa(HpaScaler(policy="hpa", target_utilization=0.5, scale_down=down))
    idle = Given(0.05)
    assert hpa.decide(15.0, state(8), idle) == 7  # the smaller change: -1 pod
    assert hpa.decide(30.0, state(7), idle) == 7  # one removed within the period
    assert hpa.decide(90.0, state(7), idle) == 6


def test_hpa_reads_metrics_lagged_and_keeps_replicas_without_metrics() -> None:
    hpa = Hpa(HpaScaler(policy="hpa", target_utilization=0.5, metric_lag_s=30.0))
    given = Given(None)
    assert hpa.decide(100.0, state(3), given) == 3
    assert given.windows == [(55.0, 70.0)]


def test_threshold_rule_steps_and_cools_down() -> None:
    rule = Threshold(
        ThresholdScaler(
            policy="threshold", scale_out_above=0.8, scale_in_below=0.3, step=2, cooldown_s=60
        )
    )
    assert rule.decide(15.0, state(2), Given(0.9)) == 4
    assert rule.decide(30.0, state(4), Given(0.95)) == 4  # cooling down
    assert rule.decide(75.0, state(4), Given(0.95)) == 6
    assert rule.decide(150.0, state(6), Given(0.5)) == 6  # inside the band
    assert rule.decide(165.0, state(6), Given(0.1)) == 4
    assert rule.decide(240.0, state(1), Given(0.1)) == 1  # min_replicas


def test_target_tracking_scales_out_fast_and_in_slowly() -> None:
    rule = TargetTracking(
        TargetTrackingScaler(
            policy="target_tracking",
            target_utilization=0.5,
            scale_out_cooldown_s=60,
            scale_in_cooldown_s=300,
        )
    )
    assert rule.decide(60.0, state(2), Given(1.0)) == 4
    assert rule.decide(90.0, state(4), Given(1.0)) == 4  # scale-out cooldown
    assert rule.decide(120.0, state(4), Given(1.0)) == 8
    assert rule.decide(180.0, state(8), Given(0.25)) == 8  # scale-in cooldown
    assert rule.decide(420.0, state(8), Given(0.25)) == 4


def test_step_scaling_takes_the_first_matching_band() -> None:
    steps = [
        {"lower": 0.9, "change": 3},
        {"lower": 0.7, "upper": 0.9, "change": 1},
        {"lower": 0.0, "upper": 0.2, "change": -1},
    ]
    rule = StepScaling(
        StepScaler.model_validate({"policy": "step_scaling", "steps": steps, "cooldown_s": 0})
    )
    assert rule.decide(15.0, state(2), Given(0.95)) == 5
    assert rule.decide(30.0, state(2), Given(0.75)) == 3
    assert rule.decide(45.0, state(2), Given(0.5)) == 2
    assert rule.decide(60.0, state(2), Given(0.1)) == 1


def test_knative_panics_on_a_burst_and_never_scales_down_while_panicking() -> None:
    spec = KnativeScaler(policy="knative", target_concurrency=10.0)
    kpa = Knative(spec)

    class Burst(Given):
        def concurrency(self, t0: float, t1: float) -> float | None:
            return 80.0 if t1 - t0 < 10 else 25.0  # the 6 s panic window sees the burst

    assert kpa.decide(2.0, state(2), Given(concurrency=25.0)) == 3  # stable: ceil(2.5)
    assert not kpa.panicking
    assert kpa.decide(4.0, state(3), Burst()) == 8  # panic: ceil(80 / 10)
    assert kpa.panicking
    assert kpa.decide(6.0, state(8), Given(concurrency=25.0)) == 8  # held while panicking
    assert kpa.decide(70.0, state(8), Given(concurrency=25.0)) == 4  # calm for a stable window
    assert not kpa.panicking  # and scale down at most / max_scale_down_rate


# --------------------------------------------------------------------------- in runs


def _run(replicas: dict[str, Any], seed: int = 5, **kwargs: Any) -> Simulation:
    sim = Simulation(parse_scenario(group_scenario(replicas, **kwargs)), seed)
    sim.run()
    return sim


def test_hpa_settles_at_the_count_its_formula_predicts_for_a_steady_load() -> None:
    # 240 requests/s of 10 ms CPU keep 2.4 cores busy: ceil(2.4 / 0.7) = 4 replicas
    # (a load that is a whole multiple of the target would sit on the ceiling's edge).
    sim = _run(
        {
            "max_replicas": 8,
            "initial_replicas": 1,
            "autoscaler": {"policy": "hpa", "target_utilization": 0.7},
        },
        users=240,
        horizon=900.0,
    )
    results = sim.results()
    ready = results.series("replicas_ready", "api")
    late = ready.mean[ready.t >= 600.0]
    assert np.all(late == 4.0)
    assert sim.groups["api"].decisions == 60


def test_a_startup_delay_shows_as_a_latency_spike_after_a_step_in_load() -> None:
    profile = [{"t_s": 0, "users": 100}, {"t_s": 100, "users": 100}, {"t_s": 101, "users": 250}]
    means = []
    for startup in (0.001, 60.0):
        sim = _run(
            {
                "max_replicas": 8,
                "startup_s": startup,
                "autoscaler": {"policy": "hpa", "target_utilization": 0.6},
            },
            users=100,
            horizon=300.0,
            profile=profile,
        )
        r = sim.results().requests
        window = (r.generated_s >= 100.0) & (r.generated_s < 170.0) & (r.outcome == 1)
        means.append(float(np.mean(r.finished_s[window] - r.generated_s[window])))
    fast, slow = means
    assert slow > 5 * fast
