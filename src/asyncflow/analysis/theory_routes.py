"""Where requests go, for the theory: offered rates, routes, and what servers demand.

A request of a workload follows edges from the workload to the client, then
to a load balancer (which picks a server: equal shares, or by weight for
``weighted_round_robin``) or straight to a server, and from the server back to
the client. Each such path is a :class:`Route` with the share of the
workload's requests that take it. :class:`Demand` is what one request asks of
a server: its CPU operations (consecutive CPU steps form one, as in the
engine), I/O time, RAM and body sizes, mixed over the endpoints by weight.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import numpy as np

if TYPE_CHECKING:
    from asyncflow.scenario import Edge, LoadBalancer, Scenario, Server, Step, Workload

__all__ = ["KIB", "Demand", "Route", "demand_of", "offered_rate", "routes", "scv_of"]

KIB: Final = 1024.0
"""Bytes in the KB of ``request_kb`` and ``response_kb``."""

_MAX_HOPS: Final = 32


@dataclass(frozen=True, slots=True)
class Route:
    """One way a workload's requests go: to a server and back.

    Attributes:
        workload: The workload's id.
        probability: Share of the workload's requests that take it.
        server: The server that serves them.
        balancer: The load balancer that chose the server, if any.
        arrival_scv: Squared coefficient of variation of the gaps between
            the route's arrivals at the server (1 for Poisson; ``1/n`` for
            every n-th arrival of a Poisson stream, as round robin sends).
        inbound: Edge ids from the workload to the server, in order.
        outbound: Edge ids from the server back to the client.
    """

    workload: str
    probability: float
    server: str
    balancer: str | None
    arrival_scv: float
    inbound: tuple[str, ...]
    outbound: tuple[str, ...]

    @property
    def edges(self) -> tuple[str, ...]:
        """Every edge of the route, in order."""
        return self.inbound + self.outbound


def offered_rate(workload: Workload, start_s: float, end_s: float) -> float:
    """Mean requests per second a workload offers over ``[start_s, end_s]``."""
    points = workload.users_profile
    if not points:
        users = workload.avg_active_users.moments()[0]
        return users * workload.requests_per_second_per_user
    cuts = sorted({start_s, end_s, *(p.t_s for p in points if start_s < p.t_s < end_s)})
    area = 0.0
    for a, b in itertools.pairwise(cuts):
        left, right = workload.mean_users_at(a), workload.mean_users_at(float(np.nextafter(b, a)))
        area += (b - a) * 0.5 * (left + right)
    return area / (end_s - start_s) * workload.requests_per_second_per_user


def routes(scenario: Scenario) -> list[Route]:
    """Every route of every workload, with its share of the workload's requests."""
    graph = _Graph(scenario)
    found: list[Route] = []
    for workload in scenario.workload_list:
        graph.entry = workload.target
        found += graph.walk(workload.id, workload.id, 1.0, (), None, 1.0, 0)
    return found


class _Graph:
    def __init__(self, scenario: Scenario) -> None:
        nodes = scenario.topology_graph.nodes
        self.client = nodes.client.id
        self.servers = {s.id for s in nodes.servers}
        self.balancers: dict[str, LoadBalancer] = {b.id: b for b in nodes.balancers}
        self.out: dict[str, list[Edge]] = defaultdict(list)
        for edge in scenario.topology_graph.edges:
            self.out[edge.source].append(edge)
        self.entry: str | None = None  # the walked workload's entry node, when it names one

    def walk(
        self,
        workload: str,
        node: str,
        probability: float,
        edges: tuple[str, ...],
        balancer: str | None,
        scv: float,
        hops: int,
    ) -> list[Route]:
        if hops > _MAX_HOPS or probability <= 0.0:
            return []
        if node in self.servers:
            back = self._way_back(node)
            return [Route(workload, probability, node, balancer, scv, edges, back)]
        found: list[Route] = []
        if node in self.balancers:
            lb = self.balancers[node]
            for server, share, edge, split_scv in self._choices(lb):
                found += self.walk(
                    workload, server, probability * share, (*edges, edge), node, split_scv, hops + 1
                )
            return found
        outgoing = self.out.get(node, [])
        if node == self.client and self.entry is not None:
            # The client sends the workload's requests to its entry node only.
            outgoing = [e for e in outgoing if e.target == self.entry]
        for link in outgoing:
            share = probability / len(outgoing)
            found += self.walk(
                workload, link.target, share, (*edges, link.id), balancer, scv, hops + 1
            )
        return found

    def _choices(self, lb: LoadBalancer) -> Iterator[tuple[str, float, str, float]]:
        """(server, share, edge id, arrival scv) for each server the balancer covers."""
        covered = lb.server_covered
        weights = lb.weights or {}
        total = sum(weights.get(s, 1.0) for s in covered)
        by_target = {e.target: e.id for e in self.out.get(lb.id, [])}
        for server in covered:
            share = weights.get(server, 1.0) / total
            if lb.algorithms == "round_robin":
                scv = 1.0 / len(covered)  # every n-th arrival: Erlang-n gaps
            elif lb.algorithms == "weighted_round_robin":
                scv = share  # about every (1/share)-th arrival
            else:
                scv = 1.0
            if server in by_target:
                yield server, share, by_target[server], scv

    def _way_back(self, server: str) -> tuple[str, ...]:
        path: list[str] = []
        node = server
        while node != self.client and len(path) < _MAX_HOPS:
            outgoing = self.out.get(node)
            if not outgoing:
                break
            path.append(outgoing[0].id)
            node = outgoing[0].target
        return tuple(path)


