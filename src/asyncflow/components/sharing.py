"""A database whose workers are shared by every query in progress (processor sharing).

With ``worker_model: processor_sharing`` no query waits: the ``n`` queries in
progress advance at once, each at ``min(1, workers / n)`` of full speed (a
database whose engine time-slices its sessions over ``workers`` cores). A
query of latency ``s`` alone takes ``s``; with twice as many queries as
workers, ``2 s``.

The schedule is kept in *virtual time*: ``V`` grows at the rate each query
advances, so a query that arrives at virtual time ``V`` with work ``s``
finishes when ``V`` reaches ``V + s``, whatever happens in between. One
kernel event stands for the earliest finish, moved when a query arrives or
leaves (``O(log n)`` each). Levels: ``busy_cores`` is ``min(n, workers)``,
``ready_queue`` the queries beyond the workers (sharing, not waiting).
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING

from asyncflow.components.calls import DONE, ON_CPU, Call
from asyncflow.components.connections import release_held
from asyncflow.components.database import Database
from asyncflow.components.program import CPU_OP

if TYPE_CHECKING:
    from collections.abc import Iterator

    from asyncflow.components.context import RunContext
    from asyncflow.scenario.datastores import Database as DatabaseSpec


class SharedDatabase(Database):
    """A database under processor sharing (see the module docstring)."""

    def __init__(
        self, ctx: RunContext, spec: DatabaseSpec, index: int, tracks_crashes: bool
    ) -> None:
        super().__init__(ctx, spec, index, tracks_crashes)
        self._virtual = 0.0
        self._since = 0.0
        self._finish: list[tuple[float, int, Call]] = []
        self._jobs: dict[Call, float] = {}
        self._event = -1
        self._shown = (0, 0)  # (busy, beyond) as the levels show them

    def _rate(self) -> float:
        n = len(self._jobs)
        return min(1.0, self.workers / n) if n else 1.0

    def _catch_up(self, time: float) -> None:
        self._virtual += (time - self._since) * self._rate()
        self._since = time

    def _advance(self, time: float, call: Call) -> None:
        op = call.plan.ops[call.pc]
        if op.kind != CPU_OP:
            super()._advance(time, call)
            return
        work = op.fixed if op.fixed >= 0.0 else call.work[call.work_at + op.column]
        self._catch_up(time)
        finish = self._virtual + work
        self._jobs[call] = finish
        heapq.heappush(self._finish, (finish, self._next_seq(), call))
        call.state = ON_CPU
        call.mark = time
        call.ev = -1  # no event of its own
        self._reschedule(time)

    def _reschedule(self, time: float) -> None:
        self.ctx.kernel.cancel(self._event)
        self._event = -1
        self._show(time)
        finish = self._finish
        while finish and self._jobs.get(finish[0][2]) != finish[0][0]:
            heapq.heappop(finish)  # left already (crashed)
        if finish:
            delay = max(0.0, (finish[0][0] - self._virtual) / self._rate())
            self._event = self.ctx.kernel.schedule(time + delay, self._done)

    def _show(self, time: float) -> None:
        n = len(self._jobs)
        busy, beyond = min(n, self.workers), max(0, n - self.workers)
        old_busy, old_beyond = self._shown
        if busy != old_busy:
            self._busy.change(time, float(busy - old_busy))
        if beyond != old_beyond:
            self.cores.queue_level.change(time, float(beyond - old_beyond))  # type: ignore[union-attr]
        self._shown = (busy, beyond)

    def _done(self, time: float, _: object = None) -> None:
        self._event = -1
        self._catch_up(time)
        _, _, call = heapq.heappop(self._finish)
        del self._jobs[call]
        call.ph[self.slot] += time - call.mark
        call.mark = time
        self._reschedule(time)
        call.pc += 1
        if call.cancelled:
            call.state = DONE
            self.exit(time, call)
            self.cancelled += 1
            release_held(time, call)
            self.ctx.close_call(time, call, self.cancelled_code)
            return
        self._advance(time, call)

    def go_down(self, time: float, _: object = None) -> None:
        """Every query in progress fails with the database; the sharing starts afresh."""
        self._catch_up(time)
        self._jobs.clear()
        self._finish.clear()
        self._reschedule(time)  # no event left; the levels back to 0
        super().go_down(time, _)

    def waiting_calls(self) -> Iterator[Call]:
        """The queries in progress (for the end of a run)."""
        return iter(list(self._jobs))
