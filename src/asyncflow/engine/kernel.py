"""The event kernel: a clock and a heap of scheduled callbacks.

Every scheduled event holds ``(time, seq, callback, arg)``. ``seq`` is a
running counter, so events at the same time run in the order they were
scheduled and a rerun with the same inputs replays exactly. Callbacks are
called as ``callback(time, arg)``: passing the time saves every callback an
attribute read of the clock. The ``seq`` of an event is its handle.

An event is a tuple in the pure-Python core and an :class:`Event` in the
compiled one (:data:`NATIVE_EVENTS`). ``heapq`` orders tuples by comparing
them item by item through the generic comparison, two float comparisons and
a tuple's each time, about a fifth of a request's instructions
(``bench/cachesim.py``); an :class:`Event` keeps its time as a C double
inside the object and the compiled :func:`push_event` and :func:`pop_event`
compare two of them in a few instructions, with the same algorithm as
``heapq``, so the heap's list holds the events in the same places either
way. In the pure-Python core the class would compare in the interpreter,
slower than tuples. :meth:`Kernel.events` reads the pending events as
tuples in both.

Cancelling is lazy: the handle goes into a set and the event is skipped when
it reaches the top of the heap. Components on the hot path push onto
:attr:`Kernel.heap` directly (``heappush`` of a tuple with
:attr:`Kernel.next_seq`, or :func:`push_event` of an :class:`Event`)
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
import types
from collections.abc import Callable
from heapq import heappop, heappush
from typing import Any, Final

from asyncflow.errors import SimulationError

Callback = Callable[[float, Any], None]
RUN_GC_THRESHOLD = 20_000


def _probe() -> None:
    """A function to look at: compiled, it is not a Python function."""


NATIVE_EVENTS: Final = not isinstance(_probe, types.FunctionType)
"""True in the compiled core: events are :class:`Event` objects, not tuples."""


class Event:
    """A scheduled callback, in the compiled core (see the module's docstring)."""

    __slots__ = ("arg", "callback", "seq", "time")

    def __init__(self, time: float, seq: int, callback: Callback, arg: Any) -> None:
        self.time = time
        self.seq = seq
        self.callback = callback
        self.arg = arg


def push_event(heap: list[Event], event: Event) -> None:
    """``heapq.heappush`` for :class:`Event` objects, ordered by ``(time, seq)``."""
    heap.append(event)
    _sift_down(heap, 0, len(heap) - 1)


def pop_event(heap: list[Event]) -> Event:
    """``heapq.heappop`` for :class:`Event` objects (the heap must not be empty)."""
    last = heap.pop()
    if not heap:
        return last
    first = heap[0]
    heap[0] = last
    # heapq's siftup: the hole goes down to a leaf along the smaller children,
    # then the last event climbs back from there (fewer comparisons).
    end = len(heap)
    pos = 0
    child = 1
    while child < end:
        right = child + 1
        if right < end:
            a = heap[child]
            b = heap[right]
            if not (a.time < b.time or (a.time == b.time and a.seq < b.seq)):
                child = right
        heap[pos] = heap[child]
        pos = child
        child = 2 * pos + 1
    heap[pos] = last
    _sift_down(heap, 0, pos)
    return first


def _sift_down(heap: list[Event], start: int, pos: int) -> None:
    """The event at ``pos`` climbs while it comes before its parent (heapq's _siftdown)."""
    event = heap[pos]
    time = event.time
    seq = event.seq
    while pos > start:
        parent_pos = (pos - 1) >> 1
        parent = heap[parent_pos]
        if time < parent.time or (time == parent.time and seq < parent.seq):
            heap[pos] = parent
            pos = parent_pos
        else:
            break
    heap[pos] = event


class _StopRun(Exception):  # noqa: N818 - a signal, not an error
    """Raised by :meth:`Kernel.stop` inside an event to end :meth:`Kernel.run`."""


class Kernel:
    """A discrete-event clock that can run to a time, step, be stopped and resumed."""

    __slots__ = ("_cancelled", "_running", "_seq", "heap", "next_seq", "now")

    def __init__(self) -> None:
        self.now: float = 0.0
        # Tuples (time, seq, callback, arg), or Event objects when NATIVE_EVENTS.
        self.heap: list[Any] = []
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
        return self.push(time, callback, arg)

    def push(self, time: float, callback: Callback, arg: Any = None) -> int:
        """:meth:`schedule` without its check of ``time``, for times known to be valid.

        For pushes off the hot path (retries, timeouts, handshakes, failures
        noticed): one call in either core, where the hot path pushes an
        event itself.
        """
        seq = next(self._seq)
        if NATIVE_EVENTS:
            push_event(self.heap, Event(time, seq, callback, arg))
        else:
            heappush(self.heap, (time, seq, callback, arg))
        return seq

    def events(self) -> list[tuple[float, int, Callback, Any]]:
        """The pending events (cancelled ones included) as tuples, in the heap's order."""
        if NATIVE_EVENTS:
            return [(e.time, e.seq, e.callback, e.arg) for e in self.heap]
        return list(self.heap)

    def cancel(self, handle: int) -> None:
        """Cancel a scheduled event; cancelling one that already ran is harmless."""
        self._cancelled.add(handle)

    def peek(self) -> float:
        """Time of the next pending event, or ``inf`` when none is left."""
        if NATIVE_EVENTS:
            return self._peek_events()
        heap = self.heap
        cancelled = self._cancelled
        while heap and heap[0][1] in cancelled:
            cancelled.discard(heappop(heap)[1])
        return heap[0][0] if heap else math.inf

    def _peek_events(self) -> float:
        heap: list[Event] = self.heap
        cancelled = self._cancelled
        while heap and heap[0].seq in cancelled:
            cancelled.discard(pop_event(heap).seq)
        return heap[0].time if heap else math.inf

    def step(self) -> bool:
        """Run the next pending event; return False when none is left.

        Raises:
            SimulationError: On an event in the past or at a time that is not a number.
        """
        time = self.peek()
        if time == math.inf:
            return False
        self._check(time)
        if NATIVE_EVENTS:
            event = pop_event(self.heap)
            time, callback, arg = event.time, event.callback, event.arg
        else:
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
        self._running = True
        gc_threshold = gc.get_threshold()
        young = max(gc_threshold[0], RUN_GC_THRESHOLD) if gc_threshold[0] else 0  # 0: off
        gc.set_threshold(young, *gc_threshold[1:])
        try:
            if NATIVE_EVENTS:
                self._run_events(until)
            else:
                self._run_tuples(until)
        except _StopRun:
            return False
        finally:
            self._running = False
            gc.set_threshold(*gc_threshold)
        first = self._top_time()
        if not first > until:
            self._check(first)  # a NaN time stops the loops: refuse it
        self.now = until
        return True

    def _top_time(self) -> float:
        """Time of the event on top of the heap, cancelled or not (``inf`` when none)."""
        heap = self.heap
        if not heap:
            return math.inf
        return float(heap[0].time if NATIVE_EVENTS else heap[0][0])

    def _run_tuples(self, until: float) -> None:
        heap = self.heap
        cancelled = self._cancelled
        pop = heappop
        now = self.now
        while heap and heap[0][0] <= until:
            time, seq, callback, arg = pop(heap)
            if cancelled and seq in cancelled:
                cancelled.discard(seq)
                continue
            if time < now:  # a direct push in the past (a bug): refuse it
                self._check(time)
            self.now = now = time
            callback(time, arg)

    def _run_events(self, until: float) -> None:
        heap: list[Event] = self.heap
        cancelled = self._cancelled
        now = self.now
        while heap and heap[0].time <= until:
            event = pop_event(heap)
            if cancelled and event.seq in cancelled:
                cancelled.discard(event.seq)
                continue
            time = event.time
            if time < now:  # a direct push in the past (a bug): refuse it
                self._check(time)
            self.now = now = time
            event.callback(time, event.arg)

    def _check(self, time: float) -> None:
        if not time >= self.now:
            raise SimulationError(
                f"an event at {time!r} reached the clock at {self.now!r}: "
                "times must be numbers that never go back"
            )
