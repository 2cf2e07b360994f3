"""A counting resource: units taken and given back, a FIFO queue of waiters.

Cores, RAM, sockets and accept backlogs are all this one thing: a capacity,
the units in use, and the requests waiting for units in arrival order. A
request takes units when they are free and nobody waits before it (no
overtaking: a large RAM need at the head blocks smaller ones behind it, as a
FIFO admission queue does); otherwise it waits, and is granted units as they
are given back. A waiter can be withdrawn at any time (cancelled, timed out,
its node crashed) and the capacity can change at run time.

Both the units in use and the queue length are recorded as exact levels at
every change (``(time, delta)`` appended to a :class:`~asyncflow.metrics.levels.Level`),
and every grant adds its wait to a tally (:attr:`Resource.wait_s`,
:attr:`Resource.granted`).

Withdrawing is lazy: the waiter is marked and skipped when it reaches the
head, so it costs O(1) however long the queue. The queue's length level and
:attr:`Resource.waiting` count live waiters only.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from typing import Any

from asyncflow.metrics.levels import Level

UNBOUNDED = float(2**53)
"""Capacity of a resource without a limit (units in use stay exact integers)."""

Granted = Callable[[float, Any, float], None]
"""Called as ``granted(time, item, waited_s)`` when a waiter gets its units."""


class Waiter:
    """A place in a resource's queue (``live`` is False once withdrawn or granted)."""

    __slots__ = ("amount", "granted", "item", "live", "mark", "resource")

    def __init__(
        self, resource: Resource, item: Any, amount: float, mark: float, granted: Granted
    ) -> None:
        self.resource = resource
        self.item = item
        self.amount = amount
        self.mark = mark
        self.granted = granted
        self.live = True


