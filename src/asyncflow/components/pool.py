"""A server's pool of connections to one database.

A query sent through a pool first takes one of its connections: at once when
one is free, else it waits in the pool's FIFO queue (an ``await``: the
request keeps its RAM and holds no core), for at most ``acquire_timeout_s``
before failing with ``pool_timeout``. Connections are opened when first
needed and then kept, idle or not: each holds a connection of the database
for the rest of the run, so replicas whose pools add up to more than the
database's ``max_connections`` see their newest connections refused
(``connection_refused``).

A connection is given back when the query's answer arrives (``hold:
query``), or when the request's answer leaves the server that holds it
(``hold: request``: it is kept through the request's later queries).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from asyncflow.components.calls import DONE, POOL_WAITING, SENDING, Call, settle
from asyncflow.components.connections import hold
from asyncflow.components.context import RunContext
from asyncflow.engine.resource import Resource, Waiter

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from asyncflow.components.database import Database

POOL_METRICS = ("in_use", "waiting")


class Lease:
    """One connection of a pool, taken by a query or a request until released."""

    __slots__ = ("pool", "released")

    def __init__(self, pool: DbPool) -> None:
        self.pool = pool
        self.released = False

    def release(self, time: float) -> None:
        """Give the connection back to its pool (once)."""
        if not self.released:
            self.released = True
            self.pool.give_back(time)


def release_request_leases(time: float, call: Call) -> None:
    """Give back the connections of ``hold: request`` pools that ``call`` holds.

    A request keeps such a connection until it leaves the server that took
    it (a transaction), whether it answers, fails or is stopped there; not
    until its answer reaches the client.
    """
    if not call.held:
        return
    kept: list[Any] = []
    given: list[Lease] = []
    for c in call.held:
        if isinstance(c, Lease) and c.pool.per_request:
            given.append(c)
        else:
            kept.append(c)
    if given:
        call.held = kept
        for lease in given:
            lease.release(time)


class _Timeout:
    """The pending end of a wait (kept off the call, so no event carries the call)."""

    __slots__ = ("call", "waiter")

    def __init__(self, call: Call, waiter: Waiter) -> None:
        self.call = call
        self.waiter = waiter


class DbPool:
    """Runtime state of one pool.

    Attributes:
        id: The pool's id in results.
        size: Connections at most.
        opened: Connections opened so far (kept open).
        connections: Its counting resource (in use, waiting).
        timeouts: Queries that gave up waiting (``pool_timeout``).
        refused: Connections the database refused to open.
        acquired, waited, wait_s: Connections taken, those taken after a
            wait, and the seconds waited for them.
        Counts are of acquisitions at or after the warm-up.
        per_request: Whether a request keeps its connection until it leaves.
    """

    def __init__(
        self,
        ctx: RunContext,
        pool_id: str,
        spec: Any,
        database: Database,
        send: Callable[[float, Call], None],
    ) -> None:
        self.id = pool_id
        self.server_id = ""  # set by the wiring
        self.ctx = ctx
        self.size = int(spec.size)
        self.timeout_s: float | None = spec.acquire_timeout_s
        self.per_request = spec.hold == "request"
        self.database = database
        self._send = send
        in_use, waiting = (ctx.level(pool_id, m) for m in POOL_METRICS)
        self.connections = Resource(float(self.size), in_use, waiting)
        self.opened = 0
        self.timeouts = 0
        self.refused = 0
        self.acquired = 0
        self.waited = 0
        self.wait_s = 0.0
        self._warm_up = ctx.warm_up_s
        self._timed_out = ctx.code("pool_timeout")
        self._refused = ctx.code("connection_refused")
        self._place = ctx.place(pool_id)
        self._db_place = ctx.place(database.id)

    # ------------------------------------------------------------------ sending

    def send(self, time: float, call: Call) -> None:
        """Send a query through the pool: with a connection held, or after waiting for one."""
        parent = call.parent
        if self.per_request and parent is not None and self._lease_of(parent) is not None:
            call.pool = self  # the request holds a connection of this pool already
            self._send(time, call)
            return
        resource = self.connections
        if resource.take(time, 1.0):
            self._granted(time, call, 0.0)
            return
        waiter = resource.wait(time, call, 1.0, self._granted)
        if waiter is None:  # pragma: no cover - the queue is unbounded
            raise RuntimeError("a pool's queue is unbounded")
        call.state = POOL_WAITING
        call.mark = time
        call.pool = self
        call.waiter = waiter
        if self.timeout_s is not None:
            call.ev = self.ctx.kernel.push(
                time + self.timeout_s, self._expire, _Timeout(call, waiter)
            )

    def _granted(self, time: float, call: Call, waited: float) -> None:
        """A connection is the query's: open it if it is new, then send the query."""
        measured = time >= self._warm_up
        if call.state == POOL_WAITING:
            if self.timeout_s is not None:
                self.ctx.kernel.cancel(call.ev)
            settle(call, time)
            call.state = SENDING
            call.pool = None
            if measured:
                self.waited += 1
                self.wait_s += waited
        if measured:
            self.acquired += 1
        if self.connections.in_use > self.opened:
            if not self.database.open_pooled(time):
                self.refused += int(measured)
                self.connections.give(time, 1.0)
                self.ctx.fail(time, call, self._refused, self._db_place)
                return
            self.opened += 1
        lease = Lease(self)
        holder = call.parent if self.per_request and call.parent is not None else call
        hold(holder, lease)
        call.pool = self  # it travels on a pooled connection (the database counts it there)
        self._send(time, call)

    def _lease_of(self, call: Call) -> Lease | None:
        for held in call.held or ():
            if isinstance(held, Lease) and held.pool is self and not held.released:
                return held
        return None

    def give_back(self, time: float) -> None:
        """A connection is free again: the next query waiting takes it."""
        self.connections.give(time, 1.0)

    # ------------------------------------------------------------------ leaving the queue

    def _expire(self, time: float, pending: _Timeout) -> None:
        """A query waited ``acquire_timeout_s``: it fails with ``pool_timeout``."""
        call = pending.call
        if call.state != POOL_WAITING or not pending.waiter.live:
            return
        self.connections.withdraw(time, pending.waiter)
        settle(call, time)
        call.pool = None
        self.timeouts += int(time >= self._warm_up)
        self.ctx.fail(time, call, self._timed_out, self._place)

    def withdraw(self, time: float, call: Call) -> None:
        """Take a cancelled query out of the queue."""
        if self.timeout_s is not None:
            self.ctx.kernel.cancel(call.ev)
        self.connections.withdraw(time, call.waiter)
        settle(call, time)
        call.pool = None
        call.state = DONE
        self.ctx.close_call(time, call, self.ctx.code("cancelled"))

    def waiting_calls(self) -> Iterator[Call]:
        """The queries waiting for a connection (for the end of a run)."""
        return (w.item for w in self.connections.waiters())


__all__ = ["POOL_METRICS", "DbPool", "Lease", "release_request_leases"]
