"""From the scenario graph to the runtime graph, by data.

Every node of the scenario is built by the factory registered for its
``type`` (:data:`NODE_KINDS`). Edges get their role from who calls whom:
an edge out of a workload carries new requests, an edge into a callee
carries calls, an edge out of a balancer carries calls handed on, and an
edge back to a caller carries replies; the role decides the phase slot its
hops count in and what receives them (a node's ``arrive``, a caller's
``on_reply``). Then the call sites are laid out from each workload down the
call tree, each with its sender, its replies, and the plan every server it
can reach runs for it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, cast

from asyncflow.components.admission import (
    BalancerRateGate,
    CallBulkhead,
    buckets_by_workload,
    call_bulkheads,
    make_admission,
)
from asyncflow.components.balancer import LoadBalancer
from asyncflow.components.balancing_extra import make_any_policy, service_rate
from asyncflow.components.breakers import Breaker, build_breakers
from asyncflow.components.cache import CacheModel
from asyncflow.components.calls import Call
from asyncflow.components.client import Client
from asyncflow.components.connections import Listener, Pool, connecting_sender
from asyncflow.components.context import RunContext
from asyncflow.components.database import CacheNode, Database, StoreNode
from asyncflow.components.edges import Edge
from asyncflow.components.generator import Generator
from asyncflow.components.health import BalancerHealth
from asyncflow.components.policies import BalancingPolicy, LeastConnection, ServerView
from asyncflow.components.pool import DbPool
from asyncflow.components.program import CACHE_OP, CALL_OP, FILL_OP, Program, shared_key
from asyncflow.components.replicas import ReplicaGroup, build_groups
from asyncflow.components.retries import Retries
from asyncflow.components.server import Server
from asyncflow.components.sharing import SharedDatabase
from asyncflow.components.sites import CallSite, Plan, SiteEntry
from asyncflow.components.timeouts import TimeoutClient, Timeouts
from asyncflow.engine.resource import Resource
from asyncflow.engine.streams import WorkTable, uniform_column
from asyncflow.metrics.phases import HOP_BALANCER, HOP_GENERATOR, HOP_OUT, HOP_REPLY

if TYPE_CHECKING:
    from asyncflow.scenario import ConnectionPool, Scenario, Tls
    from asyncflow.scenario.policies import ConcurrencyLimit, RateLimit, Timeout

Send = Callable[[float, Call], None]


class Node(Protocol):
    """What every runtime node has."""

    id: str
    kind: str


@dataclass(frozen=True, slots=True)
class BuildOptions:
    """Run-wide facts the node factories need."""

    connected: bool
    outages: frozenset[str]
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Replica groups: each group's id and the ids of its replicas' servers."""
    policies: Mapping[str, BalancingPolicy] = field(default_factory=dict)
    """Policies given from outside (an agent's), by balancer id, instead of the scenario's."""
    gates: Mapping[str, Callable[[Send], Send]] = field(default_factory=dict)
    """By balancer id: wraps the function calls arrive at it through (to pause a run there)."""


NodeFactory = Callable[[RunContext, Any, int, BuildOptions], Any]


def _client(ctx: RunContext, spec: Any, index: int, options: BuildOptions) -> Client:
    return Client(ctx, spec.id)


def _server(ctx: RunContext, spec: Any, index: int, options: BuildOptions) -> Server:
    return Server(ctx, spec, index, spec.id in options.outages, options.connected)


PICK = (uniform_column,)  # the column of a site's endpoint draws

STATELESS_POLICIES = frozenset({"round_robin", "random", "weighted_round_robin"})
"""Policies whose choice looks at no server's load or state."""

NODE_KINDS: dict[str, NodeFactory] = {"client": _client, "server": _server}
"""Factories of the node kinds built before wiring, by scenario ``type``.

Load balancers are built during wiring: they need their servers and edges.
"""


