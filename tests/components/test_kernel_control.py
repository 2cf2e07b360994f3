"""Kernel control: step, stop from inside an event, cancel, and times that are refused."""

from __future__ import annotations

import math
import re
from typing import Any

import pytest

from asyncflow.engine.kernel import Kernel
from asyncflow.errors import SimulationError


class Log:
    """A callback that records ``(time, arg)``."""

    def __init__(self) -> None:
        self.calls: list[tuple[float, Any]] = []

    def __call__(self, time: float, arg: Any) -> None:
        self.calls.append((time, arg))


@pytest.fixture
def log() -> Log:
    return Log()


# --------------------------------------------------------------------------- step


def test_step_runs_one_event_at_a_time(kernel: Kernel, log: Log) -> None:
    kernel.schedule(2.0, log, "b")
    kernel.schedule(1.0, log, "a")
    kernel.schedule(2.0, log, "c")
    assert kernel.step()
    assert (log.calls, kernel.now) == ([(1.0, "a")], 1.0)
    assert kernel.step()
    assert (log.calls[-1], kernel.now) == ((2.0, "b"), 2.0)
    assert kernel.step()
    assert not kernel.step()
    assert log.calls == [(1.0, "a"), (2.0, "b"), (2.0, "c")]
    assert kernel.now == 2.0  # stepping never moves the clock past the last event


def test_step_skips_cancelled_events(kernel: Kernel, log: Log) -> None:
    handle = kernel.schedule(1.0, log, "cancelled")
    kernel.schedule(3.0, log, "kept")
    kernel.cancel(handle)
    assert kernel.step()
    assert (log.calls, kernel.now) == ([(3.0, "kept")], 3.0)
    assert not kernel.step()


def test_step_on_an_empty_heap_returns_false(kernel: Kernel) -> None:
    assert not kernel.step()
    assert kernel.now == 0.0


def test_step_and_run_mix(kernel: Kernel, log: Log) -> None:
    for t in (1.0, 2.0, 3.0, 4.0):
        kernel.schedule(t, log, t)
    kernel.step()
    assert kernel.run(2.5)
    assert kernel.now == 2.5
    kernel.step()
    assert [t for t, _ in log.calls] == [1.0, 2.0, 3.0]


# --------------------------------------------------------------------------- stop


def test_stop_ends_run_at_the_stopping_event(kernel: Kernel, log: Log) -> None:
    after_stop: list[float] = []

    def stopper(time: float, arg: Any) -> None:
        log(time, arg)
        kernel.stop()
        after_stop.append(time)  # never reached

    kernel.schedule(1.0, log, "before")
    kernel.schedule(2.0, stopper, "stop")
    kernel.schedule(2.0, log, "same instant, later")
    kernel.schedule(3.0, log, "after")
    assert kernel.run(10.0) is False
    assert kernel.now == 2.0
    assert after_stop == []
    assert log.calls == [(1.0, "before"), (2.0, "stop")]
    # Resuming runs what is left, in order, and reaches the horizon.
    assert kernel.run(10.0) is True
    assert log.calls[2:] == [(2.0, "same instant, later"), (3.0, "after")]
    assert kernel.now == 10.0


def test_stop_outside_run_does_nothing(kernel: Kernel, log: Log) -> None:
    def stopper(time: float, arg: Any) -> None:
        kernel.stop()
        log(time, arg)

    kernel.stop()
    kernel.schedule(1.0, stopper, "stepped")
    assert kernel.step()  # step is not run: the callback goes on
    assert log.calls == [(1.0, "stepped")]


def test_a_run_after_a_stop_can_be_stopped_again(kernel: Kernel, log: Log) -> None:
    def stopper(time: float, arg: Any) -> None:
        log(time, arg)
        kernel.stop()

    for t in (1.0, 2.0):
        kernel.schedule(t, stopper, t)
    assert kernel.run(5.0) is False
    assert kernel.run(5.0) is False
    assert kernel.run(5.0) is True
    assert (log.calls, kernel.now) == ([(1.0, 1.0), (2.0, 2.0)], 5.0)


