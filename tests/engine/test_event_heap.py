"""The compiled core's event heap keeps ``heapq``'s order and layout.

The compiled core schedules :class:`Event` objects with ``push_event`` and
``pop_event`` instead of ``heapq`` on tuples (``engine.kernel``). Both must
pop the same events in the same order and hold them in the same places of
the list (the end of a run reads the pending events in list order), and a
whole run must not tell them apart. In the pure-Python core both
representations can run in the same process, which is what is checked here;
the compiled build is compared with the pure-Python core byte for byte on
every example by ``tests/build/test_compiled_core.py``.
"""

from __future__ import annotations

import json
import random
import sys
from heapq import heappop, heappush
from pathlib import Path
from typing import Any

import pytest
import yaml

import asyncflow
from asyncflow.engine import kernel as kernel_module
from asyncflow.engine.kernel import Event, Kernel, pop_event, push_event

EXAMPLES = Path(asyncflow.__file__).parent / "examples"


def _noop(time: float, arg: Any) -> None:
    """A callback that is never called."""


def _keys(events: list[Event]) -> list[tuple[float, int]]:
    return [(e.time, e.seq) for e in events]


@pytest.mark.parametrize("seed", range(5))
def test_events_sit_and_pop_as_heapq_tuples_do(seed: int) -> None:
    rng = random.Random(seed)
    tuples: list[tuple[float, int, Any, Any]] = []
    events: list[Event] = []
    seq = 0
    popped = 0
    for _ in range(3000):
        if tuples and rng.random() < 0.45:
            first = heappop(tuples)
            event = pop_event(events)
            assert (event.time, event.seq, event.arg) == (first[0], first[1], first[3])
            popped += 1
        else:
            # Few distinct times: many ties, ordered by seq.
            time = float(rng.randrange(40)) / 4
            heappush(tuples, (time, seq, _noop, seq))
            push_event(events, Event(time, seq, _noop, seq))
            seq += 1
        assert _keys(events) == [(t[0], t[1]) for t in tuples]
    assert popped > 1000
    while tuples:
        first = heappop(tuples)
        assert (pop_event(events).seq, len(events)) == (first[1], len(tuples))


def test_a_kernel_runs_events_objects_in_the_order_of_tuples(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if kernel_module.NATIVE_EVENTS:
        pytest.skip("compiled core: its representation is fixed at build time")

    def run(native: bool) -> list[tuple[float, int]]:
        monkeypatch.setattr(kernel_module, "NATIVE_EVENTS", native)
        kernel = Kernel()
        seen: list[tuple[float, int]] = []
        rng = random.Random(7)

        def fire(time: float, tag: int) -> None:
            seen.append((time, tag))
            if tag < 400:
                for k in range(2):
                    kernel.push(time + float(rng.randrange(5)), fire, 2 * tag + k + 1)

        kernel.push(0.0, fire, 0)
        handle = kernel.schedule(1.0, fire, 10_000)
        kernel.cancel(handle)
        kernel.run(6.0)
        while kernel.step():
            pass
        return seen

    tuples = run(native=False)
    assert len(tuples) > 400
    assert run(native=True) == tuples


def _without_wall_time(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_wall_time(v) for k, v in value.items() if k != "wall_s"}
    if isinstance(value, list):
        return [_without_wall_time(v) for v in value]
    return value


def _summaries(examples: dict[str, float]) -> dict[str, str]:
    out = {}
    for name, horizon_s in examples.items():
        spec = yaml.safe_load((EXAMPLES / f"{name}.yml").read_text())
        spec["sim_settings"]["total_simulation_time"] = horizon_s
        summary = _without_wall_time(asyncflow.run(spec).summary())
        out[name] = json.dumps(summary, sort_keys=True, default=str)
    return out


def test_whole_runs_are_identical_with_either_representation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if kernel_module.NATIVE_EVENTS:
        pytest.skip("compiled core: its representation is fixed at build time")
    # Retries after timeouts and a slow link, connection pools and listeners, a
    # call tree with failures as replies; shortened (the slow link included).
    examples = {"retry_storm_budget": 150.0, "lb_socket_exhaustion": 120.0, "call_tree": 60.0}
    tuples = _summaries(examples)
    # Every module that chose a representation at import reads the flag as a global.
    users = [
        m
        for name, m in sys.modules.items()
        if name.startswith("asyncflow.") and hasattr(m, "NATIVE_EVENTS")
    ]
    # The kernel and the hot path's pushes (the others go through Kernel.push).
    pushers = {f"asyncflow.{m}" for m in ("engine.kernel", "components.server", "components.edges")}
    assert pushers <= {m.__name__ for m in users}
    for module in users:
        monkeypatch.setattr(module, "NATIVE_EVENTS", True)
    assert _summaries(examples) == tuples
