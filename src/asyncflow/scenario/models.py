"""The scenario model tree: workload, topology, settings and events.

Every model is frozen and rejects unknown keys. Field names are the YAML keys
of AsyncFlow 0.1. Rules that span several parts of the scenario (the graph,
event targets) are checked by :mod:`asyncflow.scenario.rules` when the
:class:`Scenario` itself is validated.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Annotated, Any, Final, Literal, Self

from pydantic import (
    BeforeValidator,
    Discriminator,
    Field,
    ModelWrapValidatorHandler,
    Tag,
    ValidationError,
    model_validator,
)

from asyncflow.scenario._base import (
    NO_VALUE,
    FrozenModel,
    Loc,
    Problem,
    missing_first,
    raise_problems,
    relocate,
)
from asyncflow.scenario._types import EndpointName, Identifier, Integer, Name, Number
from asyncflow.scenario.calls import CallTarget, ParallelCalls
from asyncflow.scenario.cost import Cost
from asyncflow.scenario.datastores import (
    CacheNode,
    Database,
    DatabasePool,
    DbQuery,
    LocalCache,
)
from asyncflow.scenario.distributions import (
    DURATION_RULE,
    Distribution,
    Duration,
    as_duration_input,
)
from asyncflow.scenario.events import Event, EventEnd, EventStart
from asyncflow.scenario.limits import (
    ID_CHARACTERS,
    MAX_BANDWIDTH_MBPS,
    MAX_BODY_KB,
    MAX_CORES,
    MAX_EVENTS,
    MAX_POOL_SIZE,
    MAX_RAM_MB,
    MAX_WEIGHT,
    MIN_BANDWIDTH_MBPS,
)
from asyncflow.scenario.network import (
    ConnectionLimits,
    ConnectionPool,
    LoadBalancerResources,
    Tls,
    refuse_pool_on_server,
)
from asyncflow.scenario.policies import MAX_POLICIES, Policy
from asyncflow.scenario.replicas import ReplicaGroup
from asyncflow.scenario.settings import SimSettings
from asyncflow.scenario.workload import ProfilePoint, Workload

__all__ = [
    "BranchArm",
    "CacheGet",
    "CacheNode",
    "CallTarget",
    "Client",
    "ConnectionLimits",
    "ConnectionPool",
    "Database",
    "DatabasePool",
    "DbQuery",
    "Distribution",
    "Edge",
    "Endpoint",
    "Event",
    "EventEnd",
    "EventStart",
    "LoadBalancer",
    "LoadBalancerResources",
    "LocalCache",
    "Nodes",
    "ParallelCalls",
    "ProfilePoint",
    "Scenario",
    "Server",
    "ServerResources",
    "SimSettings",
    "Step",
    "Tls",
    "Topology",
    "Workload",
]

# --------------------------------------------------------------------------- endpoints

StepKind = Literal[
    "initial_parsing",
    "cpu_bound_operation",
    "io_task_spawn",
    "io_llm",
    "io_wait",
    "io_db",
    "io_cache",
    "ram",
    "call",
    "parallel",
    "branch",
    "db_query",
    "cache_get",
]
StepOperationName = Literal[
    "cpu_time",
    "io_waiting_time",
    "necessary_ram",
    "call",
    "parallel",
    "branch",
    "db_query",
    "cache_get",
]

_CPU_KINDS: Final = frozenset({"initial_parsing", "cpu_bound_operation"})
_OPERATION_OF: Final[dict[str, str]] = {
    "initial_parsing": "cpu_time",
    "cpu_bound_operation": "cpu_time",
    "io_task_spawn": "io_waiting_time",
    "io_llm": "io_waiting_time",
    "io_wait": "io_waiting_time",
    "io_db": "io_waiting_time",
    "io_cache": "io_waiting_time",
    "ram": "necessary_ram",
    "call": "call",
    "parallel": "parallel",
    "branch": "branch",
    "db_query": "db_query",
    "cache_get": "cache_get",
}
_STRUCTURED: Final = frozenset({"call", "parallel", "branch", "db_query", "cache_get"})
_ID_TEXT: Final = f"An id of {ID_CHARACTERS}."
DURATION_TAG: Final = "<duration>"
NUMBER_TAG: Final = "<number>"
CALL_TAG: Final = "<call>"
PARALLEL_TAG: Final = "<parallel>"
BRANCH_TAG: Final = "<branch>"
DB_QUERY_TAG: Final = "<db_query>"
CACHE_GET_TAG: Final = "<cache_get>"


def _step_value_tag(value: Any) -> str:
    # Calls, parallel calls and branches arrive as models: Step._check_operation
    # validated them by their kind, so that their errors name their own keys.
    if isinstance(value, CallTarget):
        return CALL_TAG
    if isinstance(value, ParallelCalls):
        return PARALLEL_TAG
    if isinstance(value, DbQuery):
        return DB_QUERY_TAG
    if isinstance(value, CacheGet):
        return CACHE_GET_TAG
    if isinstance(value, tuple | list):
        return BRANCH_TAG
    return DURATION_TAG if isinstance(value, Mapping | Distribution) else NUMBER_TAG


StepValue = Annotated[
    Annotated[Duration, Tag(DURATION_TAG)]
    | Annotated[Number, Field(gt=0, le=MAX_RAM_MB.value), Tag(NUMBER_TAG)]
    | Annotated[CallTarget, Tag(CALL_TAG)]
    | Annotated[ParallelCalls, Tag(PARALLEL_TAG)]
    | Annotated[tuple["BranchArm", ...], Tag(BRANCH_TAG)]
    | Annotated[DbQuery, Tag(DB_QUERY_TAG)]
    | Annotated["CacheGet", Tag(CACHE_GET_TAG)],
    Discriminator(_step_value_tag),
]


class Step(FrozenModel):
    """One step of an endpoint: CPU work, an I/O wait, a RAM reservation, calls or a branch."""

    kind: StepKind = Field(
        description="What the step does: initial_parsing and cpu_bound_operation hold a "
        "core; io_task_spawn, io_llm, io_wait, io_db and io_cache release it and wait; "
        "ram reserves memory while the request is in the server; call sends a call to "
        "another node and awaits its answer (holding RAM, not a core); parallel sends "
        "several calls at once; branch runs one of several lists of steps at random; "
        "db_query runs a query of a database (over the network, through the server's pool "
        "to it when it has one); cache_get looks a key up in a cache and runs its on_miss "
        "steps when it misses."
    )
    step_operation: dict[StepOperationName, StepValue] = Field(
        description="Exactly one key, the one of the kind: cpu_time (seconds of CPU, a "
        "duration), io_waiting_time (seconds of waiting, a duration), necessary_ram (MB, "
        "a number), call ({target, endpoint}), parallel ({calls, wait}), branch (a "
        "list of {probability, steps}), db_query ({database, query, repeat}) or cache_get "
        "({cache, on_miss})."
    )

    @model_validator(mode="before")
    @classmethod
    def _check_operation(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        kind, operation = data.get("kind"), data.get("step_operation")
        expected = _OPERATION_OF.get(kind) if isinstance(kind, str) else None
        if expected is None or not isinstance(operation, Mapping):
            return data
        if len(operation) != 1:
            rule = f"must have exactly one key, {expected!r} for kind {kind!r}"
            raise_problems([(("step_operation",), rule, dict(operation))], "Step")
        key, value = next(iter(operation.items()))
        if key != expected:
            rule = f"{key!r} does not fit kind {kind!r} (expected {expected!r})"
            raise_problems([(("step_operation", str(key)), rule, NO_VALUE)], "Step")
        if key == "necessary_ram":
            if isinstance(value, Mapping | list | tuple):
                rule = "must be a number of MB"
                shown = dict(value) if isinstance(value, Mapping) else value
                raise_problems([(("step_operation", key), rule, shown)], "Step")
            return data
        if key in _STRUCTURED:
            return {**data, "step_operation": {key: _structured(key, value)}}
        value = as_duration_input(value)
        if not isinstance(value, Mapping | Distribution):
            raise_problems([(("step_operation", key), DURATION_RULE, value)], "Step")
        return {**data, "step_operation": {key: value}}

    @property
    def category(self) -> Literal["cpu", "io", "ram", "call", "branch", "db", "cache"]:
        """``cpu``, ``io``, ``ram``, ``call`` (call, parallel), ``branch``, ``db`` or ``cache``."""
        if self.kind == "ram":
            return "ram"
        if self.kind == "db_query":
            return "db"
        if self.kind == "cache_get":
            return "cache"
        if self.kind in ("call", "parallel"):
            return "call"
        if self.kind == "branch":
            return "branch"
        return "cpu" if self.kind in _CPU_KINDS else "io"

    @property
    def calls(self) -> tuple[tuple[str, str | None], ...]:
        """The ``(target, endpoint)`` of each call a call or parallel step sends."""
        value = next(iter(self.step_operation.values()))
        if isinstance(value, CallTarget):
            return ((value.target, value.endpoint),)
        if isinstance(value, ParallelCalls):
            return tuple((c.target, c.endpoint) for c in value.calls)
        return ()

    @property
    def need(self) -> int:
        """Answers that finish a call or parallel step (0 for other steps)."""
        value = next(iter(self.step_operation.values()))
        if isinstance(value, CallTarget):
            return 1
        if isinstance(value, ParallelCalls):
            return value.need
        return 0

    @property
    def arms(self) -> tuple[tuple[float, tuple[Step, ...]], ...]:
        """The ``(probability, steps)`` of each arm of a branch step."""
        value = next(iter(self.step_operation.values()))
        if isinstance(value, tuple) and value and isinstance(value[0], BranchArm):
            return tuple((arm.probability, arm.steps) for arm in value)
        return ()

    @property
    def db_query(self) -> DbQuery:
        """What a db_query step runs.

        Raises:
            TypeError: For another step.
        """
        value = next(iter(self.step_operation.values()))
        if not isinstance(value, DbQuery):
            raise TypeError(f"a {self.kind!r} step runs no query")
        return value

    @property
    def cache_get(self) -> CacheGet:
        """What a cache_get step looks up.

        Raises:
            TypeError: For another step.
        """
        value = next(iter(self.step_operation.values()))
        if not isinstance(value, CacheGet):
            raise TypeError(f"a {self.kind!r} step looks nothing up")
        return value

    @property
    def duration(self) -> Distribution:
        """The CPU time or I/O wait of a cpu or io step.

        Raises:
            TypeError: For a ram step.
        """
        value = next(iter(self.step_operation.values()))
        if not isinstance(value, Distribution):
            raise TypeError(f"a {self.kind!r} step has no duration")
        return value

    @property
    def ram_mb(self) -> float:
        """The MB reserved by a ram step.

        Raises:
            TypeError: For a cpu or io step.
        """
        value = next(iter(self.step_operation.values()))
        if not isinstance(value, int | float):
            raise TypeError(f"a {self.kind!r} step reserves no RAM")
        return float(value)


class BranchArm(FrozenModel):
    """One arm of a branch: the steps run with its probability."""

    probability: Number = Field(
        gt=0,
        description="Probability (0 to 1) that a request runs this arm; the arms' "
        "probabilities add up to 1.",
    )
    steps: tuple[Step, ...] = Field(
        default=(),
        description="The steps of the arm, run in order (no ram step: RAM is reserved "
        "when a request is admitted, before any branch is drawn).",
    )

    @model_validator(mode="after")
    def _check_arm(self) -> Self:
        problems: list[Problem] = []
        if self.probability > 1:
            problems.append((("probability",), "must be <= 1 (a probability)", self.probability))
        for i, step in enumerate(self.steps):
            if step.category == "ram":
                rule = "a ram step cannot be in a branch: RAM is reserved before any branch"
                problems.append((("steps", i, "kind"), rule, step.kind))
        if problems:
            raise_problems(problems, "BranchArm")
        return self


_ARMS_SUM_TOLERANCE: Final = 1e-9


def _structured(key: str, value: Any) -> Any:
    """Validate the value of a structured step by its kind, errors in place."""
    if key == "call":
        return _within(("step_operation", key), CallTarget, value)
    if key == "db_query":
        return _within(("step_operation", key), DbQuery, value)
    if key == "cache_get":
        return _within(("step_operation", key), CacheGet, value)
    if key == "parallel":
        return _within(("step_operation", key), ParallelCalls, value)
    if not isinstance(value, list | tuple) or not value:
        rule = "must be a list of arms {probability, steps} (at least one)"
        raise_problems([(("step_operation", key), rule, value)], "Step")
    arms = tuple(_within(("step_operation", key, i), BranchArm, arm) for i, arm in enumerate(value))
    total = math.fsum(arm.probability for arm in arms)
    if abs(total - 1.0) > _ARMS_SUM_TOLERANCE:
        rule = f"the arms' probabilities must add up to 1 (they add up to {total:.12g})"
        raise_problems([(("step_operation", key), rule, NO_VALUE)], "Step")
    return arms


def _within(loc: Loc, model: type[FrozenModel], value: Any) -> Any:
    """``model`` validated from ``value``, its errors located under ``loc``."""
    try:
        return model.model_validate(value)
    except ValidationError as error:
        relocate(error, loc, "Step")


class CacheGet(FrozenModel):
    """What a ``cache_get`` step looks up, and what runs on a miss."""

    cache: Identifier = Field(
        description="The cache: a remote cache node, or a local cache of this server. " + _ID_TEXT
    )
    on_miss: tuple[Step, ...] = Field(
        default=(),
        description="Steps run when the lookup misses (typically a db_query): cpu, io and "
        "db_query steps only; when they are done the key fills the cache.",
    )

    @model_validator(mode="after")
    def _check_miss_steps(self) -> Self:
        problems: list[Problem] = []
        for i, step in enumerate(self.on_miss):
            if step.category not in ("cpu", "io", "db"):
                rule = "on_miss holds cpu, io and db_query steps only"
                problems.append((("on_miss", i, "kind"), rule, step.kind))
        if problems:
            raise_problems(problems, "CacheGet")
        return self


Step.model_rebuild()


class Endpoint(FrozenModel):
    """An endpoint of a server: a named pipeline of steps."""

    endpoint_name: EndpointName = Field(
        description="Name of the endpoint (such as /api), lower-cased; unique within "
        "the server. " + _ID_TEXT
    )
    probability: Number | None = Field(
        default=None,
        gt=0,
        le=MAX_WEIGHT.value,
        description="Selection weight (no unit) relative to the server's other "
        "endpoints; unset: 1.",
    )
    steps: tuple[Step, ...] = Field(default=(), description="The steps, run in order.")
    request_kb: Number = Field(
        default=0.0,
        ge=0,
        le=MAX_BODY_KB.value,
        description="Size of the request body, in KB, sent through the bandwidth of "
        "the edge into the server.",
    )
    response_kb: Number = Field(
        default=0.0,
        ge=0,
        le=MAX_BODY_KB.value,
        description="Size of the response body, in KB, sent through the bandwidth of "
        "the edge out of the server.",
    )

    @property
    def weight(self) -> float:
        """The selection weight (``probability``, or 1 when not given)."""
        return 1.0 if self.probability is None else self.probability

    @property
    def ram_mb(self) -> float:
        """Total MB reserved by this endpoint's ram steps."""
        return sum(step.ram_mb for step in self.steps if step.category == "ram")


