"""Test doubles for the components' seams, and the small real parts they plug into.

Each seam has a small interface and a double here: a :class:`FakeServerView`
for balancing policies, a :class:`RecordingCaller` for whatever makes calls
(it records every reply and failure), a :class:`LinkEdge` for an edge with a
bandwidth (a real link behind it), and a :class:`ServerRig` that wires one
real :class:`~asyncflow.components.server.Server` to such a caller through a
real :class:`~asyncflow.components.sites.CallSite`, :class:`SiteEntry` and
:class:`~asyncflow.components.sites.Plan`, with replies handed back at once
(no edges, no client, no generator).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from asyncflow.components.bandwidth import SharedLink
from asyncflow.components.calls import Call
from asyncflow.components.context import RunContext
from asyncflow.components.server import Server
from asyncflow.components.sites import CallSite, Plan, SiteEntry
from asyncflow.engine.kernel import Kernel
from asyncflow.engine.streams import RandomStreams, WorkTable, uniform_column
from asyncflow.metrics.levels import Level
from asyncflow.metrics.phases import HOP_OUT, SLOTS
from asyncflow.metrics.requests import CriticalPathLog, Reasons, RequestLog
from asyncflow.scenario import ScenarioBuilder
from asyncflow.scenario import Server as ServerSpec

ROWS = 4096
"""Request rows opened in a context's log (root calls use rows below it)."""


@dataclass
class FakeServerView:
    """What a balancing policy may read of a server, set by hand."""

    up: bool = True
    in_progress: int = 0
    connections: int = 0


def views(*loads: int, down: tuple[int, ...] = ()) -> list[FakeServerView]:
    """One view per load (as both ``in_progress`` and ``connections``); ``down`` by index."""
    return [FakeServerView(i not in down, load, load) for i, load in enumerate(loads)]


def make_context(kernel: Kernel, *, end_s: float = 100.0, bin_s: float = 1.0) -> RunContext:
    """A real run context for ``kernel`` with ``ROWS`` request rows open."""
    slots = tuple(range(SLOTS))
    reasons = Reasons()
    ctx = RunContext(
        kernel=kernel,
        streams=RandomStreams(7),
        log=RequestLog(reasons, slots),
        reasons=reasons,
        critical=CriticalPathLog(slots),
        calls=None,
        end_s=end_s,
        bin_s=bin_s,
        warm_up_s=0.0,
    )
    ctx.log.open_block(np.zeros(ROWS), 0)
    return ctx


class RecordingCaller:
    """A caller that records every reply and failure it hears, in order."""

    def __init__(self, ctx: RunContext, id: str = "caller") -> None:
        self.id = id
        self._names = ctx.reasons.names
        self.heard: list[tuple[str, float, Call]] = []

    def on_reply(self, time: float, call: Call) -> None:
        self.heard.append(("reply", time, call))

    def on_failure(self, time: float, call: Call) -> None:
        self.heard.append(("failure", time, call))

    @property
    def replies(self) -> list[tuple[float, Call]]:
        return [(t, c) for kind, t, c in self.heard if kind == "reply"]

    @property
    def failures(self) -> list[tuple[float, Call]]:
        return [(t, c) for kind, t, c in self.heard if kind == "failure"]

    def reason(self, call: Call) -> str:
        """The outcome name of ``call``'s code (``completed``, ``server_down``, ...)."""
        return self._names[call.code]


def server_spec(*endpoints: dict[str, Any], **resources: Any) -> ServerSpec:
    """The validated spec of server ``srv-1`` of a tiny scenario built with the builder."""
    scenario = (
        ScenarioBuilder("unit")
        .workload(users=1, requests_per_minute=1)
        .client()
        .server("srv-1", endpoints=list(endpoints), **resources)
        .wire(latency=0.001)
        .settings(horizon_s=100)
        .build()
    )
    return scenario.topology_graph.nodes.servers[0]


