"""Databases and remote caches: nodes that serve calls on workers of their own.

A database runs each query as one operation on one of its ``workers`` (a
thread pool: FIFO, the shared counting resource of a server's cores), a
remote cache each lookup on its worker(s), for ``hit_latency``. Both are a
:class:`~asyncflow.components.server.Server` underneath (calls arrive over
an edge, wait for a worker, are answered over the edge back, fail with
``server_down`` during an outage), with three differences:

- their time counts in a phase of their own (``db``, ``cache``), not in CPU;
- ``max_connections`` counts the connections open at once: each query sent
  without a pool opens one when it arrives and closes it when its answer is
  back at the caller, and each connection a pool opened stays open; a new
  one beyond the limit is refused (``connection_refused``, the error crossing
  back as for a server);
- they keep no RAM and are not servers in the records (no request's entry,
  no endpoint table): their own blocks of the summary describe them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from asyncflow.components.calls import Call
from asyncflow.components.connections import hold
from asyncflow.components.context import RunContext
from asyncflow.components.server import Server
from asyncflow.metrics.phases import CACHE, DB
from asyncflow.metrics.sketch import QuantileSketch

if TYPE_CHECKING:
    from collections.abc import Iterator

    from asyncflow.scenario.datastores import CacheNode as CacheSpec
    from asyncflow.scenario.datastores import Database as DatabaseSpec


def database_as_server(spec: DatabaseSpec) -> Any:
    """The server a database runs as: a core per worker, an endpoint per query."""
    from asyncflow.scenario.models import Endpoint, Server, ServerResources, Step

    return Server(
        id=spec.id,
        server_resources=ServerResources(cpu_cores=spec.workers),
        endpoints=tuple(
            Endpoint(
                endpoint_name=q.name,
                steps=(Step(kind="cpu_bound_operation", step_operation={"cpu_time": q.latency}),),
            )
            for q in spec.queries
        ),
    )


def cache_as_server(spec: CacheSpec) -> Any:
    """The server a remote cache runs as: its workers, one ``get`` endpoint."""
    from asyncflow.scenario.models import Endpoint, Server, ServerResources, Step

    step = Step(kind="cpu_bound_operation", step_operation={"cpu_time": spec.hit_latency})
    return Server(
        id=spec.id,
        server_resources=ServerResources(cpu_cores=spec.workers),
        endpoints=(Endpoint(endpoint_name="get", steps=(step,)),),
    )


class _Socket:
    """The connection an unpooled call holds at a store until its answer is back."""

    __slots__ = ("node",)

    def __init__(self, node: StoreNode) -> None:
        self.node = node

    def release(self, time: float) -> None:
        self.node.close_connection(time)


class StoreNode(Server):
    """A server whose time counts in a phase of its own, with a connection limit.

    Attributes:
        open: Connections open now (queries in progress without a pool, and
            every connection pools opened).
        max_connections: The limit (None: unlimited).
        refused: Connections refused (at or after the warm-up).
        time_in: Per endpoint (query, or a cache's ``get``), the seconds each
            answered call spent here, waiting for a worker and served
            (requests generated after the warm-up).
    """

    kind = "store"
    slot = DB

    def __init__(
        self,
        ctx: RunContext,
        server_spec: Any,
        index: int,
        tracks_crashes: bool,
        max_connections: int | None,
    ) -> None:
        super().__init__(ctx, server_spec, index, tracks_crashes, with_connections=False)
        self.max_connections = max_connections
        self.open = 0
        self.refused = 0
        self._open_level = ctx.level(server_spec.id, "connections")
        self._socket = _Socket(self)
        self._refused_code = ctx.code("connection_refused")
        self._generated = ctx.log.generated
        self._warm_up = ctx.warm_up_s
        self.time_in: list[QuantileSketch] = [QuantileSketch() for _ in self.programs]

    # ------------------------------------------------------------------ connections

    def arrive(self, time: float, call: Call) -> None:
        """A call arrives: it opens a connection of its own unless a pool sent it."""
        if call.cancelled or not self.up or call.pool is not None:
            super().arrive(time, call)
            return
        if not self._open_one(time):
            self.failed += 1
            back = call.site.reply_edges[self.index]
            self._fail(time, call, self._refused_code, self.place, back)
            return
        hold(call, self._socket)
        super().arrive(time, call)

    def open_pooled(self, time: float) -> bool:
        """A pool opens a connection it keeps; False when the limit refuses it."""
        return self._open_one(time)

    def _open_one(self, time: float) -> bool:
        limit = self.max_connections
        if limit is not None and self.open >= limit:
            self.refused += int(time >= self._warm_up)
            return False
        self.open += 1
        self._open_level.change(time, 1.0)
        return True

    def close_connection(self, time: float) -> None:
        """An unpooled call's connection closes (its answer is back at the caller)."""
        self.open -= 1
        self._open_level.change(time, -1.0)

    def _leave(self, time: float, call: Call) -> None:
        """Answered: its time here is tallied by query (requests after the warm-up)."""
        if self._generated[call.root] >= self._warm_up:
            self.time_in[call.plan.index].add(call.ph[self.slot])
        super()._leave(time, call)

    # ------------------------------------------------------------------ its own phase

    def _core_granted(self, time: float, call: Call, waited: float) -> None:
        call.ph[self.slot] += waited
        self._start_cpu(time, call, call.plan.ops[call.pc])

    def _cpu_done(self, time: float, call: Call) -> None:
        call.ph[self.slot] += time - call.mark
        call.mark = time  # nothing left for the server's CPU phase
        super()._cpu_done(time, call)

    def waiting_calls(self) -> Iterator[Call]:
        """The calls waiting for a worker (for the end of a run)."""
        return (w.item for w in self.cores.waiters())


class Database(StoreNode):
    """A database: a worker per query at a time, FIFO (see the module docstring)."""

    kind = "database"
    slot = DB

    def __init__(
        self, ctx: RunContext, spec: DatabaseSpec, index: int, tracks_crashes: bool
    ) -> None:
        super().__init__(ctx, database_as_server(spec), index, tracks_crashes, spec.max_connections)
        self.workers = spec.workers


class CacheNode(StoreNode):
    """A remote cache: lookups served on its worker(s) for ``hit_latency`` each."""

    kind = "cache"
    slot = CACHE

    def __init__(self, ctx: RunContext, spec: CacheSpec, index: int, tracks_crashes: bool) -> None:
        super().__init__(ctx, cache_as_server(spec), index, tracks_crashes, spec.max_connections)
        self.workers = spec.workers
