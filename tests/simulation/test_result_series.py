"""Series and paths read a part of the requests at a time are those of whole columns."""

from __future__ import annotations

import numpy as np
import pytest

import asyncflow
import asyncflow.analysis.rows as rows_module
import asyncflow.results as results_module
from asyncflow.metrics.requests import COMPLETED
from asyncflow.results import Results
from asyncflow.scenario import ScenarioBuilder
from asyncflow.scenario.builder import cpu, endpoint, exponential, io


@pytest.fixture(scope="module")
def two_workloads() -> Results:
    builder = ScenarioBuilder("paths").client()
    builder.workload(users=40, requests_per_minute=60, id="a")
    builder.workload(users=10, requests_per_minute=60, id="b")
    api = [endpoint("/api", cpu(exponential(0.004)), io(0.01))]
    builder.load_balancer("lb-1", servers=["srv-1", "srv-2"])
    builder.server("srv-1", endpoints=api).server("srv-2", endpoints=api)
    builder.wire(latency=exponential(0.002), dropout_rate=0.01)
    return asyncflow.run(builder.settings(60, seed=5, warm_up_s=5, sample_period_s=1).build())


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(results_module, "SERIES_CHUNK_ROWS", 97)
    monkeypatch.setattr(rows_module, "CHUNK_ROWS", 89)


@pytest.mark.usefixtures("small_chunks")
def test_path_rows_are_a_stable_sort_by_path(two_workloads: Results) -> None:
    r = two_workloads.requests
    servers = len(two_workloads.server_ids)
    code = r.workload.astype(np.int64) * servers + r.server
    measured = (r.outcome == COMPLETED) & (r.generated_s >= two_workloads.warm_up_s)
    code[(r.server < 0) | ~measured] = -1
    order = np.argsort(code, kind="stable")
    seen = 0
    for w in range(2):
        for i in range(servers):
            rows = two_workloads.path_rows(w, i)
            assert rows.tolist() == order[code[order] == w * servers + i].tolist()
            seen += rows.size
    assert seen == int(np.count_nonzero(code >= 0)) > 0


@pytest.mark.usefixtures("small_chunks")
def test_throughput_and_latency_over_time_are_those_of_whole_columns(
    two_workloads: Results,
) -> None:
    r = two_workloads.requests
    width = 2.0
    t = np.arange(30) * width
    edges = np.append(t, two_workloads.end_s)
    rates = two_workloads.throughput(width)
    dropped = r.reason_names.index("network_drop")
    for code, got in [(COMPLETED, rates.completed), (dropped, rates.failed["network_drop"])]:
        want = np.histogram(r.finished_s[r.outcome == code], bins=edges)[0] / np.diff(edges)
        assert got.tolist() == want.tolist()
    done = r.outcome == COMPLETED
    finished, latency = r.finished_s[done], (r.finished_s - r.generated_s)[done]
    series = two_workloads.latency_over_time(width, percentiles=(50, 99))
    for j in range(t.size):
        inside = latency[(finished >= t[j]) & (finished < (edges[j + 1] if j < 29 else 1e9))]
        for p in (50, 99):
            assert series.values[p][j] == float(np.percentile(inside, p))
