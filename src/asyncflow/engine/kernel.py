"""The event kernel: a clock and a heap of scheduled callbacks.

Every scheduled event is a tuple ``(time, seq, callback, arg)``. ``seq`` is a
running counter, so events at the same time run in the order they were
scheduled and a rerun with the same inputs replays exactly. Callbacks are
called as ``callback(time, arg)``: passing the time saves every callback an
attribute read of the clock. The ``seq`` of an event is its handle.

Cancelling is lazy: the handle goes into a set and the event is skipped when
it reaches the top of the heap. Components on the hot path push onto
:attr:`Kernel.heap` directly (``heappush`` with :attr:`Kernel.next_seq`)
instead of calling :meth:`Kernel.schedule`; that saves a Python call per
event (measured in ``bench/kernel.py``). Such pushes are not checked when
they are made (they add durations drawn by samplers that refuse values that
are not finite and non-negative, ``engine.streams.checked``); :meth:`run`
refuses an event in the past when it pops one (one comparison per event)
and a time that is not a number when it reaches the top of the heap (a NaN
would otherwise end the run early, silently).

The clock runs to a time (:meth:`run`, repeatable in slices), one event at a
time (:meth:`step`), and can be stopped from inside an event (:meth:`stop`).

While it runs, the cyclic garbage collector looks at its youngest generation
every ``RUN_GC_THRESHOLD`` allocations instead of Python's default 700 (a
higher threshold is kept, and so is 0, automatic collection off). A
request's objects live while it is in flight; with many requests in flight
(a large fleet) they outlast 700 allocations, get promoted, and make the
full collections that walk every object of the model frequent (about 15%
of the clock at 1,000 servers, measured with ``bench/scale.py``). The
collector's thresholds are restored when :meth:`run` returns; no result
depends on them.
"""

from __future__ import annotations

import gc
import itertools
import math
from collections.abc import Callable
from heapq import heappop, heappush
from typing import Any

from asyncflow.errors import SimulationError

Callback = Callable[[float, Any], None]
RUN_GC_THRESHOLD = 20_000


class _StopRun(Exception):  # noqa: N818 - a signal, not an error
    """Raised by :meth:`Kernel.stop` inside an event to end :meth:`Kernel.run`."""


class Kernel:
    """A discrete-event clock that can run to a time, step, be stopped and resumed."""

    __slots__ = ("_cancelled", "_running", "_seq", "heap", "next_seq", "now")

    def __init__(self) -> None:
        self.now: float = 0.0
        self.heap: list[tuple[float, int, Callback, Any]] = []
        self._seq = itertools.count()
        # The counter that orders simultaneous events (for hot-path pushes). A
        # plain attribute: a property returning it is miscalled inline when compiled.
        self.next_seq: Callable[[], int] = self._seq.__next__
        self._cancelled: set[int] = set()
        self._running = False

    def schedule(self, time: float, callback: Callback, arg: Any = None) -> int:
        """Run ``callback(time, arg)`` at ``time``; return a handle for :meth:`cancel`.

        Raises:
            SimulationError: If ``time`` is in the past or not finite.
        """
        if not self.now <= time < math.inf:
            raise SimulationError(f"cannot schedule an event at {time!r} (now {self.now!r})")
        seq = next(self._seq)
        heappush(self.heap, (time, seq, callback, arg))
        return seq

    def cancel(self, handle: int) -> None:
        """Cancel a scheduled event; cancelling one that already ran is harmless."""
        self._cancelled.add(handle)

    def peek(self) -> float:
        """Time of the next pending event, or ``inf`` when none is left."""
        heap = self.heap
        cancelled = self._cancelled
        while heap and heap[0][1] in cancelled:
            cancelled.discard(heappop(heap)[1])
        return heap[0][0] if heap else math.inf

    def step(self) -> bool:
        """Run the next pending event; return False when none is left.

        Raises:
            SimulationError: On an event in the past or at a time that is not a number.
        """
        time = self.peek()
        if time == math.inf:
            return False
        self._check(time)
        time, _, callback, arg = heappop(self.heap)
        self.now = time
        callback(time, arg)
        return True

    def stop(self) -> None:
        """End :meth:`run` after the calling event (call it from inside an event).

        The clock stays at the time of that event; the rest of the calling
        callback does not run. Outside :meth:`run` this does nothing.
        """
        if self._running:
            raise _StopRun

    def run(self, until: float) -> bool:
        """Run every event with ``time <= until``, then leave the clock at ``until``.

        Can be called repeatedly with growing ``until`` to run in slices.

        Returns:
            True when the clock reached ``until``, False when :meth:`stop` ended it.

        Raises:
            SimulationError: On an event in the past or at a time that is not a number.
        """
        if not until >= self.now:
            raise SimulationError(f"cannot run back in time: until={until!r} < now={self.now!r}")
        heap = self.heap
        cancelled = self._cancelled
        pop = heappop
        now = self.now
        self._running = True
        gc_threshold = gc.get_threshold()
        young = max(gc_threshold[0], RUN_GC_THRESHOLD) if gc_threshold[0] else 0  # 0: off
        gc.set_threshold(young, *gc_threshold[1:])
        try:
            while heap and heap[0][0] <= until:
                time, seq, callback, arg = pop(heap)
                if cancelled and seq in cancelled:
                    cancelled.discard(seq)
                    continue
                if time < now:  # a direct push in the past (a bug): refuse it
                    self._check(time)
                self.now = now = time
                callback(time, arg)
        except _StopRun:
            return False
        finally:
            self._running = False
            gc.set_threshold(*gc_threshold)
        if heap and not heap[0][0] > until:
            self._check(heap[0][0])  # a NaN time stops the loop above: refuse it
        self.now = until
        return True

    def _check(self, time: float) -> None:
        if not time >= self.now:
            raise SimulationError(
                f"an event at {time!r} reached the clock at {self.now!r}: "
                "times must be numbers that never go back"
            )