# --------------------------------------------------------------------------- nodes


class ServerResources(ConnectionLimits):
    """Capacity of a server: cores, RAM and (from :class:`ConnectionLimits`) sockets."""

    cpu_cores: Integer = Field(
        default=1,
        ge=1,
        le=MAX_CORES.value,
        description="Cores, each running one event loop (cores).",
    )
    ram_mb: Number = Field(
        default=1024.0,
        gt=0,
        le=MAX_RAM_MB.value,
        description="RAM in MB, shared by the requests inside the server and the "
        "memory of its open connections.",
    )
    db_connection_pool: Integer | None = Field(
        default=None,
        ge=1,
        le=MAX_POOL_SIZE.value,
        description="Connections (a count); accepted for AsyncFlow 0.1 compatibility and unused.",
    )

    @model_validator(mode="after")
    def _check_limits(self) -> Self:
        problems = self.connection_problems(self.ram_mb)
        if problems:
            raise_problems(problems, "ServerResources")
        return self


def _calls_in(steps: tuple[Step, ...]) -> bool:
    """Whether ``steps`` make a call, in a branch or not."""
    for step in steps:
        if step.category == "call":
            return True
        if step.category == "branch" and any(_calls_in(arm) for _, arm in step.arms):
            return True
    return False


class Server(FrozenModel):
    """An asynchronous server."""

    id: Identifier = Field(description="Node id, unique among all nodes. " + _ID_TEXT)
    type: Literal["server"] = Field(default="server", description="Always server.")
    server_resources: ServerResources = Field(
        default=ServerResources(), description="Cores, RAM and socket limits."
    )
    endpoints: tuple[Endpoint, ...] = Field(
        min_length=1, description="At least one endpoint; names unique."
    )
    tls: Tls | None = Field(
        default=None,
        description="TLS termination: handshake round trips and CPU of new connections.",
    )
    connection_pool: ConnectionPool | None = Field(
        default=None,
        description="Keep-alive pool of the connections its calls open, towards each node "
        "it calls (only for a server that makes calls); without it each call to a node "
        "that models sockets opens a connection of its own.",
    )
    database_pools: tuple[DatabasePool, ...] = Field(
        default=(),
        description="Pools of connections to databases, at most one per database: queries "
        "to a database with a pool wait for one of its connections; queries to one without "
        "open a connection of their own.",
    )
    local_caches: tuple[LocalCache, ...] = Field(
        default=(),
        description="Caches in this server's own process, named by the cache_get steps of "
        "its endpoints.",
    )
    replicas: ReplicaGroup | None = Field(
        default=None, description="Run it as a group of replicas scaled at run time."
    )

    @model_validator(mode="before")
    @classmethod
    def _refuse_pool(cls, data: Any) -> Any:
        refuse_pool_on_server(data)
        return data

    @model_validator(mode="after")
    def _check_endpoints(self) -> Self:
        problems: list[Problem] = []
        seen: dict[str, int] = {}
        capacity = self.server_resources.ram_mb
        for i, endpoint in enumerate(self.endpoints):
            name = endpoint.endpoint_name
            if name in seen:
                rule = f"duplicate endpoint name (also endpoints[{seen[name]}])"
                problems.append((("endpoints", i, "endpoint_name"), rule, name))
            seen.setdefault(name, i)
            if endpoint.ram_mb > capacity:
                rule = (
                    f"ram steps need {endpoint.ram_mb:g} MB but server_resources.ram_mb "
                    f"is {capacity:g}: a request could never be admitted"
                )
                problems.append((("endpoints", i), rule, NO_VALUE))
        problems.extend(self._datastore_problems())
        if self.connection_pool is not None and not self.makes_calls:
            rule = (
                "this server makes no calls, and a pool keeps the connections of calls: set "
                "connection_pool on the client or the load balancer"
            )
            problems.append((("connection_pool",), rule, NO_VALUE))
        if problems:
            raise_problems(problems, "Server")
        return self

    def _datastore_problems(self) -> list[Problem]:
        problems: list[Problem] = []
        pools: dict[str, int] = {}
        for i, pool in enumerate(self.database_pools):
            if pool.database in pools:
                rule = (
                    f"a second pool to this database (also database_pools[{pools[pool.database]}])"
                )
                problems.append((("database_pools", i, "database"), rule, pool.database))
            pools.setdefault(pool.database, i)
        caches: dict[str, int] = {}
        for i, cache in enumerate(self.local_caches):
            if cache.id in caches:
                rule = f"duplicate cache id (also local_caches[{caches[cache.id]}])"
                problems.append((("local_caches", i, "id"), rule, cache.id))
            caches.setdefault(cache.id, i)
        return problems

    def pool_id(self, pool: DatabasePool) -> str:
        """The id of one of its pools in results (``<server>-<database>`` unless named)."""
        return pool.id if pool.id is not None else f"{self.id}-{pool.database}"

    @property
    def makes_calls(self) -> bool:
        """Whether an endpoint has a call or parallel step (branches included)."""
        return any(_calls_in(endpoint.steps) for endpoint in self.endpoints)


