"""The request log stores only the columns a scenario needs."""

from __future__ import annotations

import numpy as np
import pytest

from asyncflow.metrics.requests import Reasons, RequestLog, SparseColumn
from asyncflow.scenario import Scenario, ScenarioBuilder
from asyncflow.scenario.builder import cpu, endpoint, exponential
from asyncflow.simulation import Simulation, expected_requests, run


def _log() -> RequestLog:
    return RequestLog(Reasons(), ())


def test_one_workload_stores_no_column_and_reads_zeros() -> None:
    log = _log()
    log.open_block(np.array([0.5, 1.0, 1.5]), 0)
    log.open_block(np.array([2.0]), 0)
    assert len(log.workload) == 0
    column = log.columns()["workload"]
    assert column.tolist() == [0, 0, 0, 0]
    assert column.strides == (0,)
    assert not column.flags.writeable


def test_a_second_workload_stores_the_column_with_the_rows_before() -> None:
    log = _log()
    log.open_block(np.array([0.5, 1.0]), 0)
    log.open_block(np.array([1.5]), 2)
    log.open_block(np.array([2.0, 2.5]), 0)
    assert log.columns()["workload"].tolist() == [0, 0, 2, 0, 0]
    assert len(log.workload) == 5


def test_sparse_column_keeps_written_rows_only_and_the_last_write_wins() -> None:
    column = SparseColumn()
    column[7] = 3
    column[2] = 1
    column[7] = 4
    rows, values = column.pairs()
    assert rows.tolist() == [2, 7]
    assert values.tolist() == [1, 4]
    assert column.dense(9).tolist() == [-1, -1, 1, -1, -1, -1, -1, 4, -1]
    assert column.dense(5).tolist() == [-1, -1, 1, -1, -1]
    assert SparseColumn().dense(3).tolist() == [-1, -1, -1]


def test_failures_of_a_log_are_rows_and_places() -> None:
    log = _log()
    log.open_block(np.array([0.5, 1.0, 1.5, 2.0]), 0)
    log.failed_at[3] = log.place_code("edge-1")
    log.failed_at[1] = log.place_code("srv-1")
    rows, places = log.failures()
    assert rows.tolist() == [1, 3]
    assert [log.places[p] for p in places.tolist()] == ["srv-1", "edge-1"]


def _lossy(dropout_rate: float) -> Scenario:
    return (
        ScenarioBuilder("lossy")
        .workload(users=20, requests_per_minute=60)
        .client()
        .server("srv-1", endpoints=[endpoint("/api", cpu(0.001))])
        .wire(latency=exponential(0.002), dropout_rate=dropout_rate)
        .settings(horizon_s=60, seed=3)
        .build()
    )


def test_a_run_without_failures_reads_a_column_of_minus_ones() -> None:
    r = run(_lossy(0.0)).requests
    assert r.failed_rows.size == 0
    assert r.failed_at.strides == (0,)
    assert r.failed_at.tolist() == [-1] * len(r)


def test_a_run_with_failures_keeps_their_rows_and_places() -> None:
    results = run(_lossy(0.05))
    r = results.requests
    failed = np.flatnonzero(r.outcome > 1)
    assert failed.size > 0
    assert r.failed_rows.tolist() == failed.tolist()
    column = r.failed_at
    assert np.all(column[r.outcome <= 1] == -1)
    assert {results.places[p] for p in column[failed].tolist()} <= set(results.edge_ids)
    assert column[failed].tolist() == r.failed_places.tolist()


def test_columns_reserved_ahead_of_the_rows_do_not_grow_and_trim_to_them() -> None:
    log = RequestLog(Reasons(), (0, 3))
    log.reserve(25_000)
    lengths = set()
    for block in range(400):
        times = np.arange(block * 64, (block + 1) * 64, dtype=np.float64)
        assert log.open_block(times, 0) == block * 64
        lengths.add(len(log.generated))
        assert len(log.generated) >= len(log) == (block + 1) * 64
    # 25,600 rows opened 64 at a time: no growth within the reserve, then
    # just the rows each block needs.
    assert sorted(lengths) == [25_000] + [64 * k for k in range(391, 401)]
    log.reserve(26_000)
    assert len(log.generated) > len(log)  # rows ahead, holding a free row's values
    ahead = np.frombuffer(log.finished)[len(log) :]
    assert np.isnan(ahead).all()
    assert (np.frombuffer(log.server, dtype=np.int16)[len(log) :] == -1).all()
    columns = log.columns()
    assert {c.size for c in columns.values()} == {len(log)}
    assert columns["generated_s"].tolist() == list(range(len(log)))
    assert log.phases.view().shape == (len(log), 2)
    del columns, ahead  # a view held keeps its column as it is
    log.trim()
    assert len(log.generated) == len(log.finished) == len(log.outcome) == len(log)
    assert len(log.server) == len(log.endpoint) == len(log)
    assert len(log.phases.buffer) == 4 * 2 * len(log)


def test_a_run_reserves_the_rows_it_expects_and_ends_with_exactly_its_rows() -> None:
    scenario = _lossy(0.0)
    simulation = Simulation(scenario, seed=3)
    log = simulation.ctx.log
    expected = expected_requests(scenario)
    assert expected == pytest.approx(20 * 60 / 60 * 60)  # 20 users, 1 request/s each, 60 s
    assert len(log) == 0
    width = 4 * len(log.phases.kept)
    assert len(log.generated) == int(expected) == len(log.phases.buffer) // width
    simulation.advance(simulation.end_s)
    simulation.finish()
    assert len(log.generated) == len(log.finished) == len(log.outcome) == len(log)
    assert len(log.phases.buffer) == width * len(log)
    table = simulation.results(0.0).requests
    assert table.generated_s.size == len(log)
    assert (np.diff(table.generated_s) >= 0).all()
