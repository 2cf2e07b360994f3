"""Hits and misses of a cache, remote or local, and single-flight coalescing.

Each ``cache_get`` of a request draws one uniform number from its own column
of the request's work table, so the same request looks up the same key in
every variant of a scenario (common random numbers). With a fixed
``hit_ratio`` the lookup hits when the draw is below it; with a store, the
draw becomes a key by its popularity law and the store says whether it is
held. A miss runs the step's ``on_miss`` steps and, when they are done, puts
the key in the store.

With ``coalesce``, a miss on a key whose fallback is already running (its
*leader*) waits for that fallback instead of running its own: when the
leader fills the key, its waiters go on as hits. If the leader fails or is
cancelled, the first waiter becomes the leader and runs the fallback.
The wait counts in the ``cache`` phase.

Counts (``hits``, ``misses``, ``coalesced``) and the per-bin series cover
lookups made at or after the warm-up.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

from asyncflow.components.cache_store import CacheStore, make_store
from asyncflow.components.calls import COALESCING, Call, settle
from asyncflow.components.keys import KeyPopularity

if TYPE_CHECKING:
    from collections.abc import Iterator

    from asyncflow.components.context import RunContext
    from asyncflow.components.program import Op


class CacheModel:
    """What decides the hits of one cache, and what it counted.

    Attributes:
        id: The cache's id.
        hit_ratio: The fixed ratio, or None with a store.
        store: The store of keys (None with a fixed ratio).
        capacity: Items it holds at most (None with a fixed ratio).
        coalesce: Whether misses on a key in flight wait for its leader.
        hits, misses, coalesced: Lookups counted after the warm-up.
        bin_hits, bin_lookups: The same per series bin (whole run).
        flushes: Times it was flushed.
    """

    def __init__(self, ctx: RunContext, spec: Any, cache_id: str) -> None:
        self.id = cache_id
        self.hit_ratio: float | None = spec.hit_ratio
        self.store: CacheStore | None = None
        self.keys: KeyPopularity | None = None
        self.capacity: int | None = spec.capacity_items
        if spec.hit_ratio is None:
            self.store = make_store(spec.policy, int(spec.capacity_items), spec.ttl_s)
            keys = spec.keys
            self.keys = KeyPopularity(keys.count, keys.popularity, keys.exponent)
        self.coalesce: bool = spec.coalesce
        self.hits = 0
        self.misses = 0
        self.coalesced = 0
        self.flushes = 0
        self._warm_up = ctx.warm_up_s
        self._bin_s = ctx.bin_s
        self._last_bin = ctx.n_bins - 1
        self.bin_hits = [0] * ctx.n_bins
        self.bin_lookups = [0] * ctx.n_bins
        self._flights: dict[int, deque[Call]] = {}
        self._size_level = ctx.level(cache_id, "items")
        self._recorded = 0  # the size the level shows

    # ------------------------------------------------------------------ lookups

    def lookup(self, time: float, u: float) -> tuple[bool, int]:
        """Whether the lookup of draw ``u`` hits at ``time``, and its key (-1 with a ratio)."""
        store = self.store
        if store is None or self.keys is None:
            hit = u < (self.hit_ratio or 0.0)
            key = -1
        else:
            key = self.keys.key(u)
            hit = store.lookup(key, time)
            self._track_size(time)
        self._count(time, hit)
        return hit, key

    def _count(self, time: float, hit: bool) -> None:
        b = min(int(time / self._bin_s), self._last_bin)
        self.bin_lookups[b] += 1
        if hit:
            self.bin_hits[b] += 1
        if time >= self._warm_up:
            if hit:
                self.hits += 1
            else:
                self.misses += 1

    def fill(self, time: float, u: float) -> int:
        """The fallback of the lookup of draw ``u`` answered: hold its key. Returns the key."""
        store = self.store
        if store is None or self.keys is None:
            return -1
        key = self.keys.key(u)
        store.insert(key, time)
        self._track_size(time)
        return key

    def flush(self, time: float, _: object = None) -> None:
        """Empty the cache (a ``cache_flush`` event)."""
        self.flushes += 1
        if self.store is not None:
            self.store.flush()
            self._track_size(time)

    def _track_size(self, time: float) -> None:
        store = self.store
        if store is None:
            return
        change = store.size - self._recorded
        if change:
            self._recorded = store.size
            self._size_level.change(time, float(change))

    @property
    def size(self) -> int:
        """Items held now."""
        return self.store.size if self.store is not None else 0

    @property
    def evictions(self) -> int:
        """Items pushed out by capacity so far."""
        return self.store.evictions if self.store is not None else 0

    # ------------------------------------------------------------------ single flight

    def join(self, time: float, key: int, call: Call) -> bool:
        """A miss on ``key``: True if it waits for a leader, False if it leads the fallback."""
        flight = self._flights.get(key)
        if flight is None:
            self._flights[key] = deque()
            return False
        flight.append(call)
        call.state = COALESCING
        call.mark = time
        if time >= self._warm_up:
            self.coalesced += 1
        return True

    def land(self, key: int) -> list[Call]:
        """The leader filled ``key``: its waiters still waiting go on (as hits)."""
        flight = self._flights.pop(key, None)
        if flight is None:
            return []
        return [c for c in flight if c.state == COALESCING and not c.cancelled]

    def abandon(self, key: int) -> Call | None:
        """The leader of ``key`` failed: the first waiter still waiting leads, if any."""
        flight = self._flights.get(key)
        if flight is None:
            return None
        while flight:
            call = flight.popleft()
            if call.state == COALESCING and not call.cancelled:
                return call
        del self._flights[key]
        return None

    def waiting_calls(self) -> Iterator[Call]:
        """Calls waiting for a leader (for the end of a run)."""
        for flight in self._flights.values():
            yield from (c for c in flight if c.state == COALESCING and not c.cancelled)


# A server's cache steps. ``leaders`` maps the calls of a server that run a
# fallback others wait for to that fallback's cache and key.
Leaders = dict[Call, tuple[CacheModel, int]]


def look_up(leaders: Leaders, time: float, call: Call, op: Op) -> bool:
    """The lookup of ``op`` is done: a hit goes past the fallback, a miss runs it.

    Returns False when the call waits for another request's fallback of
    the same key instead (coalescing).
    """
    model: CacheModel = op.store
    hit, key = model.lookup(time, call.work[call.work_at + op.column])
    if hit:
        call.pc = op.to
        return True
    if model.coalesce:
        if model.join(time, key, call):
            return False  # another request runs the fallback of this key
        leaders[call] = (model, key)
    call.pc += 1
    return True


def fill(leaders: Leaders, time: float, call: Call, op: Op) -> None:
    """The fallback answered: the key fills the cache; the calls waiting on it go on."""
    model: CacheModel = op.store
    key = model.fill(time, call.work[call.work_at + op.column])
    call.pc = op.to
    if model.coalesce:
        leaders.pop(call, None)
        for waiter in model.land(key):
            settle(waiter, time)
            waiter.pc = waiter.plan.ops[waiter.pc].to  # past its own fallback
            waiter.server.resume(time, waiter)


def hand_over(leaders: Leaders, time: float, call: Call) -> None:
    """``call`` stops before filling its key: the first call waiting on it leads instead."""
    model, key = leaders.pop(call)
    heir = model.abandon(key)
    if heir is not None:
        settle(heir, time)
        heir.pc += 1
        heir.server.lead(time, heir, model, key)
