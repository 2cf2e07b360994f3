"""The overload guards' state machines, one behaviour at a time."""

from __future__ import annotations

import math

import numpy as np
import pytest

from asyncflow.components.guards import (
    CLOSED,
    HALF_OPEN,
    OPEN,
    AimdLimit,
    CircuitBreaker,
    CoDel,
    GradientLimit,
    RetryBudget,
    TokenBucket,
    backoff_delay,
)


@pytest.mark.parametrize(("rate_in", "rate", "burst"), [(200.0, 50.0, 10.0), (20.0, 50.0, 10.0)])
def test_token_bucket_admits_at_most_rate_plus_burst(
    rate_in: float, rate: float, burst: float
) -> None:
    rng = np.random.default_rng(4)
    arrivals = np.cumsum(rng.exponential(1.0 / rate_in, int(rate_in * 200)))
    bucket = TokenBucket(rate, burst)
    admitted = np.array([bucket.take(float(t)) for t in arrivals])
    span = float(arrivals[-1])
    assert admitted.sum() <= rate * span + burst
    # Far from the rate, the admitted rate tends to min(λ, r): 5 Poisson SD.
    expected = min(rate_in, rate) * span
    assert abs(admitted.sum() - expected) < 5 * math.sqrt(expected) + burst
    # In every window of 1 s, at most r + b admitted.
    times = arrivals[admitted]
    counts = np.searchsorted(times, times + 1.0) - np.arange(times.size)
    assert counts.max() <= rate + burst


def test_breaker_opens_probes_and_closes() -> None:
    breaker = CircuitBreaker(
        failure_ratio=0.5, window_s=10.0, minimum_calls=4, open_s=5.0, probes=2
    )
    for t, ok in [(0.0, True), (1.0, False), (2.0, False)]:
        assert breaker.allow(t)
        breaker.record(t, ok)
    assert breaker.state == CLOSED  # 3 calls: under the minimum volume
    breaker.record(3.0, True)
    assert breaker.state == OPEN  # 2 failures of 4
    assert not breaker.allow(7.9)
    assert breaker.allow(8.0)
    assert breaker.state == HALF_OPEN
    assert breaker.allow(8.1)
    assert not breaker.allow(8.2)  # two probes out already
    breaker.record(8.5, True)
    breaker.record(8.6, True)
    assert breaker.state == CLOSED


def test_breaker_reopens_on_a_failed_probe_and_forgets_old_failures() -> None:
    breaker = CircuitBreaker(failure_ratio=0.5, window_s=10.0, minimum_calls=2, open_s=5.0)
    breaker.record(0.0, False)
    breaker.record(0.5, False)
    assert breaker.state == OPEN
    assert breaker.allow(6.0)
    breaker.record(6.1, False)
    assert breaker.state == OPEN
    assert not breaker.allow(10.0)
    fresh = CircuitBreaker(failure_ratio=0.5, window_s=10.0, minimum_calls=2, open_s=5.0)
    fresh.record(0.0, False)
    fresh.record(11.0, True)  # the failure at 0 left the window
    fresh.record(12.0, True)
    assert fresh.state == CLOSED


def test_retry_budget_allows_ratio_of_requests_plus_floor() -> None:
    budget = RetryBudget(ratio=0.2, min_per_s=0.5, window_s=10.0)
    for i in range(100):
        budget.request(i * 0.1)
    # 0.2 x 100 + 0.5 x 10 = 25 retries within the window.
    allowed = sum(budget.try_retry(9.95) for _ in range(40))
    assert allowed == 25
    # Ten seconds later the window holds nothing: only the floor remains.
    assert sum(budget.try_retry(30.0) for _ in range(10)) == 5