@dataclass(frozen=True, slots=True)
class Demand:
    """What one request asks of a server, mixed over its endpoints by weight.

    Attributes:
        cpu_visits: Mean CPU operations per request (each waits for a core).
        op_mean: Mean CPU time of one operation.
        op_scv: Squared coefficient of variation of one operation's CPU time.
        cpu_mean: Mean CPU time of a request (all its operations).
        io_mean: Mean I/O time of a request.
        busy_var: Variance of a request's CPU plus I/O time (no waiting).
        ram_mb: Mean RAM a request reserves.
        ram_max_mb: The largest reservation of any endpoint.
        request_bytes: Mean request body size.
        response_bytes: Mean response body size.
        exponential: Every request has exactly one CPU operation and it is
            exponential with one mean: the core is an M/M/c queue's server.
        io_exponential: Exactly one I/O wait, exponential with one mean, and
            no CPU: the time inside is exponential.
        unmodelled: Step categories the theory does not model.
    """

    cpu_visits: float
    op_mean: float
    op_scv: float
    cpu_mean: float
    io_mean: float
    busy_var: float
    ram_mb: float
    ram_max_mb: float
    request_bytes: float
    response_bytes: float
    exponential: bool
    io_exponential: bool
    unmodelled: tuple[str, ...]


def demand_of(server: Server) -> Demand:
    """The demand of one request at ``server`` (see :class:`Demand`)."""
    weights = np.array([e.weight for e in server.endpoints], dtype=float)
    shares = weights / weights.sum()
    visits = op_m1 = op_m2 = 0.0
    cpu = io = busy_m2 = ram = req = resp = 0.0
    ram_max = 0.0
    op_families: set[tuple[str, float]] = set()
    io_families: set[tuple[str, float]] = set()
    one_op = one_io = no_cpu = True
    unmodelled: set[str] = set()
    for share, endpoint in zip(shares.tolist(), server.endpoints, strict=True):
        ops, io_parts, kinds = _operations(endpoint.steps, unmodelled)
        op_families |= kinds
        one_op &= len(ops) == 1
        one_io &= len(io_parts) == 1
        no_cpu &= not ops
        io_families |= {(f, m) for f, m, _ in io_parts}
        visits += share * len(ops)
        op_m1 += share * sum(m for m, _ in ops)
        op_m2 += share * sum(v + m * m for m, v in ops)
        e_cpu, e_io = sum(m for m, _ in ops), sum(m for _, m, _ in io_parts)
        e_var = sum(v for _, v in ops) + sum(v for _, _, v in io_parts)
        cpu += share * e_cpu
        io += share * e_io
        busy_m2 += share * (e_var + (e_cpu + e_io) ** 2)
        ram += share * endpoint.ram_mb
        ram_max = max(ram_max, endpoint.ram_mb)
        req += share * endpoint.request_kb * KIB
        resp += share * endpoint.response_kb * KIB
    op_mean = op_m1 / visits if visits else 0.0
    op_scv = (op_m2 / visits) / op_mean**2 - 1.0 if op_mean > 0 else 0.0
    exponential = one_op and len(op_families) == 1 and next(iter(op_families))[0] == "exponential"
    io_exp = no_cpu and one_io and len(io_families) == 1
    io_exp = io_exp and next(iter(io_families))[0] == "exponential"
    return Demand(
        cpu_visits=visits,
        op_mean=op_mean,
        op_scv=max(op_scv, 0.0),
        cpu_mean=cpu,
        io_mean=io,
        busy_var=max(busy_m2 - (cpu + io) ** 2, 0.0),
        ram_mb=ram,
        ram_max_mb=ram_max,
        request_bytes=req,
        response_bytes=resp,
        exponential=exponential,
        io_exponential=io_exp,
        unmodelled=tuple(sorted(unmodelled)),
    )


def _operations(
    steps: tuple[Step, ...], unmodelled: set[str]
) -> tuple[list[tuple[float, float]], list[tuple[str, float, float]], set[tuple[str, float]]]:
    """CPU operations ``(mean, var)``, I/O operations ``(family, mean, var)`` and CPU families."""
    ops: list[tuple[float, float]] = []
    io_parts: list[tuple[str, float, float]] = []
    families: set[tuple[str, float]] = set()
    previous = ""
    for step in steps:
        category: str = step.category
        if category in ("cpu", "io"):
            duration = step.duration
            mean, var = duration.moments()
            if category == "cpu":
                families.add((duration.distribution, mean))
                if previous == "cpu":
                    m, v = ops[-1]
                    ops[-1] = (m + mean, v + var)
                    families.add(("sum", mean))
                else:
                    ops.append((mean, var))
            elif previous == "io":
                _, m, v = io_parts[-1]
                io_parts[-1] = ("sum", m + mean, v + var)
            else:
                io_parts.append((duration.distribution, mean, var))
            previous = category
        elif category != "ram":
            unmodelled.add(category)
    return ops, io_parts, families


def scv_of(mean: float, var: float) -> float:
    """Squared coefficient of variation (0 for a zero mean)."""
    return var / (mean * mean) if mean > 0 and math.isfinite(var) else 0.0
