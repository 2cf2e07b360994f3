"""Admission at a server: rate limits and concurrency limits (bulkheads).

A server with policies gets one :class:`Admission`. It is asked when a
call would be admitted (after its connection is accepted and its body
received, before it reserves RAM): the call is let in, refused, or queued.

- Rate limits are token buckets (``components.guards.TokenBucket``): the
  server's own, and one per workload that has its own; a call takes a token
  from each bucket that applies, and fails with ``rate_limited`` when one
  is empty.
- Concurrency limits count the calls inside (admitted, not yet gone): the
  server's and, for a bulkhead, an endpoint's. A call that finds a limit
  reached waits in that limit's admission queue if it has one with room,
  or is shed (``shed``).

A refused call's error crosses back over the server's reply edge, as every
error of a server does. A queued call waits in state ``ADMITTING``; its wait
counts as ``connection_wait`` (waiting to be let in), and it can be
withdrawn (cancelled) or fail with its server like a call in any queue.

Token buckets at load balancers sit in front of the balancer instead
(:class:`BalancerRateGate`): a balancer is not a server and has no
admission of its own.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Final

from asyncflow.components.calls import ADMITTING, COMPLETED_CODE, DONE, Call
from asyncflow.components.context import RunContext
from asyncflow.components.guards import AimdLimit, CoDel, GradientLimit, TokenBucket
from asyncflow.metrics.levels import Level
from asyncflow.metrics.phases import CONNECTION_WAIT

if TYPE_CHECKING:
    from asyncflow.components.sites import Plan
    from asyncflow.components.timeouts import Timeouts
    from asyncflow.scenario import Server as ServerSpec
    from asyncflow.scenario.policies import ConcurrencyLimit, RateLimit, Timeout

ADMIT: Final = 0
QUEUED: Final = -1
"""What :meth:`Admission.enter` answers besides a failure code."""

FIFO: Final = 0
LIFO: Final = 1
CODEL: Final = 2
DISCIPLINES: Final = {"fifo": FIFO, "lifo": LIFO, "codel": CODEL}


class Waiting:
    """A call in an admission queue, with its plan and since when it waits."""

    __slots__ = ("call", "plan", "since")

    def __init__(self, call: Call, plan: Plan, since: float) -> None:
        self.call = call
        self.plan = plan
        self.since = since


class Limit:
    """A concurrency limit: calls inside, its cap, and its admission queue.

    Attributes:
        cap: Calls allowed inside at once.
        inside: Calls inside now.
        room: Calls its queue may hold (-1: no queue, excess is shed).
        discipline: FIFO, LIFO or CODEL.
        queue: The calls waiting, oldest first.
        codel: The drop decision of a CoDel queue, or None.
        level: The queue's length over time (with a queue), or None.
    """

    __slots__ = (
        "adapt",
        "cap",
        "codel",
        "discipline",
        "inside",
        "level",
        "limit_level",
        "queue",
        "room",
        "since",
    )

    def __init__(
        self,
        cap: int,
        room: int = -1,
        discipline: int = FIFO,
        codel: CoDel | None = None,
        level: Level | None = None,
    ) -> None:
        self.cap = cap
        self.inside = 0
        self.room = room
        self.discipline = discipline
        self.codel = codel
        self.level = level
        self.queue: deque[Waiting] = deque()
        self.adapt: AimdLimit | GradientLimit | None = None
        self.limit_level: Level | None = None
        self.since: dict[Call, float] = {}

    def learn(self, time: float, call: Call) -> None:
        """An adaptive limit learns from a call that leaves (cancelled ones teach nothing)."""
        adapt = self.adapt
        admitted = self.since.pop(call, None)
        if adapt is None or admitted is None or call.cancelled:
            return
        adapt.record(time - admitted, call.code == COMPLETED_CODE)
        cap = max(1, int(adapt.limit))
        if cap != self.cap:
            if self.limit_level is not None:
                self.limit_level.change(time, float(cap - self.cap))
            self.cap = cap

    def full(self) -> bool:
        """Whether one more call would exceed the cap."""
        return self.inside >= self.cap

    def can_queue(self) -> bool:
        """Whether an arrival finding the cap reached may wait here."""
        return len(self.queue) < self.room

    def push(self, time: float, waiting: Waiting) -> None:
        """Queue a call (its length recorded)."""
        self.queue.append(waiting)
        if self.level is not None:
            self.level.change(time, 1.0)

    def pop(self, time: float) -> Waiting:
        """Take the next call to admit (by the discipline; CoDel drops are separate)."""
        waiting = self.queue.pop() if self.discipline == LIFO else self.queue.popleft()
        if self.level is not None:
            self.level.change(time, -1.0)
        return waiting

    def remove(self, time: float, call: Call) -> bool:
        """Take ``call`` out of the queue; whether it was there."""
        for waiting in self.queue:
            if waiting.call is call:
                self.queue.remove(waiting)
                if self.level is not None:
                    self.level.change(time, -1.0)
                return True
        return False


class Admission:
    """The rate and concurrency limits of one server.

    Attributes:
        buckets: Per workload index, the token buckets its calls take from.
        server_limit: The limit on every call inside, or None.
        endpoint_limits: Per endpoint index, its bulkhead limit or None.
        admitted, rate_limited, shed: Calls let in, refused for want of a
            token, shed at a limit (queue drops included).
    """

    __slots__ = (
        "_rate_code",
        "_shed_code",
        "admitted",
        "buckets",
        "endpoint_limits",
        "late",
        "rate_limited",
        "server",
        "server_limit",
        "shed",
        "watch",
    )

    def __init__(
        self,
        ctx: RunContext,
        server: int,
        buckets: Sequence[Sequence[TokenBucket]],
        server_limit: Limit | None,
        endpoint_limits: Sequence[Limit | None],
        watch: Timeouts | None = None,
    ) -> None:
        self.server = server
        self.watch = watch
        self.late = 0
        self.buckets = [tuple(b) for b in buckets]
        self.server_limit = server_limit
        self.endpoint_limits = list(endpoint_limits)
        self.admitted = 0
        self.rate_limited = 0
        self.shed = 0
        self._rate_code = ctx.code("rate_limited") if any(self.buckets) else 0
        has_limits = server_limit is not None or any(x is not None for x in endpoint_limits)
        self._shed_code = ctx.code("shed") if has_limits else 0

    def _limits(self, plan: Plan) -> tuple[Limit | None, Limit | None]:
        return self.endpoint_limits[plan.index], self.server_limit

    def enter(self, time: float, call: Call, plan: Plan) -> int:
        """Let ``call`` in (``ADMIT``), queue it (``QUEUED``) or refuse it (a failure code).

        A call whose deadline has passed is refused first (``deadline_exceeded``).
        """
        if self.watch is not None:
            late = self.watch.late(time, call)
            if late:
                self.late += 1
                return late
        for bucket in self.buckets[call.site.workload]:
            if not bucket.take(time):
                self.rate_limited += 1
                return self._rate_code
        endpoint_limit, server_limit = self._limits(plan)
        for limit in (endpoint_limit, server_limit):
            if limit is not None and limit.full():
                if limit.can_queue():
                    call.state = ADMITTING
                    call.mark = time
                    limit.push(time, Waiting(call, plan, time))
                    return QUEUED
                self.shed += 1
                return self._shed_code
        self._take(time, call, plan)
        return ADMIT

    def _take(self, time: float, call: Call, plan: Plan) -> None:
        for limit in self._limits(plan):
            if limit is not None:
                limit.inside += 1
                if limit.adapt is not None:
                    limit.since[call] = time
        self.admitted += 1

    def leave(
        self,
        time: float,
        call: Call,
        admit: Callable[[float, Waiting], None],
        refuse: Callable[[float, Call], None],
    ) -> None:
        """``call`` left: its places free; admit (or drop) waiting calls."""
        if self.watch is not None:
            self.watch.left(self.server, call)
        endpoint_limit, server_limit = self._limits(call.plan)
        for limit in (endpoint_limit, server_limit):
            if limit is not None:
                limit.inside -= 1
                limit.learn(time, call)
        for limit in (endpoint_limit, server_limit):
            if limit is not None and limit.queue:
                self._serve(time, limit, admit, refuse)
        if server_limit is not None:
            # A place at the server may be what another endpoint's queue waits for.
            for other in self.endpoint_limits:
                if other is not None and other is not endpoint_limit and other.queue:
                    self._serve(time, other, admit, refuse)

    def _serve(
        self,
        time: float,
        limit: Limit,
        admit: Callable[[float, Waiting], None],
        refuse: Callable[[float, Call], None],
    ) -> None:
        """Admit waiting calls of ``limit`` while they fit everywhere (CoDel may drop them)."""
        while limit.queue and not limit.full():
            head = limit.queue[-1] if limit.discipline == LIFO else limit.queue[0]
            other = self._other(limit, head.plan)
            if other is not None and other.full():
                return  # the head waits for the other limit too
            waiting = limit.pop(time)
            waited = time - waiting.since
            waiting.call.ph[CONNECTION_WAIT] += waited
            waiting.call.mark = time
            codel = limit.codel
            refusal = self.watch.late(time, waiting.call) if self.watch is not None else 0
            if refusal:
                self.late += 1
            elif codel is not None and codel.drop(time, waited):
                self.shed += 1
                refusal = self._shed_code
            if refusal:
                waiting.call.code = refusal
                refuse(time, waiting.call)
                continue
            self._take(time, waiting.call, waiting.plan)
            admit(time, waiting)

    def _other(self, limit: Limit, plan: Plan) -> Limit | None:
        """The second limit a call of ``plan`` needs room in, besides ``limit``."""
        endpoint_limit, server_limit = self._limits(plan)
        return server_limit if limit is endpoint_limit else endpoint_limit

    @property
    def shed_code(self) -> int:
        """The outcome code of a shed call."""
        return self._shed_code

    def withdraw(self, time: float, call: Call) -> None:
        """Take a cancelled call out of the queue it waits in."""
        endpoint_limit, server_limit = self._limits(call.plan)
        for limit in (endpoint_limit, server_limit):
            if limit is not None and limit.remove(time, call):
                return

    def waiting(self) -> Iterator[Call]:
        """Every call waiting to be admitted."""
        for limit in self._all_limits():
            yield from (w.call for w in limit.queue)

    def crash(self, time: float) -> list[Call]:
        """The server went down: nobody is inside; the calls waiting are returned."""
        victims: list[Call] = []
        for limit in self._all_limits():
            while limit.queue:
                victims.append(limit.pop(time).call)
            limit.inside = 0
            limit.since.clear()
        return victims

    def _all_limits(self) -> list[Limit]:
        limits = [x for x in self.endpoint_limits if x is not None]
        if self.server_limit is not None:
            limits.append(self.server_limit)
        return limits


class CallBulkhead:
    """At most ``cap`` calls from one server to one node unanswered at once.

    A call beyond it fails at once at its caller with ``shed``: the calls
    counted are those sent and not yet back (answered, failed, cancelled),
    found by pruning the list of calls sent when it looks full.

    Attributes:
        cap: Calls allowed out at once.
        shed: Calls refused.
    """

    __slots__ = ("_calls", "_code", "_fail", "_place", "cap", "shed")

    def __init__(self, ctx: RunContext, caller_id: str, cap: int) -> None:
        self.cap = cap
        self.shed = 0
        self._calls: list[Call] = []
        self._code = ctx.code("shed")
        self._place = ctx.place(caller_id)
        self._fail = ctx.fail

    def watching(self, send: Callable[[float, Call], None]) -> Callable[[float, Call], None]:
        """``send``, refusing calls beyond the cap."""

        def limited(time: float, call: Call) -> None:
            calls = self._calls
            if len(calls) >= self.cap:
                calls[:] = [c for c in calls if c.state != DONE and not c.cancelled]
                if len(calls) >= self.cap:
                    self.shed += 1
                    self._fail(time, call, self._code, self._place)
                    return
            calls.append(call)
            send(time, call)

        return limited


class BalancerRateGate:
    """Token buckets in front of a load balancer: a call without a token gets a 429.

    The error crosses back over the edge the call came on, as a balancer's
    503 does.
    """

    __slots__ = ("_arrive", "_buckets", "_code", "_fail", "_place", "rate_limited")

    def __init__(
        self,
        ctx: RunContext,
        balancer_id: str,
        buckets: Sequence[Sequence[TokenBucket]],
        arrive: Callable[[float, Call], None],
    ) -> None:
        self._arrive = arrive
        self._buckets = [tuple(b) for b in buckets]
        self._code = ctx.code("rate_limited")
        self._place = ctx.place(balancer_id)
        self._fail = ctx.fail
        self.rate_limited = 0

    def arrive(self, time: float, call: Call) -> None:
        """A call arrives: it passes on with a token from each bucket, or fails."""
        if not call.cancelled:
            for bucket in self._buckets[call.site.workload]:
                if not bucket.take(time):
                    self.rate_limited += 1
                    self._fail(time, call, self._code, self._place, call.site.out_edge)
                    return
        self._arrive(time, call)


# --------------------------------------------------------------------------- building


def buckets_by_workload(
    policies: Sequence[RateLimit], workloads: Sequence[str]
) -> list[tuple[TokenBucket, ...]]:
    """Per workload index, the buckets its calls take from: the node's own, then its own."""
    shared = [TokenBucket(p.rate_per_s, p.burst) for p in policies if p.workload is None]
    own = {p.workload: TokenBucket(p.rate_per_s, p.burst) for p in policies if p.workload}
    return [(*((own[w],) if w in own else ()), *shared) for w in workloads]


