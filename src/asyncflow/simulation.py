"""Build the runtime graph of a scenario and run it: :func:`run`."""

from __future__ import annotations

import math
import os
import time as wallclock
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from asyncflow.analysis.datastores import collect as collect_datastores
from asyncflow.analysis.summary import summarize
from asyncflow.collector import collector_paused
from asyncflow.components.calls import (
    BACKING_OFF,
    DONE,
    FAILING,
    HANDSHAKING,
    SENDING,
    Call,
    cut_transit,
    fold_pending,
    node_index,
    settle,
    totals,
)
from asyncflow.components.context import RunContext
from asyncflow.components.health import health_figures
from asyncflow.components.policy_figures import policy_figures
from asyncflow.components.server import Server
from asyncflow.components.wiring import BuildOptions, Wiring
from asyncflow.engine.kernel import Kernel
from asyncflow.engine.streams import RandomStreams
from asyncflow.metrics.levels import DUE_CHANGES
from asyncflow.metrics.phases import (
    FAILED_ATTEMPT,
    HANDSHAKE,
    HOP_BALANCER,
    HOP_GENERATOR,
    HOP_OUT,
    HOP_REPLY,
    SLOTS,
    slots_for,
)
from asyncflow.metrics.requests import (
    IN_FLIGHT,
    CallLog,
    CriticalPathLog,
    Reasons,
    RequestLog,
)
from asyncflow.metrics.stream import RequestStream
from asyncflow.results import (
    CallTable,
    CriticalPath,
    LevelStats,
    NodeCalls,
    RequestTable,
    Results,
    SiteInfo,
    fault_windows_of,
)
from asyncflow.scenario.replica_graph import expand_replicas
from asyncflow.streaming import RING_ROWS, StreamingRing

if TYPE_CHECKING:
    from asyncflow.components.sites import CallSite
    from asyncflow.metrics.levels import Level
    from asyncflow.scenario import Scenario

MAX_BINS = 1000
FLUSHES = 64  # times a run the level buffers are looked at (bounds their memory)
STREAM_FLUSH_S = 60.0  # in streaming mode, level buffers are looked at this often at least


def series_bin_s(end_s: float, finest_s: float) -> float:
    """Bin width of the time series: a round 1-2-5 value, at most MAX_BINS bins."""
    target = max(end_s / MAX_BINS, finest_s)
    exponent = math.floor(math.log10(target))
    for mantissa in (1.0, 2.0, 5.0, 10.0):
        width = mantissa * 10.0**exponent
        if width >= target * (1 - 1e-12):
            return width
    return 10.0 ** (exponent + 1)


