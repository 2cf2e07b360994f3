"""Circuit breakers: a server stops calling a node that keeps failing.

A :class:`Breaker` guards every call a server makes to one node (every call
site from that server to that node shares it, as one client library would).
It wraps the sites' sending: while its :class:`~asyncflow.components.guards.CircuitBreaker`
is open, a call fails at once at its caller with ``circuit_open``, without
being sent. The caller tells it how each call it let through ended: an
answer, or a failure noticed (an error back, a timeout). Its state over time
is the caller's level ``circuit_open:<callee>`` (1 while open: from the
failure that opens it to the first call allowed after ``open_s``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from asyncflow.components.calls import Call
from asyncflow.components.context import RunContext
from asyncflow.components.guards import OPEN, CircuitBreaker
from asyncflow.metrics.levels import Level

if TYPE_CHECKING:
    from asyncflow.scenario import Scenario

Send = Callable[[float, Call], None]


class Breaker:
    """The circuit breaker of one server's calls to one node, and what it did.

    Attributes:
        opens: Times it opened.
        refused: Calls failed fast while it was open.
    """

    __slots__ = ("_code", "_ctx", "_guard", "_level", "_open", "_place", "opens", "refused")

    def __init__(self, ctx: RunContext, spec: Any) -> None:
        self._ctx = ctx
        self._guard = CircuitBreaker(
            failure_ratio=spec.failure_ratio,
            window_s=spec.window_s,
            minimum_calls=spec.minimum_calls,
            open_s=spec.open_s,
            probes=spec.probes,
        )
        self._code = ctx.code("circuit_open")
        self._place = ctx.place(spec.target)
        self._level: Level = ctx.level(spec.target, f"circuit_open:{spec.calls_to}")
        self._open = False
        self.opens = 0
        self.refused = 0

    def watching(self, send: Send) -> Send:
        """``send``, failing calls fast while the breaker is open."""
        guard = self._guard

        def guarded(time: float, call: Call) -> None:
            allowed = guard.allow(time)
            self._sync(time)
            if not allowed:
                self.refused += 1
                self._ctx.fail(time, call, self._code, self._place)
                return
            send(time, call)

        return guarded

    def answered(self, time: float) -> None:
        """A call it let through was answered."""
        self._guard.record(time, True)
        self._sync(time)

    def failed(self, time: float, code: int) -> None:
        """A call failed with ``code`` (its own fast failures are not outcomes)."""
        if code != self._code:
            self._guard.record(time, False)
            self._sync(time)

    def _sync(self, time: float) -> None:
        """Keep the level in step with the state."""
        now_open = self._guard.state == OPEN
        if now_open != self._open:
            self._open = now_open
            self._level.change(time, 1.0 if now_open else -1.0)
            if now_open:
                self.opens += 1

    def figures(self) -> dict[str, float | int]:
        """Times it opened and calls it refused (over the whole run)."""
        return {"opens": self.opens, "refused": self.refused}


def build_breakers(ctx: RunContext, scenario: Scenario) -> Mapping[tuple[str, str], Breaker]:
    """The circuit breakers of a run, by ``(caller, callee)``."""
    return {
        (p.target, p.calls_to): Breaker(ctx, p)
        for p in scenario.policies
        if p.type == "circuit_breaker"
    }
