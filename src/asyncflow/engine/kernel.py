"""The event kernel: a clock and a heap of scheduled callbacks.

Every scheduled event is a tuple ``(time, seq, callback, arg)``. ``seq`` is a
running counter, so events at the same time run in the order they were
scheduled and a rerun with the same inputs replays exactly. Callbacks are
called as ``callback(time, arg)``: passing the time saves every callback an
attribute read of the clock.

Cancelling is lazy: the handle (the ``seq``) goes into a set and the event is
skipped when it reaches the top of the heap. Components on the hot path push
onto :attr:`Kernel.heap` directly (``heappush`` with :attr:`Kernel.next_seq`)
instead of calling :meth:`Kernel.schedule`; that saves a Python call per
event (measured in ``bench/kernel.py``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from heapq import heappop, heappush
from typing import Any

Callback = Callable[[float, Any], None]


class Kernel:
    """A discrete-event clock that can run to a time, be stopped and resumed."""

    __slots__ = ("_cancelled", "_seq", "heap", "now")

    def __init__(self) -> None:
        self.now: float = 0.0
        self.heap: list[tuple[float, int, Callback, Any]] = []
        self._seq = itertools.count()
        self._cancelled: set[int] = set()

    @property
    def next_seq(self) -> Callable[[], int]:
        """The counter that orders simultaneous events (for hot-path pushes)."""
        return self._seq.__next__

    def schedule(self, time: float, callback: Callback, arg: Any = None) -> int:
        """Run ``callback(time, arg)`` at ``time``; return a handle for :meth:`cancel`."""
        if time < self.now:
            raise ValueError(f"cannot schedule in the past: {time} < now {self.now}")
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
        return heap[0][0] if heap else float("inf")

    def run(self, until: float) -> None:
        """Run every event with ``time <= until``, then leave the clock at ``until``.

        Can be called repeatedly with growing ``until`` to run in slices.
        """
        if until < self.now:
            raise ValueError(f"cannot run back in time: until={until} < now={self.now}")
        heap = self.heap
        cancelled = self._cancelled
        pop = heappop
        while heap and heap[0][0] <= until:
            time, seq, callback, arg = pop(heap)
            if cancelled and seq in cancelled:
                cancelled.discard(seq)
                continue
            self.now = time
            callback(time, arg)
        self.now = until