@dataclass(slots=True)
class Runtime:
    """The wired components of one run.

    ``databases``, ``cache_nodes``, ``caches`` (every cache's hit model,
    remote and local) and ``pools`` are empty without datastores; ``stores``
    lists what holds calls in queues of its own (for the end of a run).
    """

    client: Client
    servers: dict[str, Server]
    balancers: dict[str, LoadBalancer]
    edges: dict[str, Edge]
    generators: list[Generator]
    sites: list[CallSite] = field(default_factory=list)
    databases: dict[str, Database] = field(default_factory=dict)
    cache_nodes: dict[str, CacheNode] = field(default_factory=dict)
    caches: dict[str, CacheModel] = field(default_factory=dict)
    pools: dict[str, DbPool] = field(default_factory=dict)
    groups: dict[str, ReplicaGroup] = field(default_factory=dict)
    timeouts: Timeouts | None = None
    bulkheads: dict[tuple[str, str], CallBulkhead] = field(default_factory=dict)
    health: dict[str, BalancerHealth] = field(default_factory=dict)
    """Health checks and outlier ejection, by balancer id (empty without them)."""
    retries: Retries | None = None
    breakers: Mapping[tuple[str, str], Breaker] = field(default_factory=dict)

    @property
    def stores(self) -> list[Any]:
        """Databases, cache nodes, caches and pools: each has ``waiting_calls()``."""
        return [
            *self.databases.values(),
            *self.cache_nodes.values(),
            *self.caches.values(),
            *self.pools.values(),
        ]


