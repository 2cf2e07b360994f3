"""Connections: sockets and backlog at a node, keep-alive pools at senders.

A :class:`Listener` is the accepting side of a node (server or load
balancer): at most ``max_connections`` open sockets, each pinning
``connection_memory_kb`` of the node's RAM. A call arriving on a new
connection is accepted when a socket and its memory are free, waits in the
FIFO ``listen_backlog`` otherwise, and is refused (``connection_refused``)
when the backlog is full too. Sockets and backlog are one counting
:class:`~asyncflow.engine.resource.Resource` (the backlog is its queue);
memory is taken from the node's RAM ahead of requests waiting for RAM.

A :class:`Pool` is the opening side (client or load balancer): it keeps up to
``pool_size`` idle connections per destination for ``idle_timeout_s``. An
idle connection stays open at the destination, holding its socket and
memory. A connection released while a call of the same pool waits in the
destination's backlog goes to that call at once. Without a pool every call
opens a connection of its own.

A call holds the connection it arrived on at a server until it leaves the
server, and the one it arrived on at a load balancer until it ends (the
balancer relays the reply). Releasing a connection returns it to its pool
when the pool keeps connections alive and has room, and closes it
otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from asyncflow.components.calls import BACKLOG, HANDSHAKING, SENDING, Call
from asyncflow.components.context import RunContext
from asyncflow.engine.resource import Resource, Waiter
from asyncflow.engine.timeouts import DeadlineQueue
from asyncflow.metrics.phases import CONNECTION_WAIT, HANDSHAKE

if TYPE_CHECKING:
    from asyncflow.components.edges import Edge
    from asyncflow.scenario import ConnectionLimits, ConnectionPool

Proceed = Callable[[float, Call, "Connection"], None]


class Connection:
    """An open connection to a node's listener, owned by the pool that opened it."""

    __slots__ = ("epoch", "listener", "pool")

    def __init__(self, listener: Listener, pool: Pool | None) -> None:
        self.listener = listener
        self.pool = pool
        self.epoch = listener.epoch

    @property
    def alive(self) -> bool:
        """False once the node it leads to has crashed."""
        return self.epoch == self.listener.epoch

    def release(self, time: float) -> None:
        """The call is done with it: back to its pool, or closed."""
        pool = self.pool
        if pool is None or not pool.keep(time, self):
            self.listener.close(time, self)


class Listener:
    """Sockets, accept backlog and connection memory of one node."""

    def __init__(
        self,
        ctx: RunContext,
        node_id: str,
        limits: ConnectionLimits | None,
        memory: Resource,
        server_index: int = -1,
    ) -> None:
        self.node_id = node_id
        self._server_index = server_index  # written to refused requests' rows
        self._ctx = ctx
        max_connections = limits.max_connections if limits and limits.max_connections else math.inf
        backlog = (limits.listen_backlog or 0) if limits else 0
        self.connection_mb = (limits.connection_memory_kb / 1024.0) if limits else 0.0
        self.memory = memory
        self.sockets = Resource(
            max_connections,
            ctx.level(node_id, "connections"),
            ctx.level(node_id, "backlog"),
            max_queue=backlog,
        )
        self.sockets.gate = self._gate
        self.idle = 0  # open but parked in a sender's keep-alive pool
        self.refused = 0
        self.epoch = 0
        self._memory_level = ctx.level(node_id, "connection_memory_mb")
        self._fail_refused = ctx.code("connection_refused")
        self._place = ctx.place(node_id)

    @property
    def open(self) -> int:
        """Open connections (in use or idle in a pool)."""
        return int(self.sockets.in_use)

    @property
    def active(self) -> int:
        """Open connections in use by a call (not idle in a pool)."""
        return self.open - self.idle

    @property
    def backlog_length(self) -> int:
        """Connections waiting to be accepted."""
        return self.sockets.waiting

    def admit(self, time: float, call: Call, proceed: Proceed) -> bool:
        """Let ``call`` through if it came on a live connection; else accept one.

        Returns True when the call may go on now with the connection it has;
        otherwise :meth:`accept` has it (``proceed`` is called once connected).
        """
        connection = call.conn
        if connection is not None and connection.alive:
            return True
        self.accept(time, call, proceed)
        return False

    def accept(self, time: float, call: Call, proceed: Proceed) -> None:
        """A call arrives on a new connection: open it, queue it, or refuse it."""
        sockets = self.sockets
        if not sockets.waiting and sockets.free >= 1 and self._take_memory(time):
            sockets.take(time, 1)
            proceed(time, call, Connection(self, call.pool))
            return
        waiter = sockets.wait(time, (call, proceed), 1, self._accepted)
        if waiter is not None:
            call.state = BACKLOG
            call.mark = time
            call.waiter = waiter
            return
        self.refused += 1
        if self._server_index >= 0 and call.parent is None:
            self._ctx.log.server[call.root] = self._server_index
        site = call.site
        back = site.reply_edges[self._server_index] if self._server_index >= 0 else site.out_edge
        self._ctx.fail(time, call, self._fail_refused, self._place, back)

    def _gate(self, time: float, waiter: Waiter) -> bool:
        """A waiter is accepted only with its connection's memory."""
        return self._take_memory(time)

    def _take_memory(self, time: float) -> bool:
        mb = self.connection_mb
        if not mb:
            return True
        if not self.memory.take(time, mb, overtake=True):
            return False
        self._memory_level.change(time, mb)
        return True

    def _accepted(self, time: float, item: tuple[Call, Proceed], waited: float) -> None:
        call, proceed = item
        call.ph[CONNECTION_WAIT] += waited
        proceed(time, call, Connection(self, call.pool))

    def withdraw(self, time: float, call: Call) -> None:
        """Take a call out of the backlog (cancelled); its wait so far is counted."""
        call.ph[CONNECTION_WAIT] += self.sockets.withdraw(time, call.waiter)
        call.mark = time

    def close(self, time: float, connection: Connection) -> None:
        """Close a connection: free its socket and memory, accept from the backlog."""
        if not connection.alive:
            return  # closed already when the node crashed
        self.sockets.release(time, 1)
        mb = self.connection_mb
        if mb:
            self._memory_level.change(time, -mb)
            self.memory.release(time, mb)
        self.retry(time)
        if mb:
            self.memory.serve(time)

    def retry(self, time: float) -> None:
        """Accept waiting connections while sockets and memory allow."""
        self.sockets.serve(time)

    def hand_over(self, time: float, pool: Pool, connection: Connection) -> bool:
        """Give a connection released to ``pool`` to a call of that pool in the backlog.

        A sender with a call waiting to connect uses a connection that comes
        free instead (the pending connection attempt is dropped).
        """
        for waiter in self.sockets.waiters():
            call, proceed = waiter.item
            if call.pool is pool:
                call.ph[CONNECTION_WAIT] += self.sockets.withdraw(time, waiter)
                proceed(time, call, connection)
                return True
        return False

    def crash(self, time: float) -> list[Call]:
        """The node went down: every connection dies; return the calls in the backlog."""
        waiting: list[Call] = []
        for waiter in self.sockets.waiters():
            call = waiter.item[0]
            call.ph[CONNECTION_WAIT] += time - waiter.mark
            call.mark = time
            waiting.append(call)
        self.sockets.clear(time)
        memory = self._memory_level.value + self._memory_level.pending_sum()
        if memory:
            self._memory_level.change(time, -memory)
        self.idle = 0
        self.epoch += 1
        return waiting


