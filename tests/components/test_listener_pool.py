"""Listener (sockets, backlog, connection memory) and keep-alive Pool, driven by hand."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from asyncflow.components.calls import BACKLOG, Call
from asyncflow.components.connections import Connection, Listener, Pool
from asyncflow.components.context import RunContext
from asyncflow.engine.resource import Resource
from asyncflow.metrics.phases import CONNECTION_WAIT
from asyncflow.scenario import ConnectionPool
from asyncflow.scenario.builder import endpoint, io

from .doubles import RecordingCaller, area, bare_site, current, server_spec


class Accepted:
    """The ``proceed`` callback: records ``(time, request row, connection)``."""

    def __init__(self) -> None:
        self.log: list[tuple[float, int, Connection]] = []

    def __call__(self, time: float, call: Call, connection: Connection) -> None:
        self.log.append((time, call.root, connection))

    @property
    def rows(self) -> list[tuple[float, int]]:
        return [(t, root) for t, root, _ in self.log]

    def connection(self, root: int) -> Connection:
        return next(c for _, r, c in self.log if r == root)


class Rig:
    """A listener of node ``srv-1`` with its own memory, a recording caller and calls."""

    def __init__(
        self, ctx: RunContext, caller: RecordingCaller, memory_mb: float, **limits: Any
    ) -> None:
        self.ctx = ctx
        self.kernel = ctx.kernel
        self.caller = caller
        self.site = bare_site(self.caller)
        self.memory = Resource(memory_mb)
        spec = server_spec(endpoint("/a", io(1.0)), **limits)
        self.listener = Listener(ctx, "srv-1", spec.server_resources, self.memory, 0)
        self.accepted = Accepted()
        self.calls: list[Call] = []

    def arrive(self, time: float, pool: Pool | None = None) -> Call:
        """A call on a new connection (of ``pool``) reaches the listener at ``time``."""
        call = Call(len(self.calls), self.site, None, time)
        call.pool = pool
        self.calls.append(call)
        self.listener.accept(time, call, self.accepted)
        return call

    def level(self, metric: str) -> Any:
        return self.ctx.levels[("srv-1", metric)]

    def pool(self, **spec: Any) -> Pool:
        return Pool(self.ctx, ConnectionPool(**spec), self.listener)


MakeRig = Callable[..., Rig]


@pytest.fixture
def make(ctx: RunContext, caller: RecordingCaller) -> MakeRig:
    def build(memory_mb: float = 1024.0, **limits: Any) -> Rig:
        return Rig(ctx, caller, memory_mb, **limits)

    return build


# --------------------------------------------------------------------------- listener


def test_accepts_while_sockets_allow_then_queues_then_refuses(make: MakeRig) -> None:
    rig = make(max_connections=2, listen_backlog=1)
    a, b, c, d = (rig.arrive(0.0) for _ in range(4))
    assert rig.accepted.rows == [(0.0, 0), (0.0, 1)]
    assert rig.accepted.connection(0) is not rig.accepted.connection(1)
    assert (c.state, c.waiter.item[0]) == (BACKLOG, c)
    assert [(kind, t, call.root) for kind, t, call in rig.caller.heard] == [("failure", 0.0, 3)]
    assert rig.caller.reason(d) == "connection_refused"
    assert rig.ctx.log.places[d.place] == "srv-1"
    assert rig.ctx.log.server[3] == 0  # a refused request is charged to the server
    listener = rig.listener
    assert (listener.open, listener.active, listener.backlog_length, listener.refused) == (
        2,
        2,
        1,
        1,
    )
    assert (current(rig.level("connections")), current(rig.level("backlog"))) == (2, 1)
    assert (a.state, b.state) == (0, 0)  # the listener leaves accepted calls alone


def test_without_a_backlog_the_first_call_over_the_limit_is_refused(make: MakeRig) -> None:
    rig = make(max_connections=1)
    rig.arrive(0.0)
    refused = rig.arrive(0.0)
    assert rig.caller.failures == [(0.0, refused)]
    assert rig.listener.backlog_length == 0


def test_close_accepts_from_the_backlog_in_fifo_order(make: MakeRig) -> None:
    rig = make(max_connections=2, listen_backlog=3)
    calls = [rig.arrive(0.0) for _ in range(5)]
    for t, root in ((1.0, 0), (2.0, 1), (3.0, 2)):
        rig.listener.close(t, rig.accepted.connection(root))
    assert rig.accepted.rows == [(0.0, 0), (0.0, 1), (1.0, 2), (2.0, 3), (3.0, 4)]
    assert [c.ph[CONNECTION_WAIT] for c in calls] == [0.0, 0.0, 1.0, 2.0, 3.0]
    assert area(rig.level("backlog"), 10.0) == 1.0 + 2.0 + 3.0
    assert area(rig.level("connections"), 10.0) == 2 * 10.0
    assert rig.listener.sockets.wait_s == 6.0


def test_connection_memory_limits_accepts_and_its_return_accepts_more(make: MakeRig) -> None:
    # 512 KB a connection, 1 MB of memory: two open, the third waits though sockets are free.
    rig = make(memory_mb=1.0, max_connections=10, listen_backlog=5, connection_memory_kb=512)
    rig.arrive(0.0)
    rig.arrive(0.0)
    third = rig.arrive(0.0)
    assert third.state == BACKLOG
    assert (rig.memory.in_use, current(rig.level("connection_memory_mb"))) == (1.0, 1.0)
    rig.listener.close(2.0, rig.accepted.connection(0))
    assert rig.accepted.rows[-1] == (2.0, 2)
    assert third.ph[CONNECTION_WAIT] == 2.0
    assert rig.memory.in_use == 1.0
    assert area(rig.level("connection_memory_mb"), 10.0) == 1.0 * 10.0


def test_memory_freed_by_the_node_lets_retry_accept(make: MakeRig) -> None:
    rig = make(memory_mb=1.0, max_connections=10, listen_backlog=5, connection_memory_kb=512)
    rig.memory.take(0.0, 0.5)  # the node's own use (a request's RAM)
    rig.arrive(0.0)
    waiting = rig.arrive(0.0)
    assert waiting.state == BACKLOG
    rig.memory.release(1.5, 0.5)  # the request leaves: the node frees it, then retries
    rig.listener.retry(1.5)
    assert rig.accepted.rows == [(0.0, 0), (1.5, 1)]
    assert rig.listener.open == 2


def test_connection_memory_goes_ahead_of_the_nodes_ram_waiters(make: MakeRig) -> None:
    rig = make(memory_mb=1.0, max_connections=10, listen_backlog=5, connection_memory_kb=512)
    rig.memory.take(0.0, 1.0)
    granted: list[Any] = []
    rig.memory.wait(0.0, "request", 0.5, lambda t, item, w: granted.append(item))
    rig.arrive(0.0)
    rig.memory.release(1.0, 0.5)
    rig.listener.retry(1.0)  # the connection takes it first (overtaking the request)
    rig.memory.serve(1.0)
    assert rig.accepted.rows == [(1.0, 0)]
    assert granted == []


def test_withdraw_takes_a_call_out_of_the_backlog(make: MakeRig) -> None:
    rig = make(max_connections=1, listen_backlog=3)
    rig.arrive(0.0)
    first, second = rig.arrive(0.0), rig.arrive(1.0)
    rig.listener.withdraw(2.5, first)
    assert (first.ph[CONNECTION_WAIT], first.mark) == (2.5, 2.5)
    rig.listener.close(3.0, rig.accepted.connection(0))
    assert rig.accepted.rows == [(0.0, 0), (3.0, 2)]
    assert second.ph[CONNECTION_WAIT] == 2.0
    assert area(rig.level("backlog"), 5.0) == 2.5 + 2.0


def test_admit_lets_a_call_on_a_live_connection_through(make: MakeRig) -> None:
    rig = make(max_connections=1, listen_backlog=1)
    first = rig.arrive(0.0)
    reused = Call(7, rig.site, None, 1.0)
    reused.conn = rig.accepted.connection(first.root)
    assert rig.listener.admit(1.0, reused, rig.accepted)
    assert (rig.listener.open, rig.listener.backlog_length) == (1, 0)
    fresh = Call(8, rig.site, None, 1.0)
    assert not rig.listener.admit(1.0, fresh, rig.accepted)
    assert fresh.state == BACKLOG


def test_crash_returns_the_backlog_and_kills_every_connection(make: MakeRig) -> None:
    rig = make(memory_mb=4.0, max_connections=2, listen_backlog=3, connection_memory_kb=1024)
    calls = [rig.arrive(t) for t in (0.0, 0.0, 1.0, 2.0)]
    old = rig.accepted.connection(0)
    assert old.alive
    waiting = rig.listener.crash(5.0)
    assert waiting == calls[2:]
    assert [c.ph[CONNECTION_WAIT] for c in waiting] == [4.0, 3.0]
    assert [c.mark for c in waiting] == [5.0, 5.0]
    assert not old.alive
    assert not rig.accepted.connection(1).alive
    assert (rig.listener.epoch, rig.listener.open, rig.listener.backlog_length) == (1, 0, 0)
    for metric in ("connections", "backlog", "connection_memory_mb"):
        assert current(rig.level(metric)) == 0, metric
    rig.listener.close(6.0, old)  # closing a connection that died: nothing changes
    assert current(rig.level("connections")) == 0
    assert rig.caller.heard == []  # the node fails the backlog's calls, not the listener


def test_a_connection_after_a_crash_is_a_new_one(make: MakeRig) -> None:
    rig = make(max_connections=1, listen_backlog=1)
    first = rig.arrive(0.0)
    rig.listener.crash(1.0)
    late = Call(9, rig.site, None, 2.0)
    late.conn = rig.accepted.connection(first.root)  # came on the dead connection
    assert not rig.listener.admit(2.0, late, rig.accepted)
    assert rig.accepted.log[-1][:2] == (2.0, 9)
    assert rig.accepted.log[-1][2].alive
    assert rig.listener.open == 1


# --------------------------------------------------------------------------- pool


def open_for(rig: Rig, pool: Pool, n: int, time: float = 0.0) -> list[Connection]:
    """``n`` connections opened by calls of ``pool``."""
    for _ in range(n):
        rig.arrive(time, pool)
    return [c for _, _, c in rig.accepted.log[-n:]]


def test_a_pool_keeps_idle_connections_up_to_its_size_and_reuses_the_newest(
    make: MakeRig,
) -> None:
    rig = make()
    pool = rig.pool(pool_size=2, idle_timeout_s=60)
    c1, c2, c3 = open_for(rig, pool, 3)
    for t, connection in zip((1.0, 2.0, 3.0), (c1, c2, c3), strict=True):
        connection.release(t)
    assert (rig.listener.open, rig.listener.idle, rig.listener.active) == (2, 2, 0)
    assert pool.take() is c2
    assert pool.take() is c1
    assert pool.take() is None
    assert (rig.listener.idle, rig.listener.active) == (0, 2)
    assert area(rig.level("connections"), 10.0) == 3 * 3.0 + 2 * 7.0


def test_without_keep_alive_a_released_connection_closes(make: MakeRig) -> None:
    rig = make()
    pool = rig.pool(keep_alive=False)
    (connection,) = open_for(rig, pool, 1)
    connection.release(1.0)
    assert (rig.listener.open, pool.take()) == (0, None)


def test_idle_connections_close_after_the_idle_timeout_with_one_pending_event(
    make: MakeRig,
) -> None:
    rig = make()
    pool = rig.pool(pool_size=5, idle_timeout_s=10)
    connections = open_for(rig, pool, 4)
    for k, connection in enumerate(connections[:3]):
        rig.kernel.schedule(1.0 + k, lambda t, c: c.release(t), connection)
    rig.kernel.schedule(12.5, lambda t, c: c.release(t), connections[3])
    seen: list[tuple[float, int]] = []
    sweeps_pending: list[int] = []
    while rig.kernel.step():
        seen.append((rig.kernel.now, rig.listener.open))
        sweeps = sum(1 for _, _, fn, _ in rig.kernel.events() if fn.__name__ == "_sweep")
        sweeps_pending.append(sweeps)
    # releases at 1, 2, 3 (the first arms the one sweep), closes at 11, 12, 13, 22.5
    assert [(t, n) for t, n in seen if t > 3.0] == [
        (11.0, 3),
        (12.0, 2),
        (12.5, 2),
        (13.0, 1),
        (22.5, 0),
    ]
    assert sweeps_pending == [1, 1, 1, 1, 1, 1, 1, 0]
    assert rig.listener.idle == 0


def test_a_reused_connection_does_not_expire(make: MakeRig) -> None:
    rig = make()
    pool = rig.pool(pool_size=5, idle_timeout_s=10)
    (connection,) = open_for(rig, pool, 1)
    connection.release(0.0)
    rig.kernel.run(5.0)
    assert pool.take() is connection
    rig.kernel.run(30.0)
    assert (rig.listener.open, connection.alive) == (1, True)


def test_a_released_connection_goes_to_a_call_of_its_pool_in_the_backlog(
    make: MakeRig,
) -> None:
    rig = make(max_connections=1, listen_backlog=5)
    pool = rig.pool(pool_size=2)
    (connection,) = open_for(rig, pool, 1)
    stranger = rig.arrive(0.5)  # no pool: waits first
    mine = rig.arrive(1.0, pool)
    connection.release(3.0)
    assert rig.accepted.log[-1] == (3.0, mine.root, connection)
    assert mine.ph[CONNECTION_WAIT] == 2.0
    assert stranger.state == BACKLOG
    assert (rig.listener.open, rig.listener.idle, rig.listener.backlog_length) == (1, 0, 1)
    assert area(rig.level("connections"), 5.0) == 5.0
    assert area(rig.level("backlog"), 5.0) == 4.5 + 2.0


def test_a_pool_skips_and_refuses_connections_that_died(make: MakeRig) -> None:
    rig = make()
    pool = rig.pool(pool_size=3, idle_timeout_s=10)
    c1, c2, c3 = open_for(rig, pool, 3)
    c1.release(1.0)
    c2.release(1.0)
    rig.listener.crash(2.0)
    assert not pool.keep(3.0, c3)  # dead: closed (which does nothing now)
    assert pool.take() is None
    assert (rig.listener.open, rig.listener.idle) == (0, 0)
    rig.kernel.run(30.0)  # their idle timeouts pass harmlessly
    assert current(rig.level("connections")) == 0
