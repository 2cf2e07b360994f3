"""Rules that span the whole scenario: ids, the graph's shape, event targets.

They run when a :class:`~asyncflow.scenario.models.Scenario` is validated,
after every part validated on its own, and report every problem they find.
The engine relies on them and does not check again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

from asyncflow.scenario._base import NO_VALUE, Loc, Problem, did_you_mean, format_loc
from asyncflow.scenario.limits import MAX_EXPECTED_REQUESTS, MAX_WINDOWS

if TYPE_CHECKING:
    from asyncflow.scenario.models import Edge, Scenario

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
    graph = _Graph(scenario)
    problems = graph.node_id_problems()
    if not problems:  # with ambiguous ids, the graph checks would only add noise
        problems += graph.edge_id_problems()
        problems += graph.edge_endpoint_problems()
        problems += graph.shape_problems()
        problems += _bandwidth_problems(scenario)
    problems += _event_problems(scenario)
    problems += _budget_problems(scenario)
    return problems


def _budget_problems(scenario: Scenario) -> list[Problem]:
    """Bounds on the work a run would do: user windows and generated requests."""
    workload = scenario.rqs_input
    horizon = scenario.sim_settings.total_simulation_time
    problems: list[Problem] = []
    windows = horizon / workload.user_sampling_window
    if windows > MAX_WINDOWS.value:
        rule = (
            f"gives {windows:.3g} windows over total_simulation_time ({horizon:g} s), "
            f"at most {MAX_WINDOWS.shown}: {MAX_WINDOWS.reason}"
        )
        window = workload.user_sampling_window
        problems.append((("rqs_input", "user_sampling_window"), rule, window))
    expected = workload.expected_requests(horizon)
    if expected > MAX_EXPECTED_REQUESTS.value:
        rule = (
            f"the run would generate about {expected:.3g} requests (users x rate x "
            f"total_simulation_time of {horizon:g} s), at most {MAX_EXPECTED_REQUESTS.shown}: "
            f"{MAX_EXPECTED_REQUESTS.reason}"
        )
        problems.append((("rqs_input",), rule, NO_VALUE))
    return problems


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


class _Hints:
    """Suggestions ("did you mean"), within a budget of comparisons.

    A suggestion compares the word with every candidate; on a large broken
    scenario, suggesting for every problem would make validation quadratic.
    Once the budget is spent, problems are reported without a suggestion.
    """

    def __init__(self, budget: int = _HINT_BUDGET) -> None:
        self._left = budget

    def __call__(self, word: str, candidates: Sequence[str]) -> str:
        if len(candidates) > self._left:
            return ""
        self._left -= len(candidates)
        return did_you_mean(word, candidates)


class _Graph:
    """Index of the topology used by the graph checks (sets: every check is linear)."""

    def __init__(self, scenario: Scenario) -> None:
        nodes = scenario.topology_graph.nodes
        self.workload_id = scenario.rqs_input.id
        self.client_id = nodes.client.id
        self.lb = nodes.load_balancer
        self.server_ids = [server.id for server in nodes.servers]
        self.server_set = frozenset(self.server_ids)
        self.node_ids = [self.client_id, *self.server_ids] + ([self.lb.id] if self.lb else [])
        self.node_set = frozenset(self.node_ids)
        self.edges = scenario.topology_graph.edges
        self.valid_edges: list[int] = []
        self.hint = _Hints()

    def node_id_problems(self) -> list[Problem]:
        problems: list[Problem] = []
        first: dict[str, Loc] = {}
        located: list[tuple[Loc, str]] = [((*_NODES, "client", "id"), self.client_id)]
        located += [((*_NODES, "servers", i, "id"), s) for i, s in enumerate(self.server_ids)]
        if self.lb is not None:
            located.append(((*_LB, "id"), self.lb.id))
        for loc, node_id in located:
            if node_id in first:
                rule = f"duplicate node id (also {format_loc(first[node_id])})"
                problems.append((loc, rule, node_id))
            first.setdefault(node_id, loc)
        if self.workload_id in first:
            rule = f"the workload id is also a node id ({format_loc(first[self.workload_id])})"
            problems.append((("rqs_input", "id"), rule, self.workload_id))
        return problems

    def edge_id_problems(self) -> list[Problem]:
        problems: list[Problem] = []
        seen: dict[str, int] = {}
        for i, edge in enumerate(self.edges):
            if edge.id in seen:
                rule = f"duplicate edge id (also edges[{seen[edge.id]}])"
                problems.append(((*_EDGES, i, "id"), rule, edge.id))
            seen.setdefault(edge.id, i)
        return problems

    def edge_endpoint_problems(self) -> list[Problem]:
        problems: list[Problem] = []
        sources = [*self.node_ids, self.workload_id]
        source_set = self.node_set | {self.workload_id}
        for i, edge in enumerate(self.edges):
            before = len(problems)
            if edge.source not in source_set:
                rule = f"unknown node {edge.source!r}{self.hint(edge.source, sources)}"
                problems.append(((*_EDGES, i, "source"), rule, NO_VALUE))
            if edge.target == self.workload_id:
                rule = f"the workload {edge.target!r} cannot be an edge target"
                problems.append(((*_EDGES, i, "target"), rule, NO_VALUE))
            elif edge.target not in self.node_set:
                hint = self.hint(edge.target, self.node_ids)
                problems.append(
                    ((*_EDGES, i, "target"), f"unknown node {edge.target!r}{hint}", NO_VALUE)
                )
            elif edge.target == edge.source:
                rule = "must differ from source (an edge joins two nodes)"
                problems.append(((*_EDGES, i, "target"), rule, edge.target))
            if len(problems) == before:
                self.valid_edges.append(i)
        return problems

    def _out_edges(self) -> dict[str, list[int]]:
        out: dict[str, list[int]] = defaultdict(list)
        for i in self.valid_edges:
            out[self.edges[i].source].append(i)
        return out

    def shape_problems(self) -> list[Problem]:
        out = self._out_edges()
        problems = self._workload_problems(out[self.workload_id])
        problems += self._client_problems(out[self.client_id])
        for k, server_id in enumerate(self.server_ids):
            problems += self._server_problems(k, server_id, out[server_id])
        if self.lb is not None:
            problems += self._lb_problems(out[self.lb.id])
        problems += self._reachability_problems(out[self.client_id])
        return problems

    def _single_edge_problems(self, what: str, edges: list[int], target: str) -> list[Problem]:
        """Rules for a node that needs exactly one outgoing edge, to ``target``."""
        if not edges:
            return [(_EDGES, f"no edge from {what} to {target!r}", NO_VALUE)]
        problems: list[Problem] = []
        for n, i in enumerate(edges):
            edge: Edge = self.edges[i]
            if edge.target != target:
                rule = f"an edge from {what} must go to {target!r}"
                problems.append(((*_EDGES, i, "target"), rule, edge.target))
            elif n > 0:
                rule = f"{what} must have exactly one outgoing edge (also edges[{edges[0]}])"
                problems.append(((*_EDGES, i, "source"), rule, edge.source))
        return problems

    def _workload_problems(self, edges: list[int]) -> list[Problem]:
        what = f"the workload {self.workload_id!r}"
        return self._single_edge_problems(what, edges, self.client_id)

    def _client_problems(self, edges: list[int]) -> list[Problem]:
        what = f"the client {self.client_id!r}"
        if self.lb is not None:
            return self._single_edge_problems(what, edges, self.lb.id)
        if len(self.server_ids) == 1:
            return self._single_edge_problems(what, edges, self.server_ids[0])
        rule = f"required with {len(self.server_ids)} servers (the client has one outgoing edge)"
        return [(_LB, rule, NO_VALUE)]

    def _server_problems(self, k: int, server_id: str, edges: list[int]) -> list[Problem]:
        if not edges:
            rule = f"server {server_id!r} has no path back to the client {self.client_id!r}"
            return [((*_NODES, "servers", k), rule, NO_VALUE)]
        return self._single_edge_problems(f"server {server_id!r}", edges, self.client_id)

    def _lb_problems(self, edges: list[int]) -> list[Problem]:
        if self.lb is None:  # pragma: no cover - guarded by the caller
            return []
        lb_id, covered = self.lb.id, self.lb.server_covered
        covered_set = frozenset(covered)
        problems: list[Problem] = []
        for j, server_id in enumerate(covered):
            if server_id not in self.server_set:
                hint = self.hint(server_id, self.server_ids)
                kind = "the client" if server_id == self.client_id else "unknown server"
                problems.append(
                    ((*_LB, "server_covered", j), f"{kind} {server_id!r}{hint}", NO_VALUE)
                )
        linked: dict[str, int] = {}
        for i in edges:
            target = self.edges[i].target
            if target not in covered_set:
                rule = f"the load balancer {lb_id!r} may only connect to the servers it covers"
                problems.append(((*_EDGES, i, "target"), rule, target))
            elif target in linked:
                rule = f"second edge from {lb_id!r} to {target!r} (also edges[{linked[target]}])"
                problems.append(((*_EDGES, i, "target"), rule, NO_VALUE))
            linked.setdefault(target, i)
        for j, server_id in enumerate(covered):
            if server_id in self.server_set and server_id not in linked:
                rule = f"no edge from the load balancer {lb_id!r} to {server_id!r}"
                problems.append(((*_LB, "server_covered", j), rule, NO_VALUE))
        return problems

    def _reachability_problems(self, client_edges: list[int]) -> list[Problem]:
        if self.lb is None and len(self.server_ids) > 1:
            return []  # already reported: a load balancer is required
        fed = set(self.lb.server_covered) if self.lb else set()
        fed.update(self.edges[i].target for i in client_edges)
        problems: list[Problem] = []
        for k, server_id in enumerate(self.server_ids):
            if server_id not in fed:
                how = "the load balancer does not cover it" if self.lb else "no edge reaches it"
                rule = f"server {server_id!r} receives no requests ({how})"
                problems.append(((*_NODES, "servers", k), rule, NO_VALUE))
        return problems


class _Targets:
    """What an event may target: servers for outages, edges for spikes."""

    def __init__(self, scenario: Scenario) -> None:
        nodes = scenario.topology_graph.nodes
        self.servers = [server.id for server in nodes.servers]
        self.edges = [edge.id for edge in scenario.topology_graph.edges]
        self.server_set, self.edge_set = frozenset(self.servers), frozenset(self.edges)
        self.others = {nodes.client.id: "the client", scenario.rqs_input.id: "the workload"}
        if nodes.load_balancer is not None:
            self.others[nodes.load_balancer.id] = "the load balancer"
        self.hint = _Hints()

    def rule(self, kind: str, target: str) -> str | None:
        """Why ``target`` cannot be the target of a ``kind`` event, or ``None``."""
        wanted, pool, pool_set = (
            ("server", self.servers, self.server_set)
            if kind == "server_down"
            else ("edge", self.edges, self.edge_set)
        )
        if target in pool_set:
            return None
        article = "a" if wanted == "server" else "an"
        if target in self.server_set:
            return f"a {kind} event needs {article} {wanted}, {target!r} is a server"
        if target in self.edge_set:
            return f"a {kind} event needs {article} {wanted}, {target!r} is an edge"
        if target in self.others:
            return f"a {kind} event needs {article} {wanted}, {target!r} is {self.others[target]}"
        return f"unknown {wanted} {target!r}{self.hint(target, pool)}"


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
        if event.end.t_end > horizon:
            rule = f"must be <= total_simulation_time ({horizon:g})"
            problems.append((("events", i, "end", "t_end"), rule, event.end.t_end))
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
        if b.end.t_end > a.end.t_end:
            latest = cur
        if b.start.t_start < a.end.t_end:
            rule = (
                f"outage overlaps {a.event_id!r} on server {server_id!r} "
                f"({a.start.t_start:g} to {a.end.t_end:g})"
            )
            problems.append((("events", cur, "start", "t_start"), rule, b.start.t_start))
    return problems
