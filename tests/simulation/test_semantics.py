"""Request semantics: outages, drops, workload shape, warm-up, balancing, endpoints."""

from __future__ import annotations

import numpy as np
import pytest

import asyncflow
from asyncflow.scenario import Scenario, ScenarioBuilder
from asyncflow.scenario.builder import cpu, deterministic, endpoint, exponential, io, ram
from asyncflow.simulation import Simulation

COMPLETED = 1


def _single(
    *,
    users: float = 10,
    rpm: float = 60,
    steps: tuple[dict[str, object], ...] = (cpu(0.001), ram(100), io(0.5)),
    horizon: float = 60,
    latency: float = 0.001,
    dropout: float = 0.0,
    outage: tuple[float, float] | None = None,
    warm_up: float = 0.0,
    profile: list[tuple[float, float]] | None = None,
    window: float = 60.0,
) -> Scenario:
    builder = (
        ScenarioBuilder("single")
        .workload(
            users=users,
            requests_per_minute=rpm,
            distribution="deterministic",
            users_profile=profile,
            sampling_window_s=window,
        )
        .client()
        .server("srv-1", ram_mb=1000, endpoints=[endpoint("/a", *steps)])
        .wire(latency=latency, dropout_rate=dropout)
        .settings(horizon_s=horizon, warm_up_s=warm_up)
    )
    if outage is not None:
        builder.outage("srv-1", start=outage[0], end=outage[1])
    return builder.build()


def _reason_count(results: asyncflow.Results, reason: str) -> int:
    return results.summary()["requests"]["failed_by_reason"].get(reason, 0)


def test_outage_fails_requests_inside_and_arriving_then_recovers() -> None:
    results = asyncflow.run(_single(outage=(20.0, 30.0)), seed=1)
    r = results.requests
    down = r.outcome == r.reason_names.index("server_down")
    # Inside at 20 s (about 10 rps x 0.5 s = 5 of them) fail at 20 s, and the
    # client learns it one hop later (the broken connection crosses back);
    # the others that fail arrived while the server was down.
    at_crash = down & (r.finished_s == 20.0 + 0.001)
    assert 1 <= np.count_nonzero(at_crash) <= 15
    assert np.all((r.finished_s[down] > 20.0) & (r.finished_s[down] <= 30.0 + 0.001))
    assert np.count_nonzero(down) == pytest.approx(10 * 10, rel=0.3)
    # Before and after the window requests complete normally.
    ok = r.outcome == COMPLETED
    assert np.any(ok & (r.generated_s > 31.0))
    assert not np.any(ok & (r.generated_s > 20.5) & (r.generated_s < 29.5))
    # The crash empties the server: RAM falls to 0 during the outage.
    ram_series = results.series("ram_in_use_mb", "srv-1")
    inside_outage = (ram_series.t >= 20.0) & (ram_series.t + ram_series.bin_s <= 30.0)
    assert np.all(ram_series.max[inside_outage] == 0.0)


def test_balancer_with_every_server_down_fails_requests() -> None:
    scenario = (
        ScenarioBuilder("lb-down")
        .workload(users=10, requests_per_minute=60, distribution="deterministic")
        .client()
        .server("srv-1", endpoints=[endpoint("/a", cpu(0.001))])
        .server("srv-2", endpoints=[endpoint("/a", cpu(0.001))])
        .load_balancer("lb-1", servers=["srv-1", "srv-2"])
        .wire(latency=0.001)
        .outage("srv-1", start=10, end=20)
        .outage("srv-2", start=15, end=25)
        .settings(horizon_s=40)
        .build()
    )
    results = asyncflow.run(scenario, seed=2)
    r = results.requests
    down = r.outcome == r.reason_names.index("server_down")
    # Only while both are down (15-20 s) is nobody there: about 10 rps x 5 s.
    assert np.count_nonzero(down) == pytest.approx(50, abs=25)
    assert np.all((r.generated_s[down] > 14.9) & (r.generated_s[down] < 20.1))
    ok = (r.outcome == COMPLETED) & (r.generated_s > 10.1) & (r.generated_s < 14.9)
    assert set(r.server[ok].tolist()) == {1}


def test_drops_on_every_hop_are_recorded() -> None:
    results = asyncflow.run(_single(users=10, dropout=0.2, horizon=1000), seed=3)
    summary = results.summary()["requests"]
    n = summary["generated"] - summary["in_flight"]
    dropped = _reason_count(results, "network_drop")
    expected = 1 - 0.8**3  # three hops: generator-client, client-server, server-client
    assert abs(dropped / n - expected) <= 5 * np.sqrt(expected * (1 - expected) / n)
    assert summary["completed"] + dropped + summary["in_flight"] == summary["generated"]


def test_low_rates_lose_no_time_at_window_boundaries() -> None:
    """One user sending one request a minute, 60-s windows: 0.1 lost time at each
    boundary and compressed arrivals; here the count is Poisson with mean t/60."""
    results = asyncflow.run(_single(users=1, rpm=1, horizon=60_000), seed=4)
    expected = 1_000
    assert abs(len(results.requests) - expected) <= 5 * np.sqrt(expected)
    gaps = np.diff(results.requests.generated_s)
    assert gaps.mean() == pytest.approx(60.0, rel=0.2)