class LinkEdge:
    """An edge double with a bandwidth: a real link, a phase slot, a count of transfers."""

    def __init__(self, ctx: RunContext, bandwidth_mbps: float, slot: int = HOP_OUT) -> None:
        self.slot = slot
        self.link = SharedLink(ctx, bandwidth_mbps)
        self.in_transit = 0

    def enter_transit(self, time: float) -> None:
        self.in_transit += 1

    def leave_transit(self, time: float) -> None:
        self.in_transit -= 1


class ReplyEdge:
    """A reply edge double: answers carry no body, errors cross back in no time."""

    link = None

    def __init__(self) -> None:
        self.errors = 0

    def notice_delay(self, time: float) -> float:
        self.errors += 1
        return 0.0


def wire_site(
    ctx: RunContext,
    server: Server,
    caller: Any,
    endpoint: str | None = None,
    index: int = 0,
    inbound: LinkEdge | None = None,
) -> CallSite:
    """A call site from ``caller`` to ``server``, its entry and plans, replies handed back at once.

    The site's sender schedules the arrival at the server at the send time;
    with an ``inbound`` edge, request bodies are received over its link first.
    """
    key = f"unit:{endpoint or '*'}"
    site = CallSite(index, key, caller, server.id, endpoint, server.index + 1, 0)
    plans = [
        Plan(p, WorkTable(ctx.streams, f"{key}:{p.name}", p.columns) if p.columns else None)
        for p in server.programs
    ]
    fixed = next((p for p in plans if p.program.name == endpoint), None)
    if fixed is None and len(plans) == 1:
        fixed = plans[0]
    picks = WorkTable(ctx.streams, f"{key}:pick", (uniform_column,)) if fixed is None else None
    site.entries[server.index] = SiteEntry(plans, fixed, picks, bodies=inbound is not None)
    site.inbound[server.index] = inbound
    site.replies[server.index] = caller.on_reply
    site.reply_edges[server.index] = ReplyEdge()
    site.send = lambda time, call: ctx.kernel.schedule(time, server.arrive, call)
    return site


class ServerRig:
    """One real server fed by a recording caller through real call sites."""

    def __init__(
        self,
        ctx: RunContext,
        spec: ServerSpec,
        *,
        tracks_crashes: bool = True,
        with_connections: bool = False,
        inbound_mbps: float | None = None,
    ) -> None:
        self.ctx = ctx
        self.inbound = LinkEdge(ctx, inbound_mbps) if inbound_mbps is not None else None
        self.kernel = ctx.kernel
        self.caller = RecordingCaller(ctx)
        self.server = Server(ctx, spec, 0, tracks_crashes, with_connections)
        self._sites: dict[str | None, CallSite] = {}
        self._rows = 0

    def site(self, endpoint: str | None = None) -> CallSite:
        """The site calling ``endpoint`` (or the only one) of the server."""
        site = self._sites.get(endpoint)
        if site is None:
            site = wire_site(
                self.ctx, self.server, self.caller, endpoint, len(self._sites), self.inbound
            )
            self._sites[endpoint] = site
        return site

    def send(self, time: float, endpoint: str | None = None) -> Call:
        """A new request calling ``endpoint``, arriving at the server at ``time``."""
        call = Call(self._rows, self.site(endpoint), None, time)
        self._rows += 1
        call.site.send(time, call)
        return call

    def level(self, metric: str) -> Level:
        """The server's level ``metric`` (``busy_cores``, ``ram_in_use_mb``, ...)."""
        return self.ctx.levels[(self.server.id, metric)]


def current(level: Level) -> float:
    """A level's value now: the last flushed value plus the changes buffered since."""
    return level.value + sum(level.deltas)


def area(level: Level, until: float) -> float:
    """The exact integral of a level from 0 to ``until`` (flushes it)."""
    level.flush(until)
    return level.area_after_warm_up


def bare_site(caller: Any, target_id: str = "srv-1") -> CallSite:
    """A call site from ``caller`` to ``target_id`` with nothing wired behind it.

    Enough for parts that only hold calls or fail them back to their caller
    (listeners, pools, links).
    """
    return CallSite(0, f"unit>{target_id}", caller, target_id, None, 1, 0)
