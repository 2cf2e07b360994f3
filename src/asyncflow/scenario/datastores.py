"""Databases and caches: their nodes, the pools that reach them, and the steps that use them.

A database (``topology_graph.nodes.databases``) runs named queries on its
workers; a remote cache (``topology_graph.nodes.caches``) answers lookups
after its ``hit_latency``; a local cache lives in a server's process
(``local_caches`` on the server). A server reaches a database through a pool
of connections of its own (``database_pools``). The steps ``db_query`` and
``cache_get`` use them; the rules that span the graph (the database exists,
an edge each way, the query is one of the database's) are in
:mod:`asyncflow.scenario.datastore_rules`.
"""

from __future__ import annotations

from typing import Final, Literal, Self

from pydantic import Field, model_validator

from asyncflow.scenario._base import NO_VALUE, FrozenModel, Problem, raise_problems
from asyncflow.scenario._types import EndpointName, Identifier, Integer, Number
from asyncflow.scenario.distributions import Duration
from asyncflow.scenario.limits import (
    ID_CHARACTERS,
    MAX_CACHE_ITEMS,
    MAX_CONNECTIONS,
    MAX_CORES,
    MAX_DURATION_S,
    MAX_KEY_COUNT,
    MAX_POOL_SIZE,
    MAX_QUERIES,
    MAX_QUERY_REPEAT,
    MAX_ZIPF_EXPONENT,
)

__all__ = [
    "CacheNode",
    "Database",
    "DatabasePool",
    "DbQuery",
    "KeySpace",
    "LocalCache",
    "Query",
]

_ID_TEXT: Final = f"An id of {ID_CHARACTERS}."


# --------------------------------------------------------------------------- databases


class Query(FrozenModel):
    """A named query a database runs, and how long it takes on an idle database."""

    name: EndpointName = Field(
        description="Name of the query, lower-cased; unique within the database. " + _ID_TEXT
    )
    latency: Duration = Field(
        description="Service time of one query on an idle database, in seconds (a "
        "duration): waiting for a worker comes on top, so give the time of the query "
        "itself, not a production percentile that already includes queueing."
    )


class Database(FrozenModel):
    """A database node: workers that run queries, and a limit on open connections."""

    id: Identifier = Field(description="Node id, unique among all nodes. " + _ID_TEXT)
    type: Literal["database"] = Field(default="database", description="Always database.")
    workers: Integer = Field(
        default=1,
        ge=1,
        le=MAX_CORES.value,
        description="Workers (a count): with fifo, each runs one query at a time and the "
        "others wait in arrival order (a thread pool); with processor_sharing, every query "
        "in progress advances at once, the workers shared equally.",
    )
    worker_model: Literal["fifo", "processor_sharing"] = Field(
        default="fifo",
        description="fifo: one query per worker, a FIFO queue in front; processor_sharing: "
        "the n queries in progress each advance at min(1, workers / n) of full speed.",
    )
    max_connections: Integer | None = Field(
        default=None,
        ge=1,
        le=MAX_CONNECTIONS.value,
        description="Connections open at once (a count): a query without a pool opens one "
        "for its own time, a pool keeps its connections open even when idle; a connection "
        "beyond the limit is refused (connection_refused). Unset: unlimited.",
    )
    queries: tuple[Query, ...] = Field(
        min_length=1,
        max_length=int(MAX_QUERIES.value),
        description="The queries it runs, names unique.",
    )

    @model_validator(mode="after")
    def _check_queries(self) -> Self:
        problems: list[Problem] = []
        seen: dict[str, int] = {}
        for i, query in enumerate(self.queries):
            if query.name in seen:
                rule = f"duplicate query name (also queries[{seen[query.name]}])"
                problems.append((("queries", i, "name"), rule, query.name))
            seen.setdefault(query.name, i)
        if problems:
            raise_problems(problems, "Database")
        return self

    def query(self, name: str) -> Query:
        """The query called ``name``.

        Raises:
            KeyError: If there is none.
        """
        for query in self.queries:
            if query.name == name:
                return query
        raise KeyError(name)


class DatabasePool(FrozenModel):
    """A server's pool of connections to one database."""

    database: Identifier = Field(description="The database the pool connects to. " + _ID_TEXT)
    id: Identifier | None = Field(
        default=None,
        description="Id of the pool in results (summary pools.<id>); unset: "
        "<server id>-<database id>. " + _ID_TEXT,
    )
    size: Integer = Field(
        ge=1,
        le=MAX_POOL_SIZE.value,
        description="Connections in the pool (a count), opened when first needed and kept "
        "open: each holds a connection of the database even when idle.",
    )
    acquire_timeout_s: Number | None = Field(
        default=None,
        gt=0,
        le=MAX_DURATION_S.value,
        description="Longest wait for a free connection, in seconds; a request that waits "
        "longer fails with pool_timeout. Unset: it waits as long as it takes.",
    )
    hold: Literal["query", "request"] = Field(
        default="query",
        description="query: a connection is taken for each query and given back when its "
        "answer arrives; request: taken at the first query and kept until the request "
        "leaves the server (a transaction, or a connection per request).",
    )


class DbQuery(FrozenModel):
    """What a ``db_query`` step runs."""

    database: Identifier = Field(description="The database queried. " + _ID_TEXT)
    query: EndpointName = Field(description="The name of one of the database's queries.")
    repeat: Integer = Field(
        default=1,
        ge=1,
        le=MAX_QUERY_REPEAT.value,
        description="Queries run one after the other (a count): more than 1 models the "
        "N+1 pattern, a query per item of a list.",
    )


