"""What the request log tells about a window of time, read up to now only.

The log holds rows written ahead of time (arrivals drawn in blocks, answers
whose arrival back at the client is known when they are sent). Every figure
here counts only what happened by the end of its window, which is never
after the simulation's clock: nothing from the future reaches an agent.

Windows are read in order (each ends no earlier than the one before), so a
cursor skips the rows that can no longer matter: finished by the end of the
last window read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from asyncflow.metrics.requests import RequestLog

__all__ = ["LogWindow", "WindowStats"]

COMPLETED = 1


@dataclass(frozen=True, slots=True)
class WindowStats:
    """Requests seen in a window ``(t0, t1]``.

    Attributes:
        arrived: Requests generated in the window.
        completed: Requests answered in the window.
        failed: Requests that failed in the window.
        in_system_s: The integral of requests in the system over the window
            (request-seconds): generated and not yet finished.
        latencies_s: Latencies of the requests answered in the window.
        servers: Index of the server that served each of them (same order).
    """

    arrived: int
    completed: int
    failed: int
    in_system_s: float
    latencies_s: np.ndarray
    servers: np.ndarray

    def percentile(self, q: float) -> float:
        """A latency percentile of the window (0 when nothing completed)."""
        if self.latencies_s.size == 0:
            return 0.0
        return float(np.percentile(self.latencies_s, q))

    def percentiles(self, qs: list[float]) -> list[float]:
        """Latency percentiles of the window from one sort (zeros when nothing completed).

        The values of ``np.percentile`` (linear interpolation between the
        closest ranks, the same arithmetic), without its overhead, which
        for a window of a thousand latencies was most of a step's cost.
        """
        n = self.latencies_s.size
        if n == 0:
            return [0.0] * len(qs)
        ordered = np.sort(self.latencies_s)
        return [_linear(ordered, q / 100.0 * (n - 1)) for q in qs]


def _linear(ordered: np.ndarray, at: float) -> float:
    """The value at fractional rank ``at`` of sorted values, as numpy's ``linear`` method."""
    below = math.floor(at)
    t = at - below
    a = float(ordered[below])
    b = float(ordered[min(below + 1, ordered.size - 1)])
    diff = b - a
    return b - diff * (1.0 - t) if t >= 0.5 else a + diff * t


class LogWindow:
    """Successive windows of one request log."""

    __slots__ = ("_cursor", "_end", "_log", "_ordered")

    def __init__(self, log: RequestLog, ordered: bool = False) -> None:
        """Read ``log``; ``ordered``: its rows are in generation order (one workload).

        With ordered rows, the rows generated after a window (drawn ahead of
        time) are cut off by bisection instead of being looked at.
        """
        self._log = log
        self._cursor = 0
        self._end = 0.0
        self._ordered = ordered

    def _rows(self, t1: float) -> tuple[int, np.ndarray, np.ndarray, np.ndarray, int]:
        """From the cursor: generated, finished and outcome columns, and how many rows."""
        if t1 < self._end:
            raise ValueError(f"windows go forward: {t1} is before {self._end}")
        self._end = t1
        log = self._log
        start = self._cursor
        generated = np.frombuffer(log.generated, dtype=np.float64)[start : len(log)]
        stop = generated.size
        if self._ordered:
            stop = int(np.searchsorted(generated, t1, side="right"))
            generated = generated[:stop]
        finished = np.frombuffer(log.finished, dtype=np.float64)[start : start + stop]
        outcome = np.frombuffer(log.outcome, dtype=np.int8)[start : start + stop]
        return start, generated, finished, outcome, stop

    def _skip(self, start: int, done: np.ndarray) -> None:
        """Rows finished by the window's end matter to no later window: skip the leading ones."""
        pending = np.flatnonzero(~done)
        self._cursor = start + (int(pending[0]) if pending.size else int(done.size))

    def reward(self, t0: float, t1: float) -> tuple[float, int]:
        """Only the request-seconds in the system and the failures of ``(t0, t1]``.

        The same figures as :meth:`read`, with a third of its array
        operations (for environments that decide once per request).
        """
        start, generated, finished, outcome, _ = self._rows(t1)
        done = finished <= t1
        until = np.where(done, finished, t1)
        born = np.minimum(generated, t1)  # a row not yet born adds t1 - t1
        in_system = float(np.sum(np.maximum(until, t0) - np.maximum(born, t0)))
        failed = int(np.count_nonzero(done & (finished > t0) & (outcome > COMPLETED)))
        self._skip(start, done)
        return in_system, failed

    def read(self, t0: float, t1: float) -> WindowStats:
        """The requests of ``(t0, t1]``; ``t1`` must not be before the last window's end."""
        start, generated, finished, outcome, stop = self._rows(t1)
        server = np.frombuffer(self._log.server, dtype=np.int16)[start : start + stop]
        born = generated <= t1
        done = finished <= t1  # NaN (in flight) and answers written ahead compare False
        ended = done & (finished > t0)
        ok = ended & (outcome == COMPLETED)
        until = np.where(done, finished, t1)
        overlap = np.clip(until, t0, t1) - np.clip(generated, t0, t1)
        in_system = float(overlap[born].sum())
        stats = WindowStats(
            arrived=int(np.count_nonzero(born & (generated > t0))),
            completed=int(np.count_nonzero(ok)),
            failed=int(np.count_nonzero(ended & (outcome != COMPLETED))),
            in_system_s=in_system,
            latencies_s=finished[ok] - generated[ok],  # a new array: nothing else holds it
            servers=server[ok].astype(np.int64),
        )
        self._skip(start, done)
        return stats
