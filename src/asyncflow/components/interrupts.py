"""What interrupts the calls inside a server: cancellation, crashes, failed calls.

A cancelled call is withdrawn from wherever it is: on its way (or opening
its connection) it goes on and is dropped where it arrives; in a backlog,
a pool's queue, a RAM or core queue, an I/O operation or a body transfer it
is taken out at once; CPU already running is not pre-empted (the call stops
when its CPU operation ends, as asyncio delivers a cancellation at the next
await). When a server goes down, every call inside it fails with
``server_down`` at that instant, its RAM and cores are freed, and the calls
those were waiting for are cancelled. A call made by a server that fails
(or times out) is retried when a retry policy says so; otherwise the step
that made it fails once more of its calls have failed than it could spare.

These are the server's rare paths, kept apart from its request path
(``components.server``), which calls them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from asyncflow.components.calls import (
    ADMITTING,
    AWAITING,
    BACKING_OFF,
    BACKLOG,
    BODY_IN,
    BODY_OUT,
    CPU_WAITING,
    DONE,
    FAILING,
    HANDSHAKING,
    IN_IO,
    ON_CPU,
    POOL_WAITING,
    RAM_WAITING,
    SENDING,
    Call,
    fold,
    fold_snapshot,
    settle,
    snapshot,
)
from asyncflow.components.connections import release_held
from asyncflow.components.pool import release_request_leases
from asyncflow.errors import SimulationError

if TYPE_CHECKING:
    from asyncflow.components.server import Server


def cancel(server: Server, time: float, call: Call) -> None:
    """Withdraw ``call``, made by ``server``, from wherever it is; it will answer nobody.

    The connections it holds are released once it is out.
    """
    state = call.state
    if state == DONE or call.cancelled:
        return
    call.cancelled = True
    if state == BACKLOG:
        settle(call, time)
        call.waiter.resource.withdraw(time, call.waiter)
        call.state = DONE
        release_held(time, call)
        server.ctx.close_call(time, call, server.cancelled_code)
    elif state in (SENDING, HANDSHAKING, FAILING, BACKING_OFF):
        release_held(time, call)
    elif state == POOL_WAITING:
        call.pool.withdraw(time, call)
        release_held(time, call)
    else:
        call.server.withdraw(time, call)


def withdraw(server: Server, time: float, call: Call) -> None:
    """Stop a cancelled call inside ``server`` (CPU already running finishes first)."""
    state = call.state
    if state == ON_CPU:
        return  # not pre-empted: it stops when its CPU operation ends
    settle(call, time)
    if state in (BODY_IN, BODY_OUT):
        edge: Any = (
            call.site.inbound[server.index]
            if state == BODY_IN
            else call.site.reply_edges[server.index]
        )
        edge.link.withdraw(time, call)
        edge.leave_transit(time)
    elif state == ADMITTING:
        server.admission.withdraw(time, call)  # type: ignore[union-attr]
        server.give_back_connection(time, call)
        server.cancelled += 1
    else:
        _stop(server, time, call)
        server.exit(time, call, holds_ram=state != RAM_WAITING)
        server.cancelled += 1
    call.state = DONE
    release_held(time, call)
    server.ctx.close_call(time, call, server.cancelled_code)


def _stop(server: Server, time: float, call: Call) -> None:
    """Take a call out of the queue or pending event it is in, and its calls out too."""
    state = call.state
    if state in (RAM_WAITING, CPU_WAITING):
        call.waiter.resource.withdraw(time, call.waiter)
    elif state == IN_IO:
        server.ctx.kernel.cancel(call.ev)
        server.io_level.change(time, -1.0)
    elif state == AWAITING:
        drop_kids(server, time, call, None)


def drop_kids(server: Server, time: float, parent: Call, last: Call | None) -> None:
    """The step is over: cancel the calls it no longer needs."""
    for kid in parent.kids:
        if kid is not last:
            server.cancel(time, kid)
    parent.kids = []


def crash(server: Server, time: float) -> None:
    """Take ``server`` down: every call inside fails now."""
    server.up = False
    server.load_moved()  # out of rotation before any call fails
    inside = server.inside
    if inside is None:
        raise SimulationError(f"server {server.id!r} was built without crash tracking")
    victims: list[Call] = []
    if server.listener is not None:
        # Every connection dies with the server; connections waiting to be accepted fail.
        victims.extend(server.listener.crash(time))
    kernel = server.ctx.kernel
    for call in inside:
        settle(call, time)
        if call.state in (ON_CPU, IN_IO):
            kernel.cancel(call.ev)
        if call.cancelled:  # withdrawn while on CPU: it answers nobody
            call.state = DONE
            server.cancelled += 1
            server.ctx.close_call(time, call, server.cancelled_code)
            continue
        if call.state == AWAITING:
            fold_snapshot(call, time)  # what it waited for until now, for its totals
            drop_kids(server, time, call, None)
        call.conn = None  # died with the server
        release_request_leases(time, call)  # its transaction ends with the server
        call.state = DONE
        victims.append(call)
    inside.clear()
    for leader in list(server.leaders):  # every leader was inside: each is a victim
        server.abandon(time, leader)
    if server.admission is not None:
        for call in server.admission.crash(time):
            settle(call, time)
            call.conn = None  # died with the server
            call.state = DONE
            victims.append(call)
    # Every level of the server drops to zero; no unit is in use, nobody waits.
    server.cores.clear(time)
    server.ram.clear(time)
    io = server.io_level
    current = io.value + io.pending_sum()
    if current:
        io.change(time, -current)
    server.in_progress = 0
    server.failed += len(victims)
    down, place = server.down_code, server.place
    for call in victims:
        server.ctx.fail(time, call, down, place, call.site.reply_edges[server.index])


def kid_failed(server: Server, time: float, child: Call) -> None:
    """A call made by ``server`` failed (its close already recorded)."""
    if child.site.breaker is not None:
        child.site.breaker.failed(time, child.code)
    retry = child.site.retry
    if retry is not None and retry.again(time, child, child.code):
        return  # its next attempt takes its place in the step
    parent: Call = child.parent  # type: ignore[assignment]
    if parent.state != AWAITING or parent.cancelled:
        return  # its step is over already
    parent.spare -= 1
    if parent.spare < 0:
        settle(parent, time)
        fold(parent, child)
        drop_kids(server, time, parent, child)
        server.fail_step(time, parent, child.code, child.place)


def timed_out(server: Server, time: float, child: Call, code: int) -> None:
    """A call made by ``server`` timed out: it is withdrawn and fails there with ``code``.

    Its phases until now stand for the wait if its step fails (a copy: the
    call may run on a little, until its CPU operation ends).
    """
    entries = snapshot(child, time)
    server.cancel(time, child)
    child.code = code
    child.place = server.place
    server.ctx.close_call(time, child, code)
    if child.site.breaker is not None:
        child.site.breaker.failed(time, code)
    retry = child.site.retry
    if retry is not None and retry.again(time, child, child.code):
        return
    parent: Call = child.parent  # type: ignore[assignment]
    if parent.state != AWAITING or parent.cancelled:
        return
    parent.spare -= 1
    if parent.spare < 0:
        settle(parent, time)
        if parent.crit is None:
            parent.crit = []
        parent.crit.extend(entries)
        drop_kids(server, time, parent, child)
        server.fail_step(time, parent, code, server.place)