class Simulation:
    """One run of a scenario: the components wired to a kernel.

    ``Simulation(scenario, seed).run()`` runs to the horizon; ``advance(t)``
    runs in slices (for live progress and learning environments). With
    ``record_calls`` every call (requests included) gets a row of its own in
    ``Results.calls``. Without ``record_phases`` requests keep no phases (the
    breakdowns and the verdict are then unknown). With ``streaming`` ended
    requests are folded into ``Results.stream`` round a ring of
    ``ring_rows`` rows (it grows only with the requests in flight): memory
    does not grow with the horizon, and there is no request table.
    ``policies`` (balancer id to a balancing policy) and
    ``gates`` (balancer id to a wrapper of the function calls arrive at it
    through) let a learning environment decide and pause at a balancer.
    """

    def __init__(
        self,
        scenario: Scenario,
        seed: int,
        *,
        record_calls: bool = False,
        record_phases: bool = True,
        streaming: bool = False,
        ring_rows: int = RING_ROWS,
        policies: Mapping[str, Any] | None = None,
        gates: Mapping[str, Any] | None = None,
    ) -> None:
        with collector_paused():  # the model's objects all live through the run
            if streaming and record_calls:
                raise ValueError("streaming keeps no per-call table: record_calls must be False")
            scenario, groups = expand_replicas(scenario)
            self.scenario = scenario
            settings = scenario.sim_settings
            self.end_s = float(settings.total_simulation_time)
            kernel = Kernel()
            slots = kept_slots(scenario) if record_phases or record_calls else ()
            reasons = Reasons()
            critical = CriticalPathLog(slots)
            bin_s = series_bin_s(self.end_s, settings.sample_period_s)
            self.stream = _stream_of(scenario, bin_s) if streaming else None
            log = RequestLog(reasons, slots)
            self._ring = None
            if self.stream is not None:
                self._ring = StreamingRing(log, self.stream, critical, ring_rows)
            else:
                # The rows the run opens, on average: the columns need not grow
                # (and be copied) while it runs, nor keep spare room at the end.
                log.reserve(min(int(expected_requests(scenario)), RESERVED_ROWS))
            self.ctx = RunContext(
                kernel=kernel,
                streams=RandomStreams(seed),
                log=log,
                reasons=reasons,
                critical=critical,
                calls=CallLog(slots) if record_calls else None,
                end_s=self.end_s,
                bin_s=bin_s,
                warm_up_s=float(settings.warm_up_s),
            )
            self.seed = seed
            self.connected = uses_connections(scenario)
            outages = frozenset(e.target_id for e in scenario.events if e.is_outage)
            outages |= {rid for ids in groups.values() for rid in ids}  # replicas stop and start
            options = BuildOptions(self.connected, outages, groups, policies or {}, gates or {})
            wiring = Wiring(self.ctx, scenario, options)
            self.runtime = runtime = wiring.build()
            if self.stream is not None:
                self.stream.allocate_sites(len(runtime.sites))
            self.client = runtime.client
            self.servers = runtime.servers
            self.balancers = runtime.balancers
            self.edges = runtime.edges
            self.groups = runtime.groups
            for group in runtime.groups.values():
                group.start(0.0)
            for generator in runtime.generators:
                generator.start()
            self._flush_every_s = self.end_s / FLUSHES
            if streaming:  # level buffers bounded in simulated time, not in shares of the horizon
                self._flush_every_s = min(self._flush_every_s, STREAM_FLUSH_S)
            kernel.schedule(self._flush_every_s, self._flush)
        self._finished = False

    @property
    def balancer(self) -> Any:
        """The load balancer, when there is exactly one (else None)."""
        if len(self.balancers) == 1:
            return next(iter(self.balancers.values()))
        return None

    def _flush(self, now: float, _: object = None) -> None:
        for group in self.groups.values():
            group.sync(now)  # replica groups read the buffers before they are emptied
        # Only the levels that reached DUE_CHANGES since their last flush: a
        # fleet has thousands, and a look at each is a miss of the cache.
        # A level whose changes still ahead are that many lists itself again
        # while it is flushed: for the next flush, from a fresh list.
        listed = self.ctx.due[:]
        self.ctx.due.clear()
        for level in listed:
            if level.pending >= DUE_CHANGES:  # (not flushed since it was listed)
                level.flush(now)
        for group in self.groups.values():
            group.rebase()
        nxt = now + self._flush_every_s
        if nxt < self.end_s:
            self.ctx.kernel.schedule(nxt, self._flush)

    @property
    def now(self) -> float:
        """The simulated time reached."""
        return self.ctx.kernel.now

    def advance(self, until: float) -> None:
        """Run up to ``until`` (at most the horizon)."""
        self.ctx.kernel.run(min(until, self.end_s))

    def run(self, progress: Callable[[float], None] | None = None) -> Results:
        """Run to the horizon and return the results.

        Args:
            progress: Called with the simulated time reached after each
                hundredth of the horizon (for a progress bar); the run is the
                same with or without it.
        """
        started = wallclock.perf_counter()
        if progress is not None:
            for step in range(1, 100):
                self.advance(self.end_s * step / 100)
                progress(self.ctx.kernel.now)
        self.advance(self.end_s)
        self.finish()
        wall = wallclock.perf_counter() - started
        return self.results(wall)

    def finish(self) -> None:
        """Close the books at the horizon: levels integrated, requests in flight settled.

        A request whose reply was decided ahead of time but arrives after
        the horizon is in flight, its reply hop cut to the part travelled;
        every request still in the system gets the phases of the time it
        has lived (see :func:`~asyncflow.components.calls.fold_pending`).
        """
        if self._finished:
            return
        self._finished = True
        end = self.end_s
        for group in self.groups.values():
            group.sync(end)  # the groups' integrals reach the horizon before the flush
        for level in self.ctx.levels.values():
            level.flush(end)
            level.release()
        log = self.ctx.log
        log.trim()  # the rows reserved and not opened
        finished = np.frombuffer(log.finished, dtype=np.float64)
        late = np.flatnonzero(finished > end)
        if late.size:
            outcome = np.frombuffer(log.outcome, dtype=np.int8)
            kept = log.phases.kept
            phases = log.phases.view()
            if HOP_REPLY in kept:
                column = kept.index(HOP_REPLY)
                phases[late, column] -= (finished[late] - end).astype(np.float32)
            outcome[late] = IN_FLIGHT
            finished[late] = np.nan
        live: dict[int, Call] = {}  # every call in the system, and the calls waiting for them
        roots: dict[int, Call] = {}
        for call in self._live_calls():
            while call.parent is not None and id(call) not in live:
                live[id(call)] = call
                call = call.parent
            live.setdefault(id(call), call)
            if call.parent is None:
                roots.setdefault(id(call), call)
        superseded = getattr(self.runtime.client, "superseded", ())
        for root in sorted(roots.values(), key=lambda c: c.root):
            if log.outcome[root.root] or root in superseded:
                continue  # its client gave up on it already (a timeout), or retried it
            fold_pending(root, end)
            log.phases.write(root.root, totals(root))
        if self.ctx.calls is not None:
            self._close_call_log(list(live.values()))
        if self._ring is not None:
            self._ring.fold_all()

    def _close_call_log(self, live: list[Call]) -> None:
        """Calls answered after the horizon are in flight; those in flight keep their phases."""
        calls = self.ctx.calls
        if calls is None:
            return
        end_s = np.frombuffer(calls.end, dtype=np.float64)
        late = np.flatnonzero(end_s > self.end_s)
        if late.size:
            kept = calls.phases.kept
            if HOP_REPLY in kept:  # the reply was on its way: cut it at the horizon
                column = calls.phases.view()[:, kept.index(HOP_REPLY)]
                column[late] -= (end_s[late] - self.end_s).astype(np.float32)
            np.frombuffer(calls.outcome, dtype=np.int8)[late] = IN_FLIGHT
            end_s[late] = np.nan
        for call in live:
            if call.cid >= 0:
                settle(call, self.end_s)
                index = node_index(call)
                if index >= 0:
                    calls.server[call.cid] = index
                    calls.endpoint[call.cid] = call.plan.index
                calls.phases.write(call.cid, call.ph)

    def results(self, wall_s: float = 0.0) -> Results:
        """Collect the finished run's records as :class:`~asyncflow.results.Results`."""
        self.finish()
        ctx = self.ctx
        listeners = [s.listener for s in self.servers.values()]
        listeners += [b.listener for b in self.balancers.values()]
        server_ids = list(self.servers)
        endpoints = {i: [p.name for p in s.programs] for i, s in enumerate(self.servers.values())}
        tallies = {(server_ids[i], endpoints[i][j]): tally for (i, j), tally in ctx.tallies.items()}
        return Results(
            scenario=self.scenario,
            seed=self.seed,
            end_s=self.end_s,
            warm_up_s=ctx.warm_up_s,
            wall_s=wall_s,
            bin_s=ctx.bin_s,
            requests=_request_table(ctx),
            levels={key: _level_stats(level) for key, level in ctx.levels.items()},
            refused={lst.node_id: lst.refused for lst in listeners if lst is not None},
            critical=_critical_path(ctx),
            calls=_call_table(ctx),
            sites=tuple(_site_info(site) for site in self.runtime.sites),
            call_tallies=tallies,
            node_calls={
                sid: NodeCalls(s.completed, s.failed, s.cancelled)
                for sid, s in self.servers.items()
            },
            places=tuple(ctx.log.places),
            summarize=summarize,
            stream=self.stream,
            datastores=collect_datastores(self.runtime, self.scenario),
            policies=policy_figures(
                self.servers,
                self.runtime.timeouts,
                self.runtime.bulkheads,
                self.runtime.retries,
                len(ctx.log),
                self.runtime.breakers,
            )
            | health_figures(self.runtime.health),
        )

    def _live_calls(self) -> Iterator[Call]:
        """Every call still in the system: in an event, a queue or a transfer.

        A call on its way (or opening a connection) has its hop counted in
        full; the part after the horizon is taken back here, from its
        pending arrival.
        """
        calls_log = self.ctx.calls
        for time, _, callback, arg in self.ctx.kernel.events():
            if type(arg) is not Call or arg.state == DONE:
                continue
            if arg.state in (SENDING, HANDSHAKING, FAILING) and time > self.end_s:
                cut_transit(arg, self._transit_slot(callback, arg), time - self.end_s)
            if arg.state == BACKING_OFF and arg.mark > self.end_s:
                # Its failure reached the caller ahead of time, after the end: the
                # failed attempt ends at the horizon, and no backoff has begun.
                arg.ph[FAILED_ATTEMPT] -= arg.mark - self.end_s
                arg.mark = self.end_s
            if arg.cancelled:  # answers nobody; still running on a CPU, or on its way
                if calls_log is not None:
                    settle(arg, self.end_s)
                    self.ctx.close_call(self.end_s, arg, self.ctx.code("cancelled"))
                continue
            yield arg
        for server in self.servers.values():
            for resource in (server.cores, server.ram):
                yield from (w.item for w in resource.waiters())
            if server.admission is not None:
                yield from server.admission.waiting()
        if self.runtime.timeouts is not None:
            yield from self.runtime.timeouts.lost_calls(self.end_s)
        for store in self.runtime.stores:
            yield from store.waiting_calls()
        listeners = [s.listener for s in self.servers.values()]
        listeners += [b.listener for b in self.balancers.values()]
        for listener in listeners:
            if listener is not None:
                yield from (w.item[0] for w in listener.sockets.waiters())
        for edge in self.edges.values():
            if edge.link is not None:
                yield from edge.link.calls()

    def _transit_slot(self, callback: Any, call: Call) -> int:
        """The phase slot of the hop (or handshake) an event delivers at its end."""
        if call.state == HANDSHAKING:
            return HANDSHAKE
        if call.state == FAILING:
            return HOP_REPLY
        if call.server is not None:
            # A call that reached a server is on its way back (whoever delivers
            # the reply: its caller, or a balancer's watch of its replies).
            return HOP_REPLY
        target = getattr(callback, "__self__", None)
        if target is None:  # Client.forward: the hop from the workload
            return HOP_GENERATOR
        if isinstance(target, Server) and call.site.target_id in self.balancers:
            return HOP_BALANCER
        return HOP_OUT


