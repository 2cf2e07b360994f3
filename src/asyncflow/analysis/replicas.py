"""The ``replica_groups`` section of a run's summary (only when the scenario has groups).

For each group: the replicas ready and billed (time-weighted mean and
maximum after the warm-up), the replica-seconds billed and their cost, the
utilisation of the replicas' cores over the time they were ready, and the
replicas ready and billed in each bin of the run's series.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from asyncflow.results import Results

__all__ = ["replica_groups", "replica_summary"]


def replica_groups(results: Results) -> dict[str, list[str]]:
    """Each replica group of a run and the server ids of its replicas."""
    groups: dict[str, list[str]] = {}
    for server in results.scenario.topology_graph.nodes.servers:
        if server.replicas is not None:
            groups.setdefault(server.id.rsplit(".", 1)[0], []).append(server.id)
    return groups


def replica_summary(results: Results) -> dict[str, Any]:
    """``{"replica_groups": {...}}``, or nothing when the run has no group."""
    groups = replica_groups(results)
    if not groups:
        return {}
    return {"replica_groups": {g: _group(results, g, ids) for g, ids in groups.items()}}


def _group(results: Results, group: str, ids: list[str]) -> dict[str, Any]:
    nodes = results.scenario.topology_graph.nodes
    spec = nodes.server(ids[0]).replicas
    cores = float(nodes.server(ids[0]).server_resources.cpu_cores)
    measured = results.measured_s
    billed_s = results.level_mean("replicas_billed", group) * measured
    ready_s = sum(results.level_mean("ready", rid) for rid in ids) * measured
    busy_s = sum(results.level_mean("busy_cores", rid) for rid in ids) * measured
    ready = results.series("replicas_ready", group)
    billed = results.series("replicas_billed", group)
    price = spec.cost_per_replica_s if spec is not None else 0.0
    return {
        "replicas": ids,
        "ready": {
            "mean": results.level_mean("replicas_ready", group),
            "max": results.level_max("replicas_ready", group),
        },
        "billed": {
            "mean": results.level_mean("replicas_billed", group),
            "max": results.level_max("replicas_billed", group),
        },
        "replica_seconds": billed_s,
        "cost": billed_s * price,
        "utilization_over_ready": busy_s / (cores * ready_s) if ready_s > 0 else None,
        "series": {
            "t_s": [float(t) for t in ready.t],
            "ready": [float(v) for v in ready.mean],
            "billed": [float(v) for v in billed.mean],
        },
    }
