"""The scenario model tree: workload, topology, settings and events.

Every model is frozen and rejects unknown keys. Field names are the YAML keys
of AsyncFlow 0.1. Rules that span several parts of the scenario (the graph,
event targets) are checked by :mod:`asyncflow.scenario.rules` when the
:class:`Scenario` itself is validated.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Final, Literal, Self

from pydantic import AfterValidator, BeforeValidator, Discriminator, Field, Tag, model_validator

from asyncflow.scenario._base import NO_VALUE, FrozenModel, Problem, raise_problems
from asyncflow.scenario.cost import Cost
from asyncflow.scenario.distributions import (
    DURATION_RULE,
    Distribution,
    Duration,
    as_duration_input,
)
from asyncflow.scenario.events import Event, EventEnd, EventStart
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
DURATION_TAG: Final = "<duration>"
NUMBER_TAG: Final = "<number>"


def _step_value_tag(value: Any) -> str:
    return DURATION_TAG if isinstance(value, Mapping | Distribution) else NUMBER_TAG


StepValue = Annotated[
    Annotated[Duration, Tag(DURATION_TAG)] | Annotated[float, Field(gt=0), Tag(NUMBER_TAG)],
    Discriminator(_step_value_tag),
]


class Step(FrozenModel):
    """One step of an endpoint.

    Attributes:
        kind: What the step does. CPU kinds hold a core for ``cpu_time``; I/O
            kinds release it and wait ``io_waiting_time``; ``ram`` reserves
            ``necessary_ram`` MB for the whole time the request is in the server.
        step_operation: Exactly one key, the one matching ``kind``. Durations
            are :class:`Distribution`; ``necessary_ram`` is a number of MB.
    """

    kind: StepKind
    step_operation: dict[StepOperationName, StepValue]

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
    """An endpoint of a server: a named pipeline of steps.

    Attributes:
        endpoint_name: Name, lower-cased (as in 0.1).
        probability: Selection weight relative to the server's other
            endpoints; ``None`` means 1. (0.1 files carry ``probability: 1.0``.)
        steps: The steps, run in order; may be empty.
        request_kb: Size of the request, sent on links with a bandwidth.
        response_kb: Size of the response, sent on links with a bandwidth.
    """

    endpoint_name: Annotated[str, AfterValidator(str.lower)]
    probability: float | None = Field(default=None, gt=0)
    steps: tuple[Step, ...] = ()
    request_kb: float = Field(default=0.0, ge=0)
    response_kb: float = Field(default=0.0, ge=0)

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
    """Capacity of a server.

    Attributes:
        cpu_cores: Cores, each running one event loop.
        ram_mb: RAM in MB shared by the requests inside the server and the
            memory of its open connections.
        db_connection_pool: Accepted for 0.1 compatibility; unused.
        max_connections: See :class:`ConnectionLimits`.
        listen_backlog: See :class:`ConnectionLimits`.
        connection_memory_kb: See :class:`ConnectionLimits`.
    """

    cpu_cores: int = Field(default=1, ge=1)
    ram_mb: float = Field(default=1024.0, gt=0)
    db_connection_pool: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _check_limits(self) -> Self:
        problems = self.connection_problems(self.ram_mb)
        if problems:
            raise_problems(problems, "ServerResources")
        return self


class Server(FrozenModel):
    """An asynchronous server.

    Attributes:
        id: Node id, unique among all nodes.
        type: Always ``server``.
        server_resources: Cores, RAM and socket limits.
        endpoints: At least one endpoint; names unique.
        tls: TLS termination (handshake round trips and CPU of new connections).
    """

    id: str
    type: Literal["server"] = "server"
    server_resources: ServerResources = ServerResources()
    endpoints: tuple[Endpoint, ...] = Field(min_length=1)
    tls: Tls | None = None

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
    """The client: sends requests on and receives the responses.

    Attributes:
        id: Node id.
        type: Always ``client``.
        connection_pool: Keep-alive pool of connections to the next node;
            without it connection set-up is not modelled.
    """

    id: str
    type: Literal["client"] = "client"
    connection_pool: ConnectionPool | None = None


LbAlgorithm = Literal[
    "round_robin", "random", "least_connection", "power_of_two_choices", "weighted_round_robin"
]


class LoadBalancer(FrozenModel):
    """A load balancer in front of the servers.

    Attributes:
        id: Node id.
        type: Always ``load_balancer``.
        algorithms: The balancing algorithm (0.1's key name, one value).
        server_covered: Servers it forwards to, in order; no duplicates.
        weights: Server id to weight; required by and only allowed with
            ``weighted_round_robin``; every covered server needs one.
        resources: Memory and socket limits of its inbound connections.
        connection_pool: Keep-alive pool of connections to each server.
        tls: TLS termination of client connections (round trips only).
    """

    id: str
    type: Literal["load_balancer"] = "load_balancer"
    algorithms: LbAlgorithm = "round_robin"
    server_covered: tuple[str, ...] = Field(min_length=1)
    weights: dict[str, Annotated[float, Field(gt=0)]] | None = None
    resources: LoadBalancerResources | None = None
    connection_pool: ConnectionPool | None = None
    tls: Tls | None = None

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
    """The nodes of the topology.

    Attributes:
        client: The single client.
        servers: At least one server.
        load_balancer: Optional; required with several servers.
    """

    client: Client
    servers: tuple[Server, ...] = Field(min_length=1)
    load_balancer: LoadBalancer | None = None

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
    """A network link from one node to another.

    Attributes:
        id: Edge id, unique among edges.
        source: Source node id, or the workload id.
        target: Target node id.
        latency: Delay of the link (a duration).
        edge_type: Always ``network_connection``.
        dropout_rate: Probability that a request crossing the link is dropped.
            Defaults to 0 (0.1 defaulted to 0.01).
        bandwidth_mbps: Capacity of the link in megabits per second, shared by
            the transfers on it (processor sharing); ``None``: unlimited.
    """

    id: str
    source: str
    target: str
    latency: Duration
    edge_type: Literal["network_connection"] = "network_connection"
    dropout_rate: float = Field(default=0.0, ge=0, le=1)
    bandwidth_mbps: float | None = Field(default=None, gt=0)


class Topology(FrozenModel):
    """Nodes and edges (YAML key ``topology_graph``).

    Attributes:
        nodes: The nodes.
        edges: The links.
    """

    nodes: Nodes
    edges: tuple[Edge, ...]


# --------------------------------------------------------------------------- scenario


class Scenario(FrozenModel):
    """A complete scenario; validating it checks every rule, graph included.

    Attributes:
        rqs_input: The workload.
        topology_graph: Nodes and edges.
        sim_settings: Run settings.
        events: Injected faults (``events:`` with no value means none).
        name: Name of the scenario; the loader uses the file stem.
        cost: Prices of what the design provisions; the summary then reports
            its cost per hour and per million requests.
    """

    rqs_input: Workload
    topology_graph: Topology
    sim_settings: SimSettings
    events: Annotated[tuple[Event, ...], BeforeValidator(lambda v: () if v is None else v)] = ()
    name: str = "scenario"
    cost: Cost | None = Field(
        default=None,
        description="Prices of servers (per server-, core- and GB-of-RAM-hour) and load "
        "balancers (per hour); the summary then reports the cost per hour and per million "
        "completed requests. None: costs are not reported.",
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
