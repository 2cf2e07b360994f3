"""The counting resource: FIFO grants without overtaking, lazy withdrawal, exact levels."""

from __future__ import annotations

from typing import Any

import pytest

from asyncflow.engine.resource import UNBOUNDED, Resource, Waiter
from asyncflow.metrics.levels import Level

from .doubles import area, current


class Grants:
    """A ``granted`` callback that records ``(time, item, waited)``."""

    def __init__(self) -> None:
        self.log: list[tuple[float, Any, float]] = []

    def __call__(self, time: float, item: Any, waited: float) -> None:
        self.log.append((time, item, waited))

    @property
    def items(self) -> list[Any]:
        return [item for _, item, _ in self.log]


def resource(capacity: float, max_queue: float = float("inf")) -> tuple[Resource, Level, Level]:
    in_use, queue = Level("in_use", 20, 1.0), Level("queue", 20, 1.0)
    return Resource(capacity, in_use, queue, max_queue), in_use, queue


@pytest.fixture
def grants() -> Grants:
    return Grants()


# --------------------------------------------------------------------------- take, wait, give


def test_take_while_units_are_free(grants: Grants) -> None:
    res, in_use, _ = resource(10)
    assert res.take(0.0, 6)
    assert res.take(0.0, 4)
    assert not res.take(0.0, 1)
    assert (res.in_use, res.free) == (10, 0)
    assert current(in_use) == 10


def test_acquire_grants_at_once_with_no_wait(grants: Grants) -> None:
    res, _, _ = resource(2)
    assert res.acquire(1.0, "a", 2, grants) is None
    assert grants.log == [(1.0, "a", 0.0)]
    assert res.granted == 0  # the tally counts waiters, not immediate takes


def test_waiters_are_granted_in_fifo_order_as_units_come_back(grants: Grants) -> None:
    res, _, _ = resource(1)
    res.take(0.0, 1)
    for t, item in enumerate("abc"):
        assert res.acquire(float(t), item, 1, grants) is not None
    assert res.waiting == 3
    for t in (5.0, 6.0, 7.0):
        res.give(t, 1)
    assert grants.log == [(5.0, "a", 5.0), (6.0, "b", 5.0), (7.0, "c", 5.0)]
    assert (res.waiting, res.in_use) == (0, 1)


def test_a_big_need_at_the_head_blocks_smaller_ones_behind_it(grants: Grants) -> None:
    res, _, _ = resource(10)
    res.take(0.0, 8)
    res.acquire(0.0, "big", 5, grants)
    # 2 units are free and "small" needs 1, but it may not overtake "big".
    assert res.acquire(0.0, "small", 1, grants) is not None
    assert not res.take(0.0, 1)
    res.give(1.0, 2)  # 4 free: still not enough for the head
    assert grants.log == []
    res.give(2.0, 1)  # 5 free: the head goes, then 0 left for "small"
    assert grants.items == ["big"]
    res.give(3.0, 1)
    assert grants.log == [(2.0, "big", 2.0), (3.0, "small", 3.0)]


def test_one_give_grants_every_head_waiter_that_fits(grants: Grants) -> None:
    res, _, _ = resource(10)
    res.take(0.0, 10)
    for item, amount in (("a", 3), ("b", 3), ("c", 5), ("d", 1)):
        res.wait(0.0, item, amount, grants)
    res.give(1.0, 10)  # a and b fit (6), c (5) does not fit in the 4 left: d waits behind it
    assert grants.items == ["a", "b"]
    assert (res.free, res.waiting) == (4, 2)


def test_take_with_overtake_ignores_the_queue(grants: Grants) -> None:
    res, _, _ = resource(4)
    res.take(0.0, 2)
    res.wait(0.0, "big", 3, grants)
    assert not res.take(0.0, 1)
    assert res.take(0.0, 1, overtake=True)
    assert res.free == 1


def test_a_full_queue_refuses(grants: Grants) -> None:
    res, _, queue = resource(1, max_queue=2)
    res.take(0.0, 1)
    assert res.wait(0.0, "a", 1, grants) is not None
    assert res.wait(0.0, "b", 1, grants) is not None
    assert res.wait(0.0, "c", 1, grants) is None
    assert res.acquire(0.0, "d", 1, grants) is None
    assert res.waiting == 2
    assert current(queue) == 2


def test_no_queue_at_all_with_max_queue_zero(grants: Grants) -> None:
    res, _, _ = resource(1, max_queue=0)
    res.take(0.0, 1)
    assert res.wait(0.0, "a", 1, grants) is None


def test_unbounded_capacity_is_a_large_exact_integer() -> None:
    res = Resource(float("inf"))
    assert res.capacity == UNBOUNDED
    assert res.take(0.0, 1e6)
    assert res.in_use == 1e6


