"""Theory beside the simulation: queueing models of a scenario and what they predict.

:func:`theory_of` reads a scenario (never a run) and models each resource
that requests queue for:

- the cores of each server: one FIFO ready queue shared by ``cpu_cores``
  cores. Poisson arrivals and exponential CPU time make it M/M/c (Erlang C,
  exact; M/M/1 with one core); one core and any CPU time, M/G/1 by
  Pollaczek–Khinchine (exact); otherwise G/G/c by Allen–Cunneen (an
  approximation). Round robin sends every n-th arrival to a server, whose
  gaps then have ``ca² = 1/n``.
- the RAM of each server, as slots (``ram_mb`` over the RAM a request
  reserves) held for the time a request is inside: M/M/c or Allen–Cunneen's
  M/G/c on the slots.
- socket limits (``max_connections``) of servers and load balancers:
  Erlang B when there is no backlog (a loss system, exact for Poisson
  arrivals whatever the holding time), M/M/c/K with one, Erlang C's M/M/c
  when the backlog never fills.
- links with a bandwidth: processor sharing (mean transfer ``E[S]/(1-ρ)``).

The request's path is an open network of these stations: mean value
analysis (the Jackson decomposition: each station on its own, with the
rates the routes give it) sums the residence time of each to the mean
latency; flow balance gives the throughput. Where every station on the path
is M/M/c with constant network delays, the latency percentiles follow too.

Each model names its assumptions and its caveats (when and why a run
differs from it: RAM admission, faults, time-varying load, short runs).
:mod:`asyncflow.analysis.theory_compare` sets the predictions beside what a
run or an ensemble measured.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from asyncflow.analysis import queueing
from asyncflow.analysis.theory_routes import Demand, Route, demand_of, offered_rate, routes, scv_of

if TYPE_CHECKING:
    from asyncflow.scenario import ConnectionLimits, Edge, Scenario, Server

__all__ = ["PERCENTILES", "Prediction", "QueueModel", "Station", "Theory", "theory_of"]

PERCENTILES: Final = (50, 90, 95, 99)
RAM_WAIT_LIMIT: Final = 0.05
"""Share of arrivals finding RAM full up to which the core model is said to hold."""
_ITERATIONS: Final = 12
_NEGLIGIBLE_WAIT: Final = 1e-9
"""A RAM wait below this share of the holding time is reported as 0 (it never happens)."""
_NEVER_FULL: Final = 1e-9
"""A backlog refusing fewer arrivals than this share is treated as never full."""


@dataclass(frozen=True, slots=True)
class QueueModel:
    """One resource of one node seen as a queue.

    Attributes:
        node: The node's id.
        resource: ``cpu``, ``ram``, ``connections`` or ``link``.
        model: The model's name, e.g. ``M/M/1`` or ``M/G/4 (Allen–Cunneen)``.
        servers: Servers of the queue (cores, RAM slots, sockets; 1 for a link).
        arrival_rate_rps: Arrivals per second at the queue.
        service_s_mean: Mean holding (service) time.
        service_scv: Squared coefficient of variation of the service time.
        arrival_scv: Squared coefficient of variation of the gaps between arrivals.
        utilization: Offered load per server (``λ E[S] / c``; above 1: overloaded).
        wait_s_mean: Mean wait of an admitted arrival; ``None`` when overloaded.
        blocked: Share of arrivals refused (loss and finite models), else 0.
        exact: Whether the figures are exact under the assumptions.
        assumptions: What the model takes for granted, one phrase each.
    """

    node: str
    resource: str
    model: str
    servers: int
    arrival_rate_rps: float
    service_s_mean: float
    service_scv: float
    arrival_scv: float
    utilization: float
    wait_s_mean: float | None
    blocked: float
    exact: bool
    assumptions: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready fields (without ``node`` and ``resource``, the keys it is filed under)."""
        return {
            "model": self.model,
            "servers": self.servers,
            "arrival_rate_rps": self.arrival_rate_rps,
            "service_s_mean": self.service_s_mean,
            "service_scv": self.service_scv,
            "arrival_scv": self.arrival_scv,
            "utilization": self.utilization,
            "wait_s_mean": self.wait_s_mean,
            "blocked": self.blocked,
            "exact": self.exact,
            "assumptions": list(self.assumptions),
        }


