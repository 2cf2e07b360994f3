"""The load balancer: no latency, no CPU; a policy picks the server.

In connection mode the balancer accepts its callers' connections on its own
:class:`Listener` (sockets, backlog, connection memory) and holds each until
its call ends: it relays the reply.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from asyncflow.components.calls import SENDING, Call
from asyncflow.components.connections import Connection, Listener, hold
from asyncflow.components.context import RunContext
from asyncflow.components.policies import BalancingPolicy, ServerView


class LoadBalancer:
    """Forwards each arriving call to a covered server chosen by its policy.

    When every covered server is down the call fails with ``server_down``.
    """

    kind = "load_balancer"

    __slots__ = (
        "_choose",
        "_ctx",
        "_down",
        "_fail",
        "_place",
        "_sends",
        "_servers",
        "id",
        "listener",
    )

    def __init__(
        self,
        ctx: RunContext,
        node_id: str,
        policy: BalancingPolicy,
        servers: Sequence[ServerView],
        sends: Sequence[Callable[[float, Call], None]],
        listener: Listener | None = None,
    ) -> None:
        self.id = node_id
        self._ctx = ctx
        self._choose = policy.choose
        self._servers = list(servers)
        self._sends = list(sends)
        self._fail = ctx.fail
        self._down = ctx.code("server_down")
        self._place = ctx.place(node_id)
        self.listener = listener

    def arrive(self, time: float, call: Call) -> None:
        """A call arrives: accept its connection if new, then forward it."""
        if call.cancelled:
            self._ctx.close_call(time, call, self._ctx.code("cancelled"))
            return
        listener = self.listener
        if listener is not None and not listener.admit(time, call, self._connected):
            return
        i = self._choose(self._servers)  # _forward, inlined: once per request
        if i < 0:
            self._fail(time, call, self._down, self._place, call.site.out_edge)
        else:
            self._sends[i](time, call)

    def forward(self, time: float, call: Call) -> None:
        """Hand a call on at ``time`` (its arrival, decided ahead of time).

        Used instead of :meth:`arrive` when the choice depends on nothing
        that can change before the call arrives: a policy that looks at no
        server's load, no outage among the servers, no connection model. The
        balancer then costs no kernel event (see ``bench/run.py``); the
        choices are the same sequence, made in the order calls are sent.
        """
        i = self._choose(self._servers)
        if i < 0:  # pragma: no cover - only used without outages
            self._fail(time, call, self._down, self._place)
        else:
            self._sends[i](time, call)

    def _connected(self, time: float, call: Call, connection: Connection) -> None:
        hold(call, connection)
        call.state = SENDING
        self._forward(time, call)

    def _forward(self, time: float, call: Call) -> None:
        i = self._choose(self._servers)
        if i < 0:
            self._fail(time, call, self._down, self._place, call.site.out_edge)
        else:
            self._sends[i](time, call)
