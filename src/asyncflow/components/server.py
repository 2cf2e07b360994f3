"""An asynchronous server: cores running event loops, RAM, I/O.

A request arriving at a server picks an endpoint (by weight), then needs the
RAM of all its ``ram`` steps: it is admitted when that much is free and
nobody is waiting before it (a visible FIFO queue), and holds it until it
leaves. Its other steps run in order: consecutive CPU steps form one CPU
segment that holds a core (a core runs one thing at a time: it blocks that
event loop); waiting for a core is the ready queue, shared by all cores in
FIFO order. Consecutive I/O steps form one I/O segment that holds no core.

When a server goes down, every request inside it fails with ``server_down``
at that instant and its RAM and core are freed; requests that arrive while
it is down fail the same way.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from heapq import heapify, heappush
from itertools import accumulate
from typing import TYPE_CHECKING

from asyncflow.components.connections import Connection, Listener, hold
from asyncflow.components.context import Request, RunContext
from asyncflow.engine.sampling import make_sampler
from asyncflow.engine.streams import Sampler, blocks
from asyncflow.metrics.requests import MAX_HOPS

if TYPE_CHECKING:
    from asyncflow.components.edges import Edge
    from asyncflow.scenario import Distribution
    from asyncflow.scenario import Endpoint as EndpointSpec
    from asyncflow.scenario import Server as ServerSpec

KIB = 1024.0  # bytes in the KB of request_kb / response_kb
_SERVER_METRICS = ("ready_queue", "busy_cores", "io_waiting", "ram_in_use_mb", "ram_wait_queue")


@dataclass(frozen=True, slots=True)
class Segment:
    """A run of consecutive CPU or I/O steps, with its total duration sampler.

    ``fixed`` is the duration when it is constant, else -1: the hot path then
    skips a sampler call (most scenarios give constant step times).
    """

    is_cpu: bool
    duration: Sampler
    fixed: float = -1.0


@dataclass(frozen=True, slots=True)
class CompiledEndpoint:
    """An endpoint ready to run: its index, RAM need, segments and body sizes."""

    index: int
    ram_mb: float
    segments: tuple[Segment, ...]
    request_bytes: float = 0.0
    response_bytes: float = 0.0


def _constant(steps: Sequence[Distribution | None]) -> float:
    """The total of constant steps, or -1 when any step is random."""
    if any(d is None or d.distribution != "deterministic" for d in steps):
        return -1.0
    return sum(d.moments()[0] for d in steps if d is not None)


def _sum_sampler(samplers: Sequence[Sampler]) -> Sampler:
    if len(samplers) == 1:
        return samplers[0]
    return lambda: sum(s() for s in samplers)


def compile_endpoint(
    ctx: RunContext,
    server_id: str,
    index: int,
    spec: EndpointSpec,
    prefix_cpu: Sampler | None = None,
) -> CompiledEndpoint:
    """Merge an endpoint's steps into alternating CPU and I/O segments.

    ``prefix_cpu`` is CPU work done before the steps (a TLS handshake).
    """
    groups: list[tuple[bool, list[Sampler]]] = []
    step_groups: list[list[Distribution | None]] = []  # None: not a constant
    if prefix_cpu is not None:
        groups.append((True, [prefix_cpu]))
        step_groups.append([None])
    for k, step in enumerate(spec.steps):
        if step.category == "ram":
            continue
        is_cpu = step.category == "cpu"
        rng = ctx.streams.generator(f"server:{server_id}:{spec.endpoint_name}:{k}")
        sampler = make_sampler(step.duration, rng)
        if groups and groups[-1][0] == is_cpu:
            groups[-1][1].append(sampler)
            step_groups[-1].append(step.duration)
        else:
            groups.append((is_cpu, [sampler]))
            step_groups.append([step.duration])
    segments = tuple(
        Segment(is_cpu, _sum_sampler(samplers), _constant(steps))
        for (is_cpu, samplers), steps in zip(groups, step_groups, strict=True)
    )
    return CompiledEndpoint(
        index, spec.ram_mb, segments, spec.request_kb * KIB, spec.response_kb * KIB
    )


class Server:
    """Runtime state and behaviour of one server.

    With a :class:`Listener` (connection mode), a request arriving on a new
    connection is accepted first (or waits in the backlog, or is refused);
    on a new connection a TLS server first spends the handshake's CPU time.
    Connection memory comes out of the same RAM as the requests'.
    """

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
        self.send_out: Callable[[float, Request], None] = self._unconnected
        self.inbound: Edge | None = None  # the edge requests arrive on (request bodies)
        self.outbound: Edge | None = None  # the edge responses leave on
        self._hops = ctx.log.hops
        self._ctx = ctx
        self._heap = ctx.kernel.heap
        self._next_seq = ctx.kernel.next_seq
        self._log_server = ctx.log.server
        self._log_endpoint = ctx.log.endpoint
        self._ram_wait = ctx.log.ram_wait
        self._cpu_wait = ctx.log.cpu_wait
        self._cpu = ctx.log.cpu
        self._io = ctx.log.io
        self._fail_down = ctx.failer("server_down")
        resources = spec.server_resources
        self.cores = resources.cpu_cores
        self.ram_mb = float(resources.ram_mb)
        self._free_cores = self.cores
        self._ram_free = self.ram_mb
        self._io_count = 0
        self._ready: deque[tuple[Request, float]] = deque()
        self._ram_queue: deque[Request] = deque()
        self._inside: dict[int, Request] | None = {} if tracks_crashes else None
        self._endpoints = [
            compile_endpoint(ctx, spec.id, i, e) for i, e in enumerate(spec.endpoints)
        ]
        tls_cpu = spec.tls.cpu_s if spec.tls is not None else None
        self._tls_endpoints = None
        if with_connections and tls_cpu is not None:
            tls = make_sampler(tls_cpu, ctx.streams.generator(f"server:{spec.id}:tls"))
            self._tls_endpoints = [
                compile_endpoint(ctx, spec.id, i, e, prefix_cpu=tls)
                for i, e in enumerate(spec.endpoints)
            ]
        self.listener = Listener(ctx, spec.id, resources, self, index) if with_connections else None
        weights = [e.weight for e in spec.endpoints]
        self._cumulative = list(accumulate(weights))
        self._single_endpoint = self._endpoints[0] if len(self._endpoints) == 1 else None
        self._receives_bodies = False  # set by connect() once the edges are known
        self._u = blocks(ctx.streams.generator(f"server:{spec.id}:endpoint").random)
        levels = [ctx.level(spec.id, m) for m in _SERVER_METRICS]
        self._levels = levels
        (self._rq_t, self._bc_t, self._io_t, self._ram_t, self._rw_t) = (
            lv.times.append for lv in levels
        )
        (self._rq_d, self._bc_d, self._io_d, self._ram_d, self._rw_d) = (
            lv.deltas.append for lv in levels
        )

    # ------------------------------------------------------------------ arrival

    def _pick_endpoint(self) -> CompiledEndpoint:
        endpoints = self._endpoints
        if len(endpoints) == 1:
            return endpoints[0]
        total = self._cumulative[-1]
        i = bisect_right(self._cumulative, self._u() * total)
        return endpoints[min(i, len(endpoints) - 1)]

    def _unconnected(self, time: float, request: Request) -> None:
        raise RuntimeError(f"server {self.id!r} has no outgoing edge")

    @property
    def connections(self) -> int:
        """Connections in use (not idle in a pool) when modelled, else requests in progress."""
        return self.listener.active if self.listener is not None else self.in_progress

    def arrive(self, time: float, request: Request) -> None:
        """A request arrives from the network."""
        if not self.up:
            self._fail_down(time, request)
            return
        listener = self.listener
        if listener is None or listener.admit(time, request, self._connected):
            endpoint = self._single_endpoint or self._pick_endpoint()
            if self._receives_bodies:
                self._enter(time, request, endpoint)
            else:
                self._admit(time, request, endpoint)

    def _connected(self, time: float, request: Request, connection: Connection) -> None:
        """A new connection was accepted: the request holds it while inside."""
        request.conn = connection
        hold(request, connection)
        endpoint = self._pick_endpoint()
        if self._tls_endpoints is not None and request.pool is not None:
            # A pooled sender opened it: the TLS handshake costs CPU here first.
            endpoint = self._tls_endpoints[endpoint.index]
        self._enter(time, request, endpoint)

    def _enter(self, time: float, request: Request, endpoint: CompiledEndpoint) -> None:
        """Receive the request's body if it has one, then admit it."""
        inbound = self.inbound
        if endpoint.request_bytes and inbound is not None and inbound.link is not None:
            request.endpoint = endpoint
            inbound.enter_transit(time)
            inbound.link.start(time, endpoint.request_bytes, request, self._received)
            return
        self._admit(time, request, endpoint)

    def _received(self, time: float, request: Request, seconds: float) -> None:
        """The request body is in: its time counts on the inbound hop."""
        if self.inbound is not None:  # always: a body is received through it
            self.inbound.leave_transit(time)
        self._hops[request.id * MAX_HOPS + request.hop - 1] += seconds
        if not self.up:
            self._fail_down(time, request)
            return
        self._admit(time, request, request.endpoint)

    def _admit(self, time: float, request: Request, endpoint: CompiledEndpoint) -> None:
        """Admit the request: RAM first (it may wait for it), then its segments."""
        self.in_progress += 1
        request.endpoint = endpoint
        request.step = 0
        self._log_server[request.id] = self.index
        self._log_endpoint[request.id] = endpoint.index
        if self._inside is not None:
            self._inside[request.id] = request
        ram = endpoint.ram_mb
        if ram:
            if self._ram_queue or ram > self._ram_free:
                request.mark = time
                self._ram_queue.append(request)
                self._rw_t(time)
                self._rw_d(1.0)
                return
            self._ram_free -= ram
            self._ram_t(time)
            self._ram_d(ram)
        self._advance(time, request)

    # ------------------------------------------------------------------ steps

    def _advance(self, time: float, request: Request) -> None:
        """Start the request's next segment, or let it leave after the last."""
        endpoint: CompiledEndpoint = request.endpoint
        segments = endpoint.segments
        step = request.step
        if step == len(segments):
            self._leave(time, request)
            return
        segment = segments[step]
        duration = segment.fixed
        if duration < 0.0:
            duration = segment.duration()
        if segment.is_cpu:
            self._cpu[request.id] += duration
            if self._free_cores:
                self._free_cores -= 1
                self._bc_t(time)
                self._bc_d(1.0)
                heappush(self._heap, (time + duration, self._next_seq(), self._cpu_done, request))
            else:
                request.mark = time
                self._ready.append((request, duration))
                self._rq_t(time)
                self._rq_d(1.0)
        else:
            self._io[request.id] += duration
            self._io_count += 1
            self._io_t(time)
            self._io_d(1.0)
            heappush(self._heap, (time + duration, self._next_seq(), self._io_done, request))

    def _cpu_done(self, time: float, request: Request) -> None:
        if self._ready:
            # The core goes straight to the next request in the ready queue.
            waiting, duration = self._ready.popleft()
            self._cpu_wait[waiting.id] += time - waiting.mark
            self._rq_t(time)
            self._rq_d(-1.0)
            heappush(self._heap, (time + duration, self._next_seq(), self._cpu_done, waiting))
        else:
            self._free_cores += 1
            self._bc_t(time)
            self._bc_d(-1.0)
        request.step += 1
        self._advance(time, request)

    def _io_done(self, time: float, request: Request) -> None:
        self._io_count -= 1
        self._io_t(time)
        self._io_d(-1.0)
        request.step += 1
        self._advance(time, request)

    def _leave(self, time: float, request: Request) -> None:
        self.in_progress -= 1
        if self._inside is not None:
            del self._inside[request.id]
        connection = request.conn
        if connection is not None:
            # The response is sent: the connection goes back to its pool or closes.
            request.conn = None
            if request.held is not None:
                request.held.remove(connection)
            connection.release(time)
        endpoint: CompiledEndpoint = request.endpoint
        if endpoint.ram_mb:
            self.give_memory(time, endpoint.ram_mb)
        outbound = self.outbound
        if endpoint.response_bytes and outbound is not None and outbound.link is not None:
            outbound.enter_transit(time)
            outbound.link.start(time, endpoint.response_bytes, request, self._responded)
            return
        self.send_out(time, request)

    def _responded(self, time: float, request: Request, seconds: float) -> None:
        """The response body is out: send it on, its time counted on that hop."""
        if self.outbound is not None:  # always: a body is sent through it
            self.outbound.leave_transit(time)
        hop = request.hop
        self.send_out(time, request)
        self._hops[request.id * MAX_HOPS + hop] += seconds

    def connect(
        self, inbound: Edge, outbound: Edge, send_out: Callable[[float, Request], None]
    ) -> None:
        """Wire the edges requests arrive on and responses leave on."""
        self.inbound = inbound
        self.outbound = outbound
        self.send_out = send_out
        self._receives_bodies = inbound.link is not None and any(
            e.request_bytes for e in self._endpoints
        )

    def take_memory(self, time: float, mb: float) -> bool:
        """Reserve RAM for a connection if it is free now."""
        if mb > self._ram_free:
            return False
        self._ram_free -= mb
        self._ram_t(time)
        self._ram_d(mb)
        return True

    def give_memory(self, time: float, mb: float) -> None:
        """Free RAM; waiting connections, then waiting requests, may take it."""
        self._ram_free += mb
        self._ram_t(time)
        self._ram_d(-mb)
        if self.listener is not None:
            self.listener.retry(time)
        if self._ram_queue:
            self._admit_waiting(time)

    def _admit_waiting(self, time: float) -> None:
        queue = self._ram_queue
        while queue:
            head = queue[0]
            ram: float = head.endpoint.ram_mb
            if ram > self._ram_free:
                return
            queue.popleft()
            self._ram_wait[head.id] = time - head.mark
            self._ram_free -= ram
            self._rw_t(time)
            self._rw_d(-1.0)
            self._ram_t(time)
            self._ram_d(ram)
            self._advance(time, head)

    # ------------------------------------------------------------------ faults

    def go_down(self, time: float, _: object = None) -> None:
        """Take the server down: every request inside fails now."""
        self.up = False
        inside = self._inside
        if inside is None:
            raise RuntimeError(f"server {self.id!r} was built without crash tracking")
        if self.listener is not None:
            # Every connection dies with the server; connections waiting to be accepted fail.
            for request in self.listener.crash(time):
                self._fail_down(time, request)
        victims = set(inside)
        for request in inside.values():
            request.conn = None
            self._fail_down(time, request)
        inside.clear()
        if victims:
            heap = self._heap
            heap[:] = [e for e in heap if not (type(e[3]) is Request and e[3].id in victims)]
            heapify(heap)
        for level in self._levels:
            # Every level of the server drops to zero.
            current = level.value + sum(level.deltas)
            if current:
                level.change(time, -current)
        self._ready.clear()
        self._ram_queue.clear()
        self._free_cores = self.cores
        self._ram_free = self.ram_mb
        self._io_count = 0
        self.in_progress = 0

    def go_up(self, time: float, _: object = None) -> None:
        """Bring the server back into service."""
        self.up = True
