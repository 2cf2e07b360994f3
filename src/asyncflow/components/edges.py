"""Network edges: a latency (plus active spikes) and an optional drop rate.

An edge is a pure delay: when a call is sent at time t, the edge decides
there and then whether it is dropped and when it arrives (the latency sample
plus the sum of the spikes active at t, as in AsyncFlow 0.1). It records the
call's time in transit as a level, counts the hop in the call's phase slot
for the edge's role (out to a target, from a balancer, a reply), and hands
the call to the target at its arrival time: as a kernel event for nodes that
hold state (load balancers, servers), directly for the client, whose handling
depends on nothing but the time (it forwards a new request, or records a
reply).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Sequence
from heapq import heappush
from typing import TYPE_CHECKING

from asyncflow.components.bandwidth import SharedLink
from asyncflow.components.calls import Call
from asyncflow.components.context import RunContext
from asyncflow.engine.kernel import NATIVE_EVENTS, Event, push_event
from asyncflow.engine.sampling import make_sampler
from asyncflow.engine.streams import blocks
from asyncflow.errors import SimulationError

if TYPE_CHECKING:
    from asyncflow.scenario import Edge as EdgeSpec

Deliver = Callable[[float, Call], None]


class SpikeSchedule:
    """The total spike (seconds) on an edge as a step function of time."""

    __slots__ = ("times", "values")

    def __init__(self, windows: Sequence[tuple[float, float, float]]) -> None:
        changes: dict[float, float] = {}
        for start, end, spike in windows:
            changes[start] = changes.get(start, 0.0) + spike
            changes[end] = changes.get(end, 0.0) - spike
        self.times = sorted(changes)
        total, values = 0.0, [0.0]
        for t in self.times:
            total += changes[t]
            values.append(round(total, 12))
        self.values = values

    def at(self, time: float) -> float:
        """Total spike active at ``time`` (windows are closed at the start, open at the end)."""
        return self.values[bisect_right(self.times, time)]


def _never_dropped() -> float:
    """The drop draw of an edge that drops nothing (never drawn: its rate is 0)."""
    return 1.0


class Edge:
    """A network link from one node to another.

    ``send(time, call)`` is built by :meth:`connect` as a closure over the
    edge's parts, with the common case (no drops, no spikes, a kernel event
    at the target) free of branches and attribute look-ups: sending is the
    most frequent operation of a run (measured in ``bench/run.py``).

    Attributes:
        id: The edge id.
        slot: The phase slot its hops count in (its role in calls).
        link: Its bandwidth, when it has one.
    """

    __slots__ = (
        "_drop",
        "_drop_p",
        "_latency",
        "_latency_spec",
        "_level",
        "_notice",
        "_place",
        "_spikes",
        "_u",
        "ctx",
        "id",
        "link",
        "send",
        "slot",
    )

    def __init__(
        self,
        ctx: RunContext,
        spec: EdgeSpec,
        spikes: Sequence[tuple[float, float, float]],
        slot: int,
    ) -> None:
        self.id = spec.id
        self.ctx = ctx
        self.slot = slot
        rng = ctx.streams.generator(f"edge:{spec.id}:latency")
        self._latency = make_sampler(spec.latency, rng)
        self._latency_spec = spec.latency
        self._notice: Callable[[], float] | None = None  # built on the first failure
        self._drop_p = spec.dropout_rate
        # Its own stream, seeded only for an edge that drops calls: seeding one
        # costs about 8 µs, 16 ms for a fleet of 2,000 edges that drop nothing.
        self._u = (
            blocks(ctx.streams.generator(f"edge:{spec.id}:drop").random)
            if spec.dropout_rate
            else _never_dropped
        )
        self._drop = ctx.code("network_drop")
        self._place = ctx.place(spec.id)
        self._spikes = SpikeSchedule(spikes) if spikes else None
        if spikes:
            # The added latency is known in advance: record it as a level of its own.
            spike_level = ctx.level(spec.id, "spike_s")
            for start, end, spike in spikes:
                spike_level.change(start, spike)
                if end < ctx.end_s:
                    spike_level.change(end, -spike)
        self._level = ctx.level(spec.id, "in_transit")
        self.link = SharedLink(ctx, spec.bandwidth_mbps) if spec.bandwidth_mbps else None
        self.send: Deliver = self._unconnected

    def enter_transit(self, time: float) -> None:
        """A call starts a transfer on this link (a body through its bandwidth)."""
        self._level.change(time, 1.0)

    def leave_transit(self, time: float) -> None:
        """The transfer is over."""
        self._level.change(time, -1.0)

    def record_transit(self, start: float, end: float) -> None:
        """Count a call as on this link from ``start`` to ``end`` (a handshake)."""
        self._level.span(start, end)

    def notice_delay(self, time: float) -> float:
        """The time an error sent back at ``time`` takes to cross this edge.

        Drawn from a stream of its own, so the latencies of the edge's
        ordinary traffic do not depend on how many calls fail; the error is
        counted in transit meanwhile.
        """
        sampler = self._notice
        if sampler is None:
            rng = self.ctx.streams.generator(f"edge:{self.id}:notice")
            sampler = self._notice = make_sampler(self._latency_spec, rng)
        delay = sampler()
        if self._spikes is not None:
            delay += self._spikes.at(time)
        self.record_transit(time, time + delay)
        return delay

    @property
    def latency(self) -> Callable[[], float]:
        """The latency sampler (handshakes sample round trips from it)."""
        return self._latency

    def _unconnected(self, time: float, call: Call) -> None:
        raise SimulationError(f"edge {self.id!r} has no target")

    def connect_event(self, arrive: Deliver) -> Deliver:
        """Deliver by scheduling ``arrive`` at the arrival time; return ``send``."""
        heap = self.ctx.kernel.heap
        next_seq = self.ctx.kernel.next_seq

        if self._drop_p or self._spikes is not None:
            return self._checked(arrive, as_event=True)
        latency = self._latency
        level = self._level
        slot = self.slot

        def send(time: float, call: Call) -> None:
            delay = latency()
            arrival = time + delay
            level.span(time, arrival)
            call.ph[slot] += delay
            if NATIVE_EVENTS:
                push_event(heap, Event(arrival, next_seq(), arrive, call))
            else:
                heappush(heap, (arrival, next_seq(), arrive, call))

        self.send = send
        return send

    def connect(self, deliver: Deliver) -> Deliver:
        """Deliver by calling ``deliver`` with the arrival time; return ``send``."""
        return self._checked(deliver, as_event=False)

    def _checked(self, target: Deliver, *, as_event: bool) -> Deliver:
        """A ``send`` that may drop the call and adds the spikes active when it is sent.

        The arrival is a kernel event for ``target`` (``as_event``), or
        ``target`` is called at once with the arrival time.
        """
        heap = self.ctx.kernel.heap
        next_seq = self.ctx.kernel.next_seq
        latency = self._latency
        level = self._level
        drop_p, u = self._drop_p, self._u
        fail, drop, place = self.ctx.fail, self._drop, self._place
        spike_at = self._spikes.at if self._spikes is not None else None
        slot = self.slot

        def send(time: float, call: Call) -> None:
            if drop_p and u() < drop_p:
                fail(time, call, drop, place)
                return
            delay = latency()
            if spike_at is not None:
                delay += spike_at(time)
            arrival = time + delay
            level.span(time, arrival)
            call.ph[slot] += delay
            if not as_event:
                target(arrival, call)
            elif NATIVE_EVENTS:
                push_event(heap, Event(arrival, next_seq(), target, call))
            else:
                heappush(heap, (arrival, next_seq(), target, call))

        self.send = send
        return send