# --------------------------------------------------------------------------- withdraw


def test_withdraw_returns_the_seconds_waited_and_skips_the_waiter(grants: Grants) -> None:
    res, _, queue = resource(1)
    res.take(0.0, 1)
    a = res.wait(0.0, "a", 1, grants)
    b = res.wait(1.0, "b", 1, grants)
    c = res.wait(2.0, "c", 1, grants)
    assert a is not None
    assert b is not None
    assert c is not None
    assert res.withdraw(4.0, b) == 3.0
    assert not b.live
    assert res.waiting == 2
    assert [w.item for w in res.waiters()] == ["a", "c"]
    res.give(5.0, 1)
    res.give(6.0, 1)
    assert grants.items == ["a", "c"]
    assert current(queue) == 0


def test_withdraw_is_lazy_and_constant_time(grants: Grants) -> None:
    # The waiter stays in the deque, marked; only the counters and the level change.
    res, _, queue = resource(1)
    res.take(0.0, 1)
    waiters = [res.wait(0.0, i, 1, grants) for i in range(1000)]
    stored = len(res._queue)
    res.withdraw(1.0, waiters[500])  # type: ignore[arg-type]
    assert len(res._queue) == stored  # not searched for, not removed
    assert res.waiting == 999
    assert current(queue) == 999


def test_withdrawing_the_head_lets_the_next_ones_in(grants: Grants) -> None:
    res, in_use, queue = resource(10)
    res.take(0.0, 8)
    big = res.wait(0.0, "big", 5, grants)
    res.wait(1.0, "small", 1, grants)
    res.wait(1.0, "tiny", 1, grants)
    assert big is not None
    assert res.withdraw(2.0, big) == 2.0
    assert grants.log == [(2.0, "small", 1.0), (2.0, "tiny", 1.0)]
    assert (res.in_use, res.waiting) == (10, 0)
    assert (current(in_use), current(queue)) == (10, 0)


def test_withdrawing_twice_or_after_the_grant_does_nothing(grants: Grants) -> None:
    res, _, queue = resource(1)
    res.take(0.0, 1)
    a = res.wait(0.0, "a", 1, grants)
    b = res.wait(0.0, "b", 1, grants)
    assert a is not None
    assert b is not None
    res.give(1.0, 1)  # a granted
    assert res.withdraw(2.0, a) == 0.0
    assert res.withdraw(2.0, b) == 2.0
    assert res.withdraw(3.0, b) == 0.0
    assert res.waiting == 0
    assert current(queue) == 0


# --------------------------------------------------------------------------- capacity


def test_raising_the_capacity_grants_waiters(grants: Grants) -> None:
    res, in_use, _ = resource(2)
    res.take(0.0, 2)
    res.wait(0.0, "a", 1, grants)
    res.wait(0.0, "b", 2, grants)
    res.set_capacity(3.0, 5)
    assert grants.items == ["a", "b"]
    assert (res.capacity, res.in_use, res.free) == (5, 5, 0)
    assert current(in_use) == 5
    assert area(in_use, 4.0) == 2 * 3.0 + 5 * 1.0


def test_lowering_the_capacity_keeps_units_in_use(grants: Grants) -> None:
    res, in_use, _ = resource(4)
    res.take(0.0, 4)
    res.wait(0.0, "a", 1, grants)
    res.set_capacity(1.0, 2)
    assert (res.capacity, res.in_use, res.free) == (2, 4, -2)
    res.give(2.0, 1)
    res.give(3.0, 1)
    res.give(4.0, 1)  # only now is a unit free under the new capacity
    assert grants.log == [(4.0, "a", 4.0)]
    assert current(in_use) == 2
    assert area(in_use, 5.0) == 4 * 2.0 + 3 + 2 + 2 * 1.0


# --------------------------------------------------------------------------- clear


def test_clear_frees_every_unit_and_returns_the_live_waiters(grants: Grants) -> None:
    res, in_use, queue = resource(3)
    res.take(0.0, 3)
    a = res.wait(0.0, "a", 1, grants)
    res.wait(0.0, "b", 1, grants)
    res.wait(0.0, "c", 1, grants)
    assert a is not None
    res.withdraw(1.0, a)
    assert res.clear(2.0) == ["b", "c"]
    assert (res.free, res.in_use, res.waiting, res.waiters()) == (3, 0, 0, [])
    assert (current(in_use), current(queue)) == (0, 0)
    assert area(in_use, 4.0) == 3 * 2.0
    assert area(queue, 4.0) == 3 * 1.0 + 2 * 1.0
    res.give(3.0, 0)
    assert grants.log == []  # nobody is left to grant


# --------------------------------------------------------------------------- gate


