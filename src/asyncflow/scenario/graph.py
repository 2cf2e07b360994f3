"""The rules of the scenario graph: who talks to whom, and over which edges.

Requests enter at a workload's entry node (a server or a load balancer,
reached from the client); servers call other servers and balancers from
their endpoints; every call and every answer travels over an edge. These
rules check that every node and edge referred to exists, that every call
and every answer has an edge to travel on, that no call comes back to a
server it started from (a cycle), that every server and balancer receives
something, and that the call tree stays within what can be laid out.

Every check is linear in the size of the scenario (sets and dictionaries):
a scenario of thousands of servers validates in a fraction of a second.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from asyncflow.scenario._base import NO_VALUE, Loc, Problem, did_you_mean, format_loc
from asyncflow.scenario.datastore_rules import datastore_problems
from asyncflow.scenario.limits import MAX_CALL_SITES

if TYPE_CHECKING:
    from asyncflow.scenario.models import LoadBalancer, Scenario, Server, Step
    from asyncflow.scenario.workload import Workload

__all__ = ["graph_problems"]

_NODES: Final[Loc] = ("topology_graph", "nodes")
_EDGES: Final[Loc] = ("topology_graph", "edges")
_HINT_BUDGET: Final = 20_000  # word comparisons for suggestions, per validation


class Hints:
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


@dataclass(frozen=True, slots=True)
class _CallStep:
    """A call of a call or parallel step, where it is written."""

    loc: Loc  # of the call's mapping ({target, endpoint})
    server: str  # the caller
    written_in: str  # the caller's endpoint that makes the call
    target: str
    endpoint: str | None


def graph_problems(scenario: Scenario) -> list[Problem]:
    """Every problem of the graph (ids, edges, entries, calls, reach, cycles, size)."""
    graph = _Graph(scenario)
    problems = graph.node_id_problems()
    if problems:  # with ambiguous ids, the graph checks would only add noise
        return problems
    problems += graph.edge_problems()
    problems += graph.balancer_problems()
    problems += graph.workload_problems()
    problems += graph.call_problems()
    problems += datastore_problems(graph.scenario, graph.pair, graph.hint)
    if not graph.broken_paths:  # with an unknown entry or target, reach says nothing more
        problems += graph.reach_problems()
    if not problems:
        problems += graph.cycle_problems()
    if not problems:
        problems += graph.size_problems()
    return problems


class _Graph:
    """Index of the topology used by the checks."""

    def __init__(self, scenario: Scenario) -> None:
        nodes = scenario.topology_graph.nodes
        self.scenario = scenario
        self.client_id = nodes.client.id
        self.workloads: list[tuple[Loc, Workload]] = (
            [(("workloads", i), w) for i, w in enumerate(scenario.workloads)]
            if scenario.workloads is not None
            else [(("rqs_input",), w) for w in scenario.workload_list]
        )
        self.servers: dict[str, tuple[int, Server]] = {}
        for k, server in enumerate(nodes.servers):
            self.servers.setdefault(server.id, (k, server))
        self.server_ids = [s.id for s in nodes.servers]
        self.balancers: dict[str, tuple[Loc, LoadBalancer]] = {}
        for loc, balancer in _balancer_locs(scenario):
            self.balancers.setdefault(balancer.id, (loc, balancer))
        self.store_kinds = {d.id: "a database" for d in nodes.databases}
        self.store_kinds.update({c.id: "a cache" for c in nodes.caches})
        self.node_ids = [self.client_id, *self.server_ids, *self.balancers, *self.store_kinds]
        self.node_set = frozenset(self.node_ids)
        self.edges = scenario.topology_graph.edges
        self.pair: dict[tuple[str, str], int] = {}  # (source, target) -> first valid edge
        self.hint = Hints()
        self.calls = list(self._calls())
        self.entries: list[str | None] = []
        self.broken_paths = False  # a workload's entry or a call's target is not a node

    # ------------------------------------------------------------------ ids

    def node_id_problems(self) -> list[Problem]:
        problems: list[Problem] = []
        first: dict[str, Loc] = {}
        located: list[tuple[Loc, str]] = [((*_NODES, "client", "id"), self.client_id)]
        nodes = self.scenario.topology_graph.nodes
        located += [((*_NODES, "servers", i, "id"), s.id) for i, s in enumerate(nodes.servers)]
        located += [((*loc, "id"), b.id) for loc, b in _balancer_locs(self.scenario)]
        located += [((*_NODES, "databases", i, "id"), d.id) for i, d in enumerate(nodes.databases)]
        located += [((*_NODES, "caches", i, "id"), c.id) for i, c in enumerate(nodes.caches)]
        located += [
            ((*_NODES, "servers", i, "local_caches", j, "id"), c.id)
            for i, s in enumerate(nodes.servers)
            for j, c in enumerate(s.local_caches)
        ]
        for loc, node_id in located:
            if node_id in first:
                rule = f"duplicate node id (also {format_loc(first[node_id])})"
                problems.append((loc, rule, node_id))
            first.setdefault(node_id, loc)
        for loc, workload in self.workloads:
            if workload.id in first:
                kind = "node" if first[workload.id][0] == "topology_graph" else "workload"
                rule = f"the workload id is also a {kind} id ({format_loc(first[workload.id])})"
                problems.append(((*loc, "id"), rule, workload.id))
            first.setdefault(workload.id, (*loc, "id"))
        return problems

    # ------------------------------------------------------------------ edges

    def edge_problems(self) -> list[Problem]:
        problems: list[Problem] = []
        seen: dict[str, int] = {}
        workloads = {w.id for _, w in self.workloads}
        sources = [*self.node_ids, *workloads]
        source_set = self.node_set | workloads
        for i, edge in enumerate(self.edges):
            if edge.id in seen:
                rule = f"duplicate edge id (also edges[{seen[edge.id]}])"
                problems.append(((*_EDGES, i, "id"), rule, edge.id))
            seen.setdefault(edge.id, i)
            before = len(problems)
            if edge.source not in source_set:
                rule = f"unknown node {edge.source!r}{self.hint(edge.source, sources)}"
                problems.append(((*_EDGES, i, "source"), rule, NO_VALUE))
            if edge.target in workloads:
                rule = f"the workload {edge.target!r} cannot be an edge target"
                problems.append(((*_EDGES, i, "target"), rule, NO_VALUE))
            elif edge.target not in self.node_set:
                hint = self.hint(edge.target, self.node_ids)
                rule = f"unknown node {edge.target!r}{hint}"
                problems.append(((*_EDGES, i, "target"), rule, NO_VALUE))
            elif edge.target == edge.source:
                rule = "must differ from source (an edge joins two nodes)"
                problems.append(((*_EDGES, i, "target"), rule, edge.target))
            if len(problems) == before:
                pair = (edge.source, edge.target)
                if pair in self.pair:
                    rule = (
                        f"second edge from {edge.source!r} to {edge.target!r} "
                        f"(also edges[{self.pair[pair]}])"
                    )
                    problems.append(((*_EDGES, i, "target"), rule, NO_VALUE))
                else:
                    self.pair[pair] = i
        return problems

    def _missing_edge(self, source: str, target: str) -> bool:
        return (source, target) not in self.pair

    # ------------------------------------------------------------------ balancers

    def balancer_problems(self) -> list[Problem]:
        problems: list[Problem] = []
        covered_by: dict[str, str] = {}
        for lb_id, (loc, balancer) in self.balancers.items():
            covered = frozenset(balancer.server_covered)
            for j, server_id in enumerate(balancer.server_covered):
                if server_id not in self.servers:
                    hint = self.hint(server_id, self.server_ids)
                    kind = "the client" if server_id == self.client_id else "unknown server"
                    rule = f"{kind} {server_id!r}{hint}"
                    problems.append(((*loc, "server_covered", j), rule, NO_VALUE))
                elif server_id in covered_by:
                    other = covered_by[server_id]
                    rule = f"{server_id!r} is covered by {other!r} already (one balancer a server)"
                    problems.append(((*loc, "server_covered", j), rule, NO_VALUE))
                elif self._missing_edge(lb_id, server_id):
                    rule = f"no edge from the load balancer {lb_id!r} to {server_id!r}"
                    problems.append(((*loc, "server_covered", j), rule, NO_VALUE))
                covered_by.setdefault(server_id, lb_id)
            for (source, target), i in self.pair.items():
                if source == lb_id and target not in covered:
                    rule = f"the load balancer {lb_id!r} may only connect to the servers it covers"
                    problems.append(((*_EDGES, i, "target"), rule, target))
        return problems

    def _served_by(self, node: str) -> list[str]:
        """The servers that answer calls sent to ``node`` (itself, or a balancer's)."""
        if node in self.balancers:
            return [s for s in self.balancers[node][1].server_covered if s in self.servers]
        return [node] if node in self.servers else []

    # ------------------------------------------------------------------ workloads

    def workload_problems(self) -> list[Problem]:
        problems: list[Problem] = []
        client = self.client_id
        client_targets = [t for (s, t) in self.pair if s == client]
        for loc, workload in self.workloads:
            what = f"the workload {workload.id!r}"
            out = [(t, i) for (s, t), i in self.pair.items() if s == workload.id]
            if not out:
                problems.append((_EDGES, f"no edge from {what} to {client!r}", NO_VALUE))
            for n, (target, i) in enumerate(out):
                if target != client:
                    rule = f"an edge from {what} must go to {client!r}"
                    problems.append(((*_EDGES, i, "target"), rule, target))
                elif n > 0:
                    rule = f"{what} must have exactly one outgoing edge (also edges[{out[0][1]}])"
                    problems.append(((*_EDGES, i, "source"), rule, workload.id))
            entry, entry_problems = self._entry(loc, workload.target, client_targets)
            problems += entry_problems
            self.broken_paths |= entry is None
            self.entries.append(entry)
            if entry is not None and workload.endpoint is not None:
                problems += self._endpoint_problems(
                    (*loc, "endpoint"), entry, workload.endpoint, named=True
                )
        return problems

    def _entry(
        self, loc: Loc, target: str | None, client_targets: list[str]
    ) -> tuple[str | None, list[Problem]]:
        """A workload's entry node, or why it has none."""
        client = self.client_id
        if target is None:
            if len(client_targets) == 1:
                return client_targets[0], []
            if not client_targets:
                rule = f"no edge from the client {client!r} to an entry node (a server or a load "
                rule += "balancer)"
                return None, [(_EDGES, rule, NO_VALUE)]
            options = ", ".join(repr(t) for t in sorted(client_targets))
            rule = f"required: the client {client!r} has edges to {options}"
            return None, [((*loc, "target"), rule, NO_VALUE)]
        if target not in self.servers and target not in self.balancers:
            kind = "is the client" if target == client else "is not a server or load balancer"
            hint = self.hint(target, self.node_ids) if target != client else ""
            rule = f"{target!r} {kind}{hint}"
            return None, [((*loc, "target"), rule, NO_VALUE)]
        if self._missing_edge(client, target):
            rule = f"no edge from the client {client!r} to {target!r}"
            return None, [((*loc, "target"), rule, NO_VALUE)]
        return target, []

    def _endpoint_problems(
        self, loc: Loc, node: str, endpoint: str | None, *, named: bool
    ) -> list[Problem]:
        """The endpoint a call names (or leaves out) must exist at every server answering it."""
        problems: list[Problem] = []
        for server_id in self._served_by(node):
            endpoints = [e.endpoint_name for e in self.servers[server_id][1].endpoints]
            if endpoint is None:
                if len(endpoints) > 1 and not named:
                    rule = (
                        f"required: {server_id!r} has {len(endpoints)} endpoints "
                        f"({', '.join(repr(e) for e in endpoints)})"
                    )
                    problems.append((loc, rule, NO_VALUE))
                    break
            elif endpoint not in endpoints:
                hint = self.hint(endpoint, endpoints)
                rule = f"{server_id!r} has no endpoint {endpoint!r}{hint}"
                problems.append((loc, rule, NO_VALUE))
                break
        return problems

    # ------------------------------------------------------------------ calls

    def _calls(self) -> Iterator[_CallStep]:
        """Every call written in every endpoint, branches included."""
        for k, server in enumerate(self.scenario.topology_graph.nodes.servers):
            for j, endpoint in enumerate(server.endpoints):
                loc: Loc = (*_NODES, "servers", k, "endpoints", j, "steps")
                yield from _step_calls(server.id, endpoint.endpoint_name, loc, endpoint.steps)

    def call_problems(self) -> list[Problem]:
        problems: list[Problem] = []
        for call in self.calls:
            target, caller = call.target, call.server
            if target == caller:
                rule = f"a server cannot call itself ({caller!r})"
                problems.append(((*call.loc, "target"), rule, NO_VALUE))
                self.broken_paths = True
                continue
            if target not in self.servers and target not in self.balancers:
                kind = {self.client_id: "the client", **self.store_kinds}.get(target)
                if kind is None and any(w.id == target for _, w in self.workloads):
                    kind = "a workload"
                what = f"{target!r} is {kind}" if kind else f"unknown node {target!r}"
                hint = "" if kind else self.hint(target, [*self.server_ids, *self.balancers])
                rule = f"{what}{hint}: calls go to a server or a load balancer"
                problems.append(((*call.loc, "target"), rule, NO_VALUE))
                self.broken_paths = True
                continue
            problems += self._endpoint_problems(
                (*call.loc, "endpoint"), target, call.endpoint, named=False
            )
            if self._missing_edge(caller, target):
                rule = f"no edge from {caller!r} to {target!r}: the call has no way to travel"
                problems.append(((*call.loc, "target"), rule, NO_VALUE))
            for server_id in self._served_by(target):
                if self._missing_edge(server_id, caller):
                    rule = (
                        f"no edge from {server_id!r} back to {caller!r}: "
                        "its answers have no way to travel"
                    )
                    problems.append(((*call.loc, "target"), rule, NO_VALUE))
        return problems

    # ------------------------------------------------------------------ reach, cycles, size

    def reach_problems(self) -> list[Problem]:
        """Every server and balancer receives requests or calls; entry servers can answer."""
        reached: set[str] = set()
        todo = [e for e in self.entries if e is not None]
        problems: list[Problem] = []
        for entry in set(todo):
            for server_id in self._served_by(entry):
                if self._missing_edge(server_id, self.client_id):
                    k = self.servers[server_id][0]
                    rule = f"server {server_id!r} has no path back to the client {self.client_id!r}"
                    problems.append(((*_NODES, "servers", k), rule, NO_VALUE))
        calls_from: dict[str, list[str]] = defaultdict(list)
        for call in self.calls:
            calls_from[call.server].append(call.target)
        expanded: set[str] = set()  # servers whose calls are followed already
        while todo:
            node = todo.pop()
            reached.add(node)
            for server_id in self._served_by(node):
                reached.add(server_id)
                if server_id not in expanded:
                    expanded.add(server_id)
                    todo.extend(calls_from[server_id])
        for server_id, (k, _) in self.servers.items():
            if server_id not in reached:
                rule = f"server {server_id!r} receives no requests ({self._why_not(server_id)})"
                problems.append(((*_NODES, "servers", k), rule, NO_VALUE))
        for lb_id, (loc, _) in self.balancers.items():
            if lb_id not in reached:
                rule = f"the load balancer {lb_id!r} receives no requests (no workload enters it "
                rule += "and no call goes to it)"
                problems.append((loc, rule, NO_VALUE))
        return problems

    def _why_not(self, server_id: str) -> str:
        if any(server_id in b.server_covered for _, b in self.balancers.values()):
            return "its load balancer receives none"
        if self.balancers:
            return "no load balancer covers it, no workload enters it and no call reaches it"
        return "no workload enters it and no call reaches it"

    def cycle_problems(self) -> list[Problem]:
        """No call comes back to a server it started from."""
        calls: dict[str, list[_CallStep]] = defaultdict(list)
        for call in self.calls:
            calls[call.server].append(call)
        state: dict[str, int] = {}  # 1: on the current path, 2: done
        path: list[str] = []
        problems: list[Problem] = []

        def visit(server_id: str) -> None:
            state[server_id] = 1
            path.append(server_id)
            for call in calls[server_id]:
                for callee in self._served_by(call.target):
                    if state.get(callee) == 1:
                        loop = [*path[path.index(callee) :], callee]
                        rule = "call cycle: " + " -> ".join(loop)
                        problems.append(((*call.loc, "target"), rule, NO_VALUE))
                    elif callee not in state:
                        visit(callee)
            path.pop()
            state[server_id] = 2

        for server_id in self.server_ids:
            if server_id not in state:
                visit(server_id)
        return problems[:1]  # one cycle says it; the others are the same loop

    def size_problems(self) -> list[Problem]:
        """The call sites the run would lay out stay within bounds (see the wiring)."""
        memo: dict[tuple[str, str | None], float] = {}
        written: dict[tuple[str, str], list[_CallStep]] = defaultdict(list)
        for step_call in self.calls:
            written[(step_call.server, step_call.written_in)].append(step_call)

        def sites(node: str, endpoint: str | None) -> float:
            key = (node, endpoint)
            if key in memo:
                return memo[key]
            total = 1.0
            for server_id in self._served_by(node):
                server = self.servers[server_id][1]
                names = [e.endpoint_name for e in server.endpoints]
                chosen = [endpoint] if endpoint in names else names
                for name in chosen:
                    for step_call in written[(server_id, name)]:
                        total += sites(step_call.target, step_call.endpoint)
            memo[key] = total = min(total, 1e18)
            return total

        count = 0.0
        for (_, workload), entry in zip(self.workloads, self.entries, strict=True):
            if entry is not None:
                count += sites(entry, workload.endpoint)
        if count > MAX_CALL_SITES.value:
            rule = (
                f"the calls make {count:.3g} call sites, at most {MAX_CALL_SITES.shown}: "
                f"{MAX_CALL_SITES.reason}"
            )
            return [((*_NODES, "servers"), rule, NO_VALUE)]
        return []


def _balancer_locs(scenario: Scenario) -> Iterator[tuple[Loc, LoadBalancer]]:
    nodes = scenario.topology_graph.nodes
    if nodes.load_balancers is not None:
        for i, balancer in enumerate(nodes.load_balancers):
            yield (*_NODES, "load_balancers", i), balancer
    elif nodes.load_balancer is not None:
        yield (*_NODES, "load_balancer"), nodes.load_balancer


def _step_calls(
    server: str, endpoint_name: str, loc: Loc, steps: Sequence[Step]
) -> Iterator[_CallStep]:
    for s, step in enumerate(steps):
        key = next(iter(step.step_operation))
        here: Loc = (*loc, s, "step_operation", key)
        if step.kind == "call":
            target, endpoint = step.calls[0]
            yield _CallStep(here, server, endpoint_name, target, endpoint)
        elif step.kind == "parallel":
            for c, (target, endpoint) in enumerate(step.calls):
                yield _CallStep((*here, "calls", c), server, endpoint_name, target, endpoint)
        elif step.kind == "branch":
            for a, (_, arm) in enumerate(step.arms):
                yield from _step_calls(server, endpoint_name, (*here, a, "steps"), arm)
