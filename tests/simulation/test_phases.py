"""Per-request phases: they add up to the latency of every completed request."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import asyncflow
from asyncflow.scenario import ScenarioBuilder
from asyncflow.scenario.builder import cpu, deterministic, endpoint


@pytest.mark.parametrize(
    "name", ["two_servers_lb.yml", "heavy_inj_single_server.yml", "event_inj_lb.yml"]
)
def test_phases_add_up_to_latency_on_every_request(examples_dir: Path, name: str) -> None:
    results = asyncflow.run(examples_dir / name, seed=3)
    r = results.requests
    done = r.outcome == 1
    total = sum(results.requests.phases().values())
    latency = r.finished_s - r.generated_s
    # float32 phases: a relative error of ~1e-7 each.
    np.testing.assert_allclose(total[done], latency[done], rtol=1e-5, atol=1e-6)
    for values in r.phases().values():
        assert np.all(values >= 0.0)


def test_heavy_example_waits_for_ram_and_cores(examples_dir: Path) -> None:
    results = asyncflow.run(examples_dir / "heavy_inj_single_server.yml", seed=1)
    phases = results.requests.phases()
    done = results.requests.outcome == 1
    assert phases["ram_wait"][done].mean() > 0.01
    assert phases["cpu_wait"][done].mean() > 0.0005
    assert phases["io"][done].mean() == pytest.approx(0.2, rel=1e-6)
    assert phases["cpu"][done].mean() == pytest.approx(0.005, rel=1e-6)


def test_table_has_phase_columns(examples_dir: Path) -> None:
    frame = asyncflow.run(examples_dir / "single_server.yml", seed=1).to_pandas()
    for column in ("network_s", "ram_wait_s", "cpu_wait_s", "cpu_s", "io_s"):
        assert column in frame.columns
    done = frame[frame["outcome"] == "completed"]
    parts = done[["network_s", "ram_wait_s", "cpu_wait_s", "cpu_s", "io_s"]].sum(axis=1)
    np.testing.assert_allclose(parts, done["latency_s"], rtol=1e-5, atol=1e-6)


def test_failed_requests_record_the_time_they_spent_not_the_time_planned() -> None:
    """A crash cuts CPU short and fails those queued: phases say what was spent."""
    scenario = (
        ScenarioBuilder("crash")
        .workload(users=6, requests_per_minute=1, distribution="deterministic")
        .client()
        .server("srv-1", cpu_cores=1, endpoints=[endpoint("/slow", cpu(deterministic(30.0)))])
        .wire(latency=deterministic(0.001))
        .outage("srv-1", start=20.0, end=21.0)
        .settings(horizon_s=60, seed=1)
        .build()
    )
    results = asyncflow.run(scenario)
    r = results.requests
    failed = r.outcome >= 2
    assert failed.sum() >= 2
    phases = r.phases()
    # The crash at 20 s reaches the client one hop (1 ms) later.
    at_crash = failed & (r.finished_s == 20.0 + 0.001)
    # Whoever held the core spent (20 - its start) on it, the others waited until 20.
    cpu_time = phases["cpu"][at_crash]
    waited = phases["cpu_wait"][at_crash]
    assert np.all(cpu_time < 20.0 + 1e-6)
    assert np.count_nonzero(cpu_time > 0) == 1
    # hops of 1 ms: workload to client, client to server, the error back
    np.testing.assert_allclose(
        cpu_time + waited, 20.0 - 0.002 - r.generated_s[at_crash], rtol=1e-6
    )
    np.testing.assert_allclose(phases["network"][at_crash], 0.003, rtol=1e-4)

