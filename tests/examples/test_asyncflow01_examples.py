"""The five AsyncFlow 0.1 example scenarios: they load, run and make sense.

Mean latency must equal the sum of the pipeline's means (edges, CPU, I/O)
plus the CPU wait, which at these loads is at most the M/D/1 wait of the
busiest server: a tight band (a fraction of a millisecond), far narrower than
any modelling mistake (a lost hop or step moves it by milliseconds).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import asyncflow
from asyncflow.results import Results

SEEDS = (1, 2)


def _run(examples_dir: Path, name: str, seed: int = 1) -> Results:
    return asyncflow.run(examples_dir / name, seed=seed)


def _standard_error(latencies: np.ndarray) -> float:
    return float(latencies.std(ddof=1) / np.sqrt(latencies.size))


def _md1_wait(rate: float, service_s: float) -> float:
    rho = rate * service_s
    return rho * service_s / (2 * (1 - rho))


def _mean_latency_between(results: Results, start: float, end: float) -> float:
    r = results.requests
    mask = (r.outcome == 1) & (r.generated_s >= start) & (r.generated_s < end)
    return float((r.finished_s[mask] - r.generated_s[mask]).mean())


@pytest.mark.parametrize(
    ("name", "pipeline_s", "rate", "cpu_s"),
    [
        ("single_server.yml", 0.003 + 0.003 + 0.001 + 0.100 + 0.003, 100 * 20 / 60, 0.001),
        (
            "two_servers_lb.yml",
            0.003 + 0.002 + 0.002 + 0.002 + 0.012 + 0.003,
            400 * 20 / 60 / 2,
            0.002,
        ),
    ],
)
@pytest.mark.parametrize("seed", SEEDS)
def test_mean_latency_is_the_sum_of_the_pipeline(
    examples_dir: Path, name: str, pipeline_s: float, rate: float, cpu_s: float, seed: int
) -> None:
    results = _run(examples_dir, name, seed)
    latencies = results.latencies()
    slack = 4 * _standard_error(latencies)
    # Users are Poisson-distributed per window: allow 20% above the mean rate for the wait.
    upper = pipeline_s + _md1_wait(1.2 * rate, cpu_s) + slack
    assert pipeline_s - slack <= latencies.mean() <= upper
    assert upper - (pipeline_s - slack) < 0.001  # the band is under a millisecond wide
    summary = results.summary()["requests"]
    assert summary["failed"] == 0
    assert summary["completed"] + summary["in_flight"] == summary["generated"]


def test_expected_latencies_of_the_issue(examples_dir: Path) -> None:
    assert _run(examples_dir, "single_server.yml").summary()["latency_s"]["mean"] == pytest.approx(
        0.110, rel=0.01
    )
    assert _run(examples_dir, "two_servers_lb.yml").summary()["latency_s"]["mean"] == pytest.approx(
        0.024, rel=0.02
    )


def test_single_server_spike_adds_two_seconds_inside_its_window(examples_dir: Path) -> None:
    results = _run(examples_dir, "event_inj_single_server.yml")
    # The spike (+2 s on client-to-server, 120-240 s) applies to requests sent in it.
    before = _mean_latency_between(results, 10, 110)
    during = _mean_latency_between(results, 125, 235)
    after = _mean_latency_between(results, 250, 490)
    assert before == pytest.approx(0.110, abs=0.002)
    assert during == pytest.approx(2.110, abs=0.002)
    assert after == pytest.approx(0.110, abs=0.002)


def test_load_balancer_events_change_latency_and_routing(examples_dir: Path) -> None:
    results = _run(examples_dir, "event_inj_lb.yml")
    r = results.requests
    baseline = _mean_latency_between(results, 10, 95)
    assert baseline == pytest.approx(0.024, abs=0.001)
    # +15 ms on client-lb, 100-160 s: every request pays it.
    assert _mean_latency_between(results, 102, 158) - baseline == pytest.approx(0.015, abs=0.001)
    # srv-1 down 180-240 s: everything that completes goes through srv-2.
    window = (r.generated_s > 181) & (r.generated_s < 239) & (r.outcome == 1)
    assert set(r.server[window].tolist()) == {1}
    # +20 ms on lb-srv2, 300-360 s: half the requests pay it.
    assert _mean_latency_between(results, 302, 358) - baseline == pytest.approx(0.010, abs=0.002)
    # srv-2 down 360-420 s: everything goes through srv-1.
    window = (r.generated_s > 361) & (r.generated_s < 419) & (r.outcome == 1)
    assert set(r.server[window].tolist()) == {0}
    # +10 ms on gen-client, 480-540 s.
    assert _mean_latency_between(results, 482, 538) - baseline == pytest.approx(0.010, abs=0.001)
    # A few requests were inside or on their way to a server when it went down.
    failed = results.summary()["requests"]["failed_by_reason"]
    assert set(failed) <= {"server_down"}


def test_heavy_example_shows_the_ram_wait_queue(examples_dir: Path) -> None:
    """0.1 never showed it: its RAM wait queue dwarfs the ready queue."""
    results = _run(examples_dir, "heavy_inj_single_server.yml")
    server = results.summary()["servers"]["srv-1"]
    assert server["ram_wait_queue_max"] > 100
    assert server["ready_queue_max"] < 30
    assert server["ram_in_use_mb_max"] == 8000
    assert _mean_latency_between(results, 190, 290) > 3.0


@pytest.mark.parametrize(
    "name",
    [
        "single_server.yml",
        "two_servers_lb.yml",
        "event_inj_single_server.yml",
        "event_inj_lb.yml",
        "heavy_inj_single_server.yml",
    ],
)
def test_every_example_runs_with_consistent_counts(examples_dir: Path, name: str) -> None:
    results = _run(examples_dir, name)
    requests = results.summary()["requests"]
    assert (
        requests["generated"] == requests["completed"] + requests["failed"] + requests["in_flight"]
    )
    assert requests["completed"] > 10_000