ROW_BYTES = 24
"""Bytes of a request's row besides its phases: two times, outcome, server, endpoint..."""

PEAK_PER_ROW = 3.0
"""The whole command's peak memory per byte of request rows, with a margin.

Measured with ``bench/command.py``: 1.0 for ``two_servers_lb`` (57 bytes a
request, with or without ``--out``), 2.4 for ``call_tree`` (whose calls'
rows the row does not count) and about 3.6 for it with ``--out``.
"""


RESERVED_ROWS = 1 << 24
"""The most rows a run's request table reserves before it starts (~800 MB)."""


def expected_requests(scenario: Scenario) -> float:
    """The requests the workloads offer over the horizon, on average."""
    from asyncflow.analysis.theory_routes import offered_rate

    horizon = float(scenario.sim_settings.total_simulation_time)
    return sum(offered_rate(w, 0.0, horizon) for w in scenario.workload_list) * horizon


def expected_table_bytes(scenario: Scenario, *, record_phases: bool = True) -> float:
    """The memory a run and its summary need for the request table, roughly.

    Expected requests times the bytes of a row (times, codes and the phase
    slots the scenario can fill) times :data:`PEAK_PER_ROW`.
    """
    slots = len(kept_slots(scenario)) if record_phases else 0
    return expected_requests(scenario) * (ROW_BYTES + 4 * slots) * PEAK_PER_ROW


