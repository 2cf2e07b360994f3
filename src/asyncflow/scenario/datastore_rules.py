"""Graph rules of databases and caches.

A ``db_query`` names a database that exists and one of its queries, and
travels over an edge from the server to the database and back; a
``cache_get`` names a remote cache reached the same way, or a local cache of
its own server; a pool connects to a database the server can reach. Every
database and remote cache is used by some step, so that nothing declared is
silently idle.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Final

from asyncflow.scenario._base import NO_VALUE, Loc, Problem

if TYPE_CHECKING:
    from asyncflow.scenario.models import Scenario, Server, Step

__all__ = ["datastore_problems", "store_steps"]

_NODES: Final[Loc] = ("topology_graph", "nodes")
Hint = Callable[[str, Sequence[str]], str]


def store_steps(loc: Loc, steps: Sequence[Step]) -> Iterator[tuple[Loc, Step]]:
    """Every db_query and cache_get step in ``steps`` (branches and on_miss included)."""
    for s, step in enumerate(steps):
        key = next(iter(step.step_operation))
        here: Loc = (*loc, s, "step_operation", key)
        if step.kind in ("db_query", "cache_get"):
            yield here, step
        if step.kind == "cache_get":
            yield from store_steps((*here, "on_miss"), step.cache_get.on_miss)
        elif step.kind == "branch":
            for a, (_, arm) in enumerate(step.arms):
                yield from store_steps((*here, a, "steps"), arm)


def datastore_problems(
    scenario: Scenario, pairs: dict[tuple[str, str], int], hint: Hint
) -> list[Problem]:
    """Every problem of the databases, caches, pools and the steps that use them."""
    nodes = scenario.topology_graph.nodes
    used: set[str] = set()
    problems: list[Problem] = []
    for k, server in enumerate(nodes.servers):
        server_loc: Loc = (*_NODES, "servers", k)
        for j, endpoint in enumerate(server.endpoints):
            steps_loc: Loc = (*server_loc, "endpoints", j, "steps")
            for loc, step in store_steps(steps_loc, endpoint.steps):
                if step.kind == "db_query":
                    problems += _query_problems(scenario, server, loc, step, pairs, hint, used)
                else:
                    problems += _cache_problems(scenario, server, loc, step, pairs, hint, used)
        problems += _pool_problems(scenario, server, server_loc, pairs, hint)
    for i, database in enumerate(nodes.databases):
        if database.id not in used:
            rule = f"database {database.id!r} receives no queries (no db_query step names it)"
            problems.append(((*_NODES, "databases", i), rule, NO_VALUE))
    for i, cache in enumerate(nodes.caches):
        if cache.id not in used:
            rule = f"cache {cache.id!r} receives no lookups (no cache_get step names it)"
            problems.append(((*_NODES, "caches", i), rule, NO_VALUE))
    return problems


def _edge_problems(
    loc: Loc, caller: str, target: str, pairs: dict[tuple[str, str], int]
) -> list[Problem]:
    problems: list[Problem] = []
    if (caller, target) not in pairs:
        rule = f"no edge from {caller!r} to {target!r}: the call has no way to travel"
        problems.append((loc, rule, NO_VALUE))
    if (target, caller) not in pairs:
        rule = f"no edge from {target!r} back to {caller!r}: its answers have no way to travel"
        problems.append((loc, rule, NO_VALUE))
    return problems


def _query_problems(
    scenario: Scenario,
    server: Server,
    loc: Loc,
    step: Step,
    pairs: dict[tuple[str, str], int],
    hint: Hint,
    used: set[str],
) -> list[Problem]:
    nodes = scenario.topology_graph.nodes
    query = step.db_query
    databases = [d.id for d in nodes.databases]
    if query.database not in databases:
        rule = f"unknown database {query.database!r}{hint(query.database, databases)}"
        return [((*loc, "database"), rule, NO_VALUE)]
    used.add(query.database)
    problems = _edge_problems((*loc, "database"), server.id, query.database, pairs)
    names = [q.name for q in nodes.database(query.database).queries]
    if query.query not in names:
        rule = f"{query.database!r} has no query {query.query!r}{hint(query.query, names)}"
        problems.append(((*loc, "query"), rule, NO_VALUE))
    return problems


def _cache_problems(
    scenario: Scenario,
    server: Server,
    loc: Loc,
    step: Step,
    pairs: dict[tuple[str, str], int],
    hint: Hint,
    used: set[str],
) -> list[Problem]:
    cache = step.cache_get.cache
    if cache in {c.id for c in server.local_caches}:
        return []
    remote = [c.id for c in scenario.topology_graph.nodes.caches]
    if cache not in remote:
        known = remote + [c.id for c in server.local_caches]
        rule = f"unknown cache {cache!r} (neither a cache node nor a local cache of "
        rule += f"{server.id!r}){hint(cache, known)}"
        return [((*loc, "cache"), rule, NO_VALUE)]
    used.add(cache)
    return _edge_problems((*loc, "cache"), server.id, cache, pairs)


def _pool_problems(
    scenario: Scenario,
    server: Server,
    server_loc: Loc,
    pairs: dict[tuple[str, str], int],
    hint: Hint,
) -> list[Problem]:
    databases = [d.id for d in scenario.topology_graph.nodes.databases]
    problems: list[Problem] = []
    for i, pool in enumerate(server.database_pools):
        loc: Loc = (*server_loc, "database_pools", i, "database")
        if pool.database not in databases:
            rule = f"unknown database {pool.database!r}{hint(pool.database, databases)}"
            problems.append((loc, rule, NO_VALUE))
        elif (server.id, pool.database) not in pairs:
            rule = f"no edge from {server.id!r} to {pool.database!r}: the pool cannot connect"
            problems.append((loc, rule, NO_VALUE))
    return problems
