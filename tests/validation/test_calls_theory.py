"""Calls between servers against closed forms (see replication.py for the statistics).

* Tandem of M/M/1 tiers (a server whose endpoint is CPU then a call to the
  next): Burke's theorem makes each tier's input Poisson, so by Jackson the
  mean time in system is the sum of 1/(mu_i - lambda).
* Fan-out to k calls of exponential I/O (no queue: I/O holds no core): the
  step waits max (``wait: all``, mean H_k / mu) or min (``wait: first``,
  mean 1 / (k mu)) of k exponentials.
* A branch is a mixture: its mean is the probabilities' weighted mean.
* Two balancers in series, each round robin over 2 servers: exponential I/O
  at the first tier keeps the stream Poisson (an M/G/inf output), so each
  server of the second tier is an E2/M/1 queue.

Hops are a constant 1 µs, subtracted as the request's network phase (the
calls' hops included).
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from asyncflow.scenario import Scenario, ScenarioBuilder
from asyncflow.scenario.builder import (
    branch,
    call,
    cpu,
    endpoint,
    exponential,
    io,
    parallel,
)

from .queues import HOP_S, round_robin_time, sojourns, warm_up
from .replication import replicate

pytestmark = pytest.mark.slow

DRAIN_S = 100.0


def _workload(builder: ScenarioBuilder, rate: float, target: str) -> ScenarioBuilder:
    return builder.workload(
        users=rate,
        requests_per_minute=60,
        distribution="deterministic",
        sampling_window_s=60.0,
        target=target,
    ).client()


def _settings(builder: ScenarioBuilder, horizon_s: float, warm_up_s: float) -> Scenario:
    return (
        builder.wire(latency=HOP_S).settings(horizon_s=horizon_s, warm_up_s=warm_up_s).build()
    )


def _tandem(tiers: int, rate: float) -> Scenario:
    builder = _workload(ScenarioBuilder("tandem"), rate, "tier-1")
    for i in range(1, tiers + 1):
        steps: list[dict[str, Any]] = [cpu(exponential(1.0))]
        if i < tiers:
            steps.append(call(f"tier-{i + 1}"))
        builder.server(f"tier-{i}", endpoints=[endpoint("/x", *steps)])
    return _settings(builder, 10_000, 2 * warm_up(rate))


@pytest.mark.parametrize("tiers", [2, 3])
def test_a_tandem_of_mm1_tiers_is_a_jackson_network(tiers: int) -> None:
    rate = 0.5
    estimate = replicate(_tandem(tiers, rate), lambda r: float(sojourns(r, DRAIN_S).mean()))
    estimate.check(tiers / (1.0 - rate), detects=0.05)


def _fan_out(k: int, wait: str) -> Scenario:
    builder = _workload(ScenarioBuilder("fan-out"), 10.0, "api")
    targets = [f"leaf-{i}" for i in range(k)]
    builder.server("api", endpoints=[endpoint("/x", parallel(*targets, wait=wait))])
    for target in targets:
        builder.server(target, endpoints=[endpoint("/y", io(exponential(0.1)))])
    return _settings(builder, 2_000, 10.0)


@pytest.mark.parametrize(
    ("wait", "theory"),
    [("all", sum(1.0 / j for j in range(1, 5)) * 0.1), ("first", 0.1 / 4)],
    ids=["all: H_k / mu", "first: 1 / (k mu)"],
)
def test_fan_out_waits_for_the_max_or_the_min_of_the_calls(wait: str, theory: float) -> None:
    estimate = replicate(_fan_out(4, wait), lambda r: float(sojourns(r, 1.0).mean()))
    estimate.check(theory, detects=0.02)


def test_a_branch_is_a_mixture() -> None:
    arms = branch((0.3, [io(exponential(1.0))]), (0.7, [io(exponential(3.0))]))
    builder = _workload(ScenarioBuilder("branch"), 2.0, "srv-1")
    builder.server("srv-1", endpoints=[endpoint("/x", arms)])
    scenario = _settings(builder, 5_000, 30.0)
    estimate = replicate(scenario, lambda r: float(sojourns(r, 60.0).mean()))
    estimate.check(0.3 * 1.0 + 0.7 * 3.0, detects=0.03)


def test_two_balancers_in_series_each_round_robin() -> None:
    rate, io_s = 1.2, 0.5
    builder = _workload(ScenarioBuilder("series"), rate, "lb-front")
    for front in ("front-1", "front-2"):
        builder.server(front, endpoints=[endpoint("/x", io(exponential(io_s)), call("lb-back"))])
    for back in ("back-1", "back-2"):
        builder.server(back, endpoints=[endpoint("/y", cpu(exponential(1.0)))])
    builder.load_balancer("lb-front", servers=["front-1", "front-2"])
    builder.load_balancer("lb-back", servers=["back-1", "back-2"])
    scenario = _settings(builder, 10_000, 2 * warm_up(rate / 2, variability=0.75))
    estimate = replicate(scenario, lambda r: float(sojourns(r, DRAIN_S).mean()))
    theory = io_s + round_robin_time(2, rate / 2, 1.0)
    estimate.check(theory, detects=0.05)
    assert math.isfinite(theory)
