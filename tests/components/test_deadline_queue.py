"""DeadlineQueue: constant timeouts swept by one pending kernel event."""

from __future__ import annotations

from typing import Any

import pytest

from asyncflow.engine.kernel import Kernel
from asyncflow.engine.timeouts import DeadlineQueue


class Expired:
    """The ``expire`` callback: records ``(time, item)``."""

    def __init__(self) -> None:
        self.log: list[tuple[float, Any]] = []

    def __call__(self, time: float, item: Any) -> None:
        self.log.append((time, item))


@pytest.fixture
def expired() -> Expired:
    return Expired()


def pending(kernel: Kernel) -> int:
    """Events in the kernel's heap (this test's queue is the only thing scheduling)."""
    return len(kernel.heap)


def add_at(kernel: Kernel, queue: DeadlineQueue, times: list[float]) -> dict[Any, Any]:
    """Add item ``k`` at ``times[k]`` through kernel events; return the entries by item."""
    entries: dict[Any, Any] = {}

    def add(time: float, item: int) -> None:
        entries[item] = queue.add(time, item)

    for item, time in enumerate(times):
        kernel.schedule(time, add, item)
    return entries


def test_items_expire_in_order_exactly_timeout_after_they_enter(
    kernel: Kernel, expired: Expired
) -> None:
    queue = DeadlineQueue(kernel, 2.5, expired)
    times = [0.0, 0.25, 1.0, 1.0, 3.0, 10.0]
    add_at(kernel, queue, times)
    kernel.run(100.0)
    assert expired.log == [(t + 2.5, k) for k, t in enumerate(times)]
    assert len(queue) == 0


def test_one_pending_event_at_a_time(kernel: Kernel, expired: Expired) -> None:
    queue = DeadlineQueue(kernel, 5.0, expired)
    for k in range(50):
        queue.add(0.1 * k, k)
        assert pending(kernel) == 1
    sizes = []
    while kernel.step():
        sizes.append(pending(kernel))
    assert sizes == [1] * 49 + [0]
    assert [item for _, item in expired.log] == list(range(50))
    assert [t for t, _ in expired.log] == [0.1 * k + 5.0 for k in range(50)]


def test_items_due_at_the_same_instant_expire_in_one_sweep(
    kernel: Kernel, expired: Expired
) -> None:
    queue = DeadlineQueue(kernel, 1.0, expired)
    for item in "abc":
        queue.add(0.0, item)
    assert kernel.step()
    assert expired.log == [(1.0, "a"), (1.0, "b"), (1.0, "c")]
    assert pending(kernel) == 0


def test_removed_items_never_expire(kernel: Kernel, expired: Expired) -> None:
    queue = DeadlineQueue(kernel, 2.0, expired)
    entries = [queue.add(float(k), k) for k in range(5)]
    queue.remove(entries[0])  # the one the pending event is for
    queue.remove(entries[3])
    assert len(queue) == 3
    kernel.run(100.0)
    assert expired.log == [(3.0, 1), (4.0, 2), (6.0, 4)]


def test_removing_every_item_leaves_nothing_to_expire(kernel: Kernel, expired: Expired) -> None:
    queue = DeadlineQueue(kernel, 2.0, expired)
    for entry in [queue.add(0.0, k) for k in range(3)]:
        queue.remove(entry)
    kernel.run(100.0)
    assert expired.log == []
    assert pending(kernel) == 0


def test_pop_newest_takes_the_last_live_item(kernel: Kernel, expired: Expired) -> None:
    queue = DeadlineQueue(kernel, 10.0, expired)
    entries = [queue.add(float(k), k) for k in range(4)]
    queue.remove(entries[3])
    assert queue.pop_newest() == 2  # item 3 was removed: skipped
    assert queue.pop_newest() == 1
    assert len(queue) == 1
    kernel.run(100.0)
    assert expired.log == [(10.0, 0)]
    assert queue.pop_newest() is None


def test_pop_newest_of_the_only_item_leaves_a_harmless_sweep(
    kernel: Kernel, expired: Expired
) -> None:
    queue = DeadlineQueue(kernel, 1.0, expired)
    queue.add(0.0, "only")
    assert queue.pop_newest() == "only"
    kernel.run(5.0)
    assert expired.log == []
    queue.add(5.0, "next")  # the queue arms again after the empty sweep
    assert pending(kernel) == 1
    kernel.run(10.0)
    assert expired.log == [(6.0, "next")]


def test_an_item_added_after_the_queue_emptied_gets_a_new_event(
    kernel: Kernel, expired: Expired
) -> None:
    queue = DeadlineQueue(kernel, 1.0, expired)
    add_at(kernel, queue, [0.0, 5.0])
    kernel.run(100.0)
    assert expired.log == [(1.0, 0), (6.0, 1)]


def recurring(kernel: Kernel) -> tuple[list[tuple[float, Any]], list[int]]:
    """Items "a" (at 0) and "b" (at 0.5) whose expiry starts their next timeout, until 5 s.

    Returns the expiries and the heap size after each event.
    """
    log: list[tuple[float, Any]] = []
    heap_sizes: list[int] = []

    def again(time: float, item: Any) -> None:
        log.append((time, item))
        if time < 5.0:
            queue.add(time, item)

    queue = DeadlineQueue(kernel, 1.0, again)
    queue.add(0.0, "a")
    queue.add(0.5, "b")
    while kernel.step():
        heap_sizes.append(pending(kernel))
    return log, heap_sizes


def test_an_item_added_from_inside_an_expiry_expires_on_time(kernel: Kernel) -> None:
    log, _ = recurring(kernel)
    assert log == [(k / 2 + 1.0, "ab"[k % 2]) for k in range(10)]


def test_an_item_added_from_inside_an_expiry_keeps_one_pending_event(kernel: Kernel) -> None:
    _, heap_sizes = recurring(kernel)
    assert max(heap_sizes) == 1
