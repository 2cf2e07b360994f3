"""SharedLink: transfers share a link's bandwidth equally (processor sharing)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asyncflow.components.bandwidth import SharedLink
from asyncflow.components.calls import Call
from asyncflow.components.context import RunContext
from asyncflow.engine.kernel import Kernel

from .doubles import RecordingCaller, bare_site, make_context

MB = 1e6  # bytes; the links below carry 8 Mbit/s = 1e6 bytes/s


class Done:
    """The ``done`` callback: records ``(end, request row, seconds)``."""

    def __init__(self) -> None:
        self.log: list[tuple[float, int, float]] = []

    def __call__(self, time: float, call: Call, seconds: float) -> None:
        self.log.append((time, call.root, seconds))


class Rig:
    def __init__(self, ctx: RunContext, caller: RecordingCaller) -> None:
        self.kernel = ctx.kernel
        self.link = SharedLink(ctx, bandwidth_mbps=8.0)
        self.site = bare_site(caller)
        self.done = Done()
        self.calls: list[Call] = []

    def start(self, time: float, size: float) -> Call:
        call = Call(len(self.calls), self.site, None, time)
        self.calls.append(call)
        self.kernel.schedule(time, lambda t, c: self.link.start(t, size, c, self.done), call)
        return call

    def ends(self) -> list[tuple[float, int, float]]:
        self.kernel.run(1000.0)
        return self.done.log


@pytest.fixture
def rig(ctx: RunContext, caller: RecordingCaller) -> Rig:
    return Rig(ctx, caller)


def approx(rows: list[tuple[float, int, float]]) -> list[object]:
    return [(pytest.approx(t, rel=1e-12), k, pytest.approx(s, rel=1e-12)) for t, k, s in rows]


def test_the_bandwidth_is_in_bytes_per_second(rig: Rig) -> None:
    assert rig.link.bytes_per_s == MB


def test_one_transfer_takes_size_over_bandwidth(rig: Rig) -> None:
    rig.start(1.0, 2 * MB)
    assert rig.ends() == approx([(3.0, 0, 2.0)])


def test_two_equal_transfers_started_together_share_the_bandwidth(rig: Rig) -> None:
    rig.start(0.0, 1 * MB)
    rig.start(0.0, 1 * MB)
    assert rig.ends() == approx([(2.0, 0, 2.0), (2.0, 1, 2.0)])


def test_unequal_transfers_end_when_processor_sharing_says(rig: Rig) -> None:
    # Sizes 1, 2, 3 MB from 0: transfer k ends at sum_j min(s_j, s_k) / C = 3, 5, 6 s.
    for size in (3 * MB, 1 * MB, 2 * MB):
        rig.start(0.0, size)
    assert rig.ends() == approx([(3.0, 1, 3.0), (5.0, 2, 5.0), (6.0, 0, 6.0)])


def test_a_transfer_joining_later_slows_the_first(rig: Rig) -> None:
    # A (2 MB) alone on [0, 1): 1 MB left. B (0.5 MB) joins: both at 0.5 MB/s, B is done
    # at 2; A has 0.5 MB left at the full rate: done at 2.5.
    rig.start(0.0, 2 * MB)
    rig.start(1.0, 0.5 * MB)
    assert rig.ends() == approx([(2.0, 1, 1.0), (2.5, 0, 2.5)])


def test_a_link_idle_in_between_starts_afresh(rig: Rig) -> None:
    rig.start(0.0, 1 * MB)
    rig.start(5.0, 1 * MB)
    rig.start(5.0, 1 * MB)
    assert rig.ends() == approx([(1.0, 0, 1.0), (7.0, 1, 2.0), (7.0, 2, 2.0)])


def test_a_transfer_of_nothing_ends_at_once(rig: Rig) -> None:
    rig.start(4.0, 0.0)
    assert rig.ends() == [(4.0, 0, 0.0)]


def test_withdraw_stops_one_and_the_other_speeds_up(rig: Rig) -> None:
    a, b = rig.start(0.0, 2 * MB), rig.start(0.0, 2 * MB)
    lasted: list[float] = []
    rig.kernel.schedule(1.0, lambda t, c: lasted.append(rig.link.withdraw(t, c)), b)
    rig.kernel.run(1.0)
    assert (rig.link.active, rig.link.calls()) == (1, [a])
    # A got 0.5 MB in the first second; 1.5 MB left at the full rate.
    assert rig.ends() == approx([(2.5, 0, 2.5)])
    assert lasted == [1.0]


def test_withdrawing_the_only_transfer_leaves_the_link_idle(rig: Rig) -> None:
    call = rig.start(0.0, 1 * MB)
    rig.kernel.run(0.5)
    assert rig.link.withdraw(0.5, call) == 0.5
    assert rig.link.active == 0
    assert rig.ends() == []
    rig.start(2000.0, 1 * MB)
    rig.kernel.run(3000.0)
    assert rig.done.log == approx([(2001.0, 1, 1.0)])


def test_withdrawing_a_call_not_on_the_link_does_nothing(rig: Rig) -> None:
    rig.start(0.0, 1 * MB)
    rig.kernel.run(0.0)
    stranger = Call(99, rig.site, None, 0.0)
    assert rig.link.withdraw(0.5, stranger) == 0.0
    assert rig.ends() == approx([(1.0, 0, 1.0)])


def processor_sharing(jobs: list[tuple[float, float]], rate: float) -> list[float]:
    """End times of jobs ``(start, size)`` sharing ``rate`` equally, by exact fluid steps."""
    order = sorted(range(len(jobs)), key=lambda k: jobs[k][0])
    left: dict[int, float] = {}
    ends = [0.0] * len(jobs)
    now, i = 0.0, 0
    while i < len(order) or left:
        arrival = jobs[order[i]][0] if i < len(order) else float("inf")
        if left:
            first = min(left, key=lambda k: left[k])
            finish = now + left[first] * len(left) / rate
        else:
            finish = float("inf")
        step_to = min(arrival, finish)
        if left:
            served = (step_to - now) * rate / len(left)
            for k in left:
                left[k] -= served
        now = step_to
        if finish <= arrival:
            for k in [k for k, v in left.items() if v <= 1e-6]:
                ends[k] = now
                del left[k]
        else:
            left[order[i]] = jobs[order[i]][1]
            i += 1
    return ends


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(0.0, 10.0).map(lambda x: round(x, 3)),
            st.floats(0.001, 5.0).map(lambda x: round(x, 3)),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_end_times_match_processor_sharing_theory(jobs: list[tuple[float, float]]) -> None:
    ctx = make_context(Kernel())  # hypothesis runs many examples: a fresh run each
    rig = Rig(ctx, RecordingCaller(ctx))
    for start, size_mb in jobs:
        rig.start(start, size_mb * MB)
    ended = {k: t for t, k, _ in rig.ends()}
    expected = processor_sharing([(s, m * MB) for s, m in jobs], MB)
    assert sorted(ended) == list(range(len(jobs)))
    for k, t in enumerate(expected):
        assert ended[k] == pytest.approx(t, rel=1e-9, abs=1e-9), (k, jobs)