class Wiring:
    """Builds the runtime graph of a scenario."""

    def __init__(self, ctx: RunContext, scenario: Scenario, options: BuildOptions) -> None:
        self.ctx = ctx
        self.scenario = scenario
        self.options = options
        nodes = scenario.topology_graph.nodes
        self.server_specs = {s.id: s for s in nodes.servers}  # one look-up, not a scan, a server
        self.client: Client = NODE_KINDS["client"](ctx, nodes.client, 0, options)
        self.servers: dict[str, Server] = {
            s.id: NODE_KINDS["server"](ctx, s, i, options) for i, s in enumerate(nodes.servers)
        }
        # Databases and caches come after the servers in the sites' per-node lists.
        first = len(self.servers)
        self.databases = {
            d.id: (SharedDatabase if d.worker_model == "processor_sharing" else Database)(
                ctx, d, first + i, d.id in options.outages
            )
            for i, d in enumerate(nodes.databases)
        }
        first += len(self.databases)
        self.cache_nodes = {
            c.id: CacheNode(ctx, c, first + i, c.id in options.outages)
            for i, c in enumerate(nodes.caches)
        }
        self.nodes: dict[str, Server] = {**self.servers, **self.databases, **self.cache_nodes}
        self.caches = {c.id: CacheModel(ctx, c, c.id) for c in nodes.caches}
        for server in nodes.servers:
            self.caches.update({c.id: CacheModel(ctx, c, c.id) for c in server.local_caches})
        self._attach_caches()
        self.pools: dict[str, DbPool] = {}
        workload_ids = [w.id for w in scenario.workload_list]
        self.timeouts: Timeouts | None = None
        if any(p.type == "timeout" for p in scenario.policies):
            self.timeouts = Timeouts(ctx, scenario, nodes.client.id)
            self.client = TimeoutClient(ctx, nodes.client.id)
            ctx.watch = self.timeouts
        # Health policies decide a balancer's rotation, retries and breakers are
        # a caller's: neither is a limit on what a server admits.
        not_limits = ("retry", "circuit_breaker", "health_check", "outlier_ejection")
        limits = cast(
            "list[RateLimit | ConcurrencyLimit | Timeout]",
            [p for p in scenario.policies if p.type not in not_limits],
        )
        for i, spec in enumerate(nodes.servers):
            admission = make_admission(ctx, spec, i, limits, workload_ids, self.timeouts)
            if admission is not None:
                self.servers[spec.id].admission = admission
        if self.timeouts is not None:
            self.timeouts.bind(self.client, next(iter(self.servers.values())))
        self.bulkheads = call_bulkheads(ctx, limits)
        self.breakers = build_breakers(ctx, scenario)
        self.retries: Retries | None = None
        if any(p.type == "retry" for p in scenario.policies):
            self.retries = Retries(ctx, scenario)
        self.edge_specs = {(e.source, e.target): e for e in scenario.topology_graph.edges}
        self.edges: dict[str, Edge] = {}
        self._spikes = _spikes(scenario)
        self._senders: dict[tuple[str, str], Send] = {}
        self._replies: dict[str, Send] = {}
        self._tables: dict[str, WorkTable] = {}
        # Plans and site entries that equal servers share (``program.shared_key``):
        # a fleet's request touches one plan, not one of a thousand cold ones.
        self._plans: dict[tuple[Any, ...], Plan] = {}
        self._entries: dict[tuple[Any, ...], SiteEntry] = {}
        self.sites: list[CallSite] = []
        self.groups = build_groups(ctx, scenario, self.servers, options.groups)
        self.views = {r.server.id: r for g in self.groups.values() for r in g.replicas}
        self.balancer_specs = {b.id: b for b in nodes.balancers}
        self.health: dict[str, BalancerHealth] = {}
        self.balancers: dict[str, LoadBalancer] = {b.id: self._balancer(b) for b in nodes.balancers}
        self.gates = self._balancer_gates()

    def _attach_caches(self) -> None:
        """Every cache operation of every program gets its cache's model."""
        for server in self.servers.values():
            for programs in (server.programs, server.tls_programs or ()):
                for program in programs:
                    for op in program.ops:
                        if op.kind in (CACHE_OP, FILL_OP):
                            op.store = self.caches[op.cache]

    # ------------------------------------------------------------------ edges

    def _edge(self, source: str, target: str, slot: int) -> Edge:
        spec = self.edge_specs[(source, target)]
        edge = self.edges.get(spec.id)
        if edge is None:
            edge = Edge(self.ctx, spec, self._spikes.get(spec.id, []), slot)
            self.edges[spec.id] = edge
        return edge

    def _sender(
        self,
        edge: Edge,
        arrive: Send,
        pool_spec: ConnectionPool | None,
        listener: Listener | None,
        tls: Tls | None,
    ) -> Send:
        """The send function of an edge into a node (with connection set-up)."""
        send = edge.connect_event(arrive)
        if not self.options.connected or listener is None:
            return send
        pool = Pool(self.ctx, pool_spec, listener) if pool_spec is not None else None
        round_trips = tls.round_trips if tls is not None else 0
        return connecting_sender(self.ctx, edge, send, pool, round_trips)

    def _balancer(self, spec: Any) -> LoadBalancer:
        ctx = self.ctx
        listener = None
        if self.options.connected:
            ram_mb = spec.resources.ram_mb if spec.resources is not None else math.inf
            listener = Listener(ctx, spec.id, spec.resources, Resource(ram_mb))
        sends = [
            self._sender(
                self._edge(spec.id, sid, HOP_BALANCER),
                self.servers[sid].arrive,
                spec.connection_pool,
                self.servers[sid].listener,
                self.server_specs[sid].tls,
            )
            for sid in spec.server_covered
        ]
        policy = self.options.policies.get(spec.id) or make_any_policy(
            spec.algorithms,
            spec.server_covered,
            spec.weights,
            lambda purpose: ctx.streams.generator(f"balancer:{spec.id}:{purpose}"),
            [service_rate(self.server_specs[sid]) for sid in spec.server_covered],
        )
        servers: list[ServerView] = [
            self.views.get(s) or self.servers[s] for s in spec.server_covered
        ]
        replicas = any(s in self.views for s in spec.server_covered)
        health = self._health(spec)
        if isinstance(policy, LeastConnection) and not self.options.connected and not replicas:
            # Connection counts are not reported, nor is a replica's place in rotation:
            # there it scans.
            watched = [self.servers[s] for s in spec.server_covered]
            policy.track(health.views if health is not None else watched)
        if health is not None:
            servers = list(health.views)
        return LoadBalancer(ctx, spec.id, policy, servers, sends, listener)

    def _health(self, spec: Any) -> BalancerHealth | None:
        """The health checks and outlier ejection of a balancer, if it has any."""
        mine = [p for p in self.scenario.policies if p.target == spec.id]
        checks = next((p for p in mine if p.type == "health_check"), None)
        ejection = next((p for p in mine if p.type == "outlier_ejection"), None)
        if checks is None and ejection is None:
            return None
        covered = [self.servers[s] for s in spec.server_covered]
        health = BalancerHealth(self.ctx, spec.id, covered, checks, ejection)
        self.health[spec.id] = health
        return health

    def _balancer_gates(self) -> dict[str, BalancerRateGate]:
        """Token buckets in front of the balancers that have rate limits."""
        workload_ids = [w.id for w in self.scenario.workload_list]
        gates = {}
        for balancer_id, balancer in self.balancers.items():
            rates = [
                p
                for p in self.scenario.policies
                if p.type == "rate_limit" and p.target == balancer_id
            ]
            if rates:
                buckets = buckets_by_workload(rates, workload_ids)
                gates[balancer_id] = BalancerRateGate(
                    self.ctx, balancer_id, buckets, balancer.arrive
                )
        return gates

    def _send_to(self, caller: Any, target_id: str) -> Send:
        """How ``caller`` sends calls to ``target_id`` (one sender per pair, pools shared)."""
        key = (caller.id, target_id)
        send = self._senders.get(key)
        if send is None:
            edge = self._edge(caller.id, target_id, HOP_OUT)
            nodes = self.scenario.topology_graph.nodes
            target: Any = self.balancers.get(target_id) or self.nodes[target_id]
            if isinstance(target, StoreNode):
                send = self._store_sender(caller, target, edge)
                self._senders[key] = send
                return send
            if isinstance(target, LoadBalancer):
                tls = self.balancer_specs[target_id].tls
            else:
                tls = self.server_specs[target_id].tls
            if caller is self.client:
                pool = nodes.client.connection_pool
            else:
                pool = self.server_specs[caller.id].connection_pool
            rate_gate = self.gates.get(target_id)  # a balancer's rate limit, in front of it
            arrive = rate_gate.arrive if rate_gate is not None else target.arrive
            gate = self.options.gates.get(target_id)  # a learning environment's pause
            if gate is not None:
                arrive = gate(arrive)
            if isinstance(target, LoadBalancer) and self._fusable(target_id):
                send = edge.connect(target.forward)
            else:
                send = self._sender(edge, arrive, pool, target.listener, tls)
            self._senders[key] = send
        return send

    def _store_sender(self, caller: Any, target: StoreNode, edge: Edge) -> Send:
        """How a server sends queries to a database (through its pool, if it has one)."""
        send = edge.connect_event(target.arrive)
        if not isinstance(target, Database) or caller is self.client:
            return send
        spec = self.server_specs[caller.id]
        for pool_spec in spec.database_pools:
            if pool_spec.database == target.id:
                pool_id = spec.pool_id(pool_spec)
                pool = DbPool(self.ctx, pool_id, pool_spec, target, send)
                pool.server_id = caller.id
                self.pools[pool_id] = pool
                return pool.send
        return send

    def _fusable(self, balancer_id: str) -> bool:
        """Whether a balancer can choose when a call is sent instead of when it arrives."""
        spec = self.balancer_specs.get(balancer_id)
        if spec is None or self.options.connected or balancer_id in self.gates:
            return False
        if balancer_id in self.options.policies or balancer_id in self.options.gates:
            return False
        if balancer_id in self.health:  # its rotation changes during the run
            return False
        stateless = spec.algorithms in STATELESS_POLICIES
        return stateless and not (set(spec.server_covered) & self.options.outages)

    def _reply_to(self, server: Server, caller: Any) -> tuple[Send, Edge]:
        """How ``server`` sends replies back to ``caller``."""
        edge = self._edge(server.id, caller.id, HOP_REPLY)
        send = self._replies.get(edge.id)
        if send is None:
            if caller is self.client and not self.options.connected and self.timeouts is None:
                # Recorded when sent, ahead of time: only a client that can time out
                # must see a reply arrive in order with its timers.
                send = edge.connect(caller.on_reply)
            else:
                send = edge.connect_event(caller.on_reply)
            self._replies[edge.id] = send
        return send, edge

    # ------------------------------------------------------------------ sites

    def site(
        self, key: str, caller: Any, target_id: str, endpoint: str | None, workload: int
    ) -> CallSite:
        """Lay out a call site and, below it, every site its calls lead to."""
        site = CallSite(
            len(self.sites), key, caller, target_id, endpoint, len(self.nodes), workload
        )
        self.sites.append(site)
        site.send = self._send_to(caller, target_id)
        if self.timeouts is not None:
            self.timeouts.register(site)
        bulkhead = self.bulkheads.get((caller.id, target_id))
        if bulkhead is not None:
            site.send = bulkhead.watching(site.send)
        breaker = self.breakers.get((caller.id, target_id))
        if breaker is not None:
            site.send = breaker.watching(site.send)
            site.breaker = breaker
        if self.retries is not None:
            self._retry_at(site)
        site.out_edge = self._edge(caller.id, target_id, HOP_OUT)
        balancer = self.balancer_specs.get(target_id)
        covered = balancer.server_covered if balancer is not None else (target_id,)
        for server_id in covered:
            server = self.nodes[server_id]
            source = target_id if target_id != server_id else caller.id
            site.inbound[server.index] = self._edge(source, server_id, HOP_OUT)
            site.entries[server.index] = self._entry(site, server)
            site.replies[server.index], site.reply_edges[server.index] = self._reply_to(
                server, caller
            )
        health = self.health.get(target_id)
        if health is not None and health.observes:
            health.watch_site(site, [self.nodes[s].index for s in covered])
        return site

    def _retry_at(self, site: CallSite) -> None:
        """Give a site its retrier: first attempts counted, retries sent as they were."""
        retries: Retries = self.retries  # type: ignore[assignment]
        workload = self.scenario.workload_list[site.workload].id
        retrier = retries.place(site, workload)
        if retrier is None:
            return
        resend = site.send
        if site.caller is self.client and self.timeouts is not None:
            # A request's timeout starts when it leaves its workload; a retry's when it is sent.
            resend = self.timeouts.retry_sender(site.workload, resend)
        site.retry = retrier
        site.send = retrier.watching(site, resend)

    def _entry(self, site: CallSite, server: Server) -> SiteEntry:
        """The plans a server runs for a site: the endpoint named, or every endpoint."""
        reachable = [p for p in server.programs if site.endpoint is None or p.name == site.endpoint]
        plans = [self._plan(site, server, p) for p in reachable]
        tls: dict[int, Plan] | None = None
        if server.tls_programs is not None:
            tls = {
                p.index: self._plan(site, server, server.tls_programs[p.index]) for p in reachable
            }
        fixed = plans[0] if len(plans) == 1 else None
        picks = None if fixed is not None else self._table(f"{site.key}:pick", PICK, "")
        bodies = site.inbound[server.index].link is not None
        if tls is not None:
            return SiteEntry(plans, fixed, picks, tls, bodies)
        key = (site.index, bodies, *(id(p) for p in plans))  # the plans live in self._plans
        entry = self._entries.get(key)
        if entry is None:
            entry = self._entries[key] = SiteEntry(plans, fixed, picks, None, bodies)
        return entry

    def _plan(self, site: CallSite, server: Server, program: Program) -> Plan:
        key = shared_key(program)
        if key is None:
            return self._new_plan(site, server, program)
        plan = self._plans.get((site.index, key))
        if plan is None:
            plan = self._plans[(site.index, key)] = self._new_plan(site, server, program)
        return plan

    def _new_plan(self, site: CallSite, server: Server, program: Program) -> Plan:
        table = None
        if program.columns:
            name = f"{site.key}:{program.name}"
            table = self._table(name, program.columns, program.signature)
        plan = Plan(program, table)
        for pc, op in enumerate(program.ops):
            if op.kind == CALL_OP or (op.kind == CACHE_OP and not op.local):
                keys = (f"{site.key}>{program.name}@{pc}.{i}" for i in range(len(op.calls)))
                plan.children[pc] = tuple(
                    self.site(key, server, target, ep, site.workload)
                    for key, (target, ep) in zip(keys, op.calls, strict=True)
                )
        return plan

    def _table(self, name: str, columns: tuple[Any, ...], signature: str) -> WorkTable:
        key = f"{name}|{signature}"
        table = self._tables.get(key)
        if table is None:
            # Same draws, same table: replicas of an endpoint share it.
            table = WorkTable(self.ctx.streams, key, columns)
            self._tables[key] = table
        return table

    # ------------------------------------------------------------------ the whole run

    def build(self) -> Runtime:
        """Wire workloads, sites, edges and faults; return the runtime graph."""
        scenario = self.scenario
        client = self.client
        generators = []
        entries = [e.target for e in scenario.topology_graph.edges if e.source == client.id]
        for index, workload in enumerate(scenario.workload_list):
            target = workload.target if workload.target is not None else entries[0]
            key = f"workload:{workload.id}"
            site = self.site(key, client, target, workload.endpoint, index)
            edge = self._edge(workload.id, client.id, HOP_GENERATOR)
            site.generator_edge = edge.id
            forward = client.forward
            connected = self.options.connected
            send = edge.connect_event(forward) if connected else edge.connect(forward)
            if self.timeouts is not None:
                send = self.timeouts.request_sender(index, send)
            generators.append(Generator(self.ctx, workload, index, site, send))
        for event in scenario.events:
            if event.is_outage:
                server = self.nodes[event.target_id]
                self.ctx.kernel.schedule(event.start.t_start, server.go_down)
                self.ctx.kernel.schedule(event.t_end, server.go_up)
            elif event.is_flush:
                self.ctx.kernel.schedule(event.start.t_start, self.caches[event.target_id].flush)
        for health in self.health.values():
            health.start()
        for spec in scenario.topology_graph.edges:
            if spec.id not in self.edges:  # an edge no call or reply takes: its levels stay 0
                self._edge(spec.source, spec.target, HOP_OUT)
        runtime = Runtime(
            client,
            self.servers,
            self.balancers,
            self.edges,
            generators,
            self.sites,
            self.databases,
            self.cache_nodes,
            self.caches,
            self.pools,
        )
        runtime.groups = self.groups
        runtime.timeouts = self.timeouts
        runtime.bulkheads = self.bulkheads
        runtime.health = self.health
        runtime.retries = self.retries
        runtime.breakers = self.breakers
        return runtime


def _spikes(scenario: Scenario) -> dict[str, list[tuple[float, float, float]]]:
    spikes: dict[str, list[tuple[float, float, float]]] = {}
    for event in scenario.events:
        if event.start.kind == "network_spike_start":
            spike = event.start.spike_s or 0.0
            spikes.setdefault(event.target_id, []).append((event.start.t_start, event.t_end, spike))
    return spikes