def kept_slots(scenario: Scenario) -> tuple[int, ...]:
    """The phase slots the scenario can fill: the others are zero for every request."""
    nodes = scenario.topology_graph.nodes
    modelled = {category for s in nodes.servers for category in _step_categories(s)}
    if nodes.balancers:
        modelled.add("balancers")
    if uses_connections(scenario):
        modelled |= {"connections", "ram", "cpu"}  # connections hold memory, TLS costs CPU
    if "call" in modelled:
        modelled.add("calls")
    if uses_datastores(scenario) or scenario.policies:
        # Datastores' calls, fallbacks and pools, and the policies' admission
        # queues and timeouts, reach every kind of slot: keep them all.
        return tuple(range(SLOTS))
    return slots_for(frozenset(modelled))


def uses_datastores(scenario: Scenario) -> bool:
    """Whether the scenario has databases, caches, pools or datastore steps."""
    nodes = scenario.topology_graph.nodes
    if nodes.databases or nodes.caches:
        return True
    servers = nodes.servers
    if any(s.database_pools or s.local_caches for s in servers):
        return True
    return any({"db", "cache"} & _step_categories(s) for s in servers)


def _step_categories(server: Any) -> set[str]:
    """The categories of every step of a server's endpoints (in branches too)."""
    found: set[str] = set()

    def visit(steps: Any) -> None:
        for step in steps:
            found.add(step.category)
            if step.category == "branch":
                for _, arm in step.arms:
                    visit(arm)

    for endpoint in server.endpoints:
        visit(endpoint.steps)
    return found


