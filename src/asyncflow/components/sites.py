"""Call sites: where calls are made, and what a call asks of each server.

A :class:`CallSite` is a place in the static call tree: a workload's
requests (the root site), or one call of one call step of an endpoint as
reached from its parent site. It knows its caller, how to send a call to its
target, how each server that can serve it replies, and which endpoint each
of those servers runs for it (a :class:`SiteEntry`).

Sites are keyed by their path from the workload (``workload:w>/api@2.0``),
never by a server id, so replicas reached from the same place share the
per-request draws of the work they do: the same request brings the same
CPU and I/O demand to whichever replica serves it.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Sequence
from itertools import accumulate
from typing import Any, Protocol

from asyncflow.components.program import BRANCH_OP, Program
from asyncflow.engine.streams import WorkTable
from asyncflow.errors import SimulationError

Send = Callable[[float, Any], None]
"""Sends a call (a ``calls.Call``) at a time; sites hold them, calls use sites."""


class Caller(Protocol):
    """What makes calls: the client (requests) or a server (calls of its endpoints)."""

    id: str

    def on_reply(self, time: float, call: Any) -> None:
        """A reply (an answer or an error) arrives back."""

    def on_failure(self, time: float, call: Any) -> None:
        """The call failed where no server answers (refused, dropped, no server up)."""


class Plan:
    """A program as run for one call site: its per-request draws and its calls.

    Replicas reached from the same site with the same program share one
    plan's table, so a request's work does not depend on the replica.

    Attributes:
        program: The endpoint's program.
        index: The endpoint's index at its server.
        ops: The program's operations.
        ram_mb: RAM reserved while inside.
        receives: Whether calls bring a request body.
        control: Whether the program has branches (CPU may follow CPU).
        table: Per-request draws (None when the program draws nothing).
        children: For each ``CALL_OP`` (by position), the sites of its calls.
    """

    __slots__ = ("children", "control", "index", "ops", "program", "ram_mb", "receives", "table")

    def __init__(self, program: Program, table: WorkTable | None) -> None:
        self.program = program
        self.index = program.index
        self.ops = program.ops
        self.ram_mb = program.ram_mb
        self.receives = program.request_bytes > 0.0
        self.control = any(op.kind >= BRANCH_OP for op in program.ops)
        self.table = table
        self.children: dict[int, tuple[CallSite, ...]] = {}


class SiteEntry:
    """The endpoint one server runs for one site.

    Attributes:
        fixed: The plan when only one can run (the caller names the
            endpoint, or the server has one).
        plans: The plans that can run, to pick from by weight otherwise.
        tls: The same by endpoint index with the TLS handshake's CPU first
            (new pooled connections to a TLS server), or None.
        bodies: Whether the edge calls arrive on has a bandwidth (request
            bodies are then received before admission).
    """

    __slots__ = ("_cumulative", "_picks", "bodies", "fixed", "plans", "tls")

    def __init__(
        self,
        plans: Sequence[Plan],
        fixed: Plan | None,
        picks: WorkTable | None,
        tls: dict[int, Plan] | None = None,
        bodies: bool = False,
    ) -> None:
        self.bodies = bodies
        self.plans = tuple(plans)
        self.fixed = fixed
        self.tls = tls
        self._picks = picks
        self._cumulative = list(accumulate(p.program.weight for p in self.plans))

    def pick(self, root: int) -> Plan:
        """The plan for request ``root``: named, or drawn by weight from its row."""
        if self.fixed is not None:
            return self.fixed
        if self._picks is None:  # pragma: no cover - built with picks when needed
            raise SimulationError("a site entry without a named endpoint needs picks")
        total = self._cumulative[-1]
        u = self._picks.values(root)[self._picks.start(root)]
        i = bisect_right(self._cumulative, u * total)
        return self.plans[min(i, len(self.plans) - 1)]


class CallSite:
    """One place in the call tree, wired to its caller, target and replies.

    Attributes:
        index: Position among the run's sites (the call log's ``site``).
        key: Path from the workload; names the per-request draws.
        caller: Who makes the calls.
        target_id: The node called (a server or a load balancer).
        endpoint: The endpoint named by the caller, or None.
        send: Sends a call from the caller towards the target.
        out_edge: The edge it goes out on.
        generator_edge: For a workload's site, the id of the edge from the
            workload to the client.
        entries: What each server (by index) runs for this site, or None
            where a server cannot be reached from here.
        replies: How each server (by index) sends the reply back.
        reply_edges: The edge of each of those replies.
        inbound: The edge a call from here reaches each server on (the
            balancer's, when the target is a balancer).
        workload: Index of the workload whose requests come through here.
        retry: What retries the calls that fail here (a
            ``retries.Retrier``), or None.
        breaker: The circuit breaker its calls pass (a
            ``breakers.Breaker``), or None.
    """

    __slots__ = (
        "breaker",
        "caller",
        "endpoint",
        "entries",
        "generator_edge",
        "inbound",
        "index",
        "key",
        "out_edge",
        "replies",
        "reply_edges",
        "retry",
        "send",
        "target_id",
        "workload",
    )

    def __init__(
        self,
        index: int,
        key: str,
        caller: Caller,
        target_id: str,
        endpoint: str | None,
        n_servers: int,
        workload: int,
    ) -> None:
        self.index = index
        self.key = key
        self.caller = caller
        self.target_id = target_id
        self.endpoint = endpoint
        self.workload = workload
        self.send: Send = _unwired
        self.out_edge: Any = None
        self.generator_edge: str | None = None
        self.entries: list[SiteEntry | None] = [None] * n_servers
        self.replies: list[Send] = [_unwired] * n_servers
        self.reply_edges: list[Any] = [None] * n_servers
        self.inbound: list[Any] = [None] * n_servers
        self.retry: Any = None
        self.breaker: Any = None

    def __repr__(self) -> str:
        return f"CallSite({self.key!r} -> {self.target_id!r})"


def _unwired(time: float, call: Any) -> None:
    raise SimulationError("a call site was used before it was wired")
