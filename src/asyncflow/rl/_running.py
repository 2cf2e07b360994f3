"""Running sums over the request log for environments that decide per request.

:class:`~asyncflow.rl._window.LogWindow` answers a window with a dozen numpy
operations over the requests in the system, which is cheap once an interval
but costs more than the simulation itself when it is asked after every
request, the more so with a backlog. :class:`RunningLog` keeps running
figures instead and, each time it is advanced from ``t0`` to ``t1``, looks
only at what changed: the rows born in ``(t0, t1]`` and the requests that
finished in it. The request-seconds in the system over the window are
``alive × (t1 - t0)`` minus the part of the window before each birth and
after each finish: no sum over the requests in the system.

Finishes are told by the client as their outcomes are written
(``Client.on_end``), often ahead of time: an answer whose arrival back at
the client is known when it is sent. They wait in a heap by finish time and
count only once the clock has passed them, so nothing from the future
reaches an agent.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from heapq import heappop, heappush

from asyncflow.metrics.requests import COMPLETED, RequestLog

__all__ = ["RunningLog"]


class RunningLog:
    """The request-seconds in the system, failures and answers per server, as time runs.

    Attributes:
        in_system_s: Request-seconds in the system since the last :meth:`take`.
        failed: Requests that failed since the last :meth:`take`.
        alive: Requests in the system at the time last advanced to.
    """

    __slots__ = (
        "_born",
        "_count",
        "_ends",
        "_generated",
        "_log",
        "_ordered",
        "_outcome",
        "_server",
        "_slot_of",
        "_sum",
        "_t",
        "_unborn",
        "_window",
        "alive",
        "failed",
        "in_system_s",
    )

    def __init__(self, log: RequestLog, slot_of: Sequence[int], ordered: bool) -> None:
        """Follow ``log``; pass :meth:`ended` to the client as its ``on_end``.

        Args:
            log: The run's request log.
            slot_of: For each server index of the log, the observation slot
                whose answers are counted (-1: not counted).
            ordered: The rows are in generation order (one workload): births
                are taken by a cursor instead of a heap.
        """
        self._log = log
        self._generated = log.generated
        self._outcome = log.outcome
        self._server = log.server
        self._slot_of = list(slot_of)
        self._ordered = ordered
        self._born = 0  # rows looked at for births (by the cursor, or pushed on the heap)
        self._unborn: list[tuple[float, int]] = []
        self._ends: list[tuple[float, int]] = []  # finishes told, not yet counted
        self._t = 0.0
        self.alive = 0
        self.in_system_s = 0.0
        self.failed = 0
        slots = max(self._slot_of, default=-1) + 1
        self._sum = [0.0] * slots
        self._count = [0] * slots
        self._window: deque[tuple[float, list[float], list[int]]] = deque()

    def ended(self, row: int, time: float) -> None:
        """Request ``row`` finishes at ``time`` (now or, for an answer on its way, later)."""
        heappush(self._ends, (time, row))

    def advance(self, t1: float) -> None:
        """Count what happened in ``(t0, t1]``, ``t0`` the time last advanced to."""
        t0 = self._t
        if not t1 > t0:
            return
        self._t = t1
        born, before_birth = self._births(t0, t1)
        alive = self.alive + born
        area = alive * (t1 - t0) - before_birth
        ends, outcome = self._ends, self._outcome
        failed = 0
        while ends and ends[0][0] <= t1:
            f, row = heappop(ends)
            area -= t1 - f  # a finish at t0 told after the last advance adds nothing
            alive -= 1
            code = outcome[row]
            if code == COMPLETED:
                server = self._server[row]
                if 0 <= server < len(self._slot_of) and (slot := self._slot_of[server]) >= 0:
                    self._sum[slot] += f - self._generated[row]
                    self._count[slot] += 1
            elif code > COMPLETED:
                failed += 1
        self.alive = alive
        self.in_system_s += area
        self.failed += failed

    def _births(self, t0: float, t1: float) -> tuple[int, float]:
        """Rows generated in ``(t0, t1]``: how many, and the sum of their times after ``t0``."""
        generated = self._generated
        rows = len(self._log)
        born = self._born
        count = 0
        before = 0.0
        if self._ordered:
            while born < rows:
                g = generated[born]
                if g > t1:
                    break
                before += g - t0
                born += 1
                count += 1
            self._born = born
            return count, before
        unborn = self._unborn
        for row in range(born, rows):
            heappush(unborn, (generated[row], row))
        self._born = rows
        while unborn and unborn[0][0] <= t1:
            before += heappop(unborn)[0] - t0
            count += 1
        return count, before

    def take(self) -> tuple[float, int]:
        """The request-seconds in the system and the failures since the last take; reset."""
        out = (self.in_system_s, self.failed)
        self.in_system_s = 0.0
        self.failed = 0
        return out

    def latencies(self, now: float, window_s: float) -> list[float]:
        """Per slot, the mean latency of the answers of the last ``window_s`` (0: none).

        Closes the answers counted since the last call as one bucket ending
        at ``now`` and drops the buckets that ended ``window_s`` or more ago.
        """
        window = self._window
        window.append((now, self._sum, self._count))
        slots = len(self._sum)
        self._sum = [0.0] * slots
        self._count = [0] * slots
        while window and window[0][0] <= now - window_s:
            window.popleft()
        total = [0.0] * slots
        count = [0] * slots
        for _, sums, counts in window:
            for slot in range(slots):
                total[slot] += sums[slot]
                count[slot] += counts[slot]
        return [t / c if c else 0.0 for t, c in zip(total, count, strict=True)]