def uses_connections(scenario: Scenario) -> bool:
    """Whether any node models sockets, connection memory or keep-alive pools."""
    nodes = scenario.topology_graph.nodes
    return (
        any(s.server_resources.models_sockets for s in nodes.servers)
        or nodes.client.connection_pool is not None
        or any(b.resources is not None or b.connection_pool is not None for b in nodes.balancers)
    )


def run(
    scenario: Scenario | Mapping[str, Any] | str | os.PathLike[str],
    *,
    seed: int | None = None,
    record_calls: bool = False,
    record_phases: bool = True,
    streaming: bool = False,
) -> Results:
    """Simulate ``scenario`` and return its results.

    Args:
        scenario: A :class:`~asyncflow.scenario.Scenario` (validated again, so a
            ``model_copy(update=...)`` cannot skip the rules), a mapping with
            the keys of a scenario file, or the path of a YAML/JSON file.
        seed: Overrides ``sim_settings.seed``; when both are absent the seed is
            0. An integer from 0 to 2**64 - 1.
        record_calls: Keep one row per call in ``Results.calls`` (the call
            table; requests are calls too).
        record_phases: Record where each request's time goes (the
            breakdowns, service times and the verdict); off, each request
            costs less memory and time, and those figures are None.
        streaming: Keep no request table: fold requests into sums and
            sketches as they end (``Results.stream``); memory stays constant
            in the horizon, latency percentiles are within 0.5 %.

    Returns:
        The run's :class:`~asyncflow.results.Results`.

    Raises:
        TypeError: ``scenario`` or ``seed`` of the wrong kind (named in the message).
        ScenarioError: The scenario breaks a rule, or ``seed`` is out of range.
        ValueError: ``streaming`` with ``record_calls`` (a streaming run keeps no tables).
    """
    from asyncflow._arguments import scenario_argument, seed_argument

    model = scenario_argument(scenario)
    chosen = seed_argument(seed)
    if chosen is None:
        chosen = model.sim_settings.seed if model.sim_settings.seed is not None else 0
    if not isinstance(record_phases, bool) or not isinstance(streaming, bool):
        raise TypeError("record_phases and streaming must be True or False")
    simulation = Simulation(
        model, chosen, record_calls=record_calls, record_phases=record_phases, streaming=streaming
    )
    return simulation.run()


