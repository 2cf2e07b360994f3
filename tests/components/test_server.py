"""A real Server fed by a recording caller: timing, phases, queues, crashes, cancelling."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import pytest
from scipy import stats

from asyncflow.components.calls import DONE, SENDING, Call
from asyncflow.components.server import SERVER_METRICS
from asyncflow.metrics.phases import CONNECTION_WAIT, CPU, CPU_WAIT, HOP_OUT, IO, RAM_WAIT, SLOTS
from asyncflow.scenario.builder import cpu, endpoint, exponential, io, ram

from .doubles import ServerRig, area, current

MakeRig = Callable[..., ServerRig]


def phases(**spent: float) -> list[float]:
    """A full phase list with the given slots (``cpu``, ``io``, ``cpu_wait``, ``ram_wait``)."""
    slots = {"cpu": CPU, "io": IO, "cpu_wait": CPU_WAIT, "ram_wait": RAM_WAIT}
    ph = [0.0] * SLOTS
    for name, seconds in spent.items():
        ph[slots[name]] = seconds
    return ph


def heard(rig: ServerRig) -> list[tuple[str, float, int]]:
    """What the caller heard, as ``(kind, time, request row)``."""
    return [(kind, t, call.root) for kind, t, call in rig.caller.heard]


def levels_now(rig: ServerRig) -> dict[str, float]:
    return {metric: current(rig.level(metric)) for metric in SERVER_METRICS}


IDLE = dict.fromkeys(SERVER_METRICS, 0.0)


# --------------------------------------------------------------------------- one call


def test_a_call_runs_cpu_then_io_and_replies_at_the_right_time(rig: ServerRig) -> None:
    call = rig.send(1.0)
    rig.kernel.run(1.4)
    assert (call.state, levels_now(rig)["busy_cores"], levels_now(rig)["ram_in_use_mb"]) == (
        5,  # ON_CPU
        1.0,
        100.0,
    )
    rig.kernel.run(10.0)
    assert heard(rig) == [("reply", 3.5, 0)]
    assert call.ph == phases(cpu=0.5, io=2.0)
    assert call.state == SENDING  # handed to the reply
    assert (rig.server.completed, rig.server.in_progress) == (1, 0)
    assert (rig.ctx.log.server[0], rig.ctx.log.endpoint[0]) == (0, 0)
    assert levels_now(rig) == IDLE
    assert area(rig.level("busy_cores"), 10.0) == 0.5
    assert area(rig.level("io_waiting"), 10.0) == 2.0
    assert area(rig.level("ram_in_use_mb"), 10.0) == 100 * 2.5


@pytest.mark.parametrize("tracks_crashes", [True, False])
def test_random_work_is_the_requests_row_of_the_table(
    make_rig: MakeRig, tracks_crashes: bool
) -> None:
    rig = make_rig(
        endpoint("/api", cpu(exponential(0.3)), io(exponential(1.0))),
        tracks_crashes=tracks_crashes,
    )
    calls = [rig.send(10.0 * k) for k in range(5)]
    rig.kernel.run(100.0)
    plan = rig.site().entries[0].fixed  # type: ignore[union-attr]
    assert plan is not None
    assert plan.table is not None
    expected = []
    for call in calls:
        cpu_s, io_s = plan.table.row(call.root)
        # Phases are measured as differences of clock times: equal up to rounding.
        assert call.ph == pytest.approx(phases(cpu=cpu_s, io=io_s), rel=1e-12, abs=1e-12)
        expected.append(("reply", call.sent + cpu_s + io_s, call.root))
    assert heard(rig) == expected


def test_consecutive_cpu_steps_hold_the_core_as_one(make_rig: MakeRig) -> None:
    rig = make_rig(endpoint("/api", cpu(0.2), cpu(0.3), io(1.0), cpu(0.1)))
    first, second = rig.send(0.0), rig.send(0.0)
    rig.kernel.run(10.0)
    # first: CPU [0, 0.5), I/O [0.5, 1.5), CPU [1.5, 1.6)
    # second: waits [0, 0.5), CPU [0.5, 1.0), I/O [1.0, 2.0), waits [2.0, 2.0) CPU [2.0, 2.1)
    assert heard(rig) == [("reply", 1.6, 0), ("reply", 2.1, 1)]
    assert first.ph == pytest.approx(phases(cpu=0.6, io=1.0))
    assert second.ph == pytest.approx(phases(cpu_wait=0.5, cpu=0.6, io=1.0))


def test_without_crash_tracking_the_levels_are_the_same(make_rig: MakeRig) -> None:
    rigs = [
        make_rig(endpoint("/api", ram(100), cpu(0.5), io(2.0)), tracks_crashes=t)
        for t in (True, False)
    ]
    for r in rigs:
        for k in range(4):
            r.send(0.25 * k)
        r.kernel.run(20.0)
    tracked, inlined = rigs
    assert heard(tracked) == heard(inlined)
    for metric in SERVER_METRICS:
        assert area(tracked.level(metric), 20.0) == area(inlined.level(metric), 20.0), metric


# --------------------------------------------------------------------------- queues


def test_calls_queue_for_cores_in_fifo_order(make_rig: MakeRig) -> None:
    rig = make_rig(endpoint("/api", cpu(1.0)), cpu_cores=2)
    calls = [rig.send(0.0) for _ in range(5)]
    rig.kernel.run(10.0)
    assert heard(rig) == [("reply", t, k) for k, t in enumerate((1.0, 1.0, 2.0, 2.0, 3.0))]
    assert [c.ph[CPU_WAIT] for c in calls] == [0.0, 0.0, 1.0, 1.0, 2.0]
    cores = rig.server.cores
    assert (cores.granted, cores.wait_s) == (3, 4.0)
    assert area(rig.level("ready_queue"), 10.0) == 3 + 1
    assert area(rig.level("busy_cores"), 10.0) == 5.0
    assert rig.level("ready_queue").max_after_warm_up == 3


def test_io_holds_no_core(make_rig: MakeRig) -> None:
    rig = make_rig(endpoint("/api", cpu(1.0), io(5.0)))
    a, b = rig.send(0.0), rig.send(0.0)
    rig.kernel.run(20.0)
    assert heard(rig) == [("reply", 6.0, 0), ("reply", 7.0, 1)]
    assert a.ph == phases(cpu=1.0, io=5.0)
    assert b.ph == phases(cpu_wait=1.0, cpu=1.0, io=5.0)
    assert area(rig.level("io_waiting"), 20.0) == 10.0
    assert rig.level("io_waiting").max_after_warm_up == 2


def test_calls_queue_for_ram_in_fifo_order_without_overtaking(make_rig: MakeRig) -> None:
    rig = make_rig(
        endpoint("/big", ram(200), io(1.0)), endpoint("/small", ram(50), io(1.0)), ram_mb=300
    )
    big1, big2 = rig.send(0.0, "/big"), rig.send(0.0, "/big")
    small = rig.send(0.0, "/small")  # 100 MB are free, but big2 waits before it
    rig.kernel.run(0.5)
    assert (big2.state, small.state) == (3, 3)  # RAM_WAITING
    assert levels_now(rig)["ram_wait_queue"] == 2
    rig.kernel.run(10.0)
    assert heard(rig) == [("reply", 1.0, 0), ("reply", 2.0, 1), ("reply", 2.0, 2)]
    assert big1.ph == phases(io=1.0)
    assert big2.ph == phases(ram_wait=1.0, io=1.0)
    assert small.ph == phases(ram_wait=1.0, io=1.0)
    assert (rig.ctx.log.endpoint[0], rig.ctx.log.endpoint[2]) == (0, 1)
    assert area(rig.level("ram_wait_queue"), 10.0) == 2.0
    assert area(rig.level("ram_in_use_mb"), 10.0) == 200 + 250
    assert rig.server.ram.wait_s == 2.0
    assert levels_now(rig) == IDLE


def test_endpoints_are_picked_by_weight_the_same_for_a_request_everywhere(
    make_rig: MakeRig,
) -> None:
    specs = (endpoint("/a", io(1.0), weight=0.25), endpoint("/b", io(1.0), weight=0.75))
    one, two = make_rig(*specs), make_rig(*specs)
    for r in (one, two):
        for _ in range(2000):
            r.send(0.0)
        r.kernel.run(2.0)
    picks = list(one.ctx.log.endpoint[:2000])
    assert picks == list(two.ctx.log.endpoint[:2000])  # the same row, the same endpoint
    counts = Counter(picks)
    statistic = stats.chisquare([counts[0], counts[1]], f_exp=[500, 1500]).statistic
    assert statistic < stats.chi2.ppf(1 - 1e-3, df=1), counts


# --------------------------------------------------------------------------- request bodies

ONE_MB_KB = 1e6 / 1024  # request_kb of a body of exactly 1e6 bytes (1 s on 8 Mbit/s)


@pytest.fixture
def bodies(make_rig: MakeRig) -> ServerRig:
    """Calls bring a 1e6-byte body over an 8 Mbit/s link, then run 0.5 s of CPU."""
    return make_rig(endpoint("/up", cpu(0.5), request_kb=ONE_MB_KB), inbound_mbps=8.0)


def test_a_body_is_received_over_the_link_before_admission(bodies: ServerRig) -> None:
    first, second = bodies.send(0.0), bodies.send(0.0)
    bodies.kernel.run(1.9)
    assert (first.state, bodies.server.in_progress) == (2, 0)  # BODY_IN, not admitted yet
    bodies.kernel.run(10.0)
    # Both bodies share the link: in at 2.0; then one core, 0.5 s each.
    assert heard(bodies) == [("reply", 2.5, 0), ("reply", 3.0, 1)]
    assert first.ph == pytest.approx(hop_out(2.0, cpu=0.5), rel=1e-12)
    assert second.ph == pytest.approx(hop_out(2.0, cpu_wait=0.5, cpu=0.5), rel=1e-12)
    assert bodies.inbound is not None
    assert bodies.inbound.in_transit == 0


def test_cancelling_a_call_while_its_body_comes_in_frees_the_link(bodies: ServerRig) -> None:
    cancelled, other = bodies.send(0.0), bodies.send(0.0)
    cancel_at(bodies, 0.5, cancelled)
    bodies.kernel.run(10.0)
    # Shared until 0.5 (0.25e6 bytes each), then alone: 0.75e6 bytes more, in at 1.25.
    assert heard(bodies) == [("reply", 1.75, 1)]
    assert cancelled.state == DONE
    assert cancelled.ph == hop_out(0.5)
    assert other.ph == pytest.approx(hop_out(1.25, cpu=0.5), rel=1e-12)
    assert bodies.inbound is not None
    assert (bodies.inbound.in_transit, bodies.inbound.link.active) == (0, 0)
    assert (bodies.server.in_progress, levels_now(bodies)) == (0, IDLE)


def test_a_body_that_arrives_at_a_server_gone_down_fails(bodies: ServerRig) -> None:
    call = bodies.send(0.0)
    bodies.kernel.schedule(0.5, bodies.server.go_down)
    bodies.kernel.run(10.0)
    assert heard(bodies) == [("failure", 1.0, 0)]
    assert bodies.caller.reason(call) == "server_down"
    assert call.ph == hop_out(1.0)


def hop_out(seconds: float, **spent: float) -> list[float]:
    ph = phases(**spent)
    ph[HOP_OUT] = seconds
    return ph


# --------------------------------------------------------------------------- going down


@pytest.fixture
def crowded(make_rig: MakeRig) -> tuple[ServerRig, list[Call]]:
    """Five calls at 0 on one core and 400 MB (100 MB each): A and B in I/O at 2.5,
    C on CPU, D in the ready queue, E waiting for RAM."""
    rig = make_rig(endpoint("/api", ram(100), cpu(1.0), io(10.0)), ram_mb=400)
    return rig, [rig.send(0.0) for _ in range(5)]


def test_going_down_fails_every_call_inside_with_what_it_spent(
    crowded: tuple[ServerRig, list[Call]],
) -> None:
    rig, (a, b, c, d, e) = crowded
    rig.kernel.schedule(2.5, rig.server.go_down)
    rig.kernel.run(50.0)
    assert heard(rig) == [("failure", 2.5, k) for k in range(5)]
    assert {rig.caller.reason(call) for call in (a, b, c, d, e)} == {"server_down"}
    assert {call.state for call in (a, b, c, d, e)} == {DONE}
    assert a.ph == phases(cpu=1.0, io=1.5)
    assert b.ph == phases(cpu_wait=1.0, cpu=1.0, io=0.5)
    assert c.ph == phases(cpu_wait=2.0, cpu=0.5)
    assert d.ph == phases(cpu_wait=2.5)
    assert e.ph == phases(ram_wait=2.5)
    assert rig.ctx.log.places[a.place] == "srv-1"
    assert (rig.server.failed, rig.server.completed, rig.server.in_progress) == (5, 0, 0)


def test_going_down_frees_cores_and_ram_and_levels_drop_to_zero(
    crowded: tuple[ServerRig, list[Call]],
) -> None:
    rig, _ = crowded
    rig.kernel.schedule(2.0, lambda t, _: rig.level("io_waiting").flush(t))  # mid-run flush
    rig.kernel.schedule(2.5, rig.server.go_down)
    rig.kernel.run(50.0)
    server = rig.server
    assert (server.cores.free, server.cores.waiting) == (1.0, 0)
    assert (server.ram.free, server.ram.waiting) == (400.0, 0)
    assert levels_now(rig) == IDLE
    assert area(rig.level("busy_cores"), 50.0) == 2.5
    assert area(rig.level("io_waiting"), 50.0) == 1.5 + 0.5
    assert area(rig.level("ready_queue"), 50.0) == 1.0 + 2.0 + 2.5
    assert area(rig.level("ram_in_use_mb"), 50.0) == 400 * 2.5
    assert area(rig.level("ram_wait_queue"), 50.0) == 2.5


def test_a_call_arriving_while_down_fails_and_one_after_going_up_is_served(
    rig: ServerRig,
) -> None:
    rig.kernel.schedule(1.0, rig.server.go_down)
    rig.kernel.schedule(4.0, rig.server.go_up)
    rig.send(2.0)
    served = rig.send(5.0)
    rig.kernel.run(20.0)
    assert heard(rig) == [("failure", 2.0, 0), ("reply", 7.5, 1)]
    assert served.ph == phases(cpu=0.5, io=2.0)
    assert levels_now(rig) == IDLE


def test_going_down_needs_crash_tracking(make_rig: MakeRig) -> None:
    rig = make_rig(endpoint("/api", cpu(1.0)), tracks_crashes=False)
    with pytest.raises(RuntimeError, match=r"^server 'srv-1' was built without crash tracking$"):
        rig.server.go_down(0.0)


def test_going_down_with_connections_fails_the_backlog_and_frees_connection_memory(
    make_rig: MakeRig,
) -> None:
    # 1 MB per connection and 1 MB per call in 10 MB; 2 sockets and a backlog of 2.
    rig = make_rig(
        endpoint("/api", ram(1), io(5.0)),
        with_connections=True,
        ram_mb=10,
        max_connections=2,
        listen_backlog=2,
        connection_memory_kb=1024,
    )
    calls = [rig.send(0.0) for _ in range(5)]
    rig.kernel.run(0.5)
    assert rig.server.ram.in_use == 4.0
    rig.kernel.schedule(1.0, rig.server.go_down)
    rig.kernel.schedule(2.0, rig.server.go_up)
    after = rig.send(3.0)
    rig.kernel.run(20.0)
    # The fifth is refused at once; at the crash the backlog fails first, then those inside.
    assert heard(rig) == [
        ("failure", 0.0, 4),
        ("failure", 1.0, 2),
        ("failure", 1.0, 3),
        ("failure", 1.0, 0),
        ("failure", 1.0, 1),
        ("reply", 8.0, 5),
    ]
    reasons = [rig.caller.reason(c) for c in calls]
    assert reasons == ["server_down"] * 4 + ["connection_refused"]
    assert [c.ph[CONNECTION_WAIT] for c in calls] == [0.0, 0.0, 1.0, 1.0, 0.0]
    assert [c.ph[IO] for c in calls] == [1.0, 1.0, 0.0, 0.0, 0.0]
    assert after.ph == phases(io=5.0)
    assert rig.server.ram.in_use == 0.0
    listener = rig.server.listener
    assert listener is not None
    assert (listener.open, listener.backlog_length, listener.epoch) == (0, 0, 1)
    for node_metric in ("connections", "backlog", "connection_memory_mb"):
        assert current(rig.ctx.levels[("srv-1", node_metric)]) == 0, node_metric
    assert levels_now(rig) == IDLE
    # RAM: 4 MB on [0, 1), then 2 MB (one connection, one call) on [3, 8)
    assert area(rig.level("ram_in_use_mb"), 20.0) == 4.0 + 2.0 * 5.0


# --------------------------------------------------------------------------- cancelling


def cancel_at(rig: ServerRig, time: float, call: Call) -> None:
    rig.kernel.schedule(time, lambda t, c: rig.server.cancel(t, c), call)


def test_cancel_takes_a_call_out_of_the_ram_queue(make_rig: MakeRig) -> None:
    rig = make_rig(endpoint("/api", ram(100), io(1.0)), ram_mb=100)
    rig.send(0.0)
    b, c = rig.send(0.0), rig.send(0.0)
    cancel_at(rig, 0.5, b)
    rig.kernel.run(10.0)
    assert heard(rig) == [("reply", 1.0, 0), ("reply", 2.0, 2)]
    assert (b.state, b.cancelled, b.ph) == (DONE, True, phases(ram_wait=0.5))
    assert c.ph == phases(ram_wait=1.0, io=1.0)
    assert (rig.server.cancelled, rig.server.in_progress) == (1, 0)
    assert area(rig.level("ram_wait_queue"), 10.0) == 0.5 + 1.0
    assert area(rig.level("ram_in_use_mb"), 10.0) == 100 * 2.0
    assert levels_now(rig) == IDLE


def test_cancelling_the_head_of_the_ram_queue_lets_the_next_in(make_rig: MakeRig) -> None:
    rig = make_rig(
        endpoint("/big", ram(200), io(1.0)), endpoint("/small", ram(50), io(1.0)), ram_mb=250
    )
    rig.send(0.0, "/big")
    blocked = rig.send(0.0, "/big")
    small = rig.send(0.0, "/small")
    cancel_at(rig, 0.25, blocked)
    rig.kernel.run(10.0)
    assert heard(rig) == [("reply", 1.0, 0), ("reply", 1.25, 2)]
    assert small.ph == phases(ram_wait=0.25, io=1.0)
    assert area(rig.level("ram_in_use_mb"), 10.0) == 200 * 1.0 + 50 * 1.0
    assert levels_now(rig) == IDLE


def test_cancel_takes_a_call_out_of_the_ready_queue_and_frees_its_ram(make_rig: MakeRig) -> None:
    rig = make_rig(endpoint("/api", ram(100), cpu(1.0)))
    rig.send(0.0)
    b, c = rig.send(0.0), rig.send(0.0)
    cancel_at(rig, 0.5, b)
    rig.kernel.run(10.0)
    assert heard(rig) == [("reply", 1.0, 0), ("reply", 2.0, 2)]
    assert b.ph == phases(cpu_wait=0.5)
    assert c.ph == phases(cpu_wait=1.0, cpu=1.0)
    assert area(rig.level("ready_queue"), 10.0) == 0.5 + 1.0
    assert area(rig.level("ram_in_use_mb"), 10.0) == 100 * (1.0 + 0.5 + 2.0)
    assert area(rig.level("busy_cores"), 10.0) == 2.0
    assert rig.server.cores.granted == 1
    assert levels_now(rig) == IDLE


def test_cancel_takes_a_call_out_of_io(make_rig: MakeRig) -> None:
    rig = make_rig(endpoint("/api", ram(100), io(2.0)))
    call = rig.send(0.0)
    cancel_at(rig, 0.5, call)
    rig.kernel.run(10.0)
    assert heard(rig) == []
    assert (call.state, call.ph) == (DONE, phases(io=0.5))
    assert area(rig.level("io_waiting"), 10.0) == 0.5
    assert area(rig.level("ram_in_use_mb"), 10.0) == 50.0
    assert levels_now(rig) == IDLE


def test_a_call_cancelled_on_cpu_finishes_its_cpu_first(make_rig: MakeRig) -> None:
    rig = make_rig(endpoint("/api", ram(100), cpu(1.0), io(5.0)))
    call, behind = rig.send(0.0), rig.send(0.0)
    cancel_at(rig, 0.5, call)
    rig.kernel.run(0.75)
    assert (call.state, levels_now(rig)["busy_cores"]) == (5, 1.0)  # still ON_CPU
    rig.kernel.run(20.0)
    assert heard(rig) == [("reply", 7.0, 1)]
    assert (call.state, call.ph) == (DONE, phases(cpu=1.0))
    assert behind.ph == phases(cpu_wait=1.0, cpu=1.0, io=5.0)
    assert area(rig.level("io_waiting"), 20.0) == 5.0  # only the call behind did I/O
    assert area(rig.level("ram_in_use_mb"), 20.0) == 100 * (1.0 + 7.0)
    assert (rig.server.cancelled, rig.server.completed) == (1, 1)
    assert levels_now(rig) == IDLE


def test_cancelling_twice_or_after_the_reply_does_nothing(rig: ServerRig) -> None:
    call = rig.send(0.0)
    rig.kernel.run(10.0)
    rig.server.cancel(10.0, call)  # already replied (on its way back)
    assert (call.cancelled, rig.server.cancelled) == (True, 0)
    other = rig.send(10.0)
    cancel_at(rig, 11.0, other)
    cancel_at(rig, 11.5, other)
    rig.kernel.run(20.0)
    assert rig.server.cancelled == 1
    assert levels_now(rig) == IDLE


def test_a_call_cancelled_on_cpu_answers_nobody_when_the_server_goes_down(
    make_rig: MakeRig,
) -> None:
    rig = make_rig(endpoint("/api", cpu(1.0)))
    call = rig.send(0.0)
    cancel_at(rig, 0.25, call)
    rig.kernel.schedule(0.5, rig.server.go_down)
    rig.kernel.run(10.0)
    assert heard(rig) == []
    assert (rig.server.failed, rig.server.cancelled) == (0, 1)
