"""Build the runtime graph of a scenario and run it: :func:`run`."""

from __future__ import annotations

import math
import os
import time as wallclock
from collections import defaultdict
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from asyncflow.components.balancer import LoadBalancer
from asyncflow.components.client import Client
from asyncflow.components.connections import Listener, Memory, Pool, connecting_sender
from asyncflow.components.context import Request, RunContext
from asyncflow.components.edges import Edge
from asyncflow.components.generator import Generator
from asyncflow.components.policies import make_policy
from asyncflow.components.server import Server
from asyncflow.engine.kernel import Kernel
from asyncflow.engine.streams import RandomStreams
from asyncflow.metrics.requests import RequestLog

if TYPE_CHECKING:
    from asyncflow.results import Results
    from asyncflow.scenario import ConnectionPool, Scenario, Tls

MAX_BINS = 1000
FLUSHES = 64  # times a run the level buffers are looked at (bounds their memory)
FLUSH_MIN_CHANGES = 2048  # smaller buffers wait: a flush costs ~30 µs of numpy calls


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
    runs in slices (for live progress and, later, learning environments).
    """

    def __init__(self, scenario: Scenario, seed: int) -> None:
        self.scenario = scenario
        settings = scenario.sim_settings
        self.end_s = float(settings.total_simulation_time)
        kernel = Kernel()
        self.ctx = RunContext(
            kernel=kernel,
            streams=RandomStreams(seed),
            log=RequestLog(),
            end_s=self.end_s,
            bin_s=series_bin_s(self.end_s, settings.sample_period_s),
            warm_up_s=float(settings.warm_up_s),
        )
        self.seed = seed
        self._build()
        self._flush_every_s = self.end_s / FLUSHES
        kernel.schedule(self._flush_every_s, self._flush)

    def _build(self) -> None:
        ctx = self.ctx
        scenario = self.scenario
        nodes = scenario.topology_graph.nodes
        spikes: dict[str, list[tuple[float, float, float]]] = defaultdict(list)
        outages: dict[str, list[tuple[float, float]]] = defaultdict(list)
        for event in scenario.events:
            if event.is_outage:
                outages[event.target_id].append((event.start.t_start, event.end.t_end))
            else:
                spike = event.start.spike_s or 0.0
                spikes[event.target_id].append((event.start.t_start, event.end.t_end, spike))
        connected = uses_connections(scenario)
        self.connected = connected
        self.client = Client(ctx, nodes.client.id)
        self.servers = {
            s.id: Server(ctx, s, i, tracks_crashes=s.id in outages, with_connections=connected)
            for i, s in enumerate(nodes.servers)
        }
        self.edges = {
            e.id: Edge(ctx, e, spikes.get(e.id, [])) for e in scenario.topology_graph.edges
        }
        self.balancer: LoadBalancer | None = None
        lb_spec = nodes.load_balancer
        out_edge = {(e.source, e.target): self.edges[e.id] for e in scenario.topology_graph.edges}
        if lb_spec is not None:
            listener = None
            if connected:
                ram_mb = lb_spec.resources.ram_mb if lb_spec.resources is not None else math.inf
                listener = Listener(ctx, lb_spec.id, lb_spec.resources, Memory(ram_mb))
            sends = [
                self._sender(
                    out_edge[(lb_spec.id, sid)],
                    self.servers[sid].arrive,
                    lb_spec.connection_pool,
                    self.servers[sid].listener,
                    nodes.server(sid).tls,
                )
                for sid in lb_spec.server_covered
            ]
            policy = make_policy(
                lb_spec.algorithms,
                lb_spec.server_covered,
                lb_spec.weights,
                lambda purpose: ctx.streams.generator(f"balancer:{lb_spec.id}:{purpose}"),
            )
            servers = [self.servers[s] for s in lb_spec.server_covered]
            self.balancer = LoadBalancer(ctx, lb_spec.id, policy, servers, sends, listener)
        for edge_spec in scenario.topology_graph.edges:
            edge = self.edges[edge_spec.id]
            if edge_spec.source == nodes.client.id:
                if self.balancer is not None:
                    target: Server | LoadBalancer = self.balancer
                    tls = lb_spec.tls if lb_spec is not None else None
                else:
                    target = self.servers[edge_spec.target]
                    tls = nodes.server(edge_spec.target).tls
                self.client.forward_to = self._sender(
                    edge, target.arrive, nodes.client.connection_pool, target.listener, tls
                )
            elif edge_spec.source in self.servers:
                complete = self.client.complete_connected if connected else self.client.complete
                send = edge.connect_event(ctx, complete) if connected else edge.connect(complete)
                inbound = next(
                    self.edges[e.id]
                    for e in scenario.topology_graph.edges
                    if e.target == edge_spec.source
                )
                self.servers[edge_spec.source].connect(inbound, edge, send)
            elif edge_spec.source == scenario.rqs_input.id:
                forward = self.client.forward
                send = edge.connect_event(ctx, forward) if connected else edge.connect(forward)
                self.generator = Generator(ctx, scenario.rqs_input, send)
        for server_id, windows in outages.items():
            server = self.servers[server_id]
            for start, end in windows:
                ctx.kernel.schedule(start, server.go_down)
                ctx.kernel.schedule(end, server.go_up)
        self.generator.start()

    def _sender(
        self,
        edge: Edge,
        arrive: Callable[[float, Request], None],
        pool_spec: ConnectionPool | None,
        listener: Listener | None,
        tls: Tls | None,
    ) -> Callable[[float, Request], None]:
        """The send function of a client or balancer edge (with connection set-up)."""
        send = edge.connect_event(self.ctx, arrive)
        if not self.connected or listener is None:
            return send
        pool = Pool(self.ctx, pool_spec, listener) if pool_spec is not None else None
        round_trips = tls.round_trips if tls is not None else 0
        return connecting_sender(self.ctx, edge, send, pool, round_trips)

    def _flush(self, now: float, _: object = None) -> None:
        for level in self.ctx.levels.values():
            if len(level.times) >= FLUSH_MIN_CHANGES:
                level.flush(now)
        nxt = now + self._flush_every_s
        if nxt < self.end_s:
            self.ctx.kernel.schedule(nxt, self._flush)

    def advance(self, until: float) -> None:
        """Run up to ``until`` (at most the horizon)."""
        self.ctx.kernel.run(min(until, self.end_s))

    def run(self) -> Results:
        """Run to the horizon and return the results."""
        from asyncflow.results import Results

        started = wallclock.perf_counter()
        self.advance(self.end_s)
        for level in self.ctx.levels.values():
            level.flush(self.end_s)
        wall = wallclock.perf_counter() - started
        return Results.from_simulation(self, wall)


def uses_connections(scenario: Scenario) -> bool:
    """Whether any node models sockets, connection memory or keep-alive pools."""
    nodes = scenario.topology_graph.nodes
    lb = nodes.load_balancer
    return (
        any(s.server_resources.models_sockets for s in nodes.servers)
        or nodes.client.connection_pool is not None
        or (lb is not None and (lb.resources is not None or lb.connection_pool is not None))
    )


def run(
    scenario: Scenario | Mapping[str, Any] | str | os.PathLike[str], *, seed: int | None = None
) -> Results:
    """Simulate ``scenario`` and return its results.

    Args:
        scenario: A :class:`~asyncflow.scenario.Scenario` (validated again, so a
            ``model_copy(update=...)`` cannot skip the rules), a mapping with
            the keys of a scenario file, or the path of a YAML/JSON file.
        seed: Overrides ``sim_settings.seed``; when both are absent the seed is
            0. An integer from 0 to 2**64 - 1.

    Returns:
        The run's :class:`~asyncflow.results.Results`.

    Raises:
        TypeError: ``scenario`` or ``seed`` of the wrong kind (named in the message).
        ScenarioError: The scenario breaks a rule, or ``seed`` is out of range.
    """
    from asyncflow._arguments import scenario_argument, seed_argument

    model = scenario_argument(scenario)
    chosen = seed_argument(seed)
    if chosen is None:
        chosen = model.sim_settings.seed if model.sim_settings.seed is not None else 0
    return Simulation(model, chosen).run()
