"""Connection semantics: keep-alive, handshakes, TLS, memory, idle timeouts, balancers."""

from __future__ import annotations

import numpy as np
import pytest

import asyncflow
from asyncflow.scenario.builder import cpu, deterministic, io
from asyncflow.simulation import Simulation

from .conftest import balanced, single_server

LATENCY = 0.004  # one way, constant: a TCP handshake costs 2 x 4 ms


def _pooled(
    keep_alive: bool,
    steps: tuple[dict[str, object], ...] = (cpu(0.001), io(0.05)),
    **kwargs: object,
) -> asyncflow.Scenario:
    pool = {"keep_alive": keep_alive, "pool_size": 5, "idle_timeout_s": 0.3}
    return single_server(
        20,
        pool=pool,
        steps=steps,
        latency=LATENCY,  # type: ignore[arg-type]
        horizon_s=300,
        warm_up_s=0,
        **kwargs,
    )  # type: ignore[arg-type]


def _new_connection_share(results: asyncflow.Results) -> float:
    done = results.requests.outcome == 1
    return float(np.mean(results.requests.phases()["handshake"][done] > 0))


@pytest.mark.parametrize(
    "steps", [(io(0.05),), (cpu(0.001), io(0.05))], ids=["io_only", "cpu_then_io"]
)
def test_keep_alive_saves_the_handshake_of_reused_connections(
    steps: tuple[dict[str, object], ...],
) -> None:
    """Same seed, same requests, same work: the two runs differ by handshakes and core waits.

    Per request completed in both runs every other phase is identical, and
    the latency gap is exactly the handshake saved plus the change in the
    wait for a core. With I/O only there is no core to wait for, so the mean
    gap is the cost of a handshake times the share of reused connections.
    With a CPU step, reused connections reach the server a round trip
    earlier and the core's queue (2% busy) changes a little: by 1e-6 s on
    average here, 0.014% of the gap.
    """
    kept = asyncflow.run(_pooled(True, steps=steps), seed=1)
    fresh = asyncflow.run(_pooled(False, steps=steps), seed=1)
    k, f = kept.requests, fresh.requests
    np.testing.assert_array_equal(k.generated_s, f.generated_s)
    both = (k.outcome == 1) & (f.outcome == 1)
    assert both.mean() > 0.99
    kept_phases, fresh_phases = k.phases(), f.phases()
    for name in ("network", "connection_wait", "ram_wait", "cpu", "io"):
        np.testing.assert_array_equal(kept_phases[name][both], fresh_phases[name][both], name)
    handshake = 2 * LATENCY  # one round trip
    assert _new_connection_share(fresh) == 1.0
    new = kept_phases["handshake"][both] > 0
    assert 0.0 < new.mean() < 0.5
    for phases in (kept_phases["handshake"][both][new], fresh_phases["handshake"][both]):
        np.testing.assert_allclose(phases, handshake, rtol=1e-6)
    gap = ((f.finished_s - f.generated_s) - (k.finished_s - k.generated_s))[both]
    core = (fresh_phases["cpu_wait"] - kept_phases["cpu_wait"])[both]
    np.testing.assert_allclose(gap, handshake * ~new + core, rtol=0, atol=1e-7)
    if len(steps) == 1:
        assert not core.any()
        assert gap.mean() == pytest.approx(handshake * (1.0 - new.mean()), rel=1e-9)
    else:
        assert core.any()


def test_tls_adds_round_trips_and_server_cpu_on_new_connections() -> None:
    tls = {"round_trips": 1, "cpu_s": 0.002}
    results = asyncflow.run(_pooled(False, tls=tls), seed=2)
    phases = results.requests.phases()
    done = results.requests.outcome == 1
    assert np.allclose(phases["handshake"][done], 2 * (2 * LATENCY))
    assert np.allclose(phases["cpu"][done], 0.001 + 0.002)
    kept = asyncflow.run(_pooled(True, tls=tls), seed=2)
    kept_phases = kept.requests.phases()
    new = kept_phases["handshake"] > 0
    reused = (kept.requests.outcome == 1) & ~new
    assert np.allclose(kept_phases["cpu"][reused], 0.001)
    assert np.allclose(kept_phases["cpu"][new & (kept.requests.outcome == 1)], 0.003)


def test_idle_connections_hold_sockets_until_their_timeout() -> None:
    """Traffic stops at 100 s: pooled connections close 0.3 s after their last use."""
    scenario = single_server(
        20,
        pool={"keep_alive": True, "pool_size": 5, "idle_timeout_s": 0.3},
        steps=(io(0.05),),
        horizon_s=120,
        warm_up_s=0,
    )
    data = scenario.model_dump(exclude_none=True)
    data["rqs_input"]["users_profile"] = [
        {"t_s": 0, "users": 20},
        {"t_s": 100, "users": 20},
        {"t_s": 100, "users": 0},
    ]
    simulation = Simulation(asyncflow.parse_scenario(data), seed=3)
    results = simulation.run()
    series = results.series("connections", "srv-1")
    busy = series.t < 95
    assert series.mean[busy].mean() > 0.5
    late = series.t >= 101
    assert np.all(series.max[late] == 0)
    assert simulation.servers["srv-1"].listener is not None
    assert simulation.servers["srv-1"].listener.open == 0


