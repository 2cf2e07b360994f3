"""Capacity limits of the nodes, as the reports draw them.

Every level that a scenario caps gets its limit drawn as a dashed line next
to it: busy cores (``cpu_cores``), RAM in use (``ram_mb``), open connections
(``max_connections``) and the accept backlog (``listen_backlog``) of servers
and load balancers, and the memory a balancer's connections pin
(``resources.ram_mb``). The values come from the scenario of the run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from asyncflow.results import Results

__all__ = ["Limit", "node_limits"]

Limit = tuple[str, float]
"""``(scenario field, value)`` of a limit, e.g. ``("max_connections", 48.0)``."""


def node_limits(results: Results, node: str) -> dict[str, Limit]:
    """Return the limit of each capped level of a server or load balancer.

    Args:
        results: The run (its ``scenario`` gives the limits; a results object
            without one has no limits).
        node: A server or load-balancer id; any other node has none.

    Returns:
        Level metric to ``(field, value)``: ``busy_cores`` → ``cpu_cores``,
        ``ram_in_use_mb`` → ``ram_mb`` (servers), ``connection_memory_mb`` →
        ``ram_mb`` (balancers), ``connections`` → ``max_connections`` and
        ``backlog`` → ``listen_backlog`` when they are set (a backlog of 0
        draws no line).
    """
    scenario = getattr(results, "scenario", None)
    if scenario is None:
        return {}
    nodes = scenario.topology_graph.nodes
    for server in nodes.servers:
        if server.id == node:
            res = server.server_resources
            limits = {
                "busy_cores": ("cpu_cores", float(res.cpu_cores)),
                "ram_in_use_mb": ("ram_mb", float(res.ram_mb)),
            }
            return limits | _socket_limits(res)
    for balancer in nodes.balancers:
        if balancer.id == node and balancer.resources is not None:
            res = balancer.resources
            limits = {"connection_memory_mb": ("ram_mb", float(res.ram_mb))}
            return limits | _socket_limits(res)
    return {}


def _socket_limits(resources: Any) -> dict[str, Limit]:
    """``connections`` and ``backlog`` limits of a node's resources, when set."""
    limits: dict[str, Limit] = {}
    if resources.max_connections is not None:
        limits["connections"] = ("max_connections", float(resources.max_connections))
        if resources.listen_backlog:
            limits["backlog"] = ("listen_backlog", float(resources.listen_backlog))
    return limits