class Client(FrozenModel):
    """The client: sends requests on and receives the responses."""

    id: Identifier = Field(description="Node id. " + _ID_TEXT)
    type: Literal["client"] = Field(default="client", description="Always client.")
    connection_pool: ConnectionPool | None = Field(
        default=None,
        description="Keep-alive pool of connections to the next node; without it "
        "connection set-up is not modelled.",
    )


LbAlgorithm = Literal[
    "round_robin",
    "random",
    "least_connection",
    "power_of_two_choices",
    "weighted_round_robin",
    "least_work_left",
    "shortest_expected_delay",
    "join_idle_queue",
]


class LoadBalancer(FrozenModel):
    """A load balancer in front of the servers."""

    id: Identifier = Field(description="Node id. " + _ID_TEXT)
    type: Literal["load_balancer"] = Field(
        default="load_balancer", description="Always load_balancer."
    )
    algorithms: LbAlgorithm = Field(
        default="round_robin",
        description="The balancing algorithm (one value; the key name is AsyncFlow 0.1's).",
    )
    server_covered: tuple[Identifier, ...] = Field(
        min_length=1, description="Ids of the servers it forwards to, in order; no duplicates."
    )
    weights: dict[Identifier, Annotated[Number, Field(gt=0, le=MAX_WEIGHT.value)]] | None = Field(
        default=None,
        description="Server id to weight (no unit, relative); required by and only "
        "allowed with weighted_round_robin; every covered server needs one.",
    )
    resources: LoadBalancerResources | None = Field(
        default=None, description="Memory and socket limits of its client connections."
    )
    connection_pool: ConnectionPool | None = Field(
        default=None, description="Keep-alive pool of connections to each server."
    )
    tls: Tls | None = Field(
        default=None, description="TLS termination of client connections (round trips only)."
    )

    @model_validator(mode="after")
    def _check_covered_and_weights(self) -> Self:
        problems: list[Problem] = []
        seen: set[str] = set()
        for i, server_id in enumerate(self.server_covered):
            if server_id in seen:
                problems.append((("server_covered", i), "duplicate server", server_id))
            seen.add(server_id)
        if self.algorithms == "weighted_round_robin":
            problems.extend(self._weight_problems())
        elif self.weights is not None:
            rule = "only allowed with algorithms: weighted_round_robin"
            problems.append((("weights",), rule, self.weights))
        if self.tls is not None and self.tls.cpu_s is not None:
            rule = "load balancers have no CPU model: give TLS CPU time to servers"
            problems.append((("tls", "cpu_s"), rule, NO_VALUE))
        if problems:
            raise_problems(problems, "LoadBalancer")
        return self

    def _weight_problems(self) -> list[Problem]:
        if self.weights is None:
            return [(("weights",), "required for weighted_round_robin", NO_VALUE)]
        problems: list[Problem] = []
        for key in self.weights:
            if key not in self.server_covered:
                problems.append((("weights", key), "not a covered server", NO_VALUE))
        for server_id in self.server_covered:
            if server_id not in self.weights:
                rule = f"missing a weight for covered server {server_id!r}"
                problems.append((("weights",), rule, NO_VALUE))
        return problems