def test_users_profile_doubles_the_rate() -> None:
    scenario = _single(users=100, horizon=600, profile=[(0, 100), (300, 100), (300, 200)])
    results = asyncflow.run(scenario, seed=5)
    gen = results.requests.generated_s
    first, second = np.count_nonzero(gen < 300), np.count_nonzero(gen >= 300)
    assert abs(first - 30_000) <= 5 * np.sqrt(30_000)
    assert abs(second - 60_000) <= 5 * np.sqrt(60_000)


def test_linear_profile_ramps_the_rate() -> None:
    scenario = _single(users=0, horizon=100, profile=[(0, 0), (100, 200)], window=10)
    gen = asyncflow.run(scenario, seed=6).requests.generated_s
    # Rate 2t per second: 10 000 arrivals, a quarter of them in the first half.
    assert abs(gen.size - 10_000) <= 5 * np.sqrt(10_000)
    assert np.count_nonzero(gen < 50) / gen.size == pytest.approx(0.25, abs=0.02)


def test_warm_up_leaves_early_requests_out_of_latency() -> None:
    scenario = _single(horizon=60, warm_up=30)
    results = asyncflow.run(scenario, seed=7)
    r = results.requests
    assert results.latencies().size == np.count_nonzero(
        (r.outcome == COMPLETED) & (r.generated_s >= 30)
    )
    # Counts still cover the whole run.
    assert results.summary()["requests"]["generated"] == len(r)


def test_requests_finishing_after_the_horizon_are_in_flight() -> None:
    results = asyncflow.run(_single(horizon=10, steps=(io(3.0),)), seed=8)
    r = results.requests
    assert np.all(r.outcome[r.generated_s > 7.01] == 0)
    assert np.all(r.outcome[r.generated_s < 6.99] == COMPLETED)


def _two_servers(algorithm: str, weights: dict[str, float] | None = None) -> Scenario:
    return (
        ScenarioBuilder("two")
        .workload(users=20, requests_per_minute=60, distribution="deterministic")
        .client()
        .server("fast", endpoints=[endpoint("/a", cpu(exponential(0.01)))])
        .server("slow", endpoints=[endpoint("/a", cpu(exponential(0.08)))])
        .load_balancer("lb-1", servers=["fast", "slow"], algorithm=algorithm, weights=weights)
        .wire(latency=0.001)
        .settings(horizon_s=300)
        .build()
    )


def _shares(results: asyncflow.Results) -> np.ndarray:
    r = results.requests
    counts = np.bincount(r.server[r.server >= 0], minlength=2)
    return counts / counts.sum()


def test_round_robin_splits_evenly_and_least_connection_favours_the_fast_server() -> None:
    rr = _shares(asyncflow.run(_two_servers("round_robin"), seed=9))
    assert rr[0] == pytest.approx(0.5, abs=0.001)
    lc = _shares(asyncflow.run(_two_servers("least_connection"), seed=9))
    p2 = _shares(asyncflow.run(_two_servers("power_of_two_choices"), seed=9))
    assert lc[0] > 0.6
    assert p2[0] > 0.6
    rnd = _shares(asyncflow.run(_two_servers("random"), seed=9))
    assert rnd[0] == pytest.approx(0.5, abs=0.03)


def test_weighted_round_robin_follows_the_weights() -> None:
    shares = _shares(
        asyncflow.run(_two_servers("weighted_round_robin", {"fast": 3, "slow": 1}), seed=10)
    )
    assert shares[0] == pytest.approx(0.75, abs=0.001)


def test_endpoint_weights_select_endpoints() -> None:
    scenario = (
        ScenarioBuilder("endpoints")
        .workload(users=50, requests_per_minute=60, distribution="deterministic")
        .client()
        .server(
            "srv-1",
            endpoints=[endpoint("/a", cpu(0.001), weight=1), endpoint("/b", io(0.01), weight=3)],
        )
        .wire(latency=0.001)
        .settings(horizon_s=200)
        .build()
    )
    results = asyncflow.run(scenario, seed=11)
    r = results.requests
    chosen = r.endpoint[r.endpoint >= 0]
    share_b = np.count_nonzero(chosen == 1) / chosen.size
    assert abs(share_b - 0.75) <= 5 * np.sqrt(0.75 * 0.25 / chosen.size)
    frame = results.to_pandas()
    assert set(frame["endpoint"].dropna().unique()) == {"/a", "/b"}


def test_ram_queue_is_fifo_and_visible() -> None:
    """RAM for 2 requests; deterministic arrivals burst: the third waits, in order."""
    scenario = _single(users=100, steps=(ram(500), io(deterministic(1.0))), horizon=20)
    simulation = Simulation(scenario, seed=12)
    results = simulation.run()
    server = results.summary()["servers"]["srv-1"]
    assert server["ram_in_use_mb_max"] == 1000
    assert server["ram_wait_queue_mean"] > 1
    r = results.requests
    done = r.outcome == COMPLETED
    # FIFO admission: completion order follows generation order.
    order = np.argsort(r.generated_s[done], kind="stable")
    assert np.all(np.diff(r.finished_s[done][order]) >= 0)
