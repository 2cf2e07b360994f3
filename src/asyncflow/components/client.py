"""The client: sends requests on and records their replies as their outcome."""

from __future__ import annotations

from collections.abc import Callable

from asyncflow.components.calls import COMPLETED_CODE, DONE, Call, totals
from asyncflow.components.connections import release_held
from asyncflow.components.context import RunContext


class Client:
    """Sends each new request to its workload's entry node; records replies.

    Latency runs from generation to the reply's arrival here (as in 0.1).
    Only requests (root calls) end here, so only the client writes outcomes.
    ``on_end``, when set, is called as ``on_end(request, finish_time)`` each
    time a request's outcome is written (a learning environment's running
    figures); a plain run leaves it None.
    """

    kind = "client"

    __slots__ = (
        "_critical",
        "_ctx",
        "_failed_at",
        "_finished",
        "_outcome",
        "_pack",
        "_phases",
        "_stride",
        "_take",
        "id",
        "on_end",
    )

    def __init__(self, ctx: RunContext, node_id: str) -> None:
        self.id = node_id
        self._ctx = ctx
        self._finished = ctx.log.finished
        self._outcome = ctx.log.outcome
        self._failed_at = ctx.log.failed_at
        self._phases = ctx.log.phases
        self._critical = ctx.critical
        # The phase row's writer, unbound: a request ends once (bench/run.py).
        self._pack, self._take, self._stride = ctx.log.phases.writer()
        self.on_end: Callable[[int, float], None] | None = None

    @staticmethod
    def forward(time: float, call: Call) -> None:
        """A new request from its workload arrives: send it on."""
        call.site.send(time, call)

    def on_reply(self, time: float, call: Call) -> None:
        """A reply arrives: the request completed, or failed with the error it carries."""
        if call.code == COMPLETED_CODE and call.crit is None and not call.held:
            root = call.root
            self._finished[root] = time
            self._outcome[root] = COMPLETED_CODE
            call.state = DONE
            self._pack(self._phases.buffer, self._stride * root, *self._take(call.ph))
            if call.cid >= 0:
                self._ctx.close_call(time, call, COMPLETED_CODE)
            if self.on_end is not None:
                self.on_end(root, time)
            return
        self._end(time, call)

    def on_failure(self, time: float, call: Call) -> None:
        """The request failed where no server answers (dropped, refused, no server up)."""
        self._end(time, call)

    def _end(self, time: float, call: Call) -> None:
        root = call.root
        code = call.code
        retry = call.site.retry
        if retry is not None and code != COMPLETED_CODE and retry.again(time, call, code):
            # The failed attempt ends here; the request goes on with the next.
            call.state = DONE
            if call.held:
                release_held(time, call)
            if call.cid >= 0:
                self._ctx.close_call(time, call, code)
            return
        self._finished[root] = time
        self._outcome[root] = code
        call.state = DONE
        if call.crit is None:
            self._phases.write(root, call.ph)
        else:
            self._phases.write(root, totals(call))
            if code == COMPLETED_CODE:
                add = self._critical.add
                for site, server, endpoint, ph in call.crit:
                    add(root, site, server, endpoint, ph)
        if code != COMPLETED_CODE:
            self._failed_at[root] = call.place
        if call.held:
            release_held(time, call)
        if call.cid >= 0:
            self._ctx.close_call(time, call, code)
        if self.on_end is not None:
            self.on_end(root, time)
