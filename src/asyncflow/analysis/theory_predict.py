"""The figures theory predicts, and the mean value analysis table of a solved network.

Every prediction is keyed by the path of the summary figure it predicts, so
a run's summary or an ensemble's means can be set beside it figure by figure.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from asyncflow.analysis import queueing
from asyncflow.analysis.theory import PERCENTILES, Prediction, Station, _ServerModel

if TYPE_CHECKING:
    from asyncflow.analysis.theory import _Network
    from asyncflow.analysis.theory_routes import Route

__all__ = ["predictions_of", "stations_of"]

UTILIZATION_LAW = "utilisation law (λ·E[S] / c)"
FLOW_BALANCE = "flow balance (arrivals less drops and refusals)"
MVA = "open network, mean value analysis"


def predictions_of(network: _Network, caveats: dict[str, tuple[str, ...]]) -> list[Prediction]:
    """Every figure theory predicts for this network.

    Args:
        network: The solved network.
        caveats: Sentences by node, most telling first; ``""``: the whole run's.
    """
    horizon = float(network.scenario.sim_settings.total_simulation_time)
    everything = caveats.get("", ())
    found: list[Prediction] = []
    for sid, model in network.servers.items():
        found += _server_predictions(model, horizon, caveats.get(sid, everything))
    for bid, lb in network.balancers.items():
        value = lb.arrival_rate_rps * lb.blocked * horizon
        found.append(Prediction(("load_balancers", bid, "refused"), value, lb.model, lb.exact))
    for eid, link in network.links.items():
        transit = network.transit(eid)
        if transit is not None:
            path = ("edges", eid, "transit_s_mean")
            found.append(Prediction(path, transit, link.model, link.exact))
    found += _network_predictions(network, everything)
    return found


def _server_predictions(
    model: _ServerModel, horizon: float, caveats: tuple[str, ...]
) -> list[Prediction]:
    sid = model.server.id
    cores = model.server.server_resources.cpu_cores
    found: list[Prediction] = []
    cpu, ram, conn = model.cpu, model.ram, model.connections
    if cpu is not None:
        busy = min(model.admitted * model.demand.cpu_mean / cores, 1.0)
        found.append(Prediction(("servers", sid, "cpu_utilization"), busy, UTILIZATION_LAW, True))
        wait = model.cpu_wait
        if wait is not None:
            path = ("servers", sid, "cpu_wait_s_mean")
            found.append(Prediction(path, wait, cpu.model, cpu.exact, caveats))
    if ram is not None and ram.wait_s_mean is not None:
        exact = ram.exact or ram.wait_s_mean == 0.0
        path = ("servers", sid, "ram_wait_s_mean")
        found.append(Prediction(path, ram.wait_s_mean, ram.model, exact, caveats))
    service = model.service
    if service is not None:
        names = [m.model for m in (cpu, ram) if m is not None and (m is cpu or m.wait_s_mean)]
        exact = _exact_service(model)
        path = ("servers", sid, "service_s_mean")
        found.append(Prediction(path, service, " + ".join(names) or "delay", exact, caveats))
    if conn is not None:
        refused = conn.arrival_rate_rps * conn.blocked * horizon
        found.append(Prediction(("servers", sid, "refused"), refused, conn.model, conn.exact))
        if conn.wait_s_mean is not None and conn.wait_s_mean > 0:
            path = ("servers", sid, "connection_wait_s_mean")
            found.append(Prediction(path, conn.wait_s_mean, conn.model, conn.exact, caveats))
    return found


def _exact_service(model: _ServerModel) -> bool:
    cpu_exact = model.cpu is None or model.cpu.exact
    ram_exact = model.ram is None or model.ram.exact or model.ram.wait_s_mean == 0.0
    return cpu_exact and ram_exact and model.connections is None


def _stable(network: _Network) -> bool:
    return all(m.inside is not None for m in network.servers.values()) and all(
        network.transit(e) is not None for e in network.links
    )


def _success(network: _Network, route: Route) -> float:
    """Requests per second of a route that complete."""
    server = network.servers.get(route.server)
    refused = server.connections.blocked if server and server.connections else 0.0
    kept = 1.0 - network.balancer_blocked(route.balancer)
    return (
        network.rates[route.workload]
        * route.probability
        * network.survival(route.edges)
        * kept
        * (1.0 - refused)
    )


def _network_predictions(network: _Network, caveats: tuple[str, ...]) -> list[Prediction]:
    if not network.routes or not _stable(network):
        return []
    exact = all(_exact_service(m) for m in network.servers.values()) and all(
        abs(r.arrival_scv - 1.0) < 1e-12 for r in network.routes
    )
    found = _latency_and_throughput(network, network.routes, (), exact, caveats)
    workloads = [w.id for w in network.scenario.workload_list]
    if len(workloads) > 1:
        for wid in workloads:
            mine = [r for r in network.routes if r.workload == wid]
            found += _latency_and_throughput(network, mine, ("workloads", wid), exact, caveats)
    found += _percentiles(network, caveats)
    return found


def _latency_and_throughput(
    network: _Network,
    routes: list[Route],
    prefix: tuple[str, ...],
    exact: bool,
    caveats: tuple[str, ...],
) -> list[Prediction]:
    rates = [_success(network, r) for r in routes]
    total = math.fsum(rates)
    path = (*prefix, "throughput_rps", "mean")
    found = [Prediction(path, total, FLOW_BALANCE, True, caveats)]
    times = [network.route_time(r) for r in routes]
    if total > 0 and all(t is not None for t in times):
        mean = math.fsum(w * t for w, t in zip(rates, times, strict=True) if t is not None)
        found.append(Prediction((*prefix, "latency_s", "mean"), mean / total, MVA, exact, caveats))
    return found


def _percentiles(network: _Network, caveats: tuple[str, ...]) -> list[Prediction]:
    """Latency percentiles, where every path is M/M/c cores and constant delays."""
    scenario = network.scenario
    if len(scenario.workload_list) != 1 or scenario.events:
        return []
    workload = scenario.workload_list[0]
    if workload.users_profile or workload.avg_active_users.distribution != "deterministic":
        return []
    if workload.bursty:
        return []
    edges = network.edges
    parts: list[tuple[float, int, float, float, float]] = []
    for route in network.routes:
        model = network.servers.get(route.server)
        if model is None or not _pure_mmc(model, route):
            return []
        path = [edges[e] for e in route.edges]
        if any(
            e.latency.distribution != "deterministic" or e.dropout_rate or e.bandwidth_mbps
            for e in path
        ):
            return []
        offset = math.fsum(e.latency.moments()[0] for e in path)
        cpu = model.cpu
        if cpu is None:
            return []
        parts.append(
            (route.probability, cpu.servers, cpu.arrival_rate_rps, cpu.service_s_mean, offset)
        )
    if not parts:
        return []
    model_name = "M/M/c time in system"
    return [
        Prediction(
            ("latency_s", f"p{p}"),
            queueing.mixture_quantile(parts, p / 100.0),
            model_name,
            True,
            caveats,
        )
        for p in PERCENTILES
    ]


def _pure_mmc(model: _ServerModel, route: Route) -> bool:
    cpu = model.cpu
    ram_binds = model.ram is not None and (model.ram.wait_s_mean or 0.0) > 0.0
    return (
        cpu is not None
        and cpu.exact
        and cpu.model.startswith("M/M/")
        and cpu.wait_s_mean is not None
        and model.demand.io_mean == 0.0
        and model.connections is None
        and not ram_binds
        and abs(route.arrival_scv - 1.0) < 1e-12
    )


def stations_of(network: _Network) -> list[Station]:
    """The open network's stations with visits, demands, utilisations and residence times."""
    total = math.fsum(network.rates.values())
    if total <= 0:
        return []
    found: list[Station] = []
    for sid, model in network.servers.items():
        found += _server_stations(sid, model, model.admitted / total)
    edge_rates: dict[str, float] = {}
    for route in network.routes:
        for e in route.edges:
            edge_rates[e] = edge_rates.get(e, 0.0) + network.route_rate(route)
    for eid, rate in edge_rates.items():
        visits = rate / total
        latency = float(network.edges[eid].latency.moments()[0])
        link = network.links.get(eid)
        transit = network.transit(eid)
        kind = "processor sharing" if link is not None else "delay"
        demand = visits * (latency + (link.service_s_mean if link is not None else 0.0))
        residence = None if transit is None else visits * transit
        busy = link.utilization if link is not None else 0.0
        found.append(Station(f"edge {eid}", kind, visits, demand, busy, residence))
    return found


def _server_stations(sid: str, model: _ServerModel, share: float) -> list[Station]:
    found: list[Station] = []
    demand = model.demand
    if model.connections is not None and model.connections.wait_s_mean:
        conn = model.connections
        residence = share * conn.wait_s_mean if conn.wait_s_mean is not None else None
        found.append(Station(f"{sid} backlog", "queue", share, 0.0, conn.utilization, residence))
    if model.ram is not None:
        ram = model.ram
        wait = ram.wait_s_mean
        found.append(
            Station(
                f"{sid} ram wait",
                "queue",
                share,
                share * ram.service_s_mean,
                ram.utilization,
                None if wait is None else share * wait,
            )
        )
    if model.cpu is not None:
        cpu = model.cpu
        visits = share * demand.cpu_visits
        wait = cpu.wait_s_mean
        residence = None if wait is None else visits * (wait + cpu.service_s_mean)
        found.append(
            Station(
                f"{sid} cpu",
                "queue",
                visits,
                visits * cpu.service_s_mean,
                cpu.utilization,
                residence,
            )
        )
    if demand.io_mean > 0:
        io = share * demand.io_mean
        found.append(Station(f"{sid} io", "delay", share, io, 0.0, io))
    return found
