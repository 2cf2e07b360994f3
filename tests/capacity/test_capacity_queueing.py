"""The closed forms against worked values and against each other."""

from __future__ import annotations

import math

import pytest

from asyncflow.analysis import queueing


def test_erlang_b_and_c_worked_values() -> None:
    assert queueing.erlang_b(3, 2.0) == pytest.approx(4 / 19)
    assert queueing.erlang_b(0, 5.0) == 1.0
    assert queueing.erlang_c(2, 1.0) == pytest.approx(1 / 3)
    assert queueing.erlang_c(1, 0.8) == pytest.approx(0.8)  # M/M/1: P(wait) = rho


def test_mean_waits_reproduce_the_reference_table() -> None:
    assert queueing.mmc_wait(1, 0.8, 1.0) + 1 == pytest.approx(5.0)
    assert queueing.mmc_wait(2, 1.6, 1.0) + 1 == pytest.approx(2.777778, abs=1e-6)
    assert queueing.mmc_wait(4, 3.2, 1.0) + 1 == pytest.approx(1.745541, abs=1e-6)
    assert queueing.mg1_wait(0.8, 1.0, 0.0) == pytest.approx(2.0)  # M/D/1
    assert queueing.mg1_wait(0.8, 1.0, 1.0) == pytest.approx(4.0)  # M/M/1


@pytest.mark.parametrize(("cores", "scv"), [(1, 0.3), (1, 2.5), (3, 1.0)])
def test_allen_cunneen_is_exact_where_it_should_be(cores: int, scv: float) -> None:
    lam = 0.7 * cores
    approx = queueing.allen_cunneen_wait(cores, lam, 1.0, 1.0, scv)
    exact = queueing.mg1_wait(lam, 1.0, scv) if cores == 1 else queueing.mmc_wait(cores, lam, 1.0)
    assert approx == pytest.approx(exact)
    assert queueing.allen_cunneen_wait(2, 1.0, 1.0, 0.5, 0.5) == pytest.approx(
        0.5 * queueing.mmc_wait(2, 1.0, 1.0)
    )


def test_mm1_time_in_system_is_exponential() -> None:
    for t in (0.1, 1.0, 7.5):
        assert queueing.mmc_sojourn_tail(1, 0.8, 1.0, t) == pytest.approx(math.exp(-0.2 * t))
    mu, lam, target = 100.0, 85.0, 0.95
    assert queueing.mmc_sojourn_quantile(1, lam, 1 / mu, target) == pytest.approx(
        math.log(20) / (mu - lam), rel=1e-9
    )


def test_mmc_time_in_system_has_the_right_mean() -> None:
    """Integrating P(T > t) gives the mean time in system of M/M/4."""
    step = 0.001
    area = sum(queueing.mmc_sojourn_tail(4, 3.2, 1.0, (i + 0.5) * step) for i in range(30_000))
    assert area * step == pytest.approx(1.745541, abs=1e-4)
    assert queueing.mmc_sojourn_tail(3, 2.0, 1.0, 0.0) == 1.0


def test_mixture_quantile_shifts_and_mixes() -> None:
    alone = queueing.mmc_sojourn_quantile(1, 0.5, 1.0, 0.9)
    assert queueing.mixture_quantile([(1.0, 1, 0.5, 1.0, 2.0)], 0.9) == pytest.approx(alone + 2)
    mixed = queueing.mixture_quantile([(0.5, 1, 0.5, 1.0, 0.0), (0.5, 1, 0.5, 1.0, 0.0)], 0.9)
    assert mixed == pytest.approx(alone)
    with pytest.raises(ValueError, match=r"^q must be in \(0, 1\) \(got 1.0\)$"):
        queueing.mixture_quantile([(1.0, 1, 0.5, 1.0, 0.0)], 1.0)


def test_finite_queue_against_mm1k_and_its_limits() -> None:
    rho, places = 0.8, 5  # M/M/1/5: one server, room for 4 more
    blocked, queued = queueing.finite_queue(1, places - 1, rho)
    assert blocked == pytest.approx((1 - rho) * rho**places / (1 - rho ** (places + 1)))
    probabilities = [(1 - rho) * rho**n / (1 - rho ** (places + 1)) for n in range(places + 1)]
    assert queued == pytest.approx(sum((n - 1) * p for n, p in enumerate(probabilities) if n))
    blocked, queued = queueing.finite_queue(4, 2000, 3.2)
    assert blocked < 1e-50
    assert queued == pytest.approx(3.2 * queueing.mmc_wait(4, 3.2, 1.0))
    assert queueing.finite_queue(3, 0, 2.0) == (pytest.approx(4 / 19), 0.0)
    assert queueing.finite_queue(2, 3, 0.0) == (0.0, 0.0)


def test_unstable_queues_are_refused() -> None:
    with pytest.raises(ValueError, match="unstable queue: offered load 1 erlangs on 1 servers"):
        queueing.mmc_wait(1, 1.0, 1.0)
    with pytest.raises(ValueError, match="erlang_b needs"):
        queueing.erlang_b(-1, 1.0)