class Nodes(FrozenModel):
    """The nodes of the topology."""

    client: Client = Field(description="The single client.")
    servers: tuple[Server, ...] = Field(min_length=1, description="At least one server.")
    load_balancer: LoadBalancer | None = Field(
        default=None,
        description="A load balancer (AsyncFlow 0.1's key); give load_balancers for "
        "several, not both.",
    )
    load_balancers: tuple[LoadBalancer, ...] | None = Field(
        default=None,
        description="The load balancers, each in front of its own servers: an entry point "
        "of a workload or the target of calls; not with load_balancer.",
    )
    databases: tuple[Database, ...] = Field(
        default=(),
        description="Databases: workers running named queries, reached by db_query steps.",
    )
    caches: tuple[CacheNode, ...] = Field(
        default=(),
        description="Remote caches: nodes answering the lookups of cache_get steps.",
    )

    @model_validator(mode="after")
    def _check_one_key(self) -> Self:
        if self.load_balancer is not None and self.load_balancers is not None:
            rule = "give either load_balancer or load_balancers, not both"
            raise_problems([(("load_balancers",), rule, NO_VALUE)], "Nodes")
        return self

    @property
    def balancers(self) -> tuple[LoadBalancer, ...]:
        """Every load balancer, in order."""
        if self.load_balancers is not None:
            return self.load_balancers
        return (self.load_balancer,) if self.load_balancer is not None else ()

    def balancer(self, balancer_id: str) -> LoadBalancer:
        """Return the load balancer with this id.

        Raises:
            KeyError: If there is none.
        """
        for balancer in self.balancers:
            if balancer.id == balancer_id:
                return balancer
        raise KeyError(balancer_id)

    def database(self, database_id: str) -> Database:
        """Return the database with this id.

        Raises:
            KeyError: If there is none.
        """
        for database in self.databases:
            if database.id == database_id:
                return database
        raise KeyError(database_id)

    def server(self, server_id: str) -> Server:
        """Return the server with this id.

        Raises:
            KeyError: If there is none.
        """
        for server in self.servers:
            if server.id == server_id:
                return server
        raise KeyError(server_id)


