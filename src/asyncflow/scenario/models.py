"""The scenario model tree: workload, topology, settings and events.

Every model is frozen and rejects unknown keys. Field names are the YAML keys
of AsyncFlow 0.1. Rules that span several parts of the scenario (the graph,
event targets) are checked by :mod:`asyncflow.scenario.rules` when the
:class:`Scenario` itself is validated.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Final, Literal, Self

from pydantic import BeforeValidator, Discriminator, Field, Tag, model_validator

from asyncflow.scenario._base import NO_VALUE, FrozenModel, Problem, raise_problems
from asyncflow.scenario._types import EndpointName, Identifier, Integer, Name, Number
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
from asyncflow.scenario.settings import SimSettings
from asyncflow.scenario.workload import ProfilePoint, Workload

__all__ = [
    "Client",
    "ConnectionLimits",
    "ConnectionPool",
    "Distribution",
    "Edge",
    "Endpoint",
    "Event",
    "EventEnd",
    "EventStart",
    "LoadBalancer",
    "LoadBalancerResources",
    "Nodes",
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
]
StepOperationName = Literal["cpu_time", "io_waiting_time", "necessary_ram"]

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
}
_ID_TEXT: Final = f"An id of {ID_CHARACTERS}."
DURATION_TAG: Final = "<duration>"
NUMBER_TAG: Final = "<number>"


def _step_value_tag(value: Any) -> str:
    return DURATION_TAG if isinstance(value, Mapping | Distribution) else NUMBER_TAG


StepValue = Annotated[
    Annotated[Duration, Tag(DURATION_TAG)]
    | Annotated[Number, Field(gt=0, le=MAX_RAM_MB.value), Tag(NUMBER_TAG)],
    Discriminator(_step_value_tag),
]


class Step(FrozenModel):
    """One step of an endpoint: CPU work, an I/O wait or a RAM reservation."""

    kind: StepKind = Field(
        description="What the step does: initial_parsing and cpu_bound_operation hold a "
        "core; io_task_spawn, io_llm, io_wait, io_db and io_cache release it and wait; "
        "ram reserves memory while the request is in the server."
    )
    step_operation: dict[StepOperationName, StepValue] = Field(
        description="Exactly one key, the one of the kind: cpu_time (seconds of CPU, a "
        "duration), io_waiting_time (seconds of waiting, a duration) or necessary_ram "
        "(MB, a number)."
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
            if isinstance(value, Mapping):
                rule = "must be a number of MB"
                raise_problems([(("step_operation", key), rule, dict(value))], "Step")
            return data
        value = as_duration_input(value)
        if not isinstance(value, Mapping | Distribution):
            raise_problems([(("step_operation", key), DURATION_RULE, value)], "Step")
        return {**data, "step_operation": {key: value}}

    @property
    def category(self) -> Literal["cpu", "io", "ram"]:
        """``cpu``, ``io`` or ``ram``."""
        if self.kind == "ram":
            return "ram"
        return "cpu" if self.kind in _CPU_KINDS else "io"

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
        if isinstance(value, Distribution):
            raise TypeError(f"a {self.kind!r} step reserves no RAM")
        return value


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
        if problems:
            raise_problems(problems, "Server")
        return self


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
    "round_robin", "random", "least_connection", "power_of_two_choices", "weighted_round_robin"
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
        default=None, description="The load balancer; required with several servers."
    )

    @property
    def balancers(self) -> tuple[LoadBalancer, ...]:
        """Every load balancer, in order."""
        return (self.load_balancer,) if self.load_balancer is not None else ()

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

    rqs_input: Workload = Field(description="The workload: users and their request rate.")
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

    @property
    def workload_list(self) -> tuple[Workload, ...]:
        """Every workload (request class), in order."""
        return (self.rqs_input,)

    @model_validator(mode="after")
    def _check_cross_rules(self) -> Self:
        from asyncflow.scenario.rules import scenario_problems

        problems = scenario_problems(self)
        if problems:
            raise_problems(problems, "Scenario")
        return self
