"""Replications on a real Dask cluster (local, two worker processes)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from experiment_scenarios import small

from asyncflow.experiment import replicate

distributed = pytest.importorskip(
    "distributed", reason="Dask is an optional extra: pip install 'asyncflow[dask]'"
)


@pytest.fixture(scope="module")
def client() -> Iterator[object]:
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            host="127.0.0.1",
        ) as cluster,
        distributed.Client(cluster) as dask_client,
    ):
        yield dask_client


def test_a_dask_cluster_gives_the_same_ensemble_as_this_process(client: object) -> None:
    here = replicate(small(), runs=4, seed=8, jobs=1)
    on_dask = replicate(small(), runs=4, seed=8, executor=client)
    assert on_dask.seeds == here.seeds
    for path in here.figures:
        np.testing.assert_array_equal(on_dask.values(path), here.values(path))
    np.testing.assert_array_equal(on_dask.series("throughput_rps"), here.series("throughput_rps"))


def test_its_concurrent_futures_executor_works_too(client: object) -> None:
    executor = client.get_executor(pure=False)  # type: ignore[attr-defined]
    ensemble = replicate(small(), runs=3, seed=8, executor=executor, precision=0.5, max_runs=6)
    assert ensemble.seeds[:3] == replicate(small(), runs=3, seed=8, jobs=1).seeds


def test_a_sweep_on_dask_is_the_sweep_made_here(client: object) -> None:
    from asyncflow.experiment import sweep

    grid = {"rqs_input.avg_active_users.mean": [20, 60]}
    here = sweep(small(), grid, runs=2, seed=3, jobs=1, slo=["latency_s.p95<1"])
    on_dask = sweep(small(), grid, runs=2, seed=3, executor=client, slo=["latency_s.p95<1"])
    for a, b in zip(here.points, on_dask.points, strict=True):
        assert a.values == b.values
        assert a.ensemble.seeds == b.ensemble.seeds
        np.testing.assert_array_equal(
            a.ensemble.values("latency_s.p95"), b.ensemble.values("latency_s.p95")
        )
        assert a.passed == b.passed


def test_the_sweep_command_runs_on_a_scheduler(client: object, tmp_path: object) -> None:
    import json
    from pathlib import Path

    import yaml
    from typer.testing import CliRunner

    from asyncflow.cli import app
    from asyncflow.scenario.overrides import scenario_data

    folder = Path(str(tmp_path))
    scenario = folder / "small.yml"
    scenario.write_text(yaml.safe_dump(scenario_data(small())), encoding="utf-8")
    out = folder / "s.json"
    address = client.scheduler.address  # type: ignore[attr-defined]
    result = CliRunner().invoke(
        app,
        [
            "sweep",
            str(scenario),
            "--param",
            "rqs_input.avg_active_users.mean",
            "--values",
            "20,60",
            "--runs",
            "2",
            "--dask",
            address,
            "-q",
            "--summary-json",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    points = json.loads(out.read_text(encoding="utf-8"))["points"]
    assert [p["values"]["rqs_input.avg_active_users.mean"] for p in points] == [20, 60]