@dataclass(frozen=True, slots=True)
class Station:
    """One row of the mean value analysis: a station of the open network.

    Attributes:
        name: ``<node> cpu``, ``<node> io``, ``<node> ram wait``, ``edge <id>``...
        kind: ``queue`` (requests wait), ``delay`` (no waiting) or
            ``processor sharing``.
        visits: Visits per request (a share of requests, or operations per request).
        demand_s: Service demand per request, ``visits × E[S]``.
        utilization: Busy share of each of its servers (0 for delays).
        residence_s: Mean time per request spent there, waits included.
    """

    name: str
    kind: str
    visits: float
    demand_s: float
    utilization: float
    residence_s: float | None


@dataclass(frozen=True, slots=True)
class Prediction:
    """What theory says a figure of the summary should be.

    Attributes:
        path: The figure's keys in the summary, e.g. ``("latency_s", "p95")``.
        value: The predicted value, in the figure's unit.
        model: The model that gives it.
        exact: Whether it is exact under the model's assumptions.
        caveats: When and why a run may differ, one sentence each.
    """

    path: tuple[str, ...]
    value: float
    model: str
    exact: bool
    caveats: tuple[str, ...] = ()

    @property
    def figure(self) -> str:
        """The figure's dotted path."""
        return ".".join(self.path)


@dataclass(frozen=True, slots=True)
class Theory:
    """The models of a scenario and their predictions.

    Attributes:
        queues: The queue model of each modelled resource, by node.
        stations: The open network's stations (mean value analysis).
        predictions: Figures of the summary that theory predicts.
        notes: Sentences on when and why runs differ from the models.
        network_model: The name of the network model.
        assumptions: The network model's assumptions.
    """

    queues: tuple[QueueModel, ...]
    stations: tuple[Station, ...]
    predictions: tuple[Prediction, ...]
    notes: tuple[str, ...]
    network_model: str = "open network, mean value analysis"
    assumptions: tuple[str, ...] = ()


# --------------------------------------------------------------------------- servers


@dataclass
class _ServerModel:
    """The models of one server at given arrival rate and arrival variability."""

    server: Server
    demand: Demand
    arrivals: float
    arrival_scv: float
    cpu: QueueModel | None = None
    ram: QueueModel | None = None
    connections: QueueModel | None = None
    caveats: list[str] = field(default_factory=list)

    @property
    def admitted(self) -> float:
        blocked = self.connections.blocked if self.connections is not None else 0.0
        return self.arrivals * (1.0 - blocked)

    @property
    def cpu_wait(self) -> float | None:
        """Mean core wait of a request (every operation's wait added)."""
        if self.cpu is None:
            return 0.0
        if self.cpu.wait_s_mean is None:
            return None
        return self.demand.cpu_visits * self.cpu.wait_s_mean

    @property
    def holding(self) -> float | None:
        """Mean time a request holds its RAM: core waits, CPU and I/O."""
        wait = self.cpu_wait
        return None if wait is None else wait + self.demand.cpu_mean + self.demand.io_mean

    @property
    def ram_wait(self) -> float | None:
        if self.ram is None:
            return 0.0
        return self.ram.wait_s_mean

    @property
    def service(self) -> float | None:
        """Mean time from admission to leaving (the summary's ``service_s_mean``)."""
        hold, ram = self.holding, self.ram_wait
        return None if hold is None or ram is None else hold + ram

    @property
    def inside(self) -> float | None:
        """Mean time from arrival at the listener to leaving: service plus backlog wait."""
        service = self.service
        backlog = self.connections.wait_s_mean if self.connections is not None else 0.0
        return None if service is None or backlog is None else service + backlog


def _cpu_model(server: Server, demand: Demand, rate: float, ca2: float) -> QueueModel | None:
    if demand.cpu_visits <= 0 or demand.op_mean <= 0:
        return None
    cores = server.server_resources.cpu_cores
    lam = rate * demand.cpu_visits
    mean, cs2 = demand.op_mean, demand.op_scv
    rho = lam * mean / cores
    single = demand.cpu_visits == 1.0
    poisson = abs(ca2 - 1.0) < 1e-12
    if poisson and demand.exponential:
        name, exact = f"M/M/{cores}", True
    elif poisson and cores == 1:
        name, exact = "M/G/1 (Pollaczek–Khinchine)", single
    else:
        letter = "M" if poisson else "G"
        name, exact = f"{letter}/G/{cores} (Allen–Cunneen)", False
    wait = queueing.allen_cunneen_wait(cores, lam, mean, ca2, cs2) if rho < 1 else None
    return QueueModel(
        server.id,
        "cpu",
        name,
        cores,
        lam,
        mean,
        cs2,
        ca2,
        rho,
        wait,
        0.0,
        exact,
        _cpu_assumptions(cores, rate, ca2, demand),
    )


