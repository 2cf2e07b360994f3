"""An asynchronous server: cores running event loops, RAM, I/O, calls to others.

A call arriving at a server runs one endpoint (the one its caller named, or
one picked by weight), after reserving the RAM of all its ``ram`` steps: it
is admitted when that much is free and nobody is waiting before it (a
visible FIFO queue), and holds it until it leaves. Its other steps run in
order: consecutive CPU steps form one CPU operation that holds a core (a
core runs one thing at a time: it blocks that event loop); waiting for a
core is the ready queue, shared by all cores in FIFO order. Consecutive I/O
steps form one I/O operation that holds no core. A call or parallel step
sends calls to other nodes and awaits their answers, holding its RAM and no
core; a branch step picks one arm at random.

Cores and RAM are counting resources (``engine.resource``). What stops a
call inside a server before it is done (cancellation, the server going
down, the failure of a call it made) is in ``components.interrupts``.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable
from heapq import heappush
from typing import TYPE_CHECKING, Any

from asyncflow.components.cache import Leaders, fill, hand_over, look_up
from asyncflow.components.calls import (
    AWAITING,
    BODY_IN,
    BODY_OUT,
    COMPLETED_CODE,
    CPU_WAITING,
    DONE,
    IN_IO,
    ON_CPU,
    RAM_WAITING,
    SENDING,
    Call,
    fold,
)
from asyncflow.components.connections import Connection, Listener, hold, release_held
from asyncflow.components.context import RunContext
from asyncflow.components.interrupts import (
    cancel,
    crash,
    drop_kids,
    kid_failed,
    timed_out,
    withdraw,
)
from asyncflow.components.pool import release_request_leases
from asyncflow.components.program import (
    BRANCH_OP,
    CACHE_OP,
    CPU_OP,
    END_OP,
    FILL_OP,
    IO_OP,
    JUMP_OP,
    Op,
    Program,
    compile_endpoint,
)
from asyncflow.components.sites import Plan, SiteEntry
from asyncflow.engine.kernel import NATIVE_EVENTS, Event, push_event
from asyncflow.engine.resource import Resource
from asyncflow.metrics.levels import Level
from asyncflow.metrics.phases import CPU, CPU_WAIT, IO, RAM_WAIT

if TYPE_CHECKING:
    from asyncflow.components.admission import Admission, Waiting
    from asyncflow.components.cache import CacheModel
    from asyncflow.scenario import Server as ServerSpec

SERVER_METRICS = ("ready_queue", "busy_cores", "io_waiting", "ram_in_use_mb", "ram_wait_queue")


class Server:
    """Runtime state and behaviour of one server.

    With a :class:`Listener` (connection mode), a call arriving on a new
    connection is accepted first (or waits in the backlog, or is refused);
    on a new pooled connection a TLS server first spends the handshake's CPU
    time. Connection memory comes out of the same RAM as the calls'.

    Attributes:
        id, index: The server's id and its index among the servers.
        up: Whether it is in service.
        in_progress: Calls inside (waiting for RAM, queued, on CPU, in I/O, awaiting).
        cores, ram: Its counting resources.
        programs: Its endpoints, compiled.
        tls_programs: The same with the TLS handshake's CPU first, or None.
        listener: Its sockets and backlog (connection mode), or None.
        admission: Its rate and concurrency limits (``components.admission``),
            or None without policies.
        completed, failed, cancelled: Calls served, by how they ended here.
    """

    # What a call touches on its way through, declared first: the compiled core
    # lays attributes out in this order, and a fleet's servers are cold in the
    # cache, so these few lines are what each visit misses.
    up: bool
    in_progress: int
    index: int
    listener: Listener | None
    admission: Admission | None
    _watchers: list[Callable[[], None]]
    inside: dict[Call, None] | None
    _log_server: array[int]
    _log_endpoint: array[int]
    cores: Resource
    _busy: Level
    _heap: list[Any]  # the kernel's: tuples, or Event objects (NATIVE_EVENTS)
    _next_seq: Callable[[], int]
    _on_cpu_done: Callable[[float, Call], None]
    _on_core: Callable[[float, Call, float], None]
    completed: int

    kind = "server"

    def __init__(
        self,
        ctx: RunContext,
        spec: ServerSpec,
        index: int,
        tracks_crashes: bool,
        with_connections: bool = False,
    ) -> None:
        self.id = spec.id
        self.index = index
        self.up = True
        self.in_progress = 0
        self.completed = 0
        self.failed = 0
        self.cancelled = 0
        self.ctx = ctx
        self._heap = ctx.kernel.heap
        self._next_seq = ctx.kernel.next_seq
        self._log_server = ctx.log.server
        self._log_endpoint = ctx.log.endpoint
        resources = spec.server_resources
        ready, busy, io, ram_used, ram_queue = (ctx.level(spec.id, m) for m in SERVER_METRICS)
        self.cores = Resource(float(resources.cpu_cores), busy, ready)
        self.ram = Resource(float(resources.ram_mb), ram_used, ram_queue)
        self.io_level = io
        self._busy = busy
        self._ram_level = ram_used
        # The callbacks scheduled for every call, bound once: reading a method as a
        # value looks it up in the class and makes a new bound method each time.
        self._on_cpu_done = self._cpu_done
        self._on_io_done: Callable[[float, Call], None] = self._io_done
        self._on_core = self._core_granted
        self._on_ram: Callable[[float, Call, float], None] = self._ram_granted
        # Calls inside, in arrival order (crash tracking only; a dict keeps the order).
        self.inside = {} if tracks_crashes else None
        local = {c.id: float(c.hit_latency) for c in spec.local_caches}
        self.programs = tuple(
            compile_endpoint(i, e, local_caches=local) for i, e in enumerate(spec.endpoints)
        )
        self.tls_programs: tuple[Program, ...] | None = None
        if with_connections and spec.tls is not None and spec.tls.cpu_s is not None:
            self.tls_programs = tuple(
                compile_endpoint(i, e, prefix_cpu=spec.tls.cpu_s, local_caches=local)
                for i, e in enumerate(spec.endpoints)
            )
        self.listener = (
            Listener(ctx, spec.id, resources, self.ram, index) if with_connections else None
        )
        self.down_code = ctx.code("server_down")
        self.cancelled_code = ctx.code("cancelled")
        self.place = ctx.place(spec.id)
        self._fail = ctx.fail
        self._watchers = []
        # Calls running a cache miss's fallback that others wait for (coalescing).
        self.leaders: Leaders = {}
        self.admission = None

    def watch_load(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` after every change of ``up`` or ``in_progress``."""
        self._watchers.append(callback)

    def load_moved(self) -> None:
        """Tell the watchers that ``up`` or ``in_progress`` changed."""
        for callback in self._watchers:
            callback()

    @property
    def connections(self) -> int:
        """Connections in use (not idle in a pool) when modelled, else calls in progress."""
        return self.listener.active if self.listener is not None else self.in_progress

    # ------------------------------------------------------------------ arrival

    def arrive(self, time: float, call: Call) -> None:
        """A call arrives from the network."""
        if call.cancelled:
            self.ctx.close_call(time, call, self.cancelled_code)  # withdrawn on its way: dropped
            return
        if not self.up:
            self.failed += 1
            self._fail(time, call, self.down_code, self.place, call.site.reply_edges[self.index])
            return
        listener = self.listener
        if listener is None or listener.admit(time, call, self._connected):
            entry: SiteEntry = call.site.entries[self.index]  # type: ignore[assignment]
            plan = entry.fixed
            if plan is None:
                plan = entry.pick(call.root)
            if plan.receives and entry.bodies:
                self._receive(time, call, plan)
            else:
                self._admit(time, call, plan)

    def _connected(self, time: float, call: Call, connection: Connection) -> None:
        """A new connection was accepted: the call holds it while inside."""
        call.conn = connection
        hold(call, connection)
        entry: SiteEntry = call.site.entries[self.index]  # type: ignore[assignment]
        plan = entry.pick(call.root)
        if entry.tls is not None and call.pool is not None:
            # A pooled sender opened it: the TLS handshake costs CPU here first.
            plan = entry.tls[plan.index]
        if plan.receives and entry.bodies:
            self._receive(time, call, plan)
        else:
            self._admit(time, call, plan)

    def _receive(self, time: float, call: Call, plan: Plan) -> None:
        """Receive the call's body over the edge it came on, then admit it."""
        # Any, not Edge: the compiled core would check the type (test doubles stand in).
        edge: Any = call.site.inbound[self.index]
        call.server = self
        call.plan = plan
        call.state = BODY_IN
        call.mark = time
        edge.enter_transit(time)
        edge.link.start(time, plan.program.request_bytes, call, self._received)

    def _received(self, time: float, call: Call, seconds: float) -> None:
        """The body is in: its time counts on the hop it came on."""
        edge: Any = call.site.inbound[self.index]
        edge.leave_transit(time)
        call.ph[edge.slot] += seconds
        if not self.up:
            self.failed += 1
            self._fail(time, call, self.down_code, self.place, call.site.reply_edges[self.index])
            return
        self._admit(time, call, call.plan)

    def _admit(self, time: float, call: Call, plan: Plan, checked: bool = False) -> None:
        """Admit the call: RAM first (it may wait for it), then its operations.

        With policies, the admission decides first (unless ``checked``: a
        call let in from the admission queue).
        """
        if not checked and self.admission is not None:
            verdict = self.admission.enter(time, call, plan)
            if verdict:
                self._turn_away(time, call, plan, verdict)
                return
        self.in_progress += 1
        if self._watchers:
            self.load_moved()
        call.server = self
        call.plan = plan
        call.pc = 0
        table = plan.table
        if table is not None:
            call.work = table.values(call.root)
            call.work_at = table.start(call.root)
        if call.parent is None:
            root = call.root
            self._log_server[root] = self.index
            self._log_endpoint[root] = plan.index
        if self.inside is not None:
            self.inside[call] = None
        ram = plan.ram_mb
        if ram:
            resource = self.ram
            if resource.waiting or ram > resource.free:
                call.state = RAM_WAITING
                call.mark = time
                call.waiter = resource.wait(time, call, ram, self._on_ram)
                return
            resource.free -= ram
            self._ram_level.change(time, ram)
        self._advance(time, call)

    def _ram_granted(self, time: float, call: Call, waited: float) -> None:
        call.ph[RAM_WAIT] += waited
        self._advance(time, call)

    # ------------------------------------------------------------------ operations

    def _advance(self, time: float, call: Call) -> None:
        """Start the call's next operation, or let it leave after the last."""
        ops = call.plan.ops
        while True:
            op = ops[call.pc]
            kind = op.kind
            if kind == CPU_OP:
                cores = self.cores
                if not cores.waiting and cores.free >= 1.0:
                    cores.free -= 1.0
                    self._busy.change(time, 1.0)
                    # Inlined _start_cpu: a Python call less per request (bench/run.py).
                    duration = op.fixed
                    if duration < 0.0:
                        duration = call.work[call.work_at + op.column]
                    call.state = ON_CPU
                    call.mark = time
                    call.ev = seq = self._next_seq()
                    if NATIVE_EVENTS:
                        push_event(self._heap, Event(time + duration, seq, self._on_cpu_done, call))
                    else:
                        heappush(self._heap, (time + duration, seq, self._on_cpu_done, call))
                else:
                    call.state = CPU_WAITING
                    call.mark = time
                    call.waiter = cores.wait(time, call, 1.0, self._on_core)
                return
            if kind == IO_OP:
                duration = op.fixed
                if duration < 0.0:
                    duration = call.work[call.work_at + op.column]
                call.state = IN_IO
                call.mark = time
                self.io_level.change(time, 1.0)
                call.ev = seq = self._next_seq()
                if NATIVE_EVENTS:
                    push_event(self._heap, Event(time + duration, seq, self._on_io_done, call))
                else:
                    heappush(self._heap, (time + duration, seq, self._on_io_done, call))
                return
            if kind == END_OP:
                self._leave(time, call)
                return
            if kind == JUMP_OP:
                call.pc = op.to
            elif kind == BRANCH_OP:
                call.pc = _arm(op, call.work[call.work_at + op.column])
            else:
                self._issue(time, call, op)
                return

    def _start_cpu(self, time: float, call: Call, op: Op) -> None:
        duration = op.fixed if op.fixed >= 0.0 else call.work[call.work_at + op.column]
        call.state = ON_CPU
        call.mark = time
        call.ev = seq = self._next_seq()
        if NATIVE_EVENTS:
            push_event(self._heap, Event(time + duration, seq, self._on_cpu_done, call))
        else:
            heappush(self._heap, (time + duration, seq, self._on_cpu_done, call))

    def _core_granted(self, time: float, call: Call, waited: float) -> None:
        call.ph[CPU_WAIT] += waited
        self._start_cpu(time, call, call.plan.ops[call.pc])

    def _cpu_done(self, time: float, call: Call) -> None:
        call.ph[CPU] += time - call.mark
        call.pc += 1
        if call.plan.control and not call.cancelled:
            op = self._next_op(call)
            if op.kind == CPU_OP:
                # A branch led to more CPU: the event loop keeps the core.
                self._start_cpu(time, call, op)
                return
        cores = self.cores
        if cores.waiting:
            cores.pass_unit(time)  # the core goes straight to the head of the ready queue
        else:
            cores.free += 1.0
            self._busy.change(time, -1.0)
        if call.cancelled:
            call.mark = time
            call.state = DONE
            self.exit(time, call)
            self.cancelled += 1
            release_held(time, call)
            self.ctx.close_call(time, call, self.cancelled_code)
            return
        self._advance(time, call)

    def _next_op(self, call: Call) -> Op:
        """The next operation to run, after the branches and jumps before it."""
        ops = call.plan.ops
        while True:
            op = ops[call.pc]
            if op.kind == JUMP_OP:
                call.pc = op.to
            elif op.kind == BRANCH_OP:
                call.pc = _arm(op, call.work[call.work_at + op.column])
            else:
                return op

    def _io_done(self, time: float, call: Call) -> None:
        call.ph[IO] += time - call.mark
        self.io_level.change(time, -1.0)
        call.pc += 1
        self._advance(time, call)

    # ------------------------------------------------------------------ calls

    def _issue(self, time: float, call: Call, op: Op) -> None:
        """Send the calls of a call or parallel step; await ``op.need`` answers.

        A local cache's lookup and the fill after a miss are decided here too.
        """
        if op.kind == FILL_OP:
            self._fill(time, call, op)
            return
        if op.local:
            self._looked_up(time, call, op)
            return
        sites = call.plan.children[call.pc]
        call.state = AWAITING
        call.mark = time
        call.need = op.need
        call.spare = len(sites) - op.need
        kids = []
        calls = self.ctx.calls
        for site in sites:
            child = Call(call.root, site, call, time)
            if calls is not None:
                child.cid = calls.open(call.cid, call.root, site.index, time)
            kids.append(child)
        call.kids = kids
        for child in kids:
            child.site.send(time, child)

    def on_reply(self, time: float, child: Call) -> None:
        """The answer (or error) of a call made here arrives back."""
        if child.cancelled:
            self.ctx.close_call(time, child, self.cancelled_code)
            return
        release_held(time, child)
        child.state = DONE
        if child.code > COMPLETED_CODE:
            self.ctx.close_call(time, child, child.code)
            kid_failed(self, time, child)
            return
        self.ctx.close_call(time, child, COMPLETED_CODE)
        self.ctx.answered(time, child)
        if child.site.breaker is not None:
            child.site.breaker.answered(time)
        parent: Call = child.parent  # type: ignore[assignment]
        parent.need -= 1
        if parent.need == 0:
            fold(parent, child)
            drop_kids(self, time, parent, child)
            op = parent.plan.ops[parent.pc]
            if op.kind == CACHE_OP:
                self._looked_up(time, parent, op)
                return
            parent.pc += 1
            self._advance(time, parent)

    def on_failure(self, time: float, child: Call) -> None:
        """A call made here failed where no server answers (refused, dropped, down)."""
        if child.cancelled:
            self.ctx.close_call(time, child, self.cancelled_code)
            return
        release_held(time, child)
        self.ctx.close_call(time, child, child.code)
        kid_failed(self, time, child)

    # ------------------------------------------------------------------ caches

    def _looked_up(self, time: float, call: Call, op: Op) -> None:
        """The lookup is done (see :func:`~asyncflow.components.cache.look_up`)."""
        if look_up(self.leaders, time, call, op):
            self._advance(time, call)

    def _fill(self, time: float, call: Call, op: Op) -> None:
        """The fallback answered: the key fills the cache; its waiters go on."""
        fill(self.leaders, time, call, op)
        self._advance(time, call)

    def resume(self, time: float, call: Call) -> None:
        """Go on with a call that waited for another's fallback."""
        self._advance(time, call)

    def abandon(self, time: float, call: Call) -> None:
        """A call leading a fallback stops before the fill: a waiter takes over."""
        hand_over(self.leaders, time, call)

    def lead(self, time: float, call: Call, model: CacheModel, key: int) -> None:
        """Run the fallback of ``key`` for the requests waiting on it."""
        self.leaders[call] = (model, key)
        self._advance(time, call)

    # ------------------------------------------------------------------ leaving

    def _leave(self, time: float, call: Call) -> None:
        """The endpoint is done: free the call's holdings and send its answer.

        The common case (no crash tracking, no connection, RAM nobody waits
        for, no response body) is inlined: leaving is once per call.
        """
        self.completed += 1
        call.code = COMPLETED_CODE
        plan = call.plan
        if (
            self.inside is not None
            or call.conn is not None
            or self.admission is not None
            or call.held
        ):
            self.exit(time, call)
        else:
            self.in_progress -= 1
            if self._watchers:
                self.load_moved()
            ram = plan.ram_mb
            if ram:
                resource = self.ram
                if resource.waiting or self.listener is not None:
                    self._give_ram(time, ram)
                else:
                    resource.free += ram
                    self._ram_level.change(time, -ram)
        if plan.program.response_bytes:
            self._reply(time, call)
        else:
            call.state = SENDING
            call.site.replies[self.index](time, call)

    def fail_step(self, time: float, call: Call, code: int, place: int) -> None:
        """The endpoint failed (a call it needed failed): answer with that error."""
        self.exit(time, call)
        self.failed += 1
        call.code = code
        call.place = place
        self._reply(time, call)

    def _reply(self, time: float, call: Call) -> None:
        edge = call.site.reply_edges[self.index]
        size = call.plan.program.response_bytes if call.code == COMPLETED_CODE else 0.0
        if size and edge.link is not None:
            call.state = BODY_OUT
            call.mark = time
            edge.enter_transit(time)
            edge.link.start(time, size, call, self._responded)
            return
        call.state = SENDING
        call.site.replies[self.index](time, call)

    def _responded(self, time: float, call: Call, seconds: float) -> None:
        """The response body is out: send it on, its time counted on that hop."""
        edge = call.site.reply_edges[self.index]
        edge.leave_transit(time)
        call.ph[edge.slot] += seconds
        call.state = SENDING
        call.site.replies[self.index](time, call)

    def exit(self, time: float, call: Call, holds_ram: bool = True) -> None:
        """The call leaves the server: its RAM, connection and transaction are freed."""
        if call.held:
            release_request_leases(time, call)
        if self.leaders and call in self.leaders:
            self.abandon(time, call)
        self.in_progress -= 1
        if self._watchers:
            self.load_moved()
        if self.inside is not None:
            del self.inside[call]
        connection = call.conn
        if connection is not None:
            # The response is sent: the connection goes back to its pool or closes.
            call.conn = None
            if call.held is not None:
                call.held.remove(connection)
            connection.release(time)
        ram = call.plan.ram_mb
        if ram and holds_ram:
            self._give_ram(time, ram)
        if self.admission is not None:
            self.admission.leave(time, call, self._let_in, self._refuse)

    # ------------------------------------------------------------------ admission

    def _turn_away(self, time: float, call: Call, plan: Plan, verdict: int) -> None:
        """The admission queued the call (negative ``verdict``) or refused it (its code)."""
        call.server = self
        call.plan = plan
        if verdict > 0:
            call.code = verdict
            self._refuse(time, call)

    def _let_in(self, time: float, waiting: Waiting) -> None:
        """A call waiting in the admission queue is let in."""
        self._admit(time, waiting.call, waiting.plan, checked=True)

    def _refuse(self, time: float, call: Call) -> None:
        """Refuse a call at admission (rate limited, shed): its error goes back."""
        self.failed += 1
        self.give_back_connection(time, call)
        self._fail(time, call, call.code, self.place, call.site.reply_edges[self.index])

    def _give_ram(self, time: float, mb: float) -> None:
        resource = self.ram
        if self.listener is not None:
            # Connections waiting for memory are accepted before calls waiting for RAM.
            resource.release(time, mb)
            self.listener.retry(time)
            resource.serve(time)
        elif resource.waiting:
            resource.give(time, mb)
        else:
            resource.free += mb
            self._ram_level.change(time, -mb)

    @staticmethod
    def give_back_connection(time: float, call: Call) -> None:
        """A call that was never let in gives back the connection it came on."""
        connection = call.conn
        if connection is not None:
            call.conn = None
            if call.held is not None:
                call.held.remove(connection)
            connection.release(time)

    # ------------------------------------------------------------------ interrupts

    def call_timed_out(self, time: float, child: Call, code: int) -> None:
        """A call made here timed out (see :func:`~asyncflow.components.interrupts.timed_out`)."""
        timed_out(self, time, child, code)

    def cancel(self, time: float, call: Call) -> None:
        """Withdraw a call made here from wherever it is; it will answer nobody."""
        cancel(self, time, call)

    def withdraw(self, time: float, call: Call) -> None:
        """Stop a cancelled call inside this server (CPU already running finishes first)."""
        withdraw(self, time, call)

    def go_down(self, time: float, _: object = None) -> None:
        """Take the server down: every call inside fails now."""
        crash(self, time)

    def go_up(self, time: float, _: object = None) -> None:
        """Bring the server back into service."""
        self.up = True
        self.load_moved()


def _arm(op: Op, u: float) -> int:
    """The first operation of the branch arm drawn by ``u``."""
    for cumulative, start in op.arms:
        if u < cumulative:
            return start
    return op.arms[-1][1]