def _stream_of(scenario: Scenario, bin_s: float) -> RequestStream:
    """An empty stream of a scenario's requests (streaming mode)."""
    nodes = scenario.topology_graph.nodes
    end_s = float(scenario.sim_settings.total_simulation_time)
    return RequestStream(
        bin_s=bin_s,
        bins=max(1, math.ceil(end_s / bin_s - 1e-9)),
        workloads=len(scenario.workload_list),
        endpoint_sizes=[len(s.endpoints) for s in nodes.servers],
        warm_up_s=float(scenario.sim_settings.warm_up_s),
        windows=[(w.start_s, w.end_s) for w in fault_windows_of(scenario)],
    )


def _request_table(ctx: RunContext) -> RequestTable:
    """The request log's columns as a table (views of the log, read-only).

    Empty in streaming mode: every request was folded into the stream.
    """
    log = ctx.log
    columns = log.columns()
    if log.ring is not None:
        columns = {name: column[:0] for name, column in columns.items()}
        rows, places = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int16)
    else:
        rows, places = log.failures()
    for column in (*columns.values(), rows, places):
        column.flags.writeable = False
    return RequestTable(
        **columns,
        failed_rows=rows,
        failed_places=places,
        slots=_read_only(log.phases.view()[: columns["outcome"].size]),
        reason_names=tuple(log.reasons.names),
        kept=log.phases.kept,
    )


def _critical_path(ctx: RunContext) -> CriticalPath:
    crit = ctx.critical
    return CriticalPath(
        root=np.frombuffer(crit.root, dtype=np.int64),
        site=np.frombuffer(crit.site, dtype=np.int16),
        server=np.frombuffer(crit.server, dtype=np.int16),
        endpoint=np.frombuffer(crit.endpoint, dtype=np.int16),
        slots=_read_only(crit.phases.view()),
        kept=crit.phases.kept,
    )


def _call_table(ctx: RunContext) -> CallTable | None:
    calls = ctx.calls
    if calls is None:
        return None
    return CallTable(
        parent=np.frombuffer(calls.parent, dtype=np.int64),
        root=np.frombuffer(calls.root, dtype=np.int64),
        site=np.frombuffer(calls.site, dtype=np.int16),
        server=np.frombuffer(calls.server, dtype=np.int16),
        endpoint=np.frombuffer(calls.endpoint, dtype=np.int16),
        start_s=np.frombuffer(calls.start, dtype=np.float64),
        end_s=np.frombuffer(calls.end, dtype=np.float64),
        outcome=np.frombuffer(calls.outcome, dtype=np.int8),
        slots=_read_only(calls.phases.matrix()),
        reason_names=tuple(ctx.reasons.names),
    )


def _site_info(site: CallSite) -> SiteInfo:
    edges: dict[int, tuple[str | None, str | None, str | None, str | None]] = {}
    for index, entry in enumerate(site.entries):
        if entry is None:
            continue
        inbound = site.inbound[index]
        via_balancer = inbound.slot == HOP_BALANCER
        out = site.out_edge.id if site.out_edge is not None else None
        edges[index] = (
            site.generator_edge,
            out,
            inbound.id if via_balancer else None,
            site.reply_edges[index].id,
        )
    return SiteInfo(site.key, site.caller.id, site.target_id, site.workload, edges)


def _read_only(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


def _level_stats(level: Level) -> LevelStats:
    return LevelStats(
        area=level.area_after_warm_up,
        peak=level.max_after_warm_up,
        bin_area=level.bin_area.copy(),
        bin_max=level.bin_max.copy(),
    )
