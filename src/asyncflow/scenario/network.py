"""Connection limits, keep-alive pools and TLS: the network baseline of nodes.

Servers (in ``server_resources``) and load balancers (in ``resources``) may
limit their open sockets (``max_connections``), the connections waiting to be
accepted (``listen_backlog``) and pin memory per open connection
(``connection_memory_kb``, counted against the node's RAM). Clients and load
balancers may keep idle connections alive (``connection_pool``); with a pool,
every new connection pays its handshake. Every field is optional and the
defaults (no limits, no memory, no pool) leave a scenario's results as they
were without them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self

from pydantic import Field, model_validator

from asyncflow.scenario._base import FrozenModel, Problem, raise_problems
from asyncflow.scenario._types import Integer, Number
from asyncflow.scenario.distributions import Duration
from asyncflow.scenario.limits import (
    MAX_CONNECTION_MEMORY_KB,
    MAX_CONNECTIONS,
    MAX_HORIZON_S,
    MAX_POOL_SIZE,
    MAX_RAM_MB,
    MAX_TLS_ROUND_TRIPS,
)

__all__ = ["ConnectionLimits", "ConnectionPool", "LoadBalancerResources", "Tls"]


class ConnectionLimits(FrozenModel):
    """Socket limits of a node (mixed into its resources)."""

    max_connections: Integer | None = Field(
        default=None,
        ge=1,
        le=MAX_CONNECTIONS.value,
        description="Open sockets at once (connections); unset: unlimited.",
    )
    listen_backlog: Integer | None = Field(
        default=None,
        ge=0,
        le=MAX_CONNECTIONS.value,
        description="Connections that may wait to be accepted when every socket is taken "
        "(connections); beyond it they are refused. Needs max_connections; unset or 0: "
        "no backlog.",
    )
    connection_memory_kb: Number = Field(
        default=0.0,
        ge=0,
        le=MAX_CONNECTION_MEMORY_KB.value,
        description="Memory each open connection pins (kernel buffers and "
        "per-connection state), in KB, taken from the node's ram_mb.",
    )

    def connection_problems(self, ram_mb: float) -> list[Problem]:
        """Rules between the limits and the node's RAM."""
        problems: list[Problem] = []
        if self.listen_backlog and self.max_connections is None:
            rule = (
                "needs max_connections: a backlog only fills when every socket is taken "
                "(unlimited sockets never wait)"
            )
            problems.append((("listen_backlog",), rule, self.listen_backlog))
        if self.max_connections is not None and self.connection_memory_kb:
            needed_mb = self.max_connections * self.connection_memory_kb / 1024.0
            if needed_mb > ram_mb:
                rule = (
                    f"max_connections x connection_memory_kb needs {needed_mb:g} MB but ram_mb "
                    f"is {ram_mb:g}: lower max_connections (or leave it unset to let memory "
                    "be the limit)"
                )
                problems.append((("connection_memory_kb",), rule, self.connection_memory_kb))
        return problems

    @property
    def models_sockets(self) -> bool:
        """Whether any socket limit or connection memory is set."""
        return self.max_connections is not None or self.connection_memory_kb > 0


class LoadBalancerResources(ConnectionLimits):
    """Resources of a load balancer: memory for its connections, socket limits."""

    ram_mb: Number = Field(
        default=1024.0,
        gt=0,
        le=MAX_RAM_MB.value,
        description="Memory for the balancer's client connections, in MB.",
    )

    @model_validator(mode="after")
    def _check_limits(self) -> Self:
        problems = self.connection_problems(self.ram_mb)
        if problems:
            raise_problems(problems, "LoadBalancerResources")
        return self


class ConnectionPool(FrozenModel):
    """Idle connections kept per destination by a client or load balancer.

    With a pool, opening a connection costs a handshake: one round trip of
    the edge for TCP, plus the destination's TLS round trips and CPU.
    """

    keep_alive: bool = Field(
        default=True,
        strict=True,
        description="Reuse idle connections (true/false); false opens one per request.",
    )
    pool_size: Integer = Field(
        default=10,
        ge=1,
        le=MAX_POOL_SIZE.value,
        description="Idle connections kept per destination at most (connections).",
    )
    idle_timeout_s: Number = Field(
        default=60.0,
        gt=0,
        le=MAX_HORIZON_S.value,
        description="An idle connection is closed after this many seconds unused.",
    )


class Tls(FrozenModel):
    """TLS termination at a node: extra handshake cost of new connections."""

    round_trips: Integer = Field(
        default=1,
        ge=0,
        le=MAX_TLS_ROUND_TRIPS.value,
        description="Round trips of the edge a handshake adds to TCP's one "
        "(round trips; TLS 1.3: 1, TLS 1.2: 2).",
    )
    cpu_s: Duration | None = Field(
        default=None,
        description="CPU time of one handshake at a server, in seconds (holds a core); "
        "not allowed on load balancers, which have no CPU model.",
    )


def refuse_pool_on_server(data: Any) -> None:
    """A server opens connections only for its calls, and ``keep_alive`` is a pool key."""
    if isinstance(data, Mapping) and "keep_alive" in data:
        rule = (
            "keep_alive belongs in a connection_pool (on the client, a load balancer, "
            "or a server that makes calls)"
        )
        raise_problems([(("keep_alive",), rule, data["keep_alive"])], "Server")