def _arrivals_phrase(rate: float, ca2: float) -> str:
    if abs(ca2 - 1.0) < 1e-12:
        return f"Poisson arrivals at {rate:.4g} req/s"
    return f"arrivals at {rate:.4g} req/s, less variable than Poisson (ca² = {ca2:.3g})"


def _cpu_assumptions(cores: int, rate: float, ca2: float, demand: Demand) -> tuple[str, ...]:
    shape = "exponential" if demand.exponential else f"cs² = {demand.op_scv:.3g}"
    found = [
        _arrivals_phrase(rate, ca2),
        f"CPU time per operation: mean {demand.op_mean * 1000:.4g} ms, {shape}",
        f"one FIFO ready queue shared by {cores} core{'s' if cores > 1 else ''}",
        "RAM never full",
    ]
    if demand.cpu_visits != 1.0:
        found.append(
            f"{demand.cpu_visits:.3g} CPU operations per request, each queued as a new arrival"
        )
    return tuple(found)


_MAX_RAM_SLOTS = 1e6  # more requests in RAM at once than any run holds: RAM is never full


def _ram_model(model: _ServerModel) -> QueueModel | None:
    demand = model.demand
    hold = model.holding
    if demand.ram_mb <= 0 or hold is None or hold <= 0:
        return None
    ram_mb = model.server.server_resources.ram_mb
    ratio = ram_mb // demand.ram_mb
    if not math.isfinite(ratio) or ratio > _MAX_RAM_SLOTS:
        return None  # requests so small that RAM never fills: no queue to model
    slots = max(1, int(ratio))
    rate, ca2 = model.admitted, model.arrival_scv
    load = rate * hold
    cs2 = scv_of(hold, demand.busy_var)
    poisson = abs(ca2 - 1.0) < 1e-12
    exact = poisson and demand.io_exponential
    name = f"M/M/{slots} on RAM slots" if exact else f"M/G/{slots} on RAM slots (Allen–Cunneen)"
    if load >= slots:
        wait: float | None = None
    elif load + 10.0 * math.sqrt(load) + 10.0 < slots:
        wait = 0.0  # the slots are never all taken
    else:
        wait = queueing.allen_cunneen_wait(slots, rate, hold, ca2, cs2)
        wait = 0.0 if wait < _NEGLIGIBLE_WAIT * hold else wait
    assumptions = [
        _arrivals_phrase(rate, ca2),
        f"{slots} slots: {ram_mb:g} MB of RAM over {demand.ram_mb:g} MB per request",
        f"held for {hold * 1000:.4g} ms on average (core waits, CPU and I/O)",
    ]
    if demand.ram_max_mb != demand.ram_mb:
        assumptions.append("endpoints reserve different amounts: slots from the mean")
    return QueueModel(
        model.server.id,
        "ram",
        name,
        slots,
        rate,
        hold,
        cs2,
        ca2,
        load / slots,
        wait,
        0.0,
        exact,
        tuple(assumptions),
    )


def connection_model(
    node: str,
    limits: ConnectionLimits,
    rate: float,
    hold_s: float,
    ca2: float,
    exponential: bool,
) -> QueueModel | None:
    """The socket limit of a node as a loss system (no backlog) or M/M/c/K (with one)."""
    sockets = limits.max_connections
    if sockets is None or hold_s <= 0 or rate <= 0:
        return None
    room = limits.listen_backlog or 0
    load = rate * hold_s
    poisson = abs(ca2 - 1.0) < 1e-12
    blocked, queued = queueing.finite_queue(sockets, room, load)
    if room == 0:
        name, exact, wait = f"Erlang B (M/G/{sockets}/{sockets})", poisson, 0.0
    elif blocked < _NEVER_FULL and load < sockets:
        # the backlog never fills: the queue of connections is M/M/c (Erlang C)
        name = f"M/M/{sockets} (Erlang C; the backlog of {room} never fills)"
        exact, wait = poisson and exponential, queued / (rate * (1.0 - blocked))
    else:
        name = f"M/M/{sockets}/{sockets + room} (sockets and backlog)"
        exact, wait = poisson and exponential, queued / (rate * (1.0 - blocked))
    assumptions = (
        _arrivals_phrase(rate, ca2),
        f"{sockets} sockets, {room} places in the backlog",
        f"a connection per request, held {hold_s * 1000:.4g} ms on average",
    )
    return QueueModel(
        node,
        "connections",
        name,
        sockets,
        rate,
        hold_s,
        1.0,
        ca2,
        load / sockets,
        wait,
        blocked,
        exact,
        assumptions,
    )