def test_connection_memory_counts_against_ram_and_limits_sockets() -> None:
    """RAM for 4 connections (256 KB each in 1 MB), no backlog: the fifth is refused."""
    scenario = single_server(
        8.0,
        limits={"connection_memory_kb": 256},
        ram_mb=1,
        horizon_s=3_000,
        warm_up_s=0,
    )
    results = asyncflow.run(scenario, seed=4)
    summary = results.summary()["servers"]["srv-1"]
    assert summary["connections_max"] == 4
    assert summary["connection_memory_mb_max"] == 1.0
    assert summary["ram_in_use_mb_max"] == 1.0
    assert summary["refused"] > 0
    refused = results.summary()["requests"]["failed_by_reason"]["connection_refused"]
    assert refused == summary["refused"]
    # The request table says which server refused them.
    r = results.requests
    assert set(r.server[r.outcome == r.reason_names.index("connection_refused")].tolist()) == {0}


def test_backlog_wait_is_its_own_phase() -> None:
    """One socket held exactly 1 s, a backlog of 50: each wait is the Lindley recursion.

    First come, first served with a fixed holding time, so the wait of each
    request is W_k = max(0, W_(k-1) + 1 s - A_k), A_k the gap since the
    previous arrival (every request takes the same 1 µs hop to the server).
    The mean against M/D/1/K theory is in test_connection_theory.py.
    """
    scenario = single_server(
        0.9,
        limits={"max_connections": 1, "listen_backlog": 50},
        steps=(io(deterministic(1.0)),),
        horizon_s=2_000,
        warm_up_s=0,
    )
    r = asyncflow.run(scenario, seed=5).requests
    assert set(np.unique(r.outcome).tolist()) <= {0, 1}  # nothing refused
    order = np.argsort(r.generated_s, kind="stable")
    gaps = np.diff(r.generated_s[order])
    waits = np.zeros(order.size)
    for k in range(1, order.size):
        waits[k] = max(0.0, waits[k - 1] + 1.0 - gaps[k - 1])
    done = r.outcome[order] == 1
    phases = {name: values[order] for name, values in r.phases().items()}
    # Phases are float32: about 3e-6 s of rounding on a wait of 50 s.
    np.testing.assert_allclose(phases["connection_wait"][done], waits[done], rtol=0, atol=1e-5)
    assert waits[done].mean() > 1.0
    assert phases["ram_wait"].max() == 0


def test_balancer_sockets_exhaust_under_a_spike_then_recover() -> None:
    profile = [(0, 100), (100, 100), (100, 600), (160, 600), (160, 100)]
    scenario = balanced(
        100,
        lb_resources={"max_connections": 20, "listen_backlog": 30},
        horizon_s=300,
        profile=profile,
    )
    results = asyncflow.run(scenario, seed=6)
    summary = results.summary()
    lb = summary["load_balancers"]["lb-1"]
    assert lb["connections_max"] == 20
    assert lb["backlog_max"] == 30
    assert lb["refused"] > 0
    r = results.requests
    code = r.reason_names.index("connection_refused")
    refused_at = r.finished_s[r.outcome == code]
    assert refused_at.min() >= 100
    assert refused_at.max() <= 165
    # Before the spike and well after it nothing waits; during it latency rises.
    latency = results.latency_over_time(bin_s=10)
    p50 = latency.values[50]
    before = np.nanmax(p50[latency.t < 90])
    assert np.nanmax(p50[(latency.t >= 110) & (latency.t < 160)]) > 2 * before
    assert np.nanmax(p50[latency.t >= 200]) < 1.5 * before


def test_least_connection_counts_open_connections_when_modelled() -> None:
    scenario = balanced(
        50, server_limits={"max_connections": 100}, algorithm="least_connection", horizon_s=60
    )
    simulation = Simulation(scenario, seed=7)
    results = simulation.run()
    server = simulation.servers["srv-1"]
    assert server.listener is not None
    assert server.connections == server.listener.active <= server.listener.open
    shares = np.bincount(results.requests.server[results.requests.server >= 0])
    assert abs(shares[0] - shares[1]) < 0.1 * shares.sum()


def test_crash_closes_connections_and_fails_the_backlog() -> None:
    data = single_server(
        5.0,
        limits={"max_connections": 2, "listen_backlog": 20},
        horizon_s=200,
        warm_up_s=0,
    ).model_dump(exclude_none=True)
    data["topology_graph"]["nodes"]["servers"][0]["server_resources"]["cpu_cores"] = 1
    data["events"] = [
        {
            "event_id": "down",
            "target_id": "srv-1",
            "start": {"kind": "server_down", "t_start": 100},
            "end": {"kind": "server_up", "t_end": 110},
        }
    ]
    simulation = Simulation(asyncflow.parse_scenario(data), seed=8)
    results = simulation.run()
    series = results.series("connections", "srv-1")
    during = (series.t >= 100) & (series.t + series.bin_s <= 110)
    assert np.all(series.max[during] == 0)
    backlog = results.series("backlog", "srv-1")
    assert np.all(backlog.max[during] == 0)
    failed = results.summary()["requests"]["failed_by_reason"]
    assert failed["server_down"] > 10