class Edge(FrozenModel):
    """A network link from one node to another."""

    id: Identifier = Field(description="Edge id, unique among edges. " + _ID_TEXT)
    source: Identifier = Field(description="Source node id, or the workload id.")
    target: Identifier = Field(description="Target node id (never the workload id).")
    latency: Duration = Field(description="Delay of the link, in seconds (a duration).")
    edge_type: Literal["network_connection"] = Field(
        default="network_connection", description="Always network_connection."
    )
    dropout_rate: Number = Field(
        default=0.0,
        ge=0,
        le=1,
        description="Probability (0 to 1) that a request crossing the link is dropped; "
        "AsyncFlow 0.1 defaulted to 0.01.",
    )
    bandwidth_mbps: Number | None = Field(
        default=None,
        ge=MIN_BANDWIDTH_MBPS.value,
        le=MAX_BANDWIDTH_MBPS.value,
        description="Capacity of the link in Mbit/s, shared by the bodies crossing it "
        "(processor sharing); unset: unlimited.",
    )


class Topology(FrozenModel):
    """Nodes and edges (YAML key ``topology_graph``)."""

    nodes: Nodes = Field(description="The client, the servers and the load balancer.")
    edges: tuple[Edge, ...] = Field(description="The network links between them.")


# --------------------------------------------------------------------------- scenario


