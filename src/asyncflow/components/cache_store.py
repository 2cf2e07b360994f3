"""What a cache holds: the four eviction policies behind ``cache_get``.

A store answers one question per request, ``lookup(key, now)``: is the key
held (a hit)? After a miss, the caller fetches the value from the fallback
and ``insert(key, now)`` puts it in, evicting what the policy says. Keys are
integers (ranks drawn by :mod:`asyncflow.components.keys`); the stores keep
no values, only which keys are held.

- ``lru``: evicts the key used least recently; a hit refreshes it.
- ``fifo``: evicts the key inserted first; hits change nothing.
- ``lfu``: *perfect* LFU. Every request to a key counts, held or not, and a
  full cache admits a missed key only if it was requested strictly more
  often than the least requested key held (which it then evicts; the oldest
  of equals). Under steady popularity it converges to holding the
  ``capacity`` most popular keys, the behaviour the classical LFU analysis
  assumes. Counts are reset by :meth:`CacheStore.flush`.
- ``ttl``: a key expires ``ttl_s`` after it was inserted (a hit does not
  extend it; an expired key is a miss); a full cache evicts the key that
  would expire first, which is the oldest.

Every store counts ``evictions`` (keys pushed out by capacity) and the TTL
store also ``expirations``; ``size`` is the number of keys held (for the TTL
store, after the last :meth:`CacheStore.expire`).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Protocol

__all__ = ["EVICTIONS", "CacheStore", "make_store"]

#: The eviction policies a cache can be given.
EVICTIONS = ("lru", "lfu", "fifo", "ttl")


class CacheStore(Protocol):
    """The keys a cache holds and how it chooses what to evict."""

    size: int
    evictions: int

    def lookup(self, key: int, now: float) -> bool:
        """Whether ``key`` is held at ``now`` (a hit), updating the policy's state."""

    def insert(self, key: int, now: float) -> None:
        """Hold ``key`` from ``now`` on (after a miss was filled), evicting if full."""

    def flush(self) -> None:
        """Empty the cache (and forget what the policy learnt)."""

    def expire(self, now: float) -> None:
        """Drop what has expired by ``now`` (only the TTL store holds such keys)."""


class _Ordered:
    """Shared body of the stores kept in one insertion or recency order."""

    __slots__ = ("_capacity", "_keys", "evictions", "size")

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._keys: OrderedDict[int, float] = OrderedDict()
        self.evictions = 0
        self.size = 0

    def _hold(self, key: int, value: float) -> None:
        keys = self._keys
        if key in keys:
            keys.move_to_end(key)
        else:
            if len(keys) >= self._capacity:
                keys.popitem(last=False)
                self.evictions += 1
        keys[key] = value
        self.size = len(keys)

    def flush(self) -> None:
        self._keys.clear()
        self.size = 0

    def expire(self, now: float) -> None:
        """Nothing expires in a store without a time to live."""


class LruStore(_Ordered):
    """Least recently used: a hit moves the key to the fresh end."""

    __slots__ = ()

    def lookup(self, key: int, now: float) -> bool:
        keys = self._keys
        if key in keys:
            keys.move_to_end(key)
            return True
        return False

    def insert(self, key: int, now: float) -> None:
        self._hold(key, now)


class FifoStore(_Ordered):
    """First in, first out: the order is the order of insertion."""

    __slots__ = ()

    def lookup(self, key: int, now: float) -> bool:
        return key in self._keys

    def insert(self, key: int, now: float) -> None:
        if key not in self._keys:
            self._hold(key, now)


class TtlStore(_Ordered):
    """Keys live ``ttl_s`` from their insertion; the oldest goes first when full."""

    __slots__ = ("_ttl_s", "expirations")

    def __init__(self, capacity: int, ttl_s: float) -> None:
        super().__init__(capacity)
        self._ttl_s = ttl_s
        self.expirations = 0

    def lookup(self, key: int, now: float) -> bool:
        keys = self._keys
        expiry = keys.get(key)
        if expiry is None:
            return False
        if expiry > now:
            return True
        del keys[key]
        self.expirations += 1
        self.size = len(keys)
        return False

    def insert(self, key: int, now: float) -> None:
        self.expire(now)
        self._hold(key, now + self._ttl_s)

    def expire(self, now: float) -> None:
        keys = self._keys
        while keys:
            key, expiry = next(iter(keys.items()))
            if expiry > now:
                break
            del keys[key]
            self.expirations += 1
        self.size = len(keys)


class LfuStore:
    """Perfect LFU: request counts of every key, the most requested held.

    Held keys sit in buckets by count (each bucket in insertion order), so a
    hit, an admission and an eviction each cost O(1).
    """

    __slots__ = ("_buckets", "_capacity", "_counts", "_held", "_least", "evictions", "size")

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._counts: dict[int, int] = {}
        self._held: dict[int, int] = {}
        self._buckets: dict[int, OrderedDict[int, None]] = {}
        self._least = 0
        self.evictions = 0
        self.size = 0

    def lookup(self, key: int, now: float) -> bool:
        count = self._counts.get(key, 0) + 1
        self._counts[key] = count
        if key not in self._held:
            return False
        self._unfile(key, count - 1, moving=True)
        self._file(key, count)
        return True

    def insert(self, key: int, now: float) -> None:
        if key in self._held:
            return
        count = self._counts.get(key, 0)
        if self.size >= self._capacity:
            if count <= self._least:
                return
            victim = next(iter(self._buckets[self._least]))
            self._unfile(victim, self._least, moving=False)
            del self._held[victim]
            self.evictions += 1
            self.size -= 1
        self._file(key, count)
        self.size += 1

    def flush(self) -> None:
        self._counts.clear()
        self._held.clear()
        self._buckets.clear()
        self._least = 0
        self.size = 0

    def expire(self, now: float) -> None:
        """Nothing expires in an LFU store."""

    def _file(self, key: int, count: int) -> None:
        self._held[key] = count
        self._buckets.setdefault(count, OrderedDict())[key] = None
        if count < self._least or len(self._held) == 1:
            self._least = count

    def _unfile(self, key: int, count: int, *, moving: bool) -> None:
        """Take ``key`` out of its bucket; ``moving`` when a hit files it at ``count + 1``."""
        bucket = self._buckets[count]
        del bucket[key]
        if bucket or count != self._least:
            if not bucket:
                del self._buckets[count]
            return
        del self._buckets[count]
        if moving:
            self._least = count + 1
        else:
            self._least = min(self._buckets) if self._buckets else 0


def make_store(eviction: str, capacity: int, ttl_s: float | None = None) -> CacheStore:
    """The store of one cache: ``capacity`` keys (at least 1) under ``eviction``.

    Raises:
        ValueError: For an unknown policy, a capacity below 1, or a ``ttl``
            store without a positive ``ttl_s`` (the scenario's validation
            refuses these first, with the field's path).
    """
    if capacity < 1:
        raise ValueError(f"capacity: must be at least 1 (got {capacity!r})")
    if eviction == "lru":
        return LruStore(capacity)
    if eviction == "fifo":
        return FifoStore(capacity)
    if eviction == "lfu":
        return LfuStore(capacity)
    if eviction == "ttl":
        if ttl_s is None or not ttl_s > 0.0:
            raise ValueError(f"ttl_s: a ttl cache needs a time to live above 0 s (got {ttl_s!r})")
        return TtlStore(capacity, ttl_s)
    raise ValueError(f"eviction: must be one of {', '.join(EVICTIONS)} (got {eviction!r})")