class Resource:
    """A capacity of units with exact in-use and queue levels.

    Attributes:
        capacity: Units in all (may change at run time).
        free: Units not in use (negative while a lowered capacity is still in use).
        waiting: Live waiters in the queue.
        max_queue: Longest queue allowed; :meth:`wait` refuses beyond it.
        wait_s: Seconds waited by every granted waiter, in total.
        granted: Waiters granted so far.
    """

    __slots__ = (
        "_queue",
        "_returned",
        "_serving",
        "capacity",
        "free",
        "gate",
        "granted",
        "in_use_level",
        "max_queue",
        "queue_level",
        "wait_s",
        "waiting",
    )

    # The compiled core lays attributes out in the order they are declared:
    # the two every use reads first, then the queue's.
    waiting: int
    free: float
    _queue: deque[Waiter]
    queue_level: Level | None
    granted: int
    wait_s: float

    def __init__(
        self,
        capacity: float,
        in_use_level: Level | None = None,
        queue_level: Level | None = None,
        max_queue: float = math.inf,
    ) -> None:
        capacity = min(capacity, UNBOUNDED)
        self.capacity = capacity
        self.free = capacity
        self.in_use_level = in_use_level
        self.queue_level = queue_level
        self.max_queue = max_queue
        self.waiting = 0
        self.wait_s = 0.0
        self.granted = 0
        self._queue = deque()
        self._serving = False
        self._returned = 0.0
        self.gate: Callable[[float, Waiter], bool] | None = None
        """Optional extra condition for granting the head waiter (it may take
        other resources as a side effect when it returns True)."""

    @property
    def in_use(self) -> float:
        """Units in use."""
        return self.capacity - self.free

    def take(self, time: float, amount: float, overtake: bool = False) -> bool:
        """Take ``amount`` units now if they are free and nobody waits; True if taken.

        With ``overtake`` the units are taken even when others wait (for a
        use that has priority over the queue, such as connection memory).
        """
        if amount > self.free or (self.waiting and not overtake):
            return False
        self.free -= amount
        if self.in_use_level is not None:
            self.in_use_level.change(time, amount)
        return True

    def wait(self, time: float, item: Any, amount: float, granted: Granted) -> Waiter | None:
        """Queue ``item`` for ``amount`` units; None when the queue is full."""
        if self.waiting >= self.max_queue:
            return None
        waiter = Waiter(self, item, amount, time, granted)
        self._queue.append(waiter)
        self.waiting += 1
        queue_level = self.queue_level
        if queue_level is not None:
            queue_level.change(time, 1.0)
        return waiter

    def acquire(self, time: float, item: Any, amount: float, granted: Granted) -> Waiter | None:
        """Take the units now (``granted`` is called at once) or queue for them.

        Returns:
            The waiter when queued; None when granted at once or refused
            (a full queue: check :meth:`take` and ``max_queue`` first when
            the difference matters).
        """
        if self.take(time, amount):
            granted(time, item, 0.0)
            return None
        return self.wait(time, item, amount, granted)

    def give(self, time: float, amount: float) -> None:
        """Give back ``amount`` units and grant waiters at the head while they fit."""
        self.free += amount
        self._returned += amount
        if self._serving:
            return  # given back by a grant below: the loop serves it
        self._serving = True
        try:
            handed = self._serve(time)
        finally:
            self._serving = False
        returned, self._returned = self._returned, 0.0
        if self.in_use_level is not None and returned != handed:
            self.in_use_level.change(time, handed - returned)

    def pass_unit(self, time: float) -> None:
        """Hand one unit given back straight to the first live waiter.

        The same as ``give(time, 1.0)`` for a resource whose waiters each
        want one unit and that has no gate (cores), called while someone
        waits: the unit goes from hand to hand without being free, so the
        in-use level does not move. One Python call instead of three on the
        busiest path of a loaded server.
        """
        queue = self._queue
        head = queue.popleft()
        while not head.live:
            head = queue.popleft()
        head.live = False
        self.waiting -= 1
        queue_level = self.queue_level
        if queue_level is not None:
            queue_level.change(time, -1.0)
        waited = time - head.mark
        self.wait_s += waited
        self.granted += 1
        item, head.item = head.item, None  # see _grant
        head.granted(time, item, waited)

    def release(self, time: float, amount: float) -> None:
        """Give back ``amount`` units without granting anyone yet (see :meth:`serve`)."""
        self.free += amount
        if self.in_use_level is not None and amount:
            self.in_use_level.change(time, -amount)

    def serve(self, time: float) -> None:
        """Grant waiters at the head while they fit (after :meth:`release`)."""
        self.give(time, 0.0)

    def waiters(self) -> list[Waiter]:
        """The live waiters, in queue order."""
        return [w for w in self._queue if w.live]

    def _serve(self, time: float) -> float:
        """Grant head waiters while units allow; return the units handed out.

        A grant may give units back (re-entering :meth:`give`), which only
        raises ``free``: the loop sees it on its next turn, and the level
        records the net change once.
        """
        queue = self._queue
        handed = 0.0
        while queue:
            head = queue[0]
            if not head.live:
                queue.popleft()
                continue
            if head.amount > self.free:
                break
            gate = self.gate
            if gate is not None and not gate(time, head):
                break
            queue.popleft()
            self._grant(time, head)
            handed += head.amount
        return handed

    def _grant(self, time: float, waiter: Waiter) -> None:
        waiter.live = False
        self.free -= waiter.amount
        self.waiting -= 1
        if self.queue_level is not None:
            self.queue_level.change(time, -1.0)
        waited = time - waiter.mark
        self.wait_s += waited
        self.granted += 1
        # A spent waiter lets go of its item: the item (a call) usually holds its
        # waiter, and that cycle would leave both to the garbage collector, whose
        # passes over a run's many such pairs cost a fifth of a loaded server's run.
        item, waiter.item = waiter.item, None
        waiter.granted(time, item, waited)

    def withdraw(self, time: float, waiter: Waiter) -> float:
        """Take a waiter out of the queue; return the seconds it waited.

        Withdrawing a waiter that is no longer live does nothing (returns 0).
        When the withdrawn waiter was blocking the head, the ones behind it
        may now be granted.
        """
        if not waiter.live:
            return 0.0
        waiter.live = False
        waiter.item = None  # see _grant
        self.waiting -= 1
        if self.queue_level is not None:
            self.queue_level.change(time, -1.0)
        queue = self._queue
        if queue and queue[0] is waiter:
            self.give(time, 0.0)
        return time - waiter.mark

    def set_capacity(self, time: float, capacity: float) -> None:
        """Change the capacity; units in use stay in use, waiters may be granted."""
        capacity = min(capacity, UNBOUNDED)
        delta = capacity - self.capacity
        self.capacity = capacity
        if delta > 0:
            # ``give`` records delta units coming back: compensate in the level.
            if self.in_use_level is not None:
                self.in_use_level.change(time, delta)
            self.give(time, delta)
        else:
            self.free += delta

    def clear(self, time: float) -> list[Any]:
        """Empty the resource (its node crashed): every unit free, every waiter out.

        Returns:
            The items of the live waiters, in queue order.
        """
        items = [w.item for w in self._queue if w.live]
        for waiter in self._queue:
            waiter.live = False
        self._queue.clear()
        if self.queue_level is not None and self.waiting:
            self.queue_level.change(time, -float(self.waiting))
        self.waiting = 0
        in_use = self.capacity - self.free
        if self.in_use_level is not None and in_use:
            self.in_use_level.change(time, -in_use)
        self.free = self.capacity
        return items