@pytest.mark.parametrize(
    ("attempt", "jitter", "u", "previous", "expected"),
    [
        (1, "none", 0.3, 0.0, 0.1),
        (4, "none", 0.3, 0.0, 0.8),
        (10, "none", 0.3, 0.0, 2.0),  # capped
        (3, "full", 0.25, 0.0, 0.1),
        (3, "equal", 0.5, 0.0, 0.3),
        (2, "decorrelated", 0.5, 0.4, 0.1 + 0.5 * (1.2 - 0.1)),
        (2, "decorrelated", 0.99, 5.0, 2.0),  # capped
        (1, "decorrelated", 0.5, 0.0, 0.1 + 0.5 * (0.3 - 0.1)),  # the first from base_s
    ],
)
def test_backoff_delays(
    attempt: int, jitter: str, u: float, previous: float, expected: float
) -> None:
    assert backoff_delay(attempt, 0.1, 2.0, jitter, u, previous) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("attempt", "multiplier", "expected"),
    [(1, 3.0, 0.1), (3, 3.0, 0.9), (5, 3.0, 2.0), (4, 1.0, 0.1), (2000, 2.0, 2.0)],
)
def test_backoff_ceiling_grows_by_the_multiplier(
    attempt: int, multiplier: float, expected: float
) -> None:
    assert backoff_delay(attempt, 0.1, 2.0, "none", 0.0, 0.0, multiplier) == pytest.approx(expected)


def test_backoff_refuses_an_unknown_jitter() -> None:
    with pytest.raises(ValueError, match="jitter: must be one of none, full, equal, decorrelated"):
        backoff_delay(1, 0.1, 1.0, "random", 0.5, 0.0)


def test_aimd_grows_slowly_and_halves_fast() -> None:
    limit = AimdLimit(10.0, target_s=0.1, decrease=0.5)
    for _ in range(10):
        limit.record(0.05, ok=True)
    assert 10.9 < limit.limit < 11.0  # about one per ten successes
    limit.record(0.5, ok=True)  # too slow
    assert 5.4 < limit.limit < 5.5
    for _ in range(100):
        limit.record(0.0, ok=False)
    assert limit.limit == 1.0


def test_gradient_limit_follows_the_latency_ratio() -> None:
    limit = GradientLimit(20.0)
    for _ in range(50):
        limit.record(0.01, ok=True)
    grown = limit.limit
    assert grown > 20.0  # latency at its best: grows by about sqrt(limit)
    for _ in range(50):
        limit.record(0.1, ok=True)  # ten times the best latency
    assert limit.limit < grown / 2


def test_codel_drops_after_an_interval_above_target_then_faster() -> None:
    codel = CoDel(target_s=0.005, interval_s=0.1)
    times = np.arange(0.0, 1.0, 0.01)
    drops = [t for t in times.tolist() if codel.drop(t, 0.05)]
    # Above target from t = 0: first drop at 0.1, then after 0.1/√1, 0.1/√2...
    gaps = np.diff(drops)
    assert drops[0] == pytest.approx(0.1)
    assert gaps[0] == pytest.approx(0.1, abs=0.01)
    assert gaps[1] == pytest.approx(0.1 / math.sqrt(2), abs=0.01)
    assert np.all(np.diff(gaps) <= 0.01 + 1e-12)
    assert not codel.drop(1.0, 0.001)
    assert not codel.dropping


def test_codel_catches_up_at_a_late_dequeue() -> None:
    """Due times run from the last due time: a dequeue long after drops until caught up."""
    codel = CoDel(target_s=0.005, interval_s=0.1)
    assert not codel.drop(0.0, 0.05)
    assert codel.drop(0.1, 0.05)  # first drop; the next is due at 0.2
    late = [codel.drop(0.5, 0.05) for _ in range(6)]
    # Due at 0.2, 0.2 + 0.1/√2 = 0.271, + 0.1/√3 = 0.329, + 0.1/√4 = 0.379,
    # + 0.1/√5 = 0.424, + 0.1/√6 = 0.465, then 0.503 > 0.5.
    assert late == [True] * 6
    assert not codel.drop(0.5, 0.05)
