"""Timeouts and deadlines: callers that give up, servers that skip late work.

A timeout watches the calls of one place: a workload's requests (its
client's timeout, counted from when a request is generated, so that it fires
when the request's latency reaches it) or the calls a server makes to one
node (counted from when each is sent). Each place keeps its calls in a
``DeadlineQueue``: one pending kernel event however many calls it watches.

When a timeout fires on a call still unanswered:

- a request ends with ``timeout`` at that moment, from its client's view,
  its phases those it spent until then; with ``cancel`` the call is
  withdrawn wherever it is, else it runs on and its answer is ignored (the
  CPU its servers spend on it from then on is *wasted work*);
- a call made by a server fails with ``timeout`` at its caller, which
  handles it as any failed call (its step may fail, or absorb it); the call
  is withdrawn (its caller closed the connection).

A call with a timeout that is dropped on an edge is noticed only when its
timeout fires: until then its caller waits (the time counts as network).

Deadlines travel: a call's deadline is the earliest of its own and its
callers' (the remaining budget), and a server skips a call whose deadline has
passed when it would admit it (``deadline_exceeded``), as long as the
timeouts setting it propagate them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Final

from asyncflow.components.calls import (
    AWAITING,
    DONE,
    ON_CPU,
    SENDING,
    Call,
    cut_transit,
    snapshot,
    sum_entries,
)
from asyncflow.components.client import Client
from asyncflow.components.connections import release_held
from asyncflow.components.context import RunContext
from asyncflow.engine.timeouts import DeadlineQueue
from asyncflow.metrics.phases import CPU, HOP_OUT

if TYPE_CHECKING:
    from asyncflow.components.server import Server
    from asyncflow.components.sites import CallSite
    from asyncflow.scenario import Scenario
    from asyncflow.scenario.policies import Timeout

Send = Callable[[float, Call], None]

LOST_SLOT: Final = HOP_OUT
"""Where the wait for a dropped call counts: it was lost in the network."""


class Timer:
    """The timeout of one place and the calls it watches.

    Attributes:
        timeout_s: Seconds before the caller gives up.
        cancel: Whether giving up withdraws the call.
        propagate: Whether the deadline binds the servers it reaches.
        queue: The calls watched, oldest first.
    """

    __slots__ = ("cancel", "propagate", "queue", "timeout_s")

    def __init__(
        self, ctx: RunContext, spec: Timeout, expire: Callable[[float, Call], None]
    ) -> None:
        self.timeout_s = spec.timeout_s
        self.cancel = spec.cancel if spec.cancel is not None else spec.calls_to is not None
        self.propagate = spec.propagate_deadline
        self.queue = DeadlineQueue(ctx.kernel, spec.timeout_s, expire)

    def watching(self, send: Send) -> Send:
        """``send``, starting each call's timeout as it is sent."""
        add = self.queue.add

        def timed(time: float, call: Call) -> None:
            add(time, call)
            send(time, call)

        return timed