# --------------------------------------------------------------------------- cancel


def test_cancel_by_handle(kernel: Kernel, log: Log) -> None:
    handles = {tag: kernel.schedule(1.0, log, tag) for tag in "abc"}
    kernel.cancel(handles["b"])
    kernel.run(2.0)
    assert log.calls == [(1.0, "a"), (1.0, "c")]


def test_cancelling_an_event_that_ran_is_harmless(kernel: Kernel, log: Log) -> None:
    handle = kernel.schedule(1.0, log, "ran")
    kernel.run(1.0)
    kernel.cancel(handle)
    kernel.schedule(2.0, log, "next")
    kernel.run(3.0)
    assert log.calls == [(1.0, "ran"), (2.0, "next")]


def test_an_event_can_cancel_a_later_one(kernel: Kernel, log: Log) -> None:
    later = kernel.schedule(2.0, log, "later")
    kernel.schedule(1.0, lambda t, a: kernel.cancel(later))
    kernel.run(3.0)
    assert log.calls == []


def test_handles_are_distinct(kernel: Kernel, log: Log) -> None:
    handles = [kernel.schedule(1.0, log) for _ in range(100)]
    assert len(set(handles)) == 100


# --------------------------------------------------------------------------- refused times


@pytest.mark.parametrize(
    ("time", "message"),
    [
        (math.nan, "cannot schedule an event at nan (now 2.0)"),
        (math.inf, "cannot schedule an event at inf (now 2.0)"),
        (-math.inf, "cannot schedule an event at -inf (now 2.0)"),
        (1.999, "cannot schedule an event at 1.999 (now 2.0)"),
    ],
)
def test_schedule_refuses_times_not_finite_or_past(
    kernel: Kernel, log: Log, time: float, message: str
) -> None:
    kernel.run(2.0)
    with pytest.raises(SimulationError, match=f"^{re.escape(message)}$"):
        kernel.schedule(time, log)
    assert kernel.heap == []


def test_schedule_at_now_is_allowed(kernel: Kernel, log: Log) -> None:
    kernel.run(2.0)
    kernel.schedule(2.0, log, "now")
    kernel.run(2.0)
    assert log.calls == [(2.0, "now")]


def test_run_refuses_an_until_that_is_not_a_number(kernel: Kernel) -> None:
    with pytest.raises(SimulationError, match=r"^cannot run back in time: until=nan < now=0\.0$"):
        kernel.run(math.nan)


NAN_AT_TOP = "an event at nan reached the clock at 1.0: times must be numbers that never go back"


def test_a_nan_pushed_onto_the_heap_makes_run_raise(kernel: Kernel, log: Log) -> None:
    kernel.schedule(1.0, log, "fine")
    kernel.push(math.nan, log, "bad")
    with pytest.raises(SimulationError, match=f"^{re.escape(NAN_AT_TOP)}$"):
        kernel.run(10.0)
    assert log.calls == [(1.0, "fine")]


def test_a_nan_pushed_onto_the_heap_makes_step_raise(kernel: Kernel, log: Log) -> None:
    kernel.schedule(1.0, log, "fine")
    kernel.push(math.nan, log, "bad")
    assert kernel.step()
    with pytest.raises(SimulationError, match=f"^{re.escape(NAN_AT_TOP)}$"):
        kernel.step()
    assert log.calls == [(1.0, "fine")]


def test_a_past_event_pushed_onto_the_heap_makes_step_raise(kernel: Kernel, log: Log) -> None:
    kernel.run(5.0)
    kernel.push(3.0, log, "past")
    message = "an event at 3.0 reached the clock at 5.0: times must be numbers that never go back"
    with pytest.raises(SimulationError, match=f"^{re.escape(message)}$"):
        kernel.step()
    assert log.calls == []


def test_a_past_event_pushed_onto_the_heap_makes_run_raise(kernel: Kernel, log: Log) -> None:
    kernel.run(5.0)
    kernel.push(3.0, log, "past")
    with pytest.raises(SimulationError):
        kernel.run(10.0)