# --------------------------------------------------------------------------- caches


class KeySpace(FrozenModel):
    """The keys requests look up, and how popular each is."""

    count: Integer = Field(
        ge=1,
        le=MAX_KEY_COUNT.value,
        description="Distinct keys (a count); key k (from 1) is the k-th most popular.",
    )
    popularity: Literal["zipf", "uniform"] = Field(
        default="zipf",
        description="zipf: key k is looked up with probability proportional to 1 / k^exponent "
        "(bounded to count keys, so any exponent > 0 works); uniform: every key alike.",
    )
    exponent: Number = Field(
        default=1.0,
        gt=0,
        le=MAX_ZIPF_EXPONENT.value,
        description="The Zipf exponent s (no unit, > 0); only with popularity zipf.",
    )


Eviction = Literal["lru", "lfu", "fifo", "ttl"]


class _CacheModel(FrozenModel):
    """What decides hits: a fixed ratio, or a store with keys, capacity and eviction."""

    hit_ratio: Number | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Probability (0 to 1) that a lookup hits, fixed, drawn per request; "
        "not with capacity_items, eviction, keys or ttl_s.",
    )
    capacity_items: Integer | None = Field(
        default=None,
        ge=1,
        le=MAX_CACHE_ITEMS.value,
        description="Items the cache holds (a count); hits then come from the keys "
        "requests look up (keys is required).",
    )
    eviction: Eviction | None = Field(
        default=None,
        description="Which item leaves when a full cache takes a new one: lru (least "
        "recently used), lfu (least frequently used), fifo (oldest inserted) or ttl "
        "(items expire ttl_s after insertion; the oldest leaves when full). Unset: lru.",
    )
    ttl_s: Number | None = Field(
        default=None,
        gt=0,
        le=MAX_DURATION_S.value,
        description="Time an item stays valid after it is inserted, in seconds; required by and "
        "only allowed with eviction ttl.",
    )
    keys: KeySpace | None = Field(
        default=None, description="The keys looked up; required with capacity_items."
    )
    coalesce: bool = Field(
        default=False,
        strict=True,
        description="Single-flight: lookups that miss on a key whose fallback is already "
        "running wait for its answer instead of running the fallback again (only with "
        "capacity_items).",
    )

    @model_validator(mode="after")
    def _check_model(self) -> Self:
        problems = self.model_problems()
        if problems:
            raise_problems(problems, type(self).__name__)
        return self

    def model_problems(self) -> list[Problem]:
        """Rules between the fields that decide hits."""
        problems: list[Problem] = []
        stored = {
            "capacity_items": self.capacity_items,
            "eviction": self.eviction,
            "keys": self.keys,
            "ttl_s": self.ttl_s,
        }
        if self.hit_ratio is not None:
            for key, value in stored.items():
                if value is not None:
                    rule = "not allowed with hit_ratio (a fixed ratio has no store)"
                    problems.append(((key,), rule, NO_VALUE))
            if self.coalesce:
                rule = "needs capacity_items: a fixed hit_ratio has no keys to coalesce on"
                problems.append((("coalesce",), rule, True))
            return problems
        if self.capacity_items is None:
            rule = "required (or give hit_ratio for a fixed ratio)"
            problems.append((("capacity_items",), rule, NO_VALUE))
        if self.keys is None:
            problems.append((("keys",), "required with capacity_items", NO_VALUE))
        if self.eviction == "ttl" and self.ttl_s is None:
            problems.append((("ttl_s",), "required for eviction ttl", NO_VALUE))
        if self.eviction != "ttl" and self.ttl_s is not None:
            problems.append((("ttl_s",), "only allowed with eviction ttl", self.ttl_s))
        keys = self.keys
        if (
            keys is not None
            and keys.popularity == "uniform"
            and "exponent" in keys.model_fields_set
        ):
            rule = "only allowed with popularity zipf"
            problems.append((("keys", "exponent"), rule, keys.exponent))
        return problems

    @property
    def policy(self) -> str:
        """The eviction policy (``lru`` when unset)."""
        return self.eviction or "lru"


class CacheNode(_CacheModel):
    """A remote cache (Redis-like): a node reached over the network."""

    id: Identifier = Field(description="Node id, unique among all nodes. " + _ID_TEXT)
    type: Literal["cache"] = Field(default="cache", description="Always cache.")
    hit_latency: Duration = Field(
        description="Time the cache takes to answer a lookup, hit or miss, in seconds (a "
        "duration), on its worker; the network hops come on top."
    )
    workers: Integer = Field(
        default=1,
        ge=1,
        le=MAX_CORES.value,
        description="Lookups served at once (workers, a count); 1 is a single-threaded "
        "cache such as Redis.",
    )
    max_connections: Integer | None = Field(
        default=None,
        ge=1,
        le=MAX_CONNECTIONS.value,
        description="Lookups in progress at once (connections, a count); one beyond it is "
        "refused (connection_refused). Unset: unlimited.",
    )


class LocalCache(_CacheModel):
    """A cache in a server's own process (an in-memory map)."""

    id: Identifier = Field(
        description="Id of the cache, unique among nodes and caches. " + _ID_TEXT
    )
    hit_latency: Number = Field(
        default=0.0,
        ge=0,
        le=MAX_DURATION_S.value,
        description="CPU time of a lookup, in seconds, on the server's core (0: free).",
    )
