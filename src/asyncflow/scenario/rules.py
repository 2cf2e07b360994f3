"""Rules that span the whole scenario: ids, the graph's shape, event targets.

They run when a :class:`~asyncflow.scenario.models.Scenario` is validated,
after every part validated on its own, and report every problem they find.
The engine relies on them and does not check again.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Final

from asyncflow.scenario._base import NO_VALUE, Loc, Problem
from asyncflow.scenario.graph import Hints, graph_problems
from asyncflow.scenario.limits import MAX_EXPECTED_REQUESTS, MAX_WINDOWS
from asyncflow.scenario.policies import policy_problems
from asyncflow.scenario.replica_graph import replica_problems

if TYPE_CHECKING:
    from asyncflow.scenario.models import Scenario
    from asyncflow.scenario.workload import Workload

__all__ = ["scenario_problems"]

_NODES: Loc = ("topology_graph", "nodes")
_EDGES: Loc = ("topology_graph", "edges")
_LB: Loc = (*_NODES, "load_balancer")
_HINT_BUDGET: Final = 20_000  # word comparisons for suggestions, per validation


def scenario_problems(scenario: Scenario) -> list[Problem]:
    """Return every cross-field problem of a scenario whose parts are valid.

    Args:
        scenario: The scenario.

    Returns:
        The problems, in the order of the checks; empty when all is well.
    """
    problems = graph_problems(scenario)
    problems += replica_problems(scenario) if not problems else []
    problems += _bandwidth_problems(scenario)
    problems += _event_problems(scenario)
    problems += _budget_problems(scenario)
    problems += policy_problems(scenario, Hints())
    return problems


def _budget_problems(scenario: Scenario) -> list[Problem]:
    """Bounds on the work a run would do: user windows and generated requests."""
    horizon = scenario.sim_settings.total_simulation_time
    problems: list[Problem] = []
    expected = 0.0
    for loc, workload in _workload_locs(scenario):
        windows = horizon / workload.user_sampling_window
        if windows > MAX_WINDOWS.value:
            rule = (
                f"gives {windows:.3g} windows over total_simulation_time ({horizon:g} s), "
                f"at most {MAX_WINDOWS.shown}: {MAX_WINDOWS.reason}"
            )
            window = workload.user_sampling_window
            problems.append(((*loc, "user_sampling_window"), rule, window))
        expected += workload.expected_requests(horizon)
    where: Loc = ("rqs_input",) if scenario.rqs_input is not None else ("workloads",)
    if expected > MAX_EXPECTED_REQUESTS.value:
        rule = (
            f"the run would generate about {expected:.3g} requests (users x rate x "
            f"total_simulation_time of {horizon:g} s), at most {MAX_EXPECTED_REQUESTS.shown}: "
            f"{MAX_EXPECTED_REQUESTS.reason}"
        )
        problems.append((where, rule, NO_VALUE))
    return problems


def _workload_locs(scenario: Scenario) -> list[tuple[Loc, Workload]]:
    if scenario.workloads is not None:
        return [(("workloads", i), w) for i, w in enumerate(scenario.workloads)]
    return [(("rqs_input",), w) for w in scenario.workload_list]


def _bandwidth_problems(scenario: Scenario) -> list[Problem]:
    """Bandwidth carries request bodies into servers and responses out of them only."""
    servers = {s.id for s in scenario.topology_graph.nodes.servers}
    problems: list[Problem] = []
    for i, edge in enumerate(scenario.topology_graph.edges):
        if edge.bandwidth_mbps is not None and not ({edge.source, edge.target} & servers):
            rule = (
                "only edges into or out of a server carry bodies (request_kb in, "
                "response_kb out); this one would never use its bandwidth"
            )
            problems.append(((*_EDGES, i, "bandwidth_mbps"), rule, edge.bandwidth_mbps))
    return problems


class _Targets:
    """What an event may target: a server, database or cache, an edge, a cache with a store."""

    def __init__(self, scenario: Scenario) -> None:
        nodes = scenario.topology_graph.nodes
        local = [c.id for s in nodes.servers for c in s.local_caches if c.hit_ratio is None]
        caches = [c.id for c in nodes.caches]
        stored = [c.id for c in nodes.caches if c.hit_ratio is None]
        stores = [d.id for d in nodes.databases] + caches
        self.wanted: dict[str, tuple[str, list[str]]] = {
            "server_down": (
                "server, a database or a cache" if stores else "server",
                [s.id for s in nodes.servers] + stores,
            ),
            "network_spike_start": ("edge", [edge.id for edge in scenario.topology_graph.edges]),
            "cache_flush": ("cache with a store (capacity_items)", stored + local),
        }
        self.what = {s.id: "a server" for s in nodes.servers}
        self.what.update({d.id: "a database" for d in nodes.databases})
        self.what.update(dict.fromkeys(caches, "a cache"))
        self.what.update(dict.fromkeys(local, "a local cache"))
        fixed = [c.id for s in nodes.servers for c in s.local_caches if c.hit_ratio is not None]
        fixed += [c.id for c in nodes.caches if c.hit_ratio is not None]
        self.what.update(dict.fromkeys(fixed, "a cache with a fixed hit_ratio (nothing to flush)"))
        self.what.update({e.id: "an edge" for e in scenario.topology_graph.edges})
        self.what[nodes.client.id] = "the client"
        self.what.update({w.id: "the workload" for w in scenario.workload_list})
        self.what.update({b.id: "the load balancer" for b in nodes.balancers})
        self.sets = {kind: frozenset(ids) for kind, (_, ids) in self.wanted.items()}
        self.hint = Hints()

    def rule(self, kind: str, target: str) -> str | None:
        """Why ``target`` cannot be the target of a ``kind`` event, or ``None``."""
        if target in self.sets[kind]:
            return None
        wanted, pool = self.wanted[kind]
        article = "an" if wanted == "edge" else "a"
        if target in self.what:
            return f"a {kind} event needs {article} {wanted}, {target!r} is {self.what[target]}"
        noun = {"server_down": "server", "cache_flush": "cache"}.get(kind, "edge")
        return f"unknown {noun} {target!r}{self.hint(target, pool)}"


def _event_problems(scenario: Scenario) -> list[Problem]:
    targets = _Targets(scenario)
    horizon = scenario.sim_settings.total_simulation_time
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    outages: dict[str, list[int]] = defaultdict(list)
    for i, event in enumerate(scenario.events):
        if event.event_id in seen:
            rule = f"duplicate event id (also events[{seen[event.event_id]}])"
            problems.append((("events", i, "event_id"), rule, event.event_id))
        seen.setdefault(event.event_id, i)
        target = event.target_id
        refusal = targets.rule(event.start.kind, target)
        if refusal is not None:
            problems.append((("events", i, "target_id"), refusal, NO_VALUE))
        elif event.is_outage:
            outages[target].append(i)
        if event.end is not None and event.end.t_end > horizon:
            rule = f"must be <= total_simulation_time ({horizon:g})"
            problems.append((("events", i, "end", "t_end"), rule, event.end.t_end))
        if event.end is None and event.start.t_start > horizon:
            rule = f"must be <= total_simulation_time ({horizon:g})"
            problems.append((("events", i, "start", "t_start"), rule, event.start.t_start))
    for server_id, indices in outages.items():
        problems += _overlap_problems(scenario, server_id, indices)
    return problems


def _overlap_problems(scenario: Scenario, server_id: str, indices: list[int]) -> list[Problem]:
    events = scenario.events
    order = sorted(indices, key=lambda i: (events[i].start.t_start, i))
    problems: list[Problem] = []
    latest = order[0]  # the earlier outage that ends last
    for cur in order[1:]:
        a, b = events[latest], events[cur]
        if b.t_end > a.t_end:
            latest = cur
        if b.start.t_start < a.t_end:
            rule = (
                f"outage overlaps {a.event_id!r} on server {server_id!r} "
                f"({a.start.t_start:g} to {a.t_end:g})"
            )
            problems.append((("events", cur, "start", "t_start"), rule, b.start.t_start))
    return problems