class Pool:
    """Idle keep-alive connections from one sender to one destination.

    Idle connections form a stack: the most recently released is reused
    first, so the oldest is always the first to time out. One kernel event
    at a time (a :class:`~asyncflow.engine.timeouts.DeadlineQueue`) closes
    the connections whose idle timeout has passed.
    """

    def __init__(self, ctx: RunContext, spec: ConnectionPool, listener: Listener) -> None:
        self.keep_alive = spec.keep_alive
        self.size = spec.pool_size
        self.listener = listener
        self._idle = DeadlineQueue(ctx.kernel, spec.idle_timeout_s, self._expire)
        self._count = 0

    def take(self) -> Connection | None:
        """The most recently used idle connection still alive, if any."""
        while self._count:
            connection: Connection = self._idle.pop_newest()
            self._count -= 1
            if connection.alive:
                connection.listener.idle -= 1
                return connection
        return None

    def keep(self, time: float, connection: Connection) -> bool:
        """Keep a released connection idle; False when it must be closed instead."""
        if not (self.keep_alive and connection.alive):
            return False
        if self.listener.backlog_length and self.listener.hand_over(time, self, connection):
            return True
        if self._count >= self.size:
            return False
        self._idle.add(time, connection)
        self._count += 1
        connection.listener.idle += 1
        return True

    def _expire(self, time: float, connection: Connection) -> None:
        """Close a connection idle for ``idle_timeout_s``."""
        self._count -= 1
        if connection.alive:
            connection.listener.idle -= 1
            connection.listener.close(time, connection)


class Releasable(Protocol):
    """What a call can hold until it ends: a connection, or a datastore's socket."""

    def release(self, time: float) -> None:
        """Give it back at ``time``."""


def hold(call: Call, connection: Releasable) -> None:
    """``call`` holds ``connection`` until it releases it or ends.

    Typed by a protocol, not :class:`Connection`: the compiled core checks
    argument classes at run time, and datastores hold sockets of their own.
    """
    if call.held is None:
        call.held = []
    call.held.append(connection)


def release_held(time: float, call: Call) -> None:
    """Release every connection ``call`` still holds."""
    held = call.held
    if held:
        call.held = []
        for connection in held:
            connection.release(time)


def connecting_sender(
    ctx: RunContext,
    edge: Edge,
    send: Callable[[float, Call], None],
    pool: Pool | None,
    tls_round_trips: int,
) -> Callable[[float, Call], None]:
    """Wrap an edge's ``send`` with connection set-up for connection mode.

    With a pool, an idle connection is reused when there is one; otherwise a
    new connection is opened first: one round trip for TCP plus the
    destination's TLS round trips, each two samples of the edge's latency,
    counted in full as the call's ``handshake`` phase when it starts (the
    call is on the link meanwhile, as far as its in-transit level goes). Without a pool the call
    asks for a new connection and connection set-up costs nothing (as when
    connections are not modelled).
    """
    round_trips = 1 + tls_round_trips
    latency = edge.latency
    record_transit = edge.record_transit
    kernel = ctx.kernel

    def after_handshake(time: float, call: Call) -> None:
        if call.cancelled:
            ctx.close_call(time, call, ctx.code("cancelled"))
            return
        call.state = SENDING
        send(time, call)

    def send_connected(time: float, call: Call) -> None:
        call.pool = pool
        connection = pool.take() if pool is not None else None
        call.conn = connection
        if connection is not None:
            hold(call, connection)
            send(time, call)
            return
        if pool is None:
            send(time, call)
            return
        delay = sum(latency() + latency() for _ in range(round_trips))
        call.ph[HANDSHAKE] += delay
        call.state = HANDSHAKING
        record_transit(time, time + delay)
        # The call goes out once the handshake is over (drops are decided then).
        kernel.push(time + delay, after_handshake, call)

    return send_connected
