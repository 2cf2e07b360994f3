"""A fluent Python builder for scenarios.

The builder only assembles the same mapping a YAML file would hold and
validates it through the same models, so a built scenario equals the loaded
one and bad input gives the same ``ScenarioError`` messages::

    from asyncflow.scenario.builder import ScenarioBuilder, cpu, endpoint, exponential, io, ram

    scenario = (
        ScenarioBuilder("mm1")
        .workload(users=100, requests_per_minute=20)
        .client("client-1")
        .server("srv-1", ram_mb=2048, endpoints=[endpoint("/api", cpu(0.002), ram(128), io(0.012))])
        .wire(latency=exponential(0.003))
        .settings(horizon_s=600, seed=1)
        .build()
    )
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, Self

from asyncflow.scenario._builder_args import (
    mapping_arg,
    mappings_arg,
    names_arg,
    pairs_arg,
)
from asyncflow.scenario._health_args import health_check, outlier_ejection
from asyncflow.scenario._policy_args import (
    admission_queue,
    backoff,
    circuit_breaker,
    concurrency_limit,
    rate_limit,
    retry,
    timeout,
)
from asyncflow.scenario._step_args import (
    DistributionLike,
    as_plain,
    branch,
    call,
    connection_pool,
    cpu,
    deterministic,
    empirical,
    endpoint,
    exponential,
    gamma,
    io,
    log_normal,
    normal,
    parallel,
    poisson,
    quantiles,
    ram,
    tls,
    uniform,
)
from asyncflow.scenario.datastore_builder import (
    cache_get,
    cache_spec,
    database_pool,
    database_spec,
    db_query,
    keys,
    local_cache,
    store_targets,
)
from asyncflow.scenario.loader import parse_scenario
from asyncflow.scenario.models import Scenario

__all__ = [
    "DistributionLike",
    "ScenarioBuilder",
    "admission_queue",
    "backoff",
    "branch",
    "cache_get",
    "call",
    "circuit_breaker",
    "concurrency_limit",
    "connection_pool",
    "cpu",
    "database_pool",
    "db_query",
    "deterministic",
    "empirical",
    "endpoint",
    "exponential",
    "gamma",
    "health_check",
    "io",
    "keys",
    "local_cache",
    "log_normal",
    "normal",
    "outlier_ejection",
    "parallel",
    "poisson",
    "quantiles",
    "ram",
    "rate_limit",
    "retry",
    "timeout",
    "tls",
    "uniform",
]

_POOL = "a mapping (from connection_pool())"
_TLS = "a mapping (from tls())"
_ENDPOINTS = "a list of endpoints (from endpoint())"



# --------------------------------------------------------------------------- builder


class ScenarioBuilder:
    """Assemble a scenario step by step; :meth:`build` validates it.

    Every method returns the builder. Nothing is checked before :meth:`build`,
    which raises the same ``ScenarioError`` a file with this content would.
    """

    def __init__(self, name: str = "scenario") -> None:
        """Start an empty scenario.

        Args:
            name: Name of the scenario.
        """
        self._name = name
        self._workloads: list[dict[str, Any]] = []
        self._client: dict[str, Any] | None = None
        self._servers: list[dict[str, Any]] = []
        self._balancers: list[dict[str, Any]] = []
        self._edges: list[dict[str, Any]] = []
        self._settings: dict[str, Any] | None = None
        self._events: list[dict[str, Any]] = []
        self._stores: dict[str, list[dict[str, Any]]] = {"databases": [], "caches": []}
        self._policies: list[dict[str, Any]] = []

    def workload(
        self,
        users: DistributionLike | None = None,
        requests_per_minute: DistributionLike = 1.0,
        *,
        distribution: Literal["poisson", "normal", "deterministic"] = "poisson",
        id: str = "rqs-1",
        sampling_window_s: float = 60.0,
        users_profile: Sequence[tuple[float, float]] | None = None,
        target: str | None = None,
        endpoint: str | None = None,
        bursts: Mapping[str, Any] | None = None,
    ) -> Self:
        """Add a workload (``rqs_input`` for one, ``workloads`` for several).

        A second call with the same ``id`` replaces the first.

        Args:
            users: Mean active users (a number, drawn with ``distribution``),
                or a distribution mapping. Defaults to the first profile point.
            requests_per_minute: Requests per minute per user (a number means
                a Poisson rate, as in 0.1 files), or a distribution mapping.
            distribution: Family of ``users`` when it is a number.
            id: Id of the generator.
            sampling_window_s: Seconds between two draws of the user count.
            users_profile: ``(t_s, users)`` points of a piecewise-linear profile.
            target: The entry node its requests go to from the client (a server
                or a load balancer); needed when the client has several edges.
            endpoint: The endpoint its requests run there.
            bursts: Bursty arrivals around the workload's rate: ``rate_ratio``,
                ``mean_quiet_s``, ``mean_burst_s`` (a two-state MMPP,
                ``scenario.arrivals``).

        Returns:
            The builder.
        """
        profile = None
        if users_profile is not None:
            where, expected = "workload(): users_profile", "a list of (t_s, users) pairs"
            profile = pairs_arg(users_profile, where, expected)
        if users is None and profile:
            users = profile[0][1]
        spec: dict[str, Any] = {
            "id": id,
            "avg_request_per_minute_per_user": _count(requests_per_minute, "poisson"),
            "user_sampling_window": sampling_window_s,
        }
        if users is not None:
            spec["avg_active_users"] = _count(users, distribution)
        if profile is not None:
            spec["users_profile"] = [{"t_s": t, "users": u} for t, u in profile]
        if target is not None:
            spec["target"] = target
        if endpoint is not None:
            spec["endpoint"] = endpoint
        if bursts is not None:
            spec["bursts"] = dict(bursts)
        self._workloads = [w for w in self._workloads if w["id"] != id] + [spec]
        return self

    def client(
        self, id: str = "client-1", *, connection_pool: Mapping[str, Any] | None = None
    ) -> Self:
        """Set the client's id and, optionally, its keep-alive pool.

        Returns:
            The builder.
        """
        self._client = {"id": id}
        if connection_pool is not None:
            self._client["connection_pool"] = mapping_arg(
                connection_pool, "client(): connection_pool", _POOL
            )
        return self

    def server(
        self,
        id: str,
        *,
        endpoints: Sequence[Mapping[str, Any]],
        cpu_cores: int = 1,
        ram_mb: float = 1024.0,
        db_connection_pool: int | None = None,
        max_connections: int | None = None,
        listen_backlog: int | None = None,
        connection_memory_kb: float | None = None,
        tls: Mapping[str, Any] | None = None,
        connection_pool: Mapping[str, Any] | None = None,
        database_pools: Sequence[Mapping[str, Any]] = (),
        local_caches: Sequence[Mapping[str, Any]] = (),
    ) -> Self:
        """Add a server.

        Args:
            id: Node id.
            endpoints: Endpoints, e.g. from :func:`endpoint`.
            cpu_cores: Cores (event loops).
            ram_mb: RAM in MB.
            db_connection_pool: Accepted for 0.1 compatibility; unused.
            max_connections: Open sockets at once (unlimited when omitted).
            listen_backlog: Connections that may wait to be accepted.
            connection_memory_kb: Memory each open connection pins.
            tls: TLS termination, e.g. from :func:`tls`.
            connection_pool: Keep-alive pool of the connections its calls open
                (a server that makes calls only), e.g. from :func:`connection_pool`.
            database_pools: Pools to databases, e.g. from :func:`database_pool`.
            local_caches: Caches in its process, e.g. from :func:`local_cache`.

        Returns:
            The builder.
        """
        resources: dict[str, Any] = {"cpu_cores": cpu_cores, "ram_mb": ram_mb}
        optional = {
            "db_connection_pool": db_connection_pool,
            "max_connections": max_connections,
            "listen_backlog": listen_backlog,
            "connection_memory_kb": connection_memory_kb,
        }
        resources.update({k: v for k, v in optional.items() if v is not None})
        server: dict[str, Any] = {
            "id": id,
            "server_resources": resources,
            "endpoints": mappings_arg(endpoints, "server(): endpoints", _ENDPOINTS),
        }
        if tls is not None:
            server["tls"] = mapping_arg(tls, "server(): tls", _TLS)
        if connection_pool is not None:
            server["connection_pool"] = mapping_arg(
                connection_pool, "server(): connection_pool", _POOL
            )
        if database_pools:
            server["database_pools"] = [dict(p) for p in database_pools]
        if local_caches:
            server["local_caches"] = [dict(c) for c in local_caches]
        self._servers.append(server)
        return self

    def load_balancer(
        self,
        id: str = "lb-1",
        *,
        servers: Sequence[str],
        algorithm: str = "round_robin",
        weights: Mapping[str, float] | None = None,
        resources: Mapping[str, Any] | None = None,
        connection_pool: Mapping[str, Any] | None = None,
        tls: Mapping[str, Any] | None = None,
    ) -> Self:
        """Add a load balancer (``load_balancer`` for one, ``load_balancers`` for several).

        A second call with the same ``id`` replaces the first.

        Args:
            id: Node id.
            servers: Covered server ids, in order.
            algorithm: ``round_robin``, ``random``, ``least_connection``,
                ``power_of_two_choices`` or ``weighted_round_robin``.
            weights: Server id to weight (``weighted_round_robin`` only).
            resources: ``ram_mb`` and socket limits of its client connections.
            connection_pool: Keep-alive pool towards each server.
            tls: TLS termination of client connections (round trips).

        Returns:
            The builder.
        """
        covered = names_arg(servers, "load_balancer(): servers", "a list of server ids")
        spec: dict[str, Any] = {"id": id, "algorithms": algorithm, "server_covered": covered}
        extras = {
            "weights": (weights, "a mapping of server id to weight"),
            "resources": (resources, "a mapping of ram_mb and socket limits"),
            "connection_pool": (connection_pool, _POOL),
            "tls": (tls, _TLS),
        }
        for key, (value, expected) in extras.items():
            if value is not None:
                spec[key] = mapping_arg(value, f"load_balancer(): {key}", expected)
        self._balancers = [b for b in self._balancers if b["id"] != id] + [spec]
        return self

    def database(
        self,
        id: str,
        *,
        queries: Mapping[str, DistributionLike],
        workers: int = 1,
        max_connections: int | None = None,
    ) -> Self:
        """Add a database running ``queries`` (name → latency on an idle database).

        Returns:
            The builder.
        """
        plain = {name: as_plain(latency) for name, latency in queries.items()}
        self._stores["databases"].append(database_spec(id, plain, workers, max_connections))
        return self

    def cache(self, id: str, *, hit_latency: DistributionLike, **options: Any) -> Self:
        """Add a remote cache answering lookups in ``hit_latency``.

        ``options`` are its other keys: ``hit_ratio``, or ``capacity_items``,
        ``eviction``, ``ttl_s``, ``keys`` (from :func:`keys`) and ``coalesce``;
        ``workers``, ``max_connections``.

        Returns:
            The builder.
        """
        self._stores["caches"].append(cache_spec(id, as_plain(hit_latency), **options))
        return self

    def flush(self, cache_id: str, *, at: float, id: str | None = None) -> Self:
        """Empty a cache at ``at`` seconds (a ``cache_flush`` event).

        Returns:
            The builder.
        """
        self._events.append(
            {
                "event_id": id if id is not None else f"flush-{len(self._events) + 1}",
                "target_id": cache_id,
                "start": {"kind": "cache_flush", "t_start": at},
            }
        )
        return self

    def edge(
        self,
        source: str,
        target: str,
        *,
        latency: DistributionLike,
        id: str | None = None,
        dropout_rate: float = 0.0,
        bandwidth_mbps: float | None = None,
    ) -> Self:
        """Add a network link; its id defaults to ``"source->target"``.

        Args:
            source: Source node id or the workload id.
            target: Target node id.
            latency: Delay in seconds (a number is a constant).
            id: Edge id.
            dropout_rate: Probability of dropping a request.
            bandwidth_mbps: Capacity shared by the bodies crossing the link.

        Returns:
            The builder.
        """
        spec: dict[str, Any] = {
            "id": id if id is not None else f"{source}->{target}",
            "source": source,
            "target": target,
            "latency": as_plain(latency),
            "dropout_rate": dropout_rate,
        }
        if bandwidth_mbps is not None:
            spec["bandwidth_mbps"] = bandwidth_mbps
        self._edges.append(spec)
        return self

    def wire(self, *, latency: DistributionLike, dropout_rate: float = 0.0) -> Self:
        """Add every edge the topology needs that is not declared yet.

        Each workload → client → its entry node (its ``target``, else the
        single load balancer, else the first server); each balancer → the
        servers it covers; each server a workload enters → client; for every
        call in an endpoint, the caller → the target and each server that
        answers → the caller. Call it after the nodes (and any custom edges).

        Args:
            latency: Delay of each added edge.
            dropout_rate: Drop probability of each added edge.

        Returns:
            The builder.
        """
        for source, target in self._needed_links():
            if not any(e["source"] == source and e["target"] == target for e in self._edges):
                self.edge(source, target, latency=latency, dropout_rate=dropout_rate)
        return self

    def _needed_links(self) -> list[tuple[str, str]]:
        client = (self._client or {}).get("id", "client-1")
        covered = {b["id"]: list(b["server_covered"]) for b in self._balancers}
        servers = [server["id"] for server in self._servers]
        default = self._balancers[0]["id"] if len(self._balancers) == 1 else None
        if default is None and servers and not self._balancers:
            default = servers[0]
        links: list[tuple[str, str]] = []
        entries: list[str] = []
        for workload in self._workloads or [{"id": "rqs-1"}]:
            links.append((workload["id"], client))
            entry = workload.get("target", default)
            if entry is not None:
                entries.append(entry)
        links += [(client, entry) for entry in entries]
        for lb_id, server_ids in covered.items():
            links += [(lb_id, server_id) for server_id in server_ids]
        for entry in entries:
            links += [(s, client) for s in covered.get(entry, [entry])]
        for server in self._servers:
            for target in _call_targets(server):
                links.append((server["id"], target))
                links += [(s, server["id"]) for s in covered.get(target, [target])]
            for target in store_targets(server):
                links += [(server["id"], target), (target, server["id"])]
        return list(dict.fromkeys(links))

    def outage(self, server_id: str, *, start: float, end: float, id: str | None = None) -> Self:
        """Take a server down from ``start`` to ``end`` seconds.

        Returns:
            The builder.
        """
        self._events.append(
            {
                "event_id": id if id is not None else f"outage-{len(self._events) + 1}",
                "target_id": server_id,
                "start": {"kind": "server_down", "t_start": start},
                "end": {"kind": "server_up", "t_end": end},
            }
        )
        return self

    def spike(
        self,
        edge_id: str,
        *,
        start: float,
        end: float,
        spike_s: float,
        id: str | None = None,
    ) -> Self:
        """Add ``spike_s`` seconds to an edge's latency from ``start`` to ``end``.

        Returns:
            The builder.
        """
        self._events.append(
            {
                "event_id": id if id is not None else f"spike-{len(self._events) + 1}",
                "target_id": edge_id,
                "start": {"kind": "network_spike_start", "t_start": start, "spike_s": spike_s},
                "end": {"kind": "network_spike_end", "t_end": end},
            }
        )
        return self

    def policy(self, *policies: Mapping[str, Any]) -> Self:
        """Add overload policies (from ``rate_limit()``, ``health_check()`` and the like).

        Returns:
            The builder.
        """
        self._policies += [dict(p) for p in policies]
        return self

    def settings(
        self,
        horizon_s: float,
        *,
        seed: int | None = None,
        warm_up_s: float = 0.0,
        sample_period_s: float = 0.01,
    ) -> Self:
        """Set the run settings.

        Args:
            horizon_s: Simulated seconds (``total_simulation_time``).
            seed: Seed of the random streams.
            warm_up_s: Initial seconds left out of statistics.
            sample_period_s: Default resolution of time series.

        Returns:
            The builder.
        """
        self._settings = {
            "total_simulation_time": horizon_s,
            "sample_period_s": sample_period_s,
            "seed": seed,
            "warm_up_s": warm_up_s,
        }
        return self

    def to_dict(self) -> dict[str, Any]:
        """Return the scenario as the mapping a YAML or JSON file would hold.

        Returns:
            Plain data; parts not set yet are absent.
        """
        data: dict[str, Any] = {"name": self._name}
        if len(self._workloads) == 1:
            data["rqs_input"] = self._workloads[0]
        elif self._workloads:
            data["workloads"] = self._workloads
        nodes: dict[str, Any] = {"servers": self._servers}
        if self._client is not None:
            nodes["client"] = self._client
        if len(self._balancers) == 1:
            nodes["load_balancer"] = self._balancers[0]
        elif self._balancers:
            nodes["load_balancers"] = self._balancers
        nodes.update({key: specs for key, specs in self._stores.items() if specs})
        data["topology_graph"] = {"nodes": nodes, "edges": self._edges}
        if self._settings is not None:
            data["sim_settings"] = self._settings
        if self._events:
            data["events"] = self._events
        if self._policies:
            data["policies"] = self._policies
        copied: dict[str, Any] = _deep_copy(data)
        return copied

    def build(self) -> Scenario:
        """Validate and return the scenario.

        Returns:
            The scenario.

        Raises:
            ScenarioError: Listing every problem, as for a file.
        """
        return parse_scenario(self.to_dict(), name=self._name)


def _call_targets(server: Mapping[str, Any]) -> list[str]:
    """The targets of every call in a server's endpoints, branches included."""
    targets: list[str] = []

    def walk(steps: Any) -> None:
        for step in steps if isinstance(steps, list) else []:
            operation = step.get("step_operation", {}) if isinstance(step, Mapping) else {}
            if "call" in operation:
                targets.append(operation["call"].get("target"))
            elif "parallel" in operation:
                targets.extend(c.get("target") for c in operation["parallel"].get("calls", []))
            elif "branch" in operation:
                for arm in operation["branch"]:
                    walk(arm.get("steps", []))

    for spec in server.get("endpoints", []):
        walk(spec.get("steps", []))
    return [t for t in targets if isinstance(t, str)]


def _count(value: DistributionLike, family: str) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return {"distribution": family, "mean": value}
    return as_plain(value)


def _deep_copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _deep_copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_deep_copy(item) for item in value]
    return value
