"""Per-request phases: they add up to the latency of every completed request."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import asyncflow


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