class Timeouts:
    """Every timeout of a run, the calls lost on their way, and the work wasted.

    Attributes:
        by_site: Per call site (by index), the timer of its calls, or None.
        timed_out: Calls given up on (requests and calls).
        wasted_cpu_s: Per server (by index), CPU seconds spent on requests
            after their client gave up.
    """

    __slots__ = (
        "_abandoned",
        "_by_pair",
        "_by_workload",
        "_canceller",
        "_client_place",
        "_ctx",
        "_deadline_code",
        "_drop_code",
        "_lost",
        "_spent",
        "_timeout_code",
        "by_site",
        "client",
        "timed_out",
        "wasted_cpu_s",
    )

    def __init__(self, ctx: RunContext, scenario: Scenario, client_id: str) -> None:
        self._ctx = ctx
        self._timeout_code = ctx.code("timeout")
        self._deadline_code = ctx.code("deadline_exceeded")
        self._drop_code = ctx.code("network_drop")
        self._client_place = ctx.place(client_id)
        workloads = [w.id for w in scenario.workload_list]
        self._by_workload: list[Timer | None] = [None] * len(workloads)
        self._by_pair: dict[tuple[str, str], Timer] = {}
        for policy in scenario.policies:
            if policy.type != "timeout":
                continue
            if policy.calls_to is None:
                timer = Timer(ctx, policy, self._request_expired)
                self._by_workload[workloads.index(policy.target)] = timer
            else:
                self._by_pair[(policy.target, policy.calls_to)] = Timer(
                    ctx, policy, self._call_expired
                )
        self.by_site: list[Timer | None] = []
        self._lost: dict[Call, float] = {}
        self._spent: dict[Call, float] = {}
        self._abandoned: set[Call] = set()
        self._canceller: Server | None = None
        self.client: TimeoutClient | None = None
        self.timed_out = 0
        self.wasted_cpu_s = [0.0] * len(scenario.topology_graph.nodes.servers)

    # ------------------------------------------------------------------ wiring

    def bind(self, client: TimeoutClient, canceller: Server) -> None:
        """The client that records requests, and a server whose ``cancel`` withdraws calls."""
        self.client = client
        self._canceller = canceller

    def request_sender(self, workload: int, send: Send) -> Send:
        """How a workload hands new requests on: starting their timeout if it has one."""
        timer = self._by_workload[workload]
        return send if timer is None else timer.watching(send)

    def retry_sender(self, workload: int, send: Send) -> Send:
        """How a workload's client sends retries: starting their timeout if it has one.

        Retries are sent now, first attempts ahead of time (as they are
        generated): each kind keeps a queue of its own, in the order of its
        deadlines.
        """
        timer = self._by_workload[workload]
        if timer is None:
            return send
        queue = DeadlineQueue(self._ctx.kernel, timer.timeout_s, self._request_expired)
        add = queue.add

        def timed(time: float, call: Call) -> None:
            add(time, call)
            send(time, call)

        return timed

    def register(self, site: CallSite) -> None:
        """Note a call site's timer; calls sent there start their timeout."""
        caller = site.caller.id
        timer = None
        if not isinstance(site.caller, Client):
            timer = self._by_pair.get((caller, site.target_id))
            if timer is not None:
                site.send = timer.watching(site.send)
        else:
            timer = self._by_workload[site.workload]
        self.by_site.append(timer)

    # ------------------------------------------------------------------ deadlines

    def deadline(self, call: Call) -> float:
        """The earliest deadline that binds ``call``: its own or a caller's (inf: none)."""
        at = math.inf
        current: Call | None = call
        by_site = self.by_site
        while current is not None:
            timer = by_site[current.site.index]
            if timer is not None and timer.propagate:
                at = min(at, current.sent + timer.timeout_s)
            current = current.parent
        return at

    def late(self, time: float, call: Call) -> int:
        """``deadline_exceeded`` if ``call``'s deadline has passed at ``time``, else 0."""
        return self._deadline_code if time >= self.deadline(call) else 0

    # ------------------------------------------------------------------ drops

    def lose(self, time: float, call: Call, code: int) -> bool:
        """A drop of a call with a timeout: its caller notices only when that fires.

        Until then the call is on its way, as far as anyone can tell: the wait
        until its deadline is counted in full now, as a hop is when it starts
        (a snapshot or the end of the run cuts it back to the time spent).
        """
        timer = self.by_site[call.site.index]
        if code != self._drop_code or timer is None:
            return False
        deadline = call.sent + timer.timeout_s
        call.state = SENDING
        call.mark = time
        call.ph[LOST_SLOT] += max(deadline - time, 0.0)
        self._lost[call] = deadline
        return True

    def _found(self, call: Call) -> bool:
        """A call's timeout fired: whether it was lost (it is no longer waited for)."""
        return self._lost.pop(call, None) is not None

    def lost_calls(self, end: float) -> Iterator[Call]:
        """At the end of a run: the calls still lost, their wait cut back to ``end``."""
        for call, deadline in self._lost.items():
            if deadline > end:
                cut_transit(call, LOST_SLOT, deadline - end)
            yield call

    # ------------------------------------------------------------------ expiry

    def _request_expired(self, time: float, call: Call) -> None:
        """A request's client timeout fires: it ends with ``timeout`` unless answered.

        With retries at the client the attempt is given up on and the next
        one follows, unless none is left.
        """
        client = self.client
        if client is None or call.cancelled or call.state == DONE or not client.pending(call.root):
            return
        lost = self._found(call)
        self.timed_out += 1
        retry = call.site.retry
        if retry is not None and retry.again(time, call, self._timeout_code):
            self._supersede(time, call, lost)
            return
        client.give_up(time, call, sum_entries(snapshot(call, time)), self._timeout_code)
        if lost:
            # Nothing is left of it anywhere: it ends here.
            call.state = DONE
            self._ctx.close_call(time, call, self._timeout_code)
            return
        self._abandon(time, call)
        timer = self._by_workload[call.site.workload]
        if timer is not None and timer.cancel and self._canceller is not None:
            self._canceller.cancel(time, call)

    def _supersede(self, time: float, call: Call, lost: bool) -> None:
        """A request's attempt is given up on and retried: what is left of it answers nobody."""
        client = self.client
        if lost or client is None:
            call.state = DONE
            self._ctx.close_call(time, call, self._timeout_code)
            return
        client.superseded.add(call)
        self._abandon(time, call)
        timer = self._by_workload[call.site.workload]
        if timer is not None and timer.cancel and self._canceller is not None:
            self._canceller.cancel(time, call)

    def _call_expired(self, time: float, call: Call) -> None:
        """A call's timeout fires at its caller: the call fails with ``timeout``."""
        if call.state == DONE or call.cancelled:
            return
        self._found(call)
        self.timed_out += 1
        caller: Server = call.parent.server  # type: ignore[union-attr]
        caller.call_timed_out(time, call, self._timeout_code)

    # ------------------------------------------------------------------ wasted work

    def _abandon(self, time: float, root: Call) -> None:
        """Remember the CPU each live call of a request has spent when its client gives up."""
        self._abandoned.add(root)
        stack = [root]
        while stack:
            call = stack.pop()
            spent = call.ph[CPU]
            if call.state == ON_CPU:
                spent += time - call.mark
            self._spent[call] = spent
            if call.state == AWAITING:
                stack.extend(k for k in call.kids if k.state != DONE and not k.cancelled)

    def left(self, server: int, call: Call) -> None:
        """A call leaves a server: count the CPU it spent after its client gave up."""
        top = call
        while top.parent is not None:
            top = top.parent
        if top in self._abandoned:
            self.wasted_cpu_s[server] += call.ph[CPU] - self._spent.pop(call, 0.0)


