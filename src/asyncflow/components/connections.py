"""Connections: sockets and backlog at a node, keep-alive pools at senders.

A :class:`Listener` is the accepting side of a node (server or load
balancer): at most ``max_connections`` open sockets, each pinning
``connection_memory_kb`` of the node's RAM. A request arriving on a new
connection is accepted when a socket and its memory are free, waits in the
FIFO ``listen_backlog`` otherwise, and is refused (``connection_refused``)
when the backlog is full too.

A :class:`Pool` is the opening side (client or load balancer): it keeps up to
``pool_size`` idle connections per destination for ``idle_timeout_s``. An
idle connection stays open at the destination, holding its socket and
memory. A connection released while a request of the same pool waits in the
destination's backlog goes to that request at once. Without a pool every
request opens a connection of its own.

A request holds the connection it arrived on at a server until it leaves the
server, and the one it arrived on at a load balancer until it completes or
fails (the balancer relays the response). Releasing a connection returns it
to its pool when the pool keeps connections alive and has room, and closes
it otherwise.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from heapq import heappush
from typing import TYPE_CHECKING, Protocol

from asyncflow.components.context import Request, RunContext

if TYPE_CHECKING:
    from asyncflow.components.edges import Edge
    from asyncflow.scenario import ConnectionLimits, ConnectionPool

Proceed = Callable[[float, Request, "Connection"], None]


class NodeMemory(Protocol):
    """The RAM a listener takes its connections' memory from."""

    def take_memory(self, time: float, mb: float) -> bool:
        """Reserve ``mb`` if available."""

    def give_memory(self, time: float, mb: float) -> None:
        """Return ``mb``."""


class Memory:
    """A load balancer's RAM: only its connections draw from it."""

    __slots__ = ("free",)

    def __init__(self, ram_mb: float) -> None:
        self.free = ram_mb

    def take_memory(self, time: float, mb: float) -> bool:
        """Reserve ``mb`` if available."""
        if mb > self.free:
            return False
        self.free -= mb
        return True

    def give_memory(self, time: float, mb: float) -> None:
        """Return ``mb``."""
        self.free += mb


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
        """The request is done with it: back to its pool, or closed."""
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
        memory: NodeMemory,
        server_index: int = -1,
    ) -> None:
        self.node_id = node_id
        self._server_index = server_index  # written to refused requests' rows
        self._log_server = ctx.log.server
        self.max_connections = (
            limits.max_connections if limits and limits.max_connections else math.inf
        )
        self.backlog_size = (limits.listen_backlog or 0) if limits else 0
        self.connection_mb = (limits.connection_memory_kb / 1024.0) if limits else 0.0
        self.memory = memory
        self.open = 0
        self.idle = 0  # open but parked in a sender's keep-alive pool
        self.refused = 0
        self.epoch = 0
        self._backlog: deque[tuple[Request, Proceed]] = deque()
        self._fail_refused = ctx.failer("connection_refused")
        self._wait = ctx.log.connection_wait
        self._connections = ctx.level(node_id, "connections")
        self._backlog_level = ctx.level(node_id, "backlog")
        self._memory_level = ctx.level(node_id, "connection_memory_mb")

    @property
    def active(self) -> int:
        """Open connections in use by a request (not idle in a pool)."""
        return self.open - self.idle

    @property
    def backlog_length(self) -> int:
        """Connections waiting to be accepted."""
        return len(self._backlog)

    def admit(self, time: float, request: Request, proceed: Proceed) -> bool:
        """Let ``request`` through if it came on a live connection; else accept one.

        Returns True when the request may go on now with the connection it has;
        otherwise :meth:`accept` has it (``proceed`` is called once connected).
        """
        connection = request.conn
        if connection is not None and connection.alive:
            return True
        self.accept(time, request, proceed)
        return False

    def accept(self, time: float, request: Request, proceed: Proceed) -> None:
        """A request arrives on a new connection: open it, queue it, or refuse it."""
        if not self._backlog:
            connection = self._open(time, request.pool)
            if connection is not None:
                proceed(time, request, connection)
                return
        if len(self._backlog) < self.backlog_size:
            request.mark = time
            self._backlog.append((request, proceed))
            self._backlog_level.change(time, 1.0)
            return
        self.refused += 1
        if self._server_index >= 0:
            self._log_server[request.id] = self._server_index
        self._fail_refused(time, request)

    def _open(self, time: float, pool: Pool | None) -> Connection | None:
        if self.open >= self.max_connections:
            return None
        mb = self.connection_mb
        if mb and not self.memory.take_memory(time, mb):
            return None
        self.open += 1
        self._connections.change(time, 1.0)
        if mb:
            self._memory_level.change(time, mb)
        return Connection(self, pool)

    def close(self, time: float, connection: Connection) -> None:
        """Close a connection: free its socket and memory, accept from the backlog."""
        if not connection.alive:
            return  # closed already when the node crashed
        self.open -= 1
        self._connections.change(time, -1.0)
        mb = self.connection_mb
        if mb:
            self._memory_level.change(time, -mb)
            self.memory.give_memory(time, mb)
        self.retry(time)

    def retry(self, time: float) -> None:
        """Accept waiting connections while sockets and memory allow."""
        backlog = self._backlog
        while backlog:
            request, proceed = backlog[0]
            connection = self._open(time, request.pool)
            if connection is None:
                return
            backlog.popleft()
            self._backlog_level.change(time, -1.0)
            self._wait[request.id] += time - request.mark
            proceed(time, request, connection)

    def hand_over(self, time: float, pool: Pool, connection: Connection) -> bool:
        """Give a connection released to ``pool`` to a request of that pool in the backlog.

        A sender with a request waiting to connect uses a connection that
        comes free instead (the pending connection attempt is dropped).
        """
        for k, (request, proceed) in enumerate(self._backlog):
            if request.pool is pool:
                del self._backlog[k]
                self._backlog_level.change(time, -1.0)
                self._wait[request.id] += time - request.mark
                proceed(time, request, connection)
                return True
        return False

    def crash(self, time: float) -> list[Request]:
        """The node went down: every connection dies; return the requests in the backlog."""
        waiting = [request for request, _ in self._backlog]
        self._backlog.clear()
        for level, value in (
            (self._connections, self.open),
            (self._backlog_level, len(waiting)),
            (self._memory_level, self.open * self.connection_mb),
        ):
            if value:
                level.change(time, -value)
        self.open = 0
        self.idle = 0
        self.epoch += 1
        return waiting


