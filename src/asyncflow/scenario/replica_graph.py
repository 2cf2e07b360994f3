"""Replica groups in the graph: their rules, and the scenario a run simulates.

A server with ``replicas`` is reached only through the load balancer that
covers it. For a run it becomes ``max_replicas`` servers ``<id>.1`` ...
``<id>.<n>`` (:func:`expand_replicas`): every edge into or out of it is
copied for each replica as ``<edge id>.<k>``, and the balancer covers the
replicas in its place (each with the group's weight). The replicas keep the
``replicas`` block, so a reader of the expanded scenario knows their group.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from asyncflow.scenario._base import NO_VALUE, Loc, Problem

if TYPE_CHECKING:
    from asyncflow.scenario.models import Edge, LoadBalancer, Scenario, Server

__all__ = ["expand_replicas", "replica_ids", "replica_problems"]

_NODES: Loc = ("topology_graph", "nodes")
_EDGES: Loc = ("topology_graph", "edges")


def replica_ids(server_id: str, replicas: int) -> tuple[str, ...]:
    """The ids of a group's replicas."""
    return tuple(f"{server_id}.{k}" for k in range(1, replicas + 1))


def replica_problems(scenario: Scenario) -> list[Problem]:
    """Every problem of the scenario's replica groups (none without groups)."""
    nodes = scenario.topology_graph.nodes
    groups = {s.id: k for k, s in enumerate(nodes.servers) if s.replicas is not None}
    if not groups:
        return []
    problems: list[Problem] = []
    covered = {sid for b in nodes.balancers for sid in b.server_covered}
    balancers = {b.id for b in nodes.balancers}
    for sid, k in groups.items():
        if sid not in covered:
            rule = (
                f"a replica group is reached through a load balancer: add {sid!r} to the "
                "server_covered of one"
            )
            problems.append(((*_NODES, "servers", k, "replicas"), rule, NO_VALUE))
    for i, edge in enumerate(scenario.topology_graph.edges):
        if edge.target in groups and edge.source not in balancers:
            rule = (
                f"only the load balancer covering the replica group {edge.target!r} may send to it"
            )
            problems.append(((*_EDGES, i, "source"), rule, edge.source))
    problems += _event_problems(scenario, groups)
    problems += _id_problems(scenario, groups)
    return problems


def _event_problems(scenario: Scenario, groups: dict[str, int]) -> list[Problem]:
    touching = {
        e.id for e in scenario.topology_graph.edges if e.source in groups or e.target in groups
    }
    problems: list[Problem] = []
    for i, event in enumerate(scenario.events):
        if event.target_id in groups:
            rule = "outages of a replica group are not modelled (its replicas start and stop)"
            problems.append((("events", i, "target_id"), rule, event.target_id))
        elif event.target_id in touching:
            rule = "latency spikes on the edges of a replica group are not modelled"
            problems.append((("events", i, "target_id"), rule, event.target_id))
    return problems


def _id_problems(scenario: Scenario, groups: dict[str, int]) -> list[Problem]:
    nodes = scenario.topology_graph.nodes
    taken = {nodes.client.id, *(s.id for s in nodes.servers), *(b.id for b in nodes.balancers)}
    taken |= {w.id for w in scenario.workload_list}
    edge_ids = {e.id for e in scenario.topology_graph.edges}
    problems: list[Problem] = []
    for sid, k in groups.items():
        group = nodes.servers[k].replicas
        n = group.max_replicas if group is not None else 0
        clash = sorted(set(replica_ids(sid, n)) & taken)
        if clash:
            rule = f"{clash[0]!r} would name one of its replicas but is a node already"
            problems.append(((*_NODES, "servers", k, "id"), rule, sid))
        if len(f"{sid}.{n}") > 100:
            rule = f"too long to name its replicas ({sid}.{n} would pass 100 characters)"
            problems.append(((*_NODES, "servers", k, "id"), rule, NO_VALUE))
    for i, edge in enumerate(scenario.topology_graph.edges):
        group_id = edge.target if edge.target in groups else edge.source
        if group_id not in groups:
            continue
        group = nodes.servers[groups[group_id]].replicas
        n = group.max_replicas if group is not None else 0
        clash = sorted(set(replica_ids(edge.id, n)) & edge_ids)
        if clash or len(f"{edge.id}.{n}") > 100:
            rule = f"cannot name its copies for the replicas of {group_id!r} ({edge.id}.1 ...)"
            problems.append(((*_EDGES, i, "id"), rule, edge.id))
    return problems


def expand_replicas(scenario: Scenario) -> tuple[Scenario, dict[str, tuple[str, ...]]]:
    """The scenario with each group replaced by its replicas, and the groups' replica ids.

    A scenario without groups is returned as it is.
    """
    nodes = scenario.topology_graph.nodes
    groups = {
        s.id: replica_ids(s.id, s.replicas.max_replicas)
        for s in nodes.servers
        if s.replicas is not None
    }
    if not groups:
        return scenario, {}
    servers: list[Server] = []
    for server in nodes.servers:
        if server.id in groups:
            servers += [server.model_copy(update={"id": rid}) for rid in groups[server.id]]
        else:
            servers.append(server)
    edges: list[Edge] = []
    for edge in scenario.topology_graph.edges:
        edges += _edge_copies(edge, groups)
    update: dict[str, object] = {"servers": tuple(servers)}
    if nodes.load_balancer is not None:
        update["load_balancer"] = _covering(nodes.load_balancer, groups)
    if nodes.load_balancers is not None:
        update["load_balancers"] = tuple(_covering(b, groups) for b in nodes.load_balancers)
    topology = scenario.topology_graph.model_copy(
        update={"nodes": nodes.model_copy(update=update), "edges": tuple(edges)}
    )
    return scenario.model_copy(update={"topology_graph": topology}), groups


def _edge_copies(edge: Edge, groups: dict[str, tuple[str, ...]]) -> list[Edge]:
    for end in ("source", "target"):
        group = groups.get(getattr(edge, end))
        if group is not None:
            return [
                edge.model_copy(update={"id": f"{edge.id}.{k}", end: rid})
                for k, rid in enumerate(group, start=1)
            ]
    return [edge]


def _covering(balancer: LoadBalancer, groups: dict[str, tuple[str, ...]]) -> LoadBalancer:
    covered: list[str] = []
    weights: dict[str, float] | None = None if balancer.weights is None else {}
    for sid in balancer.server_covered:
        ids = groups.get(sid, (sid,))
        covered += ids
        if weights is not None and balancer.weights is not None:
            weights.update(dict.fromkeys(ids, balancer.weights[sid]))
    return balancer.model_copy(update={"server_covered": tuple(covered), "weights": weights})
