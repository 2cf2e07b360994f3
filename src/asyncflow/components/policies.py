"""Load-balancing policies behind one small interface.

A policy sees the covered servers in the balancer's order and returns the
index of the one to use, or -1 when none is up. Built-in algorithms, user
functions and (later) learning agents plug in the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

import numpy as np

from asyncflow.engine.streams import blocks


class ServerView(Protocol):
    """What a policy may read of a server."""

    @property
    def up(self) -> bool:
        """Whether the server is in rotation."""

    @property
    def in_progress(self) -> int:
        """Requests inside the server (waiting for RAM, queued, on CPU or in I/O)."""

    @property
    def connections(self) -> int:
        """Active connections when sockets are modelled, else ``in_progress``."""


class BalancingPolicy(Protocol):
    """Chooses a server for each request."""

    def choose(self, servers: Sequence[ServerView]) -> int:
        """Return the index of the chosen server, or -1 if none can take it."""


class RoundRobin:
    """Each server in turn, skipping servers that are down."""

    def __init__(self) -> None:
        self._next = 0

    def choose(self, servers: Sequence[ServerView]) -> int:
        """Next server in the cycle that is up."""
        n = len(servers)
        for k in range(n):
            i = (self._next + k) % n
            if servers[i].up:
                self._next = i + 1
                return i
        return -1


class RandomChoice:
    """A server drawn uniformly among those up."""

    def __init__(self, rng: np.random.Generator) -> None:
        self._u = blocks(rng.random)

    def choose(self, servers: Sequence[ServerView]) -> int:
        """Uniform draw among the servers that are up."""
        pick = int(self._u() * len(servers))
        if servers[pick].up:
            return pick
        up = [i for i, s in enumerate(servers) if s.up]
        if not up:
            return -1
        return up[int(self._u() * len(up))]


class LeastConnection:
    """The server with the fewest active connections.

    Connections in use (idle keep-alive connections do not count) when
    connections are modelled, requests in progress otherwise.

    Ties go to the first tied server after the previous choice, so an idle
    system is served in turn rather than always by the first server.

    Without :meth:`track` each choice scans every server; once tracking,
    the servers report their load changes to a :class:`LoadIndex` and a
    choice reads it (the same choices, without visiting every server).
    """

    __slots__ = ("_index", "_next")

    def __init__(self) -> None:
        self._next = 0
        self._index: LoadIndex | None = None

    def track(self, servers: Sequence[WatchedServer]) -> None:
        """Keep an index over the loads of ``servers`` (the order :meth:`choose` sees)."""
        index = LoadIndex(len(servers))
        for position, server in enumerate(servers):
            watch = _Watch(index, position, server)
            server.watch_load(watch.update)
            watch.update()
        self._index = index

    def choose(self, servers: Sequence[ServerView]) -> int:
        """Fewest in progress among servers that are up."""
        index = self._index
        best = index.least(self._next) if index is not None else self._scan(servers)
        if best >= 0:
            self._next = best + 1
        return best

    def _scan(self, servers: Sequence[ServerView]) -> int:
        n = len(servers)
        best, best_load = -1, 0
        for k in range(n):
            i = (self._next + k) % n
            server = servers[i]
            if not server.up:
                continue
            load = server.connections
            if best < 0 or load < best_load:
                best, best_load = i, load
        return best


class WatchedServer(ServerView, Protocol):
    """A server view that reports when its load or state changes."""

    def watch_load(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` after every change of ``up`` or ``connections``."""


DOWN = -1
"""The load a :class:`LoadIndex` gives a server out of rotation."""


