"""The load balancer: no latency, no CPU; a policy picks the server.

In connection mode the balancer accepts client connections on its own
:class:`Listener` (sockets, backlog, connection memory) and holds each until
its request completes or fails: it relays the response.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from asyncflow.components.connections import Connection, Listener, hold
from asyncflow.components.context import Request, RunContext
from asyncflow.components.policies import BalancingPolicy, ServerView


class LoadBalancer:
    """Forwards each arriving request to a covered server chosen by its policy.

    When every covered server is down the request fails with ``server_down``.
    """

    __slots__ = ("_choose", "_fail_down", "_sends", "_servers", "id", "listener")

    def __init__(
        self,
        ctx: RunContext,
        node_id: str,
        policy: BalancingPolicy,
        servers: Sequence[ServerView],
        sends: Sequence[Callable[[float, Request], None]],
        listener: Listener | None = None,
    ) -> None:
        self.id = node_id
        self._choose = policy.choose
        self._servers = list(servers)
        self._sends = list(sends)
        self._fail_down = ctx.failer("server_down")
        self.listener = listener

    def arrive(self, time: float, request: Request) -> None:
        """A request arrives: accept its connection if new, then forward it."""
        listener = self.listener
        if listener is not None and not listener.admit(time, request, self._connected):
            return
        i = self._choose(self._servers)
        if i < 0:
            self._fail_down(time, request)
        else:
            self._sends[i](time, request)

    def _connected(self, time: float, request: Request, connection: Connection) -> None:
        hold(request, connection)
        self._forward(time, request)

    def _forward(self, time: float, request: Request) -> None:
        i = self._choose(self._servers)
        if i < 0:
            self._fail_down(time, request)
        else:
            self._sends[i](time, request)
