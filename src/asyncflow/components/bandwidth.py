"""Links with a bandwidth: transfers share it equally (processor sharing).

With ``n`` transfers on a link of capacity ``C`` bytes/s each progresses at
``C / n``. The link keeps a virtual clock ``V`` (bytes served to every
transfer so far): a transfer of ``s`` bytes started when ``V = v`` ends when
``V = v + s``. Only the earliest of those is ever scheduled in the kernel;
it is cancelled and rescheduled when a transfer starts or ends, because the
share changes. Mean transfer time on a link fed by Poisson arrivals is then
``E[S] / (1 - rho)`` whatever the sizes (tested against it).
"""

from __future__ import annotations

from collections.abc import Callable
from heapq import heapify, heappop, heappush
from itertools import count

from asyncflow.components.calls import Call
from asyncflow.components.context import RunContext

Done = Callable[[float, Call, float], None]
_SLACK = 1e-9  # bytes: transfers within this of the virtual clock are done


class SharedLink:
    """One link's bandwidth, shared by the transfers in progress."""

    def __init__(self, ctx: RunContext, bandwidth_mbps: float) -> None:
        self.bytes_per_s = bandwidth_mbps * 1e6 / 8.0
        self._kernel = ctx.kernel
        self._virtual = 0.0
        self._t_last = 0.0
        self._order = count()
        self._transfers: list[tuple[float, int, Call, float, Done]] = []
        self._pending: int | None = None

    @property
    def active(self) -> int:
        """Transfers in progress."""
        return len(self._transfers)

    def start(self, time: float, size_bytes: float, call: Call, done: Done) -> None:
        """Start sending ``size_bytes`` for ``call``; ``done(end, call, seconds)`` after."""
        self._catch_up(time)
        heappush(self._transfers, (self._virtual + size_bytes, next(self._order), call, time, done))
        self._reschedule(time)

    def calls(self) -> list[Call]:
        """The calls whose transfers are in progress."""
        return [entry[2] for entry in self._transfers]

    def withdraw(self, time: float, call: Call) -> float:
        """Stop ``call``'s transfer (cancelled, crashed); return the seconds it lasted."""
        self._catch_up(time)
        transfers = self._transfers
        for k, entry in enumerate(transfers):
            if entry[2] is call:
                transfers[k] = transfers[-1]
                transfers.pop()
                heapify(transfers)
                self._reschedule(time)
                return time - entry[3]
        return 0.0

    def _catch_up(self, time: float) -> None:
        n = len(self._transfers)
        if n:
            self._virtual += (time - self._t_last) * self.bytes_per_s / n
        self._t_last = time

    def _reschedule(self, time: float) -> None:
        if self._pending is not None:
            self._kernel.cancel(self._pending)
            self._pending = None
        if self._transfers:
            left = max(0.0, self._transfers[0][0] - self._virtual)
            delay = left * len(self._transfers) / self.bytes_per_s
            self._pending = self._kernel.schedule(time + delay, self._finish)

    def _finish(self, time: float, _: object) -> None:
        self._pending = None
        self._catch_up(time)
        transfers = self._transfers
        finished = []
        # The earliest is due now; rounding must not leave it behind.
        self._virtual = max(self._virtual, transfers[0][0])
        while transfers and transfers[0][0] <= self._virtual + _SLACK:
            _, _, call, started, done = heappop(transfers)
            finished.append((call, started, done))
        self._reschedule(time)
        for call, started, done in finished:
            done(time, call, time - started)
