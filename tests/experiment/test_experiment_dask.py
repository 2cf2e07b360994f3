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
