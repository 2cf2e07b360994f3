"""Replica groups at run time: replicas started, ready, in rotation, drained.

A group owns ``max_replicas`` servers built up front (``api.1``, ``api.2``,
...). Each is off, starting, ready or draining:

* **starting**: billed, not serving; ready after a start-up delay drawn from
  the group's own stream (rounded up to the next readiness probe);
* **ready**: alive and serving; in the balancer's rotation
  ``endpoint_delay_s`` after it became ready (the balancer sees a
  :class:`Replica`, whose ``up`` is the rotation, not the server's life);
* **draining**: removed by a decision; out of the rotation
  ``endpoint_delay_s`` later, stopped when empty (checked every second) or
  ``drain_grace_s`` after the decision, when the calls still inside fail
  with ``server_down``.

Scaling in removes starting replicas first (newest first), then ready ones
(highest index first). Scaling out starts replicas that are off (lowest
index first); when none is off, draining replicas are taken back. Every
count is recorded as an exact level of the group (``replicas_ready``,
``replicas_starting``, ``replicas_draining``, ``replicas_in_rotation``,
``replicas_billed``) and each replica has a ``ready`` level (0 or 1), over
which its utilisation is computed.

Metrics for autoscalers are scraped every second (or every decision
interval when shorter, or once an interval when the windows read are whole
intervals): the exact busy core-seconds and ready core-seconds of the
period (integrated from the levels' change buffers), and the calls in
progress in the group at that instant.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from asyncflow.components.autoscalers import Decider, GroupState, Knative, make_decider
from asyncflow.components.context import RunContext
from asyncflow.components.server import Server
from asyncflow.engine.sampling import make_sampler
from asyncflow.metrics.levels import Level

if TYPE_CHECKING:
    from asyncflow.engine.streams import Sampler
    from asyncflow.scenario import Scenario
    from asyncflow.scenario.replicas import ReplicaGroup as GroupSpec

__all__ = [
    "DRAINING",
    "GROUP_METRICS",
    "OFF",
    "READY",
    "STARTING",
    "Replica",
    "ReplicaGroup",
    "build_groups",
]

OFF, STARTING, READY, DRAINING = 0, 1, 2, 3
GROUP_METRICS = (
    "replicas_ready",
    "replicas_starting",
    "replicas_draining",
    "replicas_in_rotation",
    "replicas_billed",
)
_COUNTED = {STARTING: "replicas_starting", READY: "replicas_ready", DRAINING: "replicas_draining"}
DRAIN_CHECK_S = 1.0
SCRAPE_S = 1.0


class Replica:
    """One replica: its server, its state, and the balancer's view of it.

    Attributes:
        server: The server it runs.
        state: OFF, STARTING, READY or DRAINING.
        up: Whether it is in the balancer's rotation (what policies read).
    """

    __slots__ = ("busy", "event", "index", "ready", "ready_level", "server", "state", "up")

    def __init__(self, index: int, server: Server, ready_level: Level, busy: Level) -> None:
        self.index = index
        self.server = server
        self.ready_level = ready_level
        self.ready = Integral(ready_level)
        self.busy = Integral(busy)
        self.state = OFF
        self.up = False
        self.event = -1  # the pending start-up or stop, to cancel

    @property
    def in_progress(self) -> int:
        """Calls inside the replica."""
        return self.server.in_progress

    @property
    def connections(self) -> int:
        """Active connections (or calls in progress) of the replica."""
        return self.server.connections


class Integral:
    """The exact running integral of a level, read from its change buffer.

    The buffer is emptied when the level is flushed: :meth:`advance` must
    run just before every flush and :meth:`rebase` just after (the
    simulation does both), so that no change is missed.
    """

    __slots__ = ("_cursor", "_level", "_t", "_taken", "_value", "area")

    def __init__(self, level: Level) -> None:
        self._level = level
        self._cursor = 0
        self._t = 0.0
        self._value = 0.0
        self._taken = 0.0
        self.area = 0.0

    @property
    def value(self) -> float:
        """The level at the time of the last :meth:`advance`."""
        return self._value

    def advance(self, now: float) -> float:
        """Integrate up to ``now``; return the area added since the last call."""
        level = self._level
        start, t, v = self._cursor, self._t, self._value
        # The unread changes, as Python floats (the buffers are float64 arrays).
        times: list[float] = level.times[start:].tolist()
        deltas: list[float] = level.deltas[start:].tolist()
        now = max(now, t)
        area = 0.0
        i = 0
        while i < len(times) and times[i] <= now:
            area += v * (times[i] - t)
            t = times[i]
            v += deltas[i]
            i += 1
        area += v * (now - t)
        self._cursor, self._t, self._value = start + i, now, v
        self.area += area
        return area

    def take(self, now: float) -> float:
        """Integrate up to ``now``; return the area since the last :meth:`take`.

        Unlike :meth:`advance`'s return, this counts the area integrated by
        the :meth:`advance` calls in between (the syncs before flushes).
        """
        self.advance(now)
        area, self._taken = self.area - self._taken, self.area
        return area

    def rebase(self) -> None:
        """The level was maybe flushed: its buffer starts again at the first unread change."""
        if self._level.pending < self._cursor:
            self._cursor = 0


class _Scrapes:
    """Metrics scraped at a fixed period, kept for the longest window read."""

    __slots__ = ("_keep_s", "_rows")

    def __init__(self, keep_s: float) -> None:
        self._keep_s = keep_s
        self._rows: deque[tuple[float, float, float, float]] = deque()

    def widen(self, keep_s: float) -> None:
        """Keep at least ``keep_s`` seconds of scrapes."""
        self._keep_s = max(self._keep_s, keep_s)

    def add(self, time: float, busy: float, cores: float, in_progress: float) -> None:
        rows = self._rows
        rows.append((time, busy, cores, in_progress))
        while rows and rows[0][0] < time - self._keep_s:
            rows.popleft()

    def utilization(self, t0: float, t1: float) -> float | None:
        """Busy core-seconds over ready core-seconds of the periods ending in ``(t0, t1]``."""
        busy = cores = 0.0
        for t, b, c, _ in self._rows:
            if t0 < t <= t1:
                busy += b
                cores += c
        return busy / cores if cores > 0 else None

    def concurrency(self, t0: float, t1: float) -> float | None:
        """Mean calls in progress in the group, scrapes in ``(t0, t1]``."""
        total, n = 0.0, 0
        for t, _, _, c in self._rows:
            if t0 < t <= t1:
                total += c
                n += 1
        return total / n if n else None


class ReplicaGroup:
    """The replicas of one server of the scenario and the decisions scaling them."""

    def __init__(
        self, ctx: RunContext, group_id: str, spec: GroupSpec, servers: list[Server]
    ) -> None:
        self.id = group_id
        self.spec = spec
        self.ctx = ctx
        self.replicas = [
            Replica(i, s, ctx.level(s.id, "ready"), ctx.levels[(s.id, "busy_cores")])
            for i, s in enumerate(servers)
        ]
        self.levels = {m: ctx.level(group_id, m) for m in GROUP_METRICS}
        self.billed = Integral(self.levels["replicas_billed"])
        self._startup: Sampler | None = None
        if spec.startup_s is not None:
            rng = ctx.streams.generator(f"replicas:{group_id}:startup")
            self._startup = make_sampler(spec.startup_s, rng)
        self.decider: Decider | None = (
            make_decider(spec.autoscaler) if spec.autoscaler is not None else None
        )
        self.scrapes: _Scrapes | None = None
        self._period = SCRAPE_S
        self.decisions = 0
        for replica in self.replicas:
            replica.server.up = False

    # ------------------------------------------------------------------ counts

    def count(self, state: int) -> int:
        """Replicas in ``state``."""
        return sum(1 for r in self.replicas if r.state == state)

    @property
    def desired(self) -> int:
        """Replicas ready or starting."""
        return sum(1 for r in self.replicas if r.state in (STARTING, READY))

    def state(self) -> GroupState:
        """The group as a decision sees it."""
        spec = self.spec
        return GroupState(
            self.count(READY), self.count(STARTING), spec.min_replicas, spec.max_replicas
        )

    # ------------------------------------------------------------------ start

    def start(self, time: float) -> None:
        """Bring the initial replicas up at once; start scraping and deciding."""
        for replica in self.replicas[: self.spec.initial_replicas]:
            self._bill(time, 1.0)
            self._set(time, replica, READY)
            replica.server.go_up(time)
            replica.ready_level.change(time, 1.0)
            self._join(time, replica)  # in rotation from the start
        if self.decider is not None:
            decider = self.decider
            lag = None if isinstance(decider, Knative) else decider.lag_s
            self.watch(time, decider.interval_s, lag_s=lag)
            interval = self.decider.interval_s
            if interval < self.ctx.end_s:
                self.ctx.kernel.schedule(time + interval, self._decide)

    def watch(
        self, time: float, interval_s: float, keep_s: float = 0.0, lag_s: float | None = None
    ) -> None:
        """Scrape metrics from now on (once; a second call widens what is kept).

        Windows of utilisation that end on decisions ``lag_s`` ago are whole
        decision intervals when ``lag_s`` is a multiple of ``interval_s``:
        then one scrape an interval reads them exactly (the integrals are
        exact whatever the period). Otherwise, and for concurrency (an
        instant's count, averaged), scrapes come every second.
        """
        reach = self.decider.reach_s if self.decider is not None else 0.0
        keep = max(keep_s, reach, 2 * interval_s)
        if self.scrapes is not None:
            self.scrapes.widen(keep + SCRAPE_S)
            return
        self.scrapes = _Scrapes(keep + SCRAPE_S)
        self._period = min(SCRAPE_S, interval_s)
        if lag_s is not None and _multiple(lag_s, interval_s):
            self._period = interval_s
        self.ctx.kernel.schedule(time + self._period, self._scrape)

    def billed_seconds(self, time: float) -> float:
        """Replica-seconds billed from the start to ``time`` (not before the last call's)."""
        self.billed.advance(time)
        return self.billed.area

    def sync(self, time: float) -> None:
        """Bring the exact integrals (billed, and each replica's busy and ready) up to ``time``."""
        self.billed.advance(time)
        for replica in self.replicas:
            replica.busy.advance(time)
            replica.ready.advance(time)

    def rebase(self) -> None:
        """After a flush of the levels: their buffers may have been emptied."""
        self.billed.rebase()
        for replica in self.replicas:
            replica.busy.rebase()
            replica.ready.rebase()

    def _scrape(self, time: float, _: object = None) -> None:
        busy = cores = in_progress = 0.0
        for replica in self.replicas:
            server = replica.server
            # Busy core-seconds while ready, over the ready replicas' core-seconds.
            busy += replica.busy.take(time)
            cores += replica.ready.take(time) * server.cores.capacity
            in_progress += server.in_progress
        if self.scrapes is not None:
            self.scrapes.add(time, busy, cores, in_progress)
        nxt = time + self._period
        if nxt <= self.ctx.end_s:
            self.ctx.kernel.schedule(nxt, self._scrape)

    def _decide(self, time: float, _: object = None) -> None:
        decider = self.decider
        if decider is None or self.scrapes is None:
            return
        self.decisions += 1
        self.scale_to(time, decider.decide(time, self.state(), self.scrapes))
        nxt = time + decider.interval_s
        if nxt <= self.ctx.end_s:
            self.ctx.kernel.schedule(nxt, self._decide)

    # ------------------------------------------------------------------ scaling

    def scale_to(self, time: float, replicas: int) -> int:
        """Start or remove replicas so that ``replicas`` are ready or starting.

        Returns:
            The count aimed at, within ``min_replicas`` and ``max_replicas``.
        """
        spec = self.spec
        target = max(spec.min_replicas, min(spec.max_replicas, int(replicas)))
        change = target - self.desired
        while change > 0 and self._add(time):
            change -= 1
        while change < 0:
            self._remove(time)
            change += 1
        return target

    def _add(self, time: float) -> bool:
        for replica in self.replicas:
            if replica.state == OFF:
                self._start(time, replica)
                return True
        for replica in self.replicas:
            if replica.state == DRAINING:
                self._undrain(time, replica)
                return True
        return False

    def _remove(self, time: float) -> None:
        for replica in reversed(self.replicas):
            if replica.state == STARTING:
                self.ctx.kernel.cancel(replica.event)
                self._set(time, replica, OFF)
                self._bill(time, -1.0)
                return
        for replica in reversed(self.replicas):
            if replica.state == READY:
                self._drain(time, replica)
                return

    # ------------------------------------------------------------------ life cycle

    def _start(self, time: float, replica: Replica) -> None:
        self._bill(time, 1.0)
        delay = self._startup() if self._startup is not None else 0.0
        period = self.spec.readiness_period_s
        if period > 0:
            delay = math.ceil(delay / period - 1e-9) * period
        if delay <= 0:
            self._ready(time, replica)
            return
        self._set(time, replica, STARTING)
        replica.event = self.ctx.kernel.schedule(time + delay, self._started, replica)

    def _started(self, time: float, replica: Replica) -> None:
        if replica.state == STARTING:
            self._ready(time, replica)

    def _ready(self, time: float, replica: Replica) -> None:
        self._set(time, replica, READY)
        replica.server.go_up(time)
        replica.ready_level.change(time, 1.0)
        self._after_endpoint_delay(time, replica, self._join)

    def _join(self, time: float, replica: Replica) -> None:
        if replica.state == READY and not replica.up:
            replica.up = True
            self.levels["replicas_in_rotation"].change(time, 1.0)

    def _drain(self, time: float, replica: Replica) -> None:
        self._set(time, replica, DRAINING)
        replica.event = self.ctx.kernel.schedule(
            time + self.spec.drain_grace_s, self._grace_over, replica
        )
        self._after_endpoint_delay(time, replica, self._leave)

    def _undrain(self, time: float, replica: Replica) -> None:
        self.ctx.kernel.cancel(replica.event)
        self._set(time, replica, READY)
        self._after_endpoint_delay(time, replica, self._join)

    def _leave(self, time: float, replica: Replica) -> None:
        if replica.state != DRAINING:
            return
        if replica.up:
            replica.up = False
            self.levels["replicas_in_rotation"].change(time, -1.0)
        self._check_empty(time, replica)

    def _check_empty(self, time: float, replica: Replica) -> None:
        if replica.state != DRAINING or replica.up:
            return
        if replica.server.in_progress == 0:
            self._stop(time, replica)
        elif time + DRAIN_CHECK_S < self.ctx.end_s:
            self.ctx.kernel.schedule(time + DRAIN_CHECK_S, self._check_empty, replica)

    def _grace_over(self, time: float, replica: Replica) -> None:
        if replica.state == DRAINING:
            self._stop(time, replica)

    def _stop(self, time: float, replica: Replica) -> None:
        self.ctx.kernel.cancel(replica.event)
        if replica.up:
            replica.up = False
            self.levels["replicas_in_rotation"].change(time, -1.0)
        replica.server.go_down(time)  # calls still inside fail with server_down
        replica.ready_level.change(time, -1.0)
        self._set(time, replica, OFF)
        self._bill(time, -1.0)

    def _after_endpoint_delay(
        self, time: float, replica: Replica, then: Callable[[float, Replica], None]
    ) -> None:
        delay = self.spec.endpoint_delay_s
        if delay <= 0:
            then(time, replica)
        else:
            self.ctx.kernel.schedule(time + delay, then, replica)

    # ------------------------------------------------------------------ levels

    def _set(self, time: float, replica: Replica, state: int) -> None:
        old = _COUNTED.get(replica.state)
        if old is not None:
            self.levels[old].change(time, -1.0)
        new = _COUNTED.get(state)
        if new is not None:
            self.levels[new].change(time, 1.0)
        replica.state = state

    def _bill(self, time: float, delta: float) -> None:
        self.levels["replicas_billed"].change(time, delta)


def build_groups(
    ctx: RunContext,
    scenario: Scenario,
    servers: Mapping[str, Server],
    groups: Mapping[str, tuple[str, ...]],
) -> dict[str, ReplicaGroup]:
    """The run-time groups of an expanded scenario (see ``scenario.replica_graph``)."""
    built: dict[str, ReplicaGroup] = {}
    for group_id, ids in groups.items():
        spec = scenario.topology_graph.nodes.server(ids[0]).replicas
        if spec is None:  # pragma: no cover - expansion keeps the block on every replica
            raise ValueError(f"replica {ids[0]!r} has no replicas block")
        built[group_id] = ReplicaGroup(ctx, group_id, spec, [servers[i] for i in ids])
    return built


def _multiple(value: float, step: float) -> bool:
    """Whether ``value`` is a whole multiple of ``step`` (0 included)."""
    ratio = value / step
    return abs(ratio - round(ratio)) < 1e-9
