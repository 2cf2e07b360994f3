"""The cache stores against the hit ratios of the literature.

The stores are driven directly by independent requests (the independent
reference model the formulas assume): 32 runs of seeds 1..32, each starting
empty, dropping a warm-up and measuring the hit ratio over the rest. How a
check decides is in replication.py (false alarm 1e-4, each check's stated
power). Che's and the FIFO formula are approximations; their error on these
cases (1,000 keys, 100 held) is far below the checks' resolution, as
published comparisons of Che's approximation and exact LRU show.
"""

from __future__ import annotations

import numpy as np
import pytest

from asyncflow.analysis.cache_theory import (
    che_hit_ratio,
    fifo_hit_ratio,
    lfu_hit_ratio,
    ttl_hit_ratio,
)
from asyncflow.components.cache_store import make_store
from asyncflow.components.keys import KeyPopularity

from .replication import REPLICATIONS, Estimate

pytestmark = pytest.mark.slow

KEYS = 1_000
CAPACITY = 100


def _hit_ratio(
    eviction: str,
    popularity: KeyPopularity,
    seed: int,
    *,
    warm_up: int,
    measured: int,
    capacity: int = CAPACITY,
    ttl_s: float | None = None,
    rate: float = 1.0,
) -> float:
    """Hit ratio over ``measured`` Poisson requests after ``warm_up`` of them."""
    rng = np.random.default_rng(seed)
    draws = rng.random(warm_up + measured).tolist()
    times = np.cumsum(rng.exponential(1.0 / rate, warm_up + measured)).tolist()
    store = make_store(eviction, capacity, ttl_s)
    hits = 0
    for i, (u, now) in enumerate(zip(draws, times, strict=True)):
        key = popularity.key(u)
        hit = store.lookup(key, now)
        if not hit:
            store.insert(key, now)
        if i >= warm_up:
            hits += hit
    return hits / measured


def _estimate(eviction: str, popularity: KeyPopularity, **kwargs: float) -> Estimate:
    seeds = range(1, REPLICATIONS + 1)
    return Estimate.of([_hit_ratio(eviction, popularity, seed, **kwargs) for seed in seeds])  # type: ignore[arg-type]


@pytest.mark.parametrize("exponent", [0.8, 1.2])
def test_lru_matches_che(exponent: float) -> None:
    """Che's approximation: 0.3778 at s = 0.8 and 0.7575 at s = 1.2."""
    keys = KeyPopularity(KEYS, "zipf", exponent)
    estimate = _estimate("lru", keys, warm_up=10_000, measured=25_000)
    estimate.check(che_hit_ratio(keys.probabilities(), CAPACITY), detects=0.015)


def test_fifo_matches_the_characteristic_time_approximation() -> None:
    keys = KeyPopularity(KEYS, "zipf", 0.8)
    estimate = _estimate("fifo", keys, warm_up=10_000, measured=25_000)
    estimate.check(fifo_hit_ratio(keys.probabilities(), CAPACITY), detects=0.015)


def test_lfu_holds_the_most_popular_keys() -> None:
    """Perfect LFU converges slowly near rank 100, where popularities are close:
    a warm-up of 100,000 requests (1,000 per place held)."""
    keys = KeyPopularity(KEYS, "zipf", 0.8)
    estimate = _estimate("lfu", keys, warm_up=100_000, measured=25_000)
    estimate.check(lfu_hit_ratio(keys.probabilities(), CAPACITY), detects=0.015)


def test_ttl_matches_its_per_key_form() -> None:
    """10 requests/s, keys living 50 s, room for every key: no eviction."""
    keys = KeyPopularity(KEYS, "zipf", 0.8)
    estimate = _estimate(
        "ttl", keys, warm_up=5_000, measured=25_000, capacity=KEYS, ttl_s=50.0, rate=10.0
    )
    estimate.check(ttl_hit_ratio(keys.probabilities(), 10.0, 50.0), detects=0.015)


@pytest.mark.parametrize(
    ("function", "expected"),
    [
        # Every key fits: everything hits after the cold start.
        (lambda p: che_hit_ratio(p, 4), 1.0),
        (lambda p: fifo_hit_ratio(p, 4), 1.0),
        # Uniform keys, half held: LFU holds any half, mass 0.5; Che's
        # T solves 4 (1 - e^(-T/4)) = 2, T = 4 ln 2, hit ratio 1/2.
        (lambda p: lfu_hit_ratio(p, 2), 0.5),
        (lambda p: che_hit_ratio(p, 2), 0.5),
        # FIFO on uniform keys: T/(4 + T) per key, 4 T/(4 + T) = 2, T = 4: 1/2.
        (lambda p: fifo_hit_ratio(p, 2), 0.5),
        # TTL: rate 2/s, each key 0.5/s, ttl 2 s: λT = 1, hit ratio 1/2.
        (lambda p: ttl_hit_ratio(p, 2.0, 2.0), 0.5),
    ],
)
def test_closed_forms_on_uniform_keys(function: object, expected: float) -> None:
    p = np.full(4, 0.25)
    assert function(p) == pytest.approx(expected, rel=1e-9)  # type: ignore[operator]
