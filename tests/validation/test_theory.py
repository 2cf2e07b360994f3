"""The simulator against closed-form queueing results (see queues.py for the statistics)."""

from __future__ import annotations

import pytest

from asyncflow.scenario.builder import cpu, deterministic, exponential, gamma, io, log_normal, ram

from .queues import (
    T_QUANTILE,
    jsq_d_time,
    mg1_time,
    mmc_time,
    queue_scenario,
    replicate,
    replications,
    round_robin_time,
    time_in_system,
)

pytestmark = pytest.mark.slow


def test_worked_values_of_the_reference_table() -> None:
    """The formulas used below reproduce the reference's worked values."""
    assert mmc_time(1, 0.8, 1.0) == pytest.approx(5.0)
    assert mmc_time(2, 1.6, 1.0) == pytest.approx(2.777778, abs=1e-6)
    assert mmc_time(4, 3.2, 1.0) == pytest.approx(1.745541, abs=1e-6)
    assert mg1_time(0.8, 1.0, 0.0) - 1.0 == pytest.approx(2.0)
    assert round_robin_time(2, 0.8, 1.0) == pytest.approx(3.843980, abs=1e-6)
    assert jsq_d_time(2, 0.8) == pytest.approx(1.947363, abs=1e-6)
    assert jsq_d_time(2, 0.9) == pytest.approx(2.614057, abs=1e-6)
    assert T_QUANTILE > 4.0


def test_mm1_time_in_system_and_littles_law() -> None:
    runs = replications(queue_scenario(0.8, [cpu(exponential(1.0))], horizon_s=100_000))
    estimate = replicate(runs, time_in_system)
    estimate.check(5.0, max_relative_se=0.03)
    # Little's law on the levels: mean number in the server = λ T; utilisation = ρ.
    in_server = replicate(
        runs,
        lambda r: r.level_mean("busy_cores", "srv-1") + r.level_mean("ready_queue", "srv-1"),
    )
    in_server.check(0.8 * 5.0, max_relative_se=0.03)
    replicate(runs, lambda r: r.summary()["servers"]["srv-1"]["cpu_utilization"]).check(
        0.8, max_relative_se=0.01
    )


def test_md1_time_in_system() -> None:
    scenario = queue_scenario(0.8, [cpu(deterministic(1.0))], horizon_s=60_000)
    replicate(scenario, time_in_system).check(mg1_time(0.8, 1.0, 0.0), max_relative_se=0.03)


@pytest.mark.parametrize(
    ("service", "scv"),
    [(gamma(1.0, 0.5), 0.5), (log_normal(1.0, 2.0), 2.0)],
    ids=["gamma", "log_normal"],
)
def test_mg1_pollaczek_khinchine(service: dict[str, float], scv: float) -> None:
    """Families are parameterised by the samples' mean and variance."""
    scenario = queue_scenario(0.7, [cpu(service)], horizon_s=60_000)
    replicate(scenario, time_in_system).check(mg1_time(0.7, 1.0, scv), max_relative_se=0.03)


@pytest.mark.parametrize("cores", [2, 4])
def test_mmc_on_cpu_cores(cores: int) -> None:
    rate = 0.8 * cores
    scenario = queue_scenario(rate, [cpu(exponential(1.0))], horizon_s=60_000, cpu_cores=cores)
    replicate(scenario, time_in_system).check(mmc_time(cores, rate, 1.0), max_relative_se=0.02)


def test_ram_slots_form_an_mmc_admission_queue() -> None:
    """4 slots of RAM, I/O holding no core: waiting for RAM is the M/M/4 queue."""
    rate = 3.2
    scenario = queue_scenario(rate, [ram(100), io(exponential(1.0))], horizon_s=30_000, ram_mb=400)
    theory = mmc_time(4, rate, 1.0)
    runs = replications(scenario)
    replicate(runs, time_in_system).check(theory, max_relative_se=0.02)
    replicate(runs, lambda r: r.level_mean("ram_wait_queue", "srv-1")).check(
        rate * (theory - 1.0), max_relative_se=0.05
    )


def test_round_robin_feeds_each_server_erlang_arrivals() -> None:
    scenario = queue_scenario(
        1.6, [cpu(exponential(1.0))], horizon_s=50_000, servers=2, algorithm="round_robin"
    )
    replicate(scenario, time_in_system).check(round_robin_time(2, 0.8, 1.0), max_relative_se=0.03)


def test_power_of_two_choices_matches_the_supermarket_model() -> None:
    """100 servers at load 0.8. The n → ∞ limit is approached at rate O(1/n):
    measured here within 0.5% at n = 100, so 1.5% is allowed for the finite size
    on top of the statistical tolerance."""
    servers = 100
    scenario = queue_scenario(
        0.8 * servers,
        [cpu(exponential(1.0))],
        horizon_s=1_200,
        servers=servers,
        algorithm="power_of_two_choices",
    )
    estimate = replicate(scenario, time_in_system)
    theory = jsq_d_time(2, 0.8)
    assert abs(estimate.mean - theory) <= T_QUANTILE * estimate.se + 0.015 * theory
    assert estimate.se <= 0.01 * theory
    # And it beats random assignment (each server an M/M/1 at 0.8: T = 5) by far.
    assert estimate.mean < 0.5 * mmc_time(1, 0.8, 1.0)
