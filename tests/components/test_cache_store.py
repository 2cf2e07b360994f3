"""The cache stores and the key popularity, one behaviour at a time."""

from __future__ import annotations

import numpy as np
import pytest

from asyncflow.components.cache_store import make_store
from asyncflow.components.keys import MAX_KEYS, KeyPopularity


def _replay(
    eviction: str, capacity: int, keys: list[int], ttl_s: float | None = None
) -> list[bool]:
    """Hits of a store fed ``keys`` one a second, each miss filled at once."""
    store = make_store(eviction, capacity, ttl_s)
    hits = []
    for now, key in enumerate(keys):
        hit = store.lookup(key, float(now))
        if not hit:
            store.insert(key, float(now))
        hits.append(hit)
    return hits


@pytest.mark.parametrize(
    ("eviction", "keys", "hits"),
    [
        # 1 is used again before 3 arrives, so LRU evicts 2 and keeps 1.
        ("lru", [1, 2, 1, 3, 1, 2], [False, False, True, False, True, False]),
        # FIFO evicts 1, the first inserted, although it was just used.
        ("fifo", [1, 2, 1, 3, 1, 2], [False, False, True, False, False, False]),
        # LFU: 3 is not admitted while it has been asked no more often than
        # the least asked key held; its third request beats 1 and 2 (twice
        # each) and evicts 1, the one that reached that count first.
        (
            "lfu",
            [1, 2, 1, 3, 2, 3, 3, 2, 1],
            [False, False, True, False, True, False, False, True, False],
        ),
    ],
)
def test_eviction_order(eviction: str, keys: list[int], hits: list[bool]) -> None:
    assert _replay(eviction, 2, keys) == hits


def test_lfu_evicts_the_oldest_of_the_least_requested() -> None:
    store = make_store("lfu", 2)
    for key in (1, 2, 3, 3):
        if not store.lookup(key, 0.0):
            store.insert(key, 0.0)
    # 1 and 2 were asked once each; 3 (twice) pushes out 1, the older.
    assert [store.lookup(key, 0.0) for key in (3, 2)] == [True, True]
    assert store.evictions == 1
    assert store.lookup(1, 0.0) is False


def test_ttl_expires_from_insertion_and_hits_do_not_extend() -> None:
    # ttl 2.5 s, requests one a second: inserted at 0, hits at 1 and 2, expired at 3.
    assert _replay("ttl", 10, [7, 7, 7, 7, 7], ttl_s=2.5) == [False, True, True, False, True]


def test_ttl_size_counts_only_live_keys() -> None:
    store = make_store("ttl", 10, 1.0)
    for now, key in enumerate([1, 2, 3]):
        store.insert(key, now * 0.4)
    store.expire(1.1)
    assert (store.size, store.evictions) == (2, 0)


@pytest.mark.parametrize("eviction", ["lru", "fifo", "lfu", "ttl"])
def test_capacity_is_never_exceeded_and_flush_empties(eviction: str) -> None:
    store = make_store(eviction, 5, 1e9)
    rng = np.random.default_rng(3)
    for now, key in enumerate(rng.integers(0, 40, 2_000).tolist()):
        if not store.lookup(key, float(now)):
            store.insert(key, float(now))
        assert store.size <= 5
    assert store.evictions > 0
    store.flush()
    assert store.size == 0
    assert store.lookup(int(rng.integers(0, 40)), 2_001.0) is False


@pytest.mark.parametrize(
    ("eviction", "capacity", "ttl_s", "message"),
    [
        ("lru", 0, None, "capacity: must be at least 1 (got 0)"),
        ("ttl", 3, None, "ttl_s: a ttl cache needs a time to live above 0 s (got None)"),
        ("ttl", 3, 0.0, "ttl_s: a ttl cache needs a time to live above 0 s (got 0.0)"),
        ("random", 3, None, "eviction: must be one of lru, lfu, fifo, ttl (got 'random')"),
    ],
)
def test_bad_store_arguments(
    eviction: str, capacity: int, ttl_s: float | None, message: str
) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        make_store(eviction, capacity, ttl_s)


def test_zipf_keys_follow_their_probabilities() -> None:
    keys = KeyPopularity(50, "zipf", 0.9)
    p = keys.probabilities()
    assert p.sum() == pytest.approx(1.0)
    assert p[0] / p[1] == pytest.approx(2**0.9)
    draws = np.random.default_rng(1).random(200_000)
    counts = np.bincount([keys.key(u) for u in draws.tolist()], minlength=50)
    # Each count is binomial: 5 standard deviations either side.
    sd = np.sqrt(200_000 * p * (1 - p))
    assert np.all(np.abs(counts - 200_000 * p) < 5 * sd)


def test_keys_cover_the_whole_range() -> None:
    zipf = KeyPopularity(10, "zipf", 1.0)
    uniform = KeyPopularity(10, "uniform")
    assert [zipf.key(0.0), zipf.key(np.nextafter(1.0, 0.0))] == [0, 9]
    assert [uniform.key(0.0), uniform.key(0.55), uniform.key(np.nextafter(1.0, 0.0))] == [0, 5, 9]
    assert uniform.probabilities().tolist() == [0.1] * 10


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((0, "zipf", 1.0), f"count: must be between 1 and {MAX_KEYS} (got 0)"),
        ((MAX_KEYS + 1, "zipf", 1.0), f"count: must be between 1 and {MAX_KEYS}"),
        ((10, "pareto", 1.0), "popularity: must be one of zipf, uniform (got 'pareto')"),
        ((10, "zipf", 0.0), "exponent: must be above 0 (got 0.0)"),
    ],
)
def test_bad_popularity(args: tuple[int, str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        KeyPopularity(*args)