def _server_model(server: Server, arrivals: float, ca2: float, pools: bool) -> _ServerModel:
    """Solve the server's queues together: refusals lower what the cores see, and so on."""
    demand = demand_of(server)
    model = _ServerModel(server, demand, arrivals, ca2)
    for _ in range(_ITERATIONS):
        model.cpu = _cpu_model(server, demand, model.admitted, ca2)
        model.ram = _ram_model(model)
        service = model.service
        limits = server.server_resources
        if pools or service is None or limits.max_connections is None:
            model.connections = None
            break
        exponential = demand.io_exponential and model.ram_wait == 0.0
        before = model.connections.blocked if model.connections is not None else -1.0
        model.connections = connection_model(server.id, limits, arrivals, service, ca2, exponential)
        if model.connections is None or abs(model.connections.blocked - before) < 1e-12:
            break
    return model


# --------------------------------------------------------------------------- the network


@dataclass
class _Network:
    """Routes, rates and the solved models of a whole scenario."""

    scenario: Scenario
    routes: list[Route]
    rates: dict[str, float]  # offered requests per second, by workload
    edges: dict[str, Edge] = field(default_factory=dict)
    servers: dict[str, _ServerModel] = field(default_factory=dict)
    balancers: dict[str, QueueModel] = field(default_factory=dict)
    links: dict[str, QueueModel] = field(default_factory=dict)

    def survival(self, edge_ids: tuple[str, ...]) -> float:
        return math.prod(1.0 - self.edges[e].dropout_rate for e in edge_ids)

    def route_rate(self, route: Route, upto: int | None = None) -> float:
        """Requests per second of a route arriving past its first ``upto`` edges."""
        passed = route.inbound if upto is None else route.inbound[:upto]
        return self.rates[route.workload] * route.probability * self.survival(passed)

    def balancer_blocked(self, balancer: str | None) -> float:
        model = self.balancers.get(balancer) if balancer is not None else None
        return model.blocked if model is not None else 0.0

    def server_arrivals(self) -> dict[str, tuple[float, float]]:
        """Arrival rate and arrival scv at each server (rate-weighted scv)."""
        totals: dict[str, list[float]] = {}
        for route in self.routes:
            rate = self.route_rate(route) * (1.0 - self.balancer_blocked(route.balancer))
            entry = totals.setdefault(route.server, [0.0, 0.0])
            entry[0] += rate
            entry[1] += rate * route.arrival_scv
        return {s: (r, (w / r if r > 0 else 1.0)) for s, (r, w) in totals.items()}

    def transit(self, edge_id: str) -> float | None:
        """Mean time on an edge: its latency plus, with a bandwidth, the shared transfer."""
        latency = float(self.edges[edge_id].latency.moments()[0])
        link = self.links.get(edge_id)
        if link is None:
            return latency
        if link.wait_s_mean is None:
            return None
        return latency + link.wait_s_mean + link.service_s_mean

    def route_time(self, route: Route, edges: tuple[str, ...] | None = None) -> float | None:
        """Mean latency of a request on ``route`` (or on some of its edges, plus the server)."""
        inside = self.servers[route.server].inside if route.server in self.servers else None
        times = [self.transit(e) for e in (route.edges if edges is None else edges)]
        if inside is None or any(t is None for t in times):
            return None
        return inside + math.fsum(t for t in times if t is not None)


def _pooled(scenario: Scenario) -> bool:
    nodes = scenario.topology_graph.nodes
    pools = [nodes.client.connection_pool, *(b.connection_pool for b in nodes.balancers)]
    return any(pool is not None and pool.keep_alive for pool in pools)


def _solve(scenario: Scenario) -> _Network:
    settings = scenario.sim_settings
    start, end = float(settings.warm_up_s), float(settings.total_simulation_time)
    rates = {w.id: offered_rate(w, start, end) for w in scenario.workload_list}
    edges = {e.id: e for e in scenario.topology_graph.edges}
    network = _Network(scenario, routes(scenario), rates, edges)
    pools = _pooled(scenario)
    servers = {s.id: s for s in scenario.topology_graph.nodes.servers}
    for _ in range(_ITERATIONS):
        previous = {b: m.blocked for b, m in network.balancers.items()}
        for sid, (rate, ca2) in network.server_arrivals().items():
            network.servers[sid] = _server_model(servers[sid], rate, ca2, pools)
        network.links = _links(network)
        if pools:
            break
        _balancer_models(network)
        now = {b: m.blocked for b, m in network.balancers.items()}
        if all(abs(now[b] - previous.get(b, -1.0)) < 1e-12 for b in now):
            break
    return network