def test_the_gate_holds_the_head_until_it_says_yes(grants: Grants) -> None:
    res, _, _ = resource(1)
    res.take(0.0, 1)
    res.wait(0.0, "a", 1, grants)
    res.wait(0.0, "b", 1, grants)
    tokens = [False]
    asked: list[Any] = []

    def gate(time: float, waiter: Waiter) -> bool:
        asked.append(waiter.item)
        return tokens[0]

    res.gate = gate
    res.give(1.0, 1)
    assert (grants.log, asked) == ([], ["a"])
    tokens[0] = True
    res.serve(2.0)
    assert grants.log == [(2.0, "a", 2.0)]
    assert asked == ["a", "a"]  # "b" needs a unit that is not free: the gate is not asked


# --------------------------------------------------------------------------- release and serve


def test_release_gives_back_without_granting_and_serve_grants(grants: Grants) -> None:
    res, in_use, _ = resource(2)
    res.take(0.0, 2)
    res.wait(0.0, "a", 1, grants)
    res.release(1.0, 1)
    assert grants.log == []
    assert (res.free, current(in_use)) == (1, 1)
    res.serve(3.0)
    assert grants.log == [(3.0, "a", 3.0)]
    assert (res.free, current(in_use)) == (0, 2)
    assert area(in_use, 4.0) == 2 * 1.0 + 1 * 2.0 + 2 * 1.0


# --------------------------------------------------------------------------- levels and tallies


def test_levels_and_wait_tally_are_exact(grants: Grants) -> None:
    res, in_use, queue = resource(2)
    res.acquire(0.0, "a", 1, grants)
    res.acquire(1.0, "b", 1, grants)
    res.acquire(2.0, "c", 2, grants)  # waits 2.0 .. 4.0
    res.acquire(3.0, "d", 1, grants)  # waits 3.0 .. 6.0
    res.give(4.0, 1)
    res.give(4.0, 1)  # c granted at 4
    res.give(6.0, 1)  # d granted at 6
    res.give(8.0, 1)
    res.give(9.0, 1)
    assert res.granted == 2
    assert res.wait_s == 2.0 + 3.0
    # in use: 1 on [0,1), 2 on [1,4), 2 on [4,6), 2 on [6,8), 1 on [8,9), 0 after
    assert area(in_use, 10.0) == 1 + 2 * 3 + 2 * 2 + 2 * 2 + 1
    # queue: 1 on [2,3), 2 on [3,4), 1 on [4,6)
    assert area(queue, 10.0) == 1 + 2 + 2
    assert in_use.max_after_warm_up == 2
    assert queue.max_after_warm_up == 2
    assert (current(in_use), current(queue)) == (0, 0)


def test_a_give_granted_straight_away_leaves_the_level_unchanged(grants: Grants) -> None:
    res, in_use, _ = resource(1)
    res.take(0.0, 1)
    res.wait(0.0, "a", 1, grants)
    res.give(1.0, 1)
    assert list(in_use.deltas) == [1.0]  # the unit changed hands: no change recorded


def test_a_give_from_inside_a_grant_is_served_by_the_same_loop() -> None:
    res, in_use, queue = resource(1)
    order: list[tuple[float, str, float]] = []

    def give_back_at_once(time: float, item: str, waited: float) -> None:
        order.append((time, item, waited))
        if item != "last":
            res.give(time, 1)  # re-enters give while it is serving

    res.take(0.0, 1)
    for item in ("a", "b", "last"):
        res.wait(0.0, item, 1, give_back_at_once)
    res.give(2.0, 1)
    assert order == [(2.0, "a", 2.0), (2.0, "b", 2.0), (2.0, "last", 2.0)]
    assert (res.in_use, res.waiting, res.granted) == (1, 0, 3)
    assert res.wait_s == 6.0
    assert current(in_use) == 1
    assert area(in_use, 3.0) == 3.0  # one unit in use throughout, no blip recorded
    assert area(queue, 3.0) == 3 * 2.0


def test_units_given_back_inside_a_grant_serve_those_behind() -> None:
    res, in_use, _ = resource(3)
    res.take(0.0, 3)
    grants = Grants()

    def frees_two(time: float, item: str, waited: float) -> None:
        grants(time, item, waited)
        res.give(time, 2)

    res.wait(0.0, "a", 1, frees_two)
    res.wait(0.0, "b", 2, grants)
    res.wait(0.0, "c", 1, grants)
    res.give(1.0, 1)  # a gets it, gives 2 back: b takes them, c finds none left
    assert grants.items == ["a", "b"]
    assert (res.in_use, res.free, res.waiting) == (3, 0, 1)
    assert current(in_use) == 3
    assert list(in_use.deltas) == [3.0]