class Pool:
    """Idle keep-alive connections from one sender to one destination.

    Idle connections form a stack: the most recently released is reused
    first, so the bottom is always the one idle longest. One kernel event at a
    time (a sweep at the bottom's expiry) closes the connections whose idle
    timeout has passed, instead of one event per release.
    """

    def __init__(self, ctx: RunContext, spec: ConnectionPool, listener: Listener) -> None:
        self.keep_alive = spec.keep_alive
        self.size = spec.pool_size
        self.idle_timeout_s = spec.idle_timeout_s
        self.listener = listener
        self._idle: deque[tuple[Connection, float]] = deque()
        self._heap = ctx.kernel.heap
        self._next_seq = ctx.kernel.next_seq
        self._sweep_pending = False

    def take(self) -> Connection | None:
        """The most recently used idle connection still alive, if any."""
        idle = self._idle
        while idle:
            connection, _ = idle.pop()
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
        if len(self._idle) >= self.size:
            return False
        self._idle.append((connection, time))
        connection.listener.idle += 1
        if not self._sweep_pending:
            self._schedule_sweep(time + self.idle_timeout_s)
        return True

    def _schedule_sweep(self, at: float) -> None:
        self._sweep_pending = True
        heappush(self._heap, (at, self._next_seq(), self._sweep, None))

    def _sweep(self, time: float, _: object) -> None:
        """Close the connections idle for ``idle_timeout_s`` or more."""
        self._sweep_pending = False
        idle = self._idle
        timeout = self.idle_timeout_s
        while idle and idle[0][1] + timeout <= time:
            connection, _ = idle.popleft()
            if connection.alive:
                connection.listener.idle -= 1
                connection.listener.close(time, connection)
        if idle:
            self._schedule_sweep(idle[0][1] + timeout)


def hold(request: Request, connection: Connection) -> None:
    """``request`` holds ``connection`` until it releases it or ends."""
    if request.held is None:
        request.held = []
    request.held.append(connection)


def connecting_sender(
    ctx: RunContext,
    edge: Edge,
    send: Callable[[float, Request], None],
    pool: Pool | None,
    tls_round_trips: int,
) -> Callable[[float, Request], None]:
    """Wrap an edge's ``send`` with connection set-up for connection mode.

    With a pool, an idle connection is reused when there is one; otherwise a
    new connection is opened first: one round trip for TCP plus the
    destination's TLS round trips, each two samples of the edge's latency,
    recorded as the request's ``handshake`` phase (the request is on the
    link meanwhile, as far as its in-transit level goes). Without a pool the
    request asks for a new connection and connection set-up costs nothing
    (as when connections are not modelled).
    """
    handshake = ctx.log.handshake
    round_trips = 1 + tls_round_trips
    latency = edge.latency
    record_transit = edge.record_transit
    heap = ctx.kernel.heap
    next_seq = ctx.kernel.next_seq

    def send_connected(time: float, request: Request) -> None:
        request.pool = pool
        connection = pool.take() if pool is not None else None
        request.conn = connection
        if connection is not None:
            hold(request, connection)
            send(time, request)
            return
        if pool is None:
            send(time, request)
            return
        delay = sum(latency() + latency() for _ in range(round_trips))
        handshake[request.id] += delay
        record_transit(time, time + delay)
        # The request goes out once the handshake is over (drops are decided then).
        heappush(heap, (time + delay, next_seq(), send, request))

    return send_connected
