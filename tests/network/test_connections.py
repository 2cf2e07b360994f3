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


def test_keep_alive_saves_the_handshake_of_reused_connections() -> None:
    """Mean latency difference = handshake cost x share of new connections saved.

    I/O only (no queue for a core), same seed: the two runs differ only by the
    handshakes, so the identity holds on the requests completed in both.
    """
    kept = asyncflow.run(_pooled(True, steps=(io(0.05),)), seed=1)
    fresh = asyncflow.run(_pooled(False, steps=(io(0.05),)), seed=1)
    assert _new_connection_share(fresh) == 1.0
    share_new = _new_connection_share(kept)
    assert 0.0 < share_new < 0.5
    handshake = 2 * LATENCY
    both = (kept.requests.outcome == 1) & (fresh.requests.outcome == 1)
    latency_kept = (kept.requests.finished_s - kept.requests.generated_s)[both]
    latency_fresh = (fresh.requests.finished_s - fresh.requests.generated_s)[both]
    new = kept.requests.phases()["handshake"][both] > 0
    difference = latency_fresh.mean() - latency_kept.mean()
    assert difference == pytest.approx(handshake * (1.0 - new.mean()), rel=1e-9)
    # With a core to share, arrivals shift and queueing changes a little: still close.
    kept_cpu, fresh_cpu = (
        asyncflow.run(_pooled(True), seed=1),
        asyncflow.run(_pooled(False), seed=1),
    )
    share = _new_connection_share(kept_cpu)
    gap = fresh_cpu.latencies().mean() - kept_cpu.latencies().mean()
    assert gap == pytest.approx(handshake * (1.0 - share), rel=0.01)
    # Each handshake is exactly one round trip here.
    phases = kept.requests.phases()["handshake"]
    assert set(np.round(phases[phases > 0], 9).tolist()) == {round(handshake, 9)}


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
    scenario = single_server(
        0.9,
        limits={"max_connections": 1, "listen_backlog": 50},
        steps=(io(deterministic(1.0)),),
        horizon_s=2_000,
    )
    results = asyncflow.run(scenario, seed=5)
    phases = results.requests.phases()
    done = results.requests.outcome == 1
    assert phases["connection_wait"][done].mean() > 1.0
    assert phases["ram_wait"][done].max() == 0
    # M/D/1 wait at rho = 0.9: 0.9 * 1 / (2 * 0.1) = 4.5 s.
    assert phases["connection_wait"][done].mean() == pytest.approx(4.5, rel=0.35)


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
