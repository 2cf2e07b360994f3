"""Hit ratios of caches under independent requests, from the literature.

Each function takes ``p``, the probability of each key (the independent
reference model: every request asks key ``i`` with probability ``p[i]``,
independently of the past), and returns the long-run hit ratio.

- :func:`che_hit_ratio`: LRU, by Che's approximation (Che, Tung and Wang,
  2002; its accuracy explained by Fricker, Robert and Roberts, 2012). An LRU
  cache of ``C`` keys behaves as if each key stayed ``T`` after its last
  request, with ``T`` the root of ``sum(1 - exp(-p_i T)) = C``; the hit
  ratio is ``sum(p_i (1 - exp(-p_i T)))``.
- :func:`fifo_hit_ratio`: FIFO (and random replacement), by the same
  characteristic-time idea where a key stays ``T`` after its insertion:
  ``sum(p_i T / (1 + p_i T) ) = C`` for the occupancy and
  ``sum(p_i * p_i T / (1 + p_i T))`` for the hit ratio (Dan and Towsley's
  approximation in the characteristic-time form).
- :func:`lfu_hit_ratio`: perfect LFU under steady popularity holds the ``C``
  most popular keys, so the hit ratio is their probability mass.
- :func:`ttl_hit_ratio`: a key that expires ``ttl`` after its insertion (not
  extended by hits), with requests at rate ``rate`` and a cache large enough
  never to evict: each miss opens a window of ``ttl`` in which every request
  to the key hits, so key ``i`` hits with probability
  ``λ_i ttl / (1 + λ_i ttl)`` where ``λ_i = rate p_i``.

Times are in the unit of ``1 / rate`` (seconds when ``rate`` is per second);
Che's and the FIFO time are in requests (a rate of 1).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy.optimize import brentq

__all__ = ["che_hit_ratio", "fifo_hit_ratio", "lfu_hit_ratio", "ttl_hit_ratio"]


def _checked(p: np.ndarray, capacity: int) -> np.ndarray:
    p = np.asarray(p, dtype=np.float64)
    if p.ndim != 1 or p.size == 0 or (p < 0).any() or not math.isclose(p.sum(), 1.0):
        raise ValueError("p: must be a non-empty vector of probabilities summing to 1")
    if capacity < 1:
        raise ValueError(f"capacity: must be at least 1 (got {capacity!r})")
    return p


def _characteristic_time(occupancy: Callable[[float], float], capacity: int) -> float:
    """The root ``T`` of ``occupancy(T) = capacity``, ``occupancy`` rising from 0 past it."""
    high = 1.0
    while occupancy(high) < capacity:
        high *= 2.0
    return float(brentq(lambda t: occupancy(t) - capacity, 0.0, high, xtol=1e-12, rtol=1e-12))


def che_hit_ratio(p: np.ndarray, capacity: int) -> float:
    """LRU's hit ratio by Che's approximation (1.0 when every key fits)."""
    p = _checked(p, capacity)
    held = p[p > 0]
    if capacity >= held.size:
        return 1.0
    t = _characteristic_time(lambda t: float(np.sum(-np.expm1(-held * t))), capacity)
    return float(np.sum(held * -np.expm1(-held * t)))


def fifo_hit_ratio(p: np.ndarray, capacity: int) -> float:
    """FIFO's hit ratio by the characteristic-time approximation (1.0 when every key fits)."""
    p = _checked(p, capacity)
    held = p[p > 0]
    if capacity >= held.size:
        return 1.0
    t = _characteristic_time(lambda t: float(np.sum(held * t / (1.0 + held * t))), capacity)
    return float(np.sum(held * held * t / (1.0 + held * t)))


def lfu_hit_ratio(p: np.ndarray, capacity: int) -> float:
    """Perfect LFU's hit ratio: the mass of the ``capacity`` most popular keys."""
    p = _checked(p, capacity)
    return float(min(1.0, np.sort(p)[::-1][:capacity].sum()))


def ttl_hit_ratio(p: np.ndarray, rate: float, ttl: float) -> float:
    """Hit ratio of keys living ``ttl`` from insertion, requests at ``rate`` (no eviction)."""
    p = _checked(p, 1)
    if not rate > 0 or not ttl > 0:
        raise ValueError(f"rate and ttl: must be above 0 (got {rate!r}, {ttl!r})")
    window = rate * p * ttl
    return float(np.sum(p * window / (1.0 + window)))
