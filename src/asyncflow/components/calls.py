"""Calls: a request is the root of a tree of calls.

A :class:`Call` is one request-response exchange between a caller (the
client, for a request; a server, for a call made by an endpoint) and a
target (a server, or a load balancer that hands it to a server). It carries
its own phases, its holdings (connections), where it is (``state``, since
``mark``) and, once served, how it ended. Its answer, or its failure, goes
back to the caller as a reply; only a request (a root call) writes an
outcome to the request log.

Where a call is at any moment is one of the states below; together with
``mark`` (since when), the state says which phase the time since ``mark``
belongs to. That is what lets a call be cancelled or crashed anywhere with
exactly the time it spent, and a run end with every request's phases adding
up to the time it has lived.

A hop (and a handshake) is counted in full when it starts: nothing about it
is stored on the call, which keeps sending cheap. A call cancelled on its
way still travels (the packet is on the wire) and is dropped where it
arrives; a hop still under way when a run ends is cut back to the part
travelled from its pending arrival event (``Simulation.finish``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from asyncflow.metrics.phases import (
    BACKOFF,
    CACHE,
    CALLS_NETWORK,
    CONNECTION_WAIT,
    CPU,
    CPU_WAIT,
    FAILED_ATTEMPT,
    HANDSHAKE,
    HOP_REPLY,
    HOP_SLOTS,
    IO,
    POOL_WAIT,
    RAM_WAIT,
    SLOTS,
)

if TYPE_CHECKING:
    from asyncflow.components.sites import CallSite, Plan

COMPLETED_CODE: Final = 1  # Call.code of an answered call (the request log's COMPLETED)

# States: where a call is.
SENDING: Final = 0  # on an edge: towards a node, or its reply back to the caller
BACKLOG: Final = 1  # waiting to be accepted by a listener
BODY_IN: Final = 2  # its request body is being received (bandwidth)
RAM_WAITING: Final = 3
CPU_WAITING: Final = 4
ON_CPU: Final = 5
IN_IO: Final = 6
AWAITING: Final = 7  # waiting for the calls of a call or parallel step
BODY_OUT: Final = 8  # its response body is being sent (bandwidth)
HANDSHAKING: Final = 9  # opening a connection before it is sent
DONE: Final = 10
FAILING: Final = 11  # failed: the error on its way back to the caller (a reset, a 503)
POOL_WAITING: Final = 12  # waiting at the caller for a connection of a database pool
COALESCING: Final = 13  # a cache miss waiting for the fallback another request runs
ADMITTING: Final = 14  # waiting in a server's admission queue (a concurrency limit's)
BACKING_OFF: Final = 15  # a retry waiting at its caller before it is sent

_WAIT_SLOT: Final = {
    BACKLOG: CONNECTION_WAIT,
    ADMITTING: CONNECTION_WAIT,
    RAM_WAITING: RAM_WAIT,
    CPU_WAITING: CPU_WAIT,
    ON_CPU: CPU,
    IN_IO: IO,
    POOL_WAITING: POOL_WAIT,
    COALESCING: CACHE,
    BACKING_OFF: BACKOFF,
}
"""States whose time is added to a slot when it ends (measured, not planned)."""


class Call:
    """One call in flight, and the record of how it went.

    Attributes:
        root: Row of its request in the request log (shared by the whole tree).
        parent: The call whose endpoint made it; None for a request.
        site: Where it was made (target, endpoint, edges, per-request work).
        ph: Seconds per phase slot, its own (``metrics.phases``).
        crit: The calls on its critical path, as ``(site, server, endpoint,
            ph)`` entries (None while it waited for none).
        state, mark: Where it is, and since when.
        ev: Handle of its pending CPU or I/O event.
        waiter: Its place in a queue (a resource's or a listener's).
        server: The server serving it (None until it reaches one).
        plan: The endpoint it runs there; ``pc`` the step it is at;
            ``work`` its per-request draws for that endpoint, from
            ``work[work_at]`` on (the block of rows they are in).
        kids: Calls of the current call or parallel step still pending.
        need: Answers still needed to finish that step; ``spare`` failures it
            can still absorb.
        code: 0 while fine, 1 completed, or the failure reason's code.
        place: Where it failed (a ``failed_at`` code).
        cancelled: Set when it was withdrawn (it replies to nobody).
        conn, pool, held: Connection state (connection mode only).
        cid: Its row in the call log, or -1 when calls are not recorded.
        sent: When it was sent (a retry: when this attempt was).
        attempt, waited: A call at a place that retries: which attempt it
            is (1 the first) and the backoff before it (seconds); unset
            elsewhere.
    """

    __slots__ = (
        "attempt",
        "cancelled",
        "cid",
        "code",
        "conn",
        "crit",
        "ev",
        "held",
        "kids",
        "mark",
        "need",
        "parent",
        "pc",
        "ph",
        "place",
        "plan",
        "pool",
        "root",
        "sent",
        "server",
        "site",
        "spare",
        "state",
        "waited",
        "waiter",
        "work",
        "work_at",
    )

    # Declared in the order the compiled core lays them out: what every call
    # touches at every event first (a fleet's calls are cold in the cache
    # between their events), what only queues, calls, retries and connections
    # use after.
    plan: Plan
    pc: int
    work: list[float]
    work_at: int
    mark: float
    ev: int
    state: int
    ph: list[float]
    server: Any
    cancelled: bool
    site: CallSite
    root: int
    parent: Call | None
    code: int
    crit: list[tuple[int, int, int, list[float]]] | None
    cid: int
    sent: float
    waiter: Any
    held: list[Any] | None
    conn: Any
    pool: Any
    kids: list[Call]
    need: int
    spare: int
    place: int
    attempt: int
    waited: float

    def __init__(self, root: int, site: CallSite, parent: Call | None, sent: float) -> None:
        # Only what is read before it is written is set here: a call is made
        # per request and per call step, and every attribute set costs.
        self.root = root
        self.site = site
        self.parent = parent
        self.sent = sent
        self.state = SENDING
        self.ph = [0.0] * SLOTS
        self.crit = None
        self.server = None
        self.code = 0
        self.cancelled = False
        self.conn = None
        self.pool = None
        self.held = None
        self.cid = -1


def settle(call: Call, time: float) -> None:
    """Count the time since ``call.mark`` in the phase of its state, as spent at ``time``.

    Hops and handshakes were counted in full when they started (see
    :func:`cut_transit` for one that a run's end interrupts). Waiting for
    calls is counted through the call that would have answered first (see
    :func:`fold_pending`). Nothing is counted twice: ``mark`` moves to ``time``.
    """
    state = call.state
    slot = _WAIT_SLOT.get(state)
    if slot is not None:
        call.ph[slot] += time - call.mark
    elif state == BODY_IN:
        call.ph[call.site.inbound[call.server.index].slot] += time - call.mark
    elif state == BODY_OUT:
        call.ph[HOP_REPLY] += time - call.mark
    call.mark = time


def cut_transit(call: Call, slot: int, excess: float) -> None:
    """Take back ``excess`` seconds of a hop counted in full that a run's end cut short.

    Hops handed on at once, ahead of time (from the workload to the client,
    through a balancer that chooses when a call is sent), were counted
    together: what the hop in ``slot`` cannot give back comes off the hops
    before it, latest first (the hop slots are in path order).
    """
    ph = call.ph
    for s in range(slot, -1, -1) if slot in HOP_SLOTS else (slot,):
        taken = min(excess, ph[s])
        ph[s] -= taken
        excess -= taken
        if excess <= 0.0:
            return


def node_index(call: Call) -> int:
    """Index of the server that serves ``call`` in the records, -1 for none.

    Databases and caches serve calls too; their time is recorded in phases
    of their own (``db``, ``cache``), not as a server's.
    """
    server = call.server
    if server is None or server.kind != "server":
        return -1
    index: int = server.index
    return index


def fold(parent: Call, child: Call) -> None:
    """Put a call that ``parent`` waited for on its critical path."""
    crit = parent.crit
    entry = (child.site.index, node_index(child), _ep(child), child.ph)
    if crit is None:
        parent.crit = crit = []
    crit.append(entry)
    if child.crit:
        crit.extend(child.crit)


def _ep(call: Call) -> int:
    return call.plan.index if call.server is not None else -1


def fold_pending(call: Call, time: float) -> None:
    """At the end of a run or a crash: fold the first call still pending, recursively.

    A call waiting for answers has spent the time since its step began on
    the calls it waits for; the first of them stands for the wait (they all
    started together), so the call's phases still add up to its age.
    """
    settle(call, time)
    if call.state == AWAITING:
        # Still running, or its answer still on its way back (not yet received).
        pending = next((k for k in call.kids if k.state != DONE and not k.cancelled), None)
        if pending is not None:
            fold_pending(pending, time)
            fold(call, pending)


def fold_snapshot(call: Call, time: float) -> None:
    """A call stops waiting at ``time`` (its server crashed): fold what it waited for.

    The first call still pending stands for the wait, as at the end of a run
    (:func:`fold_pending`), but as a copy of what it has spent by ``time``:
    that call goes on (its own record is not cut), only the waiting ends.
    """
    pending = next((k for k in call.kids if k.state != DONE and not k.cancelled), None)
    if pending is not None:
        if call.crit is None:
            call.crit = []
        call.crit.extend(_snapshot(pending, time))


def _snapshot(call: Call, time: float) -> list[tuple[int, int, int, list[float]]]:
    """``call``'s critical-path entries as of ``time``, without changing it."""
    ph = list(call.ph)
    state = call.state
    slot = _WAIT_SLOT.get(state)
    if slot is not None:
        ph[slot] += time - call.mark
    elif state == BODY_IN:
        ph[call.site.inbound[call.server.index].slot] += time - call.mark
    elif state == BODY_OUT:
        ph[HOP_REPLY] += time - call.mark
    entries = [(call.site.index, node_index(call), _ep(call), ph)]
    entries.extend(call.crit or ())
    if state == AWAITING:
        pending = next((k for k in call.kids if k.state != DONE and not k.cancelled), None)
        if pending is not None:
            entries.extend(_snapshot(pending, time))
    elif state in (SENDING, HANDSHAKING, FAILING):
        # Counted in full when it started, the hop under way ends after ``time``;
        # a retry's earlier attempts and waits came before it was sent.
        spent = sum(sum(entry[3]) for entry in entries) - ph[FAILED_ATTEMPT] - ph[BACKOFF]
        excess = spent - (time - call.sent)
        for s in (HANDSHAKE,) if state == HANDSHAKING else reversed(HOP_SLOTS):
            taken = min(max(excess, 0.0), ph[s])
            ph[s] -= taken
            excess -= taken
    return entries


def snapshot(call: Call, time: float) -> list[tuple[int, int, int, list[float]]]:
    """``call``'s own entry and its critical path as of ``time``, without changing it.

    The first entry is the call itself; hops under way are cut back to ``time``.
    """
    return _snapshot(call, time)


def sum_entries(entries: list[tuple[int, int, int, list[float]]]) -> list[float]:
    """Slots of a :func:`snapshot`: the call's own plus its critical path's (as :func:`totals`)."""
    ph = list(entries[0][3])
    for _, _, _, sub in entries[1:]:
        for slot in range(SLOTS):
            value = sub[slot]
            if value:
                ph[CALLS_NETWORK if slot in HOP_SLOTS or slot == CALLS_NETWORK else slot] += value
    return ph


def totals(call: Call) -> list[float]:
    """A call's slots with its critical path added (called network in ``CALLS_NETWORK``)."""
    ph = list(call.ph)
    if call.crit:
        for _, _, _, sub in call.crit:
            for slot in range(SLOTS):
                value = sub[slot]
                if value:
                    ph[CALLS_NETWORK if slot in HOP_SLOTS or slot == CALLS_NETWORK else slot] += (
                        value
                    )
    return ph
