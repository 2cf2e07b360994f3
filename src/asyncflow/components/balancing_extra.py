"""More load-balancing policies: least work left, shortest expected delay, join idle queue.

They plug in beside the built-in ones (``components.policies``) through
:func:`make_any_policy`. Each knows every covered server's service rate,
``cores / mean CPU seconds of a call`` (the endpoints weighted by their
probability, branches by theirs), as an operator configuring it would:

* ``least_work_left``: the server whose calls inside would take the least
  time to serve, ``in_progress / rate`` (the balancer cannot see the exact
  demand left, so each call inside counts its mean);
* ``shortest_expected_delay``: ``(in_progress + 1) / rate``, the expected
  time the new call would spend there;
* ``join_idle_queue``: an idle server (nothing inside) if there is one, the
  next in turn after the last choice; otherwise one at random. Idle servers
  are seen at once (no messages to the balancer are modelled).

Ties go to the first tied server after the previous choice, as in least
connection.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from asyncflow.components.policies import BalancingPolicy, ServerView, make_policy
from asyncflow.engine.streams import blocks

if TYPE_CHECKING:
    from asyncflow.scenario import Server as ServerSpec
    from asyncflow.scenario import Step

__all__ = [
    "EXTRA_POLICIES",
    "JoinIdleQueue",
    "LeastWorkLeft",
    "ShortestExpectedDelay",
    "make_any_policy",
    "service_rate",
]

EXTRA_POLICIES = ("least_work_left", "shortest_expected_delay", "join_idle_queue")


class _ByCost:
    """The up server of least cost, ties to the first after the previous choice."""

    def __init__(self, rates: Sequence[float]) -> None:
        self._inverse = [1.0 / r if r > 0 else math.inf for r in rates]
        self._next = 0

    def _pick(self, servers: Sequence[ServerView], extra: float) -> int:
        n = len(servers)
        best, best_cost = -1, math.inf
        inverse = self._inverse
        for k in range(n):
            i = (self._next + k) % n
            server = servers[i]
            if not server.up:
                continue
            cost = (server.in_progress + extra) * inverse[i]
            if best < 0 or cost < best_cost:
                best, best_cost = i, cost
        if best >= 0:
            self._next = best + 1
        return best


class LeastWorkLeft(_ByCost):
    """Fewest expected seconds of work inside, ``in_progress / rate``."""

    def choose(self, servers: Sequence[ServerView]) -> int:
        """The up server with the least work left."""
        return self._pick(servers, 0.0)


class ShortestExpectedDelay(_ByCost):
    """Least expected time for the new call, ``(in_progress + 1) / rate``."""

    def choose(self, servers: Sequence[ServerView]) -> int:
        """The up server where the call would finish first, on average."""
        return self._pick(servers, 1.0)


class JoinIdleQueue:
    """An idle server in turn if any, else one at random among those up."""

    def __init__(self, rng: np.random.Generator) -> None:
        self._u = blocks(rng.random)
        self._next = 0

    def choose(self, servers: Sequence[ServerView]) -> int:
        """The next idle up server, else a uniform draw among the up ones."""
        n = len(servers)
        for k in range(n):
            i = (self._next + k) % n
            server = servers[i]
            if server.up and server.in_progress == 0:
                self._next = i + 1
                return i
        up = [i for i, s in enumerate(servers) if s.up]
        if not up:
            return -1
        return up[int(self._u() * len(up))]


def _cpu_s(steps: tuple[Step, ...]) -> float:
    total = 0.0
    for step in steps:
        if step.category == "cpu":
            total += step.duration.moments()[0]
        elif step.category == "branch":
            total += sum(p * _cpu_s(arm) for p, arm in step.arms)
    return total


def service_rate(server: ServerSpec) -> float:
    """Calls a second the server's cores can serve: ``cores / mean CPU seconds``."""
    endpoints = server.endpoints
    weights = [e.probability if e.probability is not None else 1.0 for e in endpoints]
    total = sum(weights)
    cpu = sum(w / total * _cpu_s(e.steps) for w, e in zip(weights, endpoints, strict=True))
    return server.server_resources.cpu_cores / cpu if cpu > 0 else math.inf


def make_any_policy(
    algorithm: str,
    covered: Sequence[str],
    weights: Mapping[str, float] | None,
    rng_for: Callable[[str], np.random.Generator],
    rates: Sequence[float] = (),
) -> BalancingPolicy:
    """The policy named ``algorithm``: one of this module's, or a built-in one."""
    if algorithm == "least_work_left":
        return LeastWorkLeft(rates)
    if algorithm == "shortest_expected_delay":
        return ShortestExpectedDelay(rates)
    if algorithm == "join_idle_queue":
        return JoinIdleQueue(rng_for("join_idle_queue"))
    return make_policy(algorithm, covered, weights, rng_for)
