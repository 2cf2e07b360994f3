"""Micro-benchmark of the event kernel alone, against a bare heapq loop.

Usage (with the project's virtualenv)::

    .venv/bin/python bench/kernel.py [--events N] [--pending K] [--repeats R]

The workload is the classic *hold* model for event lists: ``K`` events are
pending at all times; each one, when it runs, schedules one successor at
``now + delay``. Delays come from a precomputed list of exponential draws, so
random number generation is not measured. Four variants run in this process:

* ``bare heapq``: a ``while`` loop over a heap of ``(time, seq, callback, arg)``
  tuples, the floor any Python kernel can reach;
* ``Kernel.schedule``: callbacks reschedule through the public method;
* ``Kernel.heap push``: callbacks push onto ``Kernel.heap`` with
  ``Kernel.next_seq``, as the engine's hot paths do (tuples with ``heappush``,
  or ``Event`` objects with ``push_event`` when the kernel is compiled);
* ``Kernel + cancel``: every event also arms a timeout three mean delays
  ahead and cancels it (deadlines that usually do not fire), so the heap also
  carries the lazily cancelled entries until they surface.

Events per second are the median of ``R`` runs. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import itertools
import random
import statistics
import time
from collections.abc import Callable
from heapq import heappop, heappush
from typing import Any

from asyncflow.engine.kernel import NATIVE_EVENTS, Event, Kernel, push_event


def _delays(n: int) -> list[float]:
    rng = random.Random(1)
    return [rng.expovariate(1.0) for _ in range(n)]


def bare_heapq(n_events: int, pending: int, delays: list[float]) -> float:
    """Hold model on a bare heap loop; return wall seconds."""
    heap: list[tuple[float, int, Callable[[float, Any], None], Any]] = []
    seq = itertools.count().__next__
    mask = len(delays) - 1
    state = {"i": 0}

    def hold(now: float, arg: Any) -> None:
        i = state["i"] = state["i"] + 1
        heappush(heap, (now + delays[i & mask], seq(), hold, arg))

    for k in range(pending):
        heappush(heap, (delays[k], seq(), hold, None))
    start = time.perf_counter()
    done = 0
    while done < n_events:
        now, _, callback, arg = heappop(heap)
        callback(now, arg)
        done += 1
    return time.perf_counter() - start


def _run_kernel(kernel: Kernel, n_events: int, count: dict[str, int]) -> float:
    # Run in slices until n_events callbacks ran, then report the wall time.
    start = time.perf_counter()
    horizon = 0.0
    while count["i"] < n_events:
        horizon += 50.0
        kernel.run(horizon)
    return time.perf_counter() - start


def kernel_schedule(n_events: int, pending: int, delays: list[float]) -> tuple[float, int]:
    """Hold model through ``Kernel.schedule``; return wall seconds and events run."""
    kernel = Kernel()
    schedule = kernel.schedule
    mask = len(delays) - 1
    count = {"i": 0}

    def hold(now: float, arg: Any) -> None:
        i = count["i"] = count["i"] + 1
        if i < n_events:
            schedule(now + delays[i & mask], hold, arg)

    for k in range(pending):
        schedule(delays[k], hold, None)
    return _run_kernel(kernel, n_events, count), count["i"]


def kernel_push(n_events: int, pending: int, delays: list[float]) -> tuple[float, int]:
    """Hold model pushing onto ``Kernel.heap`` directly."""
    kernel = Kernel()
    heap = kernel.heap
    seq = kernel.next_seq
    mask = len(delays) - 1
    count = {"i": 0}

    def hold(now: float, arg: Any) -> None:
        i = count["i"] = count["i"] + 1
        if i >= n_events:
            return
        if NATIVE_EVENTS:
            push_event(heap, Event(now + delays[i & mask], seq(), hold, arg))
        else:
            heappush(heap, (now + delays[i & mask], seq(), hold, arg))

    for k in range(pending):
        kernel.schedule(delays[k], hold, None)
    return _run_kernel(kernel, n_events, count), count["i"]


def kernel_cancel(n_events: int, pending: int, delays: list[float]) -> tuple[float, int]:
    """Hold model where every event also arms and cancels a timeout."""
    kernel = Kernel()
    schedule = kernel.schedule
    cancel = kernel.cancel
    mask = len(delays) - 1
    count = {"i": 0}

    def timeout(now: float, arg: Any) -> None:  # pragma: no cover - always cancelled
        raise RuntimeError("a cancelled timeout ran")

    def hold(now: float, arg: Any) -> None:
        i = count["i"] = count["i"] + 1
        if i < n_events:
            handle = schedule(now + 3.0, timeout, None)
            schedule(now + delays[i & mask], hold, arg)
            cancel(handle)

    for k in range(pending):
        schedule(delays[k], hold, None)
    return _run_kernel(kernel, n_events, count), count["i"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="event kernel micro-benchmark")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--pending", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    delays = _delays(1 << 16)

    rows: list[tuple[str, float]] = []
    bare = statistics.median(
        args.events / bare_heapq(args.events, args.pending, delays) for _ in range(args.repeats)
    )
    rows.append(("bare heapq", bare))
    variants = [
        ("Kernel.schedule", kernel_schedule),
        ("Kernel.heap push", kernel_push),
        ("Kernel + cancel", kernel_cancel),
    ]
    for name, variant in variants:
        rates = []
        for _ in range(args.repeats):
            wall, ran = variant(args.events, args.pending, delays)
            rates.append(ran / wall)
        rows.append((name, statistics.median(rates)))

    print(f"hold model: {args.pending} pending events, {args.events:,} events per run, ", end="")
    print(f"median of {args.repeats}")
    print(f"{'variant':<18} {'events/s':>12} {'vs bare':>8}")
    for name, rate in rows:
        print(f"{name:<18} {rate:>12,.0f} {rate / bare:>8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