class TimeoutClient(Client):
    """A client that gives up on requests: it ignores answers that come too late.

    Attributes:
        superseded: Attempts given up on and retried (their answers are ignored).
    """

    __slots__ = ("_outcomes", "superseded")

    def __init__(self, ctx: RunContext, node_id: str) -> None:
        super().__init__(ctx, node_id)
        self._outcomes = ctx.log.outcome
        self.superseded: set[Call] = set()

    def pending(self, root: int) -> bool:
        """Whether request ``root`` has no outcome yet."""
        return self._outcomes[root] == 0

    def give_up(self, time: float, call: Call, ph: Sequence[float], code: int) -> None:
        """End request ``call`` with ``code`` at ``time``, its phases ``ph``."""
        log = self._ctx.log
        root = call.root
        log.finished[root] = time
        log.outcome[root] = code
        log.failed_at[root] = log.place_code(self.id)
        log.phases.write(root, ph)
        if self.on_end is not None:
            self.on_end(root, time)

    def on_reply(self, time: float, call: Call) -> None:
        """A reply arrives; one to a request (or an attempt) given up on is ignored."""
        if self._outcomes[call.root] == 0 and not (self.superseded and self._stale(call)):
            super().on_reply(time, call)
        else:
            self._ignore(time, call)

    def on_failure(self, time: float, call: Call) -> None:
        """A failure arrives; one of a request (or an attempt) given up on is ignored."""
        if self._outcomes[call.root] == 0 and not (self.superseded and self._stale(call)):
            super().on_failure(time, call)
        else:
            self._ignore(time, call)

    def _stale(self, call: Call) -> bool:
        """Whether ``call`` is an attempt given up on (forgotten once it is back)."""
        if call in self.superseded:
            self.superseded.discard(call)
            return True
        return False

    def _ignore(self, time: float, call: Call) -> None:
        call.state = DONE
        if call.held:
            release_held(time, call)
        if call.cid >= 0:
            self._ctx.close_call(time, call, call.code)
