"""The load balancer: no latency, no capacity; a policy picks the server."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from asyncflow.components.context import Request, RunContext
from asyncflow.components.policies import BalancingPolicy, ServerView


class LoadBalancer:
    """Forwards each arriving request to a covered server chosen by its policy.

    When every covered server is down the request fails with ``server_down``.
    """

    __slots__ = ("_choose", "_fail_down", "_sends", "_servers", "id")

    def __init__(
        self,
        ctx: RunContext,
        node_id: str,
        policy: BalancingPolicy,
        servers: Sequence[ServerView],
        sends: Sequence[Callable[[float, Request], None]],
    ) -> None:
        self.id = node_id
        self._choose = policy.choose
        self._servers = list(servers)
        self._sends = list(sends)
        self._fail_down = ctx.failer("server_down")

    def arrive(self, time: float, request: Request) -> None:
        """A request arrives: forward it, or fail it if no server is up."""
        i = self._choose(self._servers)
        if i < 0:
            self._fail_down(time, request)
        else:
            self._sends[i](time, request)