class LoadIndex:
    """Servers grouped by load: the first least-loaded one after a position, fast.

    Each load value held by some server up has a bucket, the set of those
    servers as the bits of an integer (bit ``i`` for server ``i``). A load
    change moves one bit between two buckets; the lowest load is kept as
    loads move by one. Finding the first server of the lowest bucket at or
    after a position is a shift and a lowest-bit test on that integer. Both
    cost a few operations on an ``S``-bit integer (``S/30`` machine digits,
    done in C): constant in practice up to tens of thousands of servers, and
    independent of how many requests are in flight.
    """

    __slots__ = ("_buckets", "_loads", "_min")

    def __init__(self, size: int) -> None:
        self._loads = [DOWN] * size
        self._buckets: dict[int, int] = {}
        self._min = DOWN

    def set(self, i: int, load: int) -> None:
        """Server ``i`` now has ``load`` (``DOWN``: out of rotation)."""
        old = self._loads[i]
        if old == load:
            return
        self._loads[i] = load
        buckets = self._buckets
        bit = 1 << i
        if old != DOWN:
            rest = buckets[old] ^ bit
            if rest:
                buckets[old] = rest
            else:
                del buckets[old]
        if load != DOWN:
            buckets[load] = buckets.get(load, 0) | bit
        low = self._min
        if load != DOWN and (low == DOWN or load < low):
            self._min = load
        elif old == low and old not in buckets:
            # The lowest bucket emptied: one step up is the usual move.
            self._min = load if load == old + 1 else min(buckets, default=DOWN)

    def least(self, start: int) -> int:
        """The first server at the lowest load from ``start`` on (cyclically); -1 if none up."""
        low = self._min
        if low == DOWN:
            return -1
        bits = self._buckets[low]
        after = bits >> start
        if after:
            return start + (after & -after).bit_length() - 1
        return (bits & -bits).bit_length() - 1


class _Watch:
    """Feeds one server's load changes to its position in an index."""

    __slots__ = ("_index", "_position", "_server")

    def __init__(self, index: LoadIndex, position: int, server: ServerView) -> None:
        self._index = index
        self._position = position
        self._server = server

    def update(self) -> None:
        server = self._server
        self._index.set(self._position, server.connections if server.up else DOWN)


class PowerOfTwoChoices:
    """Two distinct servers drawn at random; the one with fewer in progress wins."""

    def __init__(self, rng: np.random.Generator) -> None:
        self._u = blocks(rng.random)

    def choose(self, servers: Sequence[ServerView]) -> int:
        """Sample two servers that are up, keep the less loaded (the first on a tie)."""
        n = len(servers)
        a, b = _two_distinct(self._u, n) if n > 1 else (0, 0)
        if not (servers[a].up and servers[b].up):
            # Some server is down: draw among those up (rare, so built lazily).
            up = [i for i, s in enumerate(servers) if s.up]
            if len(up) <= 1:
                return up[0] if up else -1
            i, j = _two_distinct(self._u, len(up))
            a, b = up[i], up[j]
        return b if servers[b].in_progress < servers[a].in_progress else a


def _two_distinct(u: Callable[[], float], n: int) -> tuple[int, int]:
    """Two distinct indices below n, uniformly."""
    a = int(u() * n)
    b = int(u() * (n - 1))
    return a, b + 1 if b >= a else b


class WeightedRoundRobin:
    """Smooth weighted round robin: each server's share follows its weight, interleaved."""

    def __init__(self, weights: Sequence[float]) -> None:
        self._weights = list(weights)
        self._current = [0.0] * len(self._weights)

    def choose(self, servers: Sequence[ServerView]) -> int:
        """Raise every up server's credit by its weight; pick the highest; charge it the total."""
        total, best = 0.0, -1
        current = self._current
        for i, server in enumerate(servers):
            if not server.up:
                continue
            current[i] += self._weights[i]
            total += self._weights[i]
            if best < 0 or current[i] > current[best]:
                best = i
        if best >= 0:
            current[best] -= total
        return best


def make_policy(
    algorithm: str,
    covered: Sequence[str],
    weights: Mapping[str, float] | None,
    rng_for: Callable[[str], np.random.Generator],
) -> BalancingPolicy:
    """Build the built-in policy named ``algorithm``."""
    if algorithm == "round_robin":
        return RoundRobin()
    if algorithm == "random":
        return RandomChoice(rng_for("random"))
    if algorithm == "least_connection":
        return LeastConnection()
    if algorithm == "power_of_two_choices":
        return PowerOfTwoChoices(rng_for("power_of_two_choices"))
    if algorithm == "weighted_round_robin":
        if weights is None:
            raise ValueError("weighted_round_robin needs weights")
        return WeightedRoundRobin([weights[s] for s in covered])
    raise ValueError(f"unknown load-balancing algorithm {algorithm!r}")