def make_admission(
    ctx: RunContext,
    spec: ServerSpec,
    index: int,
    policies: Sequence[RateLimit | ConcurrencyLimit | Timeout],
    workloads: Sequence[str],
    watch: Timeouts | None = None,
) -> Admission | None:
    """The admission of a server (its index ``index``) from the policies that target it.

    None when no policy targets it and no timeout watches the run.
    """
    rates: list[RateLimit] = []
    caps: list[ConcurrencyLimit] = []
    for policy in policies:
        if policy.target != spec.id:
            continue
        if policy.type == "rate_limit":
            rates.append(policy)
        elif policy.type == "concurrency_limit" and policy.calls_to is None:
            caps.append(policy)
    if not rates and not caps and watch is None:
        return None
    names = [e.endpoint_name for e in spec.endpoints]
    server_limit = None
    endpoint_limits: list[Limit | None] = [None] * len(names)
    for cap in caps:
        limit = _limit(ctx, spec.id, cap)
        if cap.endpoint is None:
            server_limit = limit
        else:
            endpoint_limits[names.index(cap.endpoint)] = limit
    buckets = buckets_by_workload(rates, workloads)
    return Admission(ctx, index, buckets, server_limit, endpoint_limits, watch)


def _limit(ctx: RunContext, server_id: str, cap: ConcurrencyLimit) -> Limit:
    limit = _fixed_limit(ctx, server_id, cap)
    adaptive = cap.adaptive
    if adaptive is not None:
        start = float(cap.max_in_flight)
        bounds = {"minimum": float(adaptive.minimum), "maximum": float(adaptive.maximum)}
        if adaptive.algorithm == "aimd":
            limit.adapt = AimdLimit(
                start,
                target_s=adaptive.target_s or math.inf,
                decrease=adaptive.decrease or 0.9,
                **bounds,
            )
        else:
            limit.adapt = GradientLimit(start, smoothing=adaptive.smoothing or 0.2, **bounds)
        suffix = "" if cap.endpoint is None else f":{cap.endpoint}"
        limit.limit_level = ctx.level(server_id, "concurrency_limit" + suffix)
        limit.limit_level.change(0.0, float(limit.cap))
    return limit


def _fixed_limit(ctx: RunContext, server_id: str, cap: ConcurrencyLimit) -> Limit:
    queue = cap.queue
    if queue is None:
        return Limit(cap.max_in_flight)
    codel = None
    if queue.discipline == "codel":
        codel = CoDel(queue.target_delay_s or 0.005, queue.interval_s or 0.1)
    metric = "admission_queue" if cap.endpoint is None else f"admission_queue:{cap.endpoint}"
    level = ctx.level(server_id, metric)
    return Limit(cap.max_in_flight, queue.max_length, DISCIPLINES[queue.discipline], codel, level)


def call_bulkheads(
    ctx: RunContext, policies: Sequence[RateLimit | ConcurrencyLimit | Timeout]
) -> dict[tuple[str, str], CallBulkhead]:
    """The bulkheads per dependency, by ``(caller, callee)``."""
    return {
        (p.target, p.calls_to): CallBulkhead(ctx, p.target, p.max_in_flight)
        for p in policies
        if p.type == "concurrency_limit" and p.calls_to is not None
    }
