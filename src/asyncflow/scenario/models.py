"""The scenario model tree: workload, topology, settings and events.

Every model is frozen and rejects unknown keys. Field names are the YAML keys
of AsyncFlow 0.1. Rules that span several parts of the scenario (the graph,
event targets) are checked by :mod:`asyncflow.scenario.rules` when the
:class:`Scenario` itself is validated.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Final, Literal, Self

from pydantic import (
    BeforeValidator,
    Field,
    ModelWrapValidatorHandler,
    ValidationError,
    model_validator,
)

from asyncflow.scenario._base import (
    NO_VALUE,
    FrozenModel,
    Problem,
    missing_first,
    raise_problems,
)
from asyncflow.scenario._types import Identifier, Integer, Name, Number
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
    Distribution,
    Duration,
)
from asyncflow.scenario.endpoints import BranchArm, CacheGet, Endpoint, Step
from asyncflow.scenario.events import Event, EventEnd, EventStart
from asyncflow.scenario.limits import (
    ID_CHARACTERS,
    MAX_BANDWIDTH_MBPS,
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

_ID_TEXT: Final = f"An id of {ID_CHARACTERS}."


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