class Scenario(FrozenModel):
    """A complete scenario; validating it checks every rule, graph included."""

    rqs_input: Workload | None = Field(
        default=None,
        description="The workload: users and their request rate (AsyncFlow 0.1's key); "
        "give workloads for several request classes, not both.",
    )
    workloads: Annotated[tuple[Workload, ...], Field(min_length=1)] | None = Field(
        default=None,
        description="The request classes, each with its own users or rate, entry node and "
        "endpoint, reported apart; not with rqs_input.",
    )
    topology_graph: Topology = Field(description="Nodes and edges.")
    sim_settings: SimSettings = Field(description="Horizon, seed and resolution of the run.")
    events: Annotated[
        tuple[Event, ...],
        Field(max_length=int(MAX_EVENTS.value)),
        BeforeValidator(lambda v: () if v is None else v),
    ] = Field(
        default=(),
        description="Injected faults: server outages and latency spikes (events: with no "
        "value means none).",
    )
    name: Name = Field(
        default="scenario",
        description="Name of the scenario (the loader uses the file stem unless set): "
        "1 to 200 printable characters.",
    )
    cost: Cost | None = Field(
        default=None,
        description="Prices of servers (per server-, core- and GB-of-RAM-hour) and load "
        "balancers (per hour); the summary then reports the cost per hour and per million "
        "completed requests. None: costs are not reported.",
    )
    policies: Annotated[
        tuple[Policy, ...],
        Field(max_length=MAX_POLICIES),
        BeforeValidator(lambda v: () if v is None else v),
    ] = Field(
        default=(),
        description="Overload policies (rate limits, concurrency limits), each naming the "
        "node it protects; none by default (policies: with no value means none).",
    )

    @property
    def workload_list(self) -> tuple[Workload, ...]:
        """Every workload (request class), in order."""
        if self.workloads is not None:
            return self.workloads
        return (self.rqs_input,) if self.rqs_input is not None else ()

    @model_validator(mode="wrap")
    @classmethod
    def _require_workloads(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        """A scenario needs ``rqs_input`` or ``workloads`` (reported with the other problems)."""
        missing = isinstance(data, Mapping) and not ({"rqs_input", "workloads"} & set(data))
        rule = "required field missing (or give workloads, a list of request classes)"
        try:
            model = handler(data)
        except ValidationError as error:
            if missing:
                missing_first(error, ("rqs_input",), data, "Scenario", rule=rule)
            raise
        if missing:
            missing_first(None, ("rqs_input",), data, "Scenario", rule=rule)
        return model

    @model_validator(mode="after")
    def _check_workloads(self) -> Self:
        if self.rqs_input is not None and self.workloads is not None:
            rule = "give either rqs_input or workloads, not both"
            raise_problems([(("workloads",), rule, NO_VALUE)], "Scenario")
        return self

    @model_validator(mode="after")
    def _check_cross_rules(self) -> Self:
        from asyncflow.scenario.rules import scenario_problems

        problems = scenario_problems(self)
        if problems:
            raise_problems(problems, "Scenario")
        return self
