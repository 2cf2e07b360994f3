from __future__ import annotations

import re
from typing import Any

import pytest

from asyncflow.engine.kernel import Kernel
from asyncflow.errors import SimulationError


@pytest.fixture
def kernel() -> Kernel:
    return Kernel()


def _recorder(log: list[tuple[float, Any]]) -> Any:
    def callback(time: float, arg: Any) -> None:
        log.append((time, arg))

    return callback


def test_events_run_in_time_order_and_ties_in_insertion_order(kernel: Kernel) -> None:
    log: list[tuple[float, Any]] = []
    cb = _recorder(log)
    for time, tag in [(2.0, "c"), (1.0, "a"), (2.0, "d"), (1.0, "b"), (0.5, "first")]:
        kernel.schedule(time, cb, tag)
    kernel.run(10.0)
    assert log == [(0.5, "first"), (1.0, "a"), (1.0, "b"), (2.0, "c"), (2.0, "d")]
    assert kernel.now == 10.0


def test_cancelled_event_does_not_run(kernel: Kernel) -> None:
    log: list[tuple[float, Any]] = []
    cb = _recorder(log)
    kernel.schedule(1.0, cb, "kept")
    handle = kernel.schedule(2.0, cb, "cancelled")
    kernel.cancel(handle)
    kernel.run(5.0)
    assert log == [(1.0, "kept")]


def test_running_in_slices_equals_one_run() -> None:
    def build(kernel: Kernel, log: list[tuple[float, Any]]) -> None:
        def tick(time: float, n: int) -> None:
            log.append((time, n))
            if n < 50:
                kernel.schedule(time + 0.37, tick, n + 1)

        kernel.schedule(0.0, tick, 0)

    whole, sliced = Kernel(), Kernel()
    log_whole: list[tuple[float, Any]] = []
    log_sliced: list[tuple[float, Any]] = []
    build(whole, log_whole)
    build(sliced, log_sliced)
    whole.run(20.0)
    for until in (0.0, 1.0, 3.3, 7.0, 20.0):
        sliced.run(until)
        assert sliced.now == until
    assert log_sliced == log_whole
    assert len(log_whole) == 51


def test_events_after_until_wait_for_the_next_slice(kernel: Kernel) -> None:
    log: list[tuple[float, Any]] = []
    kernel.schedule(5.0, _recorder(log), "late")
    kernel.run(4.0)
    assert log == []
    assert kernel.peek() == 5.0
    kernel.run(5.0)
    assert log == [(5.0, "late")]
    assert kernel.peek() == float("inf")


def test_peek_skips_cancelled(kernel: Kernel) -> None:
    handle = kernel.schedule(1.0, _recorder([]), None)
    kernel.schedule(3.0, _recorder([]), None)
    kernel.cancel(handle)
    assert kernel.peek() == 3.0


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (
            lambda k: k.schedule(1.0, lambda t, a: None),
            "cannot schedule an event at 1.0 (now 2.0)",
        ),
        (lambda k: k.run(1.0), "cannot run back in time: until=1.0 < now=2.0"),
    ],
)
def test_going_back_in_time_is_refused(kernel: Kernel, action: Any, message: str) -> None:
    kernel.run(2.0)
    with pytest.raises(SimulationError, match=f"^{re.escape(message)}$"):
        action(kernel)