def _balancer_models(network: _Network) -> None:
    for balancer in network.scenario.topology_graph.nodes.balancers:
        limits = balancer.resources
        if limits is None or limits.max_connections is None:
            continue
        rate = held = 0.0
        for route in network.routes:
            if route.balancer != balancer.id:
                continue
            r = network.route_rate(route, upto=len(route.inbound) - 1)
            time = network.route_time(route, route.inbound[-1:] + route.outbound)
            if time is None:
                return
            rate += r
            held += r * time
        if rate > 0:
            model = connection_model(balancer.id, limits, rate, held / rate, 1.0, False)
            if model is not None:
                network.balancers[balancer.id] = model


def _links(network: _Network) -> dict[str, QueueModel]:
    """Processor-sharing models of the edges that have a bandwidth."""
    load: dict[str, list[float]] = {}
    for route in network.routes:
        rate = network.route_rate(route)
        demand = network.servers[route.server].demand if route.server in network.servers else None
        if demand is None:
            continue
        for edge_id, size in (
            *((e, demand.request_bytes) for e in route.inbound[-1:]),
            *((e, demand.response_bytes) for e in route.outbound[:1]),
        ):
            entry = load.setdefault(edge_id, [0.0, 0.0])
            entry[0] += rate
            entry[1] += rate * size
    links: dict[str, QueueModel] = {}
    for edge_id, (rate, volume) in load.items():
        edge = network.edges[edge_id]
        if edge.bandwidth_mbps is None or rate <= 0 or volume <= 0:
            continue
        capacity = edge.bandwidth_mbps * 1e6 / 8.0
        mean = volume / rate / capacity
        rho = volume / capacity
        wait = mean * rho / (1.0 - rho) if rho < 1 else None
        links[edge_id] = QueueModel(
            edge_id,
            "link",
            "M/G/1 processor sharing",
            1,
            rate,
            mean,
            1.0,
            1.0,
            rho,
            wait,
            0.0,
            True,
            (
                _arrivals_phrase(rate, 1.0),
                f"{edge.bandwidth_mbps:g} Mbit/s shared equally by the transfers in progress",
            ),
        )
    return links


def _unmodelled(scenario: Scenario) -> list[tuple[int, str]]:
    """A sentence per server with steps the models do not know (then nothing is predicted)."""
    found: list[tuple[int, str]] = []
    named = [w.id for w in scenario.workload_list if w.endpoint is not None]
    if named:
        sentence = (
            f"{', '.join(named)}: a workload that names its endpoint is not in the theory yet "
            "(it mixes each server's endpoints by their probability): no figure is predicted."
        )
        found.append((0, sentence))
    for server in scenario.topology_graph.nodes.servers:
        kinds = demand_of(server).unmodelled
        if kinds:
            sentence = (
                f"{server.id}: steps of kind {', '.join(kinds)} are not in the theory yet, and "
                "they change what the other servers see: no figure is predicted."
            )
            found.append((0, sentence))
    return found


def _ranked(notes: list[tuple[int, str]]) -> tuple[str, ...]:
    """The sentences by rank (stable within a rank), each once."""
    ordered = sorted(notes, key=lambda note: note[0])
    return tuple(dict.fromkeys(text for _, text in ordered))


def theory_of(scenario: Scenario) -> Theory:
    """The queueing models of a scenario and the figures they predict.

    Args:
        scenario: The scenario (only its description is read; nothing runs).

    Returns:
        The :class:`Theory`.
    """
    from asyncflow.analysis.theory_notes import caveats_of, scenario_notes
    from asyncflow.analysis.theory_predict import predictions_of, stations_of

    general = scenario_notes(scenario)
    unknown = _unmodelled(scenario)
    if unknown:
        return Theory((), (), (), _ranked([*unknown, *general]), assumptions=())
    network = _solve(scenario)
    by_node = caveats_of(network)
    every = _ranked([*general, *(n for notes in by_node.values() for n in notes)])
    caveats = {
        node: _ranked([*notes, *general, *by_node.get("", [])]) for node, notes in by_node.items()
    }
    caveats[""] = every
    predictions = predictions_of(network, caveats)
    queues = [m for s in network.servers.values() for m in (s.cpu, s.ram, s.connections) if m]
    queues += [*network.balancers.values(), *network.links.values()]
    return Theory(
        queues=tuple(queues),
        stations=tuple(stations_of(network)),
        predictions=tuple(predictions),
        notes=every,
        assumptions=(
            "every station on its own, fed by the rates the routes give it (Jackson network)",
            "steady state: the run long enough and its load constant",
            "mean latency = sum over stations of visits × residence time",
        ),
    )
