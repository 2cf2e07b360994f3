"""Time series and request tables as CSV and Parquet."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest

import asyncflow.results as results_module
from asyncflow.report.tables import (
    timeseries_columns,
    write_requests_parquet,
    write_timeseries_csv,
    write_timeseries_parquet,
)
from asyncflow.results import Results

pq = pytest.importorskip("pyarrow.parquet", reason="Parquet export needs the parquet extra")


def test_every_level_and_rate_is_a_column(lb_run: Results) -> None:
    columns = timeseries_columns(lb_run)
    sizes = {values.size for values in columns.values()}

    assert len(sizes) == 1
    for node in (*lb_run.server_ids, *lb_run.edge_ids):
        for metric in lb_run.level_metrics(node):
            np.testing.assert_allclose(
                columns[f"{node}.{metric}.mean"], lb_run.series(metric, node).mean
            )
            assert f"{node}.{metric}.max" in columns
    np.testing.assert_allclose(columns["completed_rps"], lb_run.throughput().completed)
    for reason in lb_run.requests.reason_names[2:]:
        assert f"failed_rps.{reason}" in columns
    assert {"t_s", "bin_s", "latency_p50_s", "latency_p95_s", "latency_p99_s"} <= set(columns)


def test_csv_has_a_header_and_one_row_per_bin(lb_run: Results, tmp_path: Path) -> None:
    path = write_timeseries_csv(lb_run, tmp_path / "series.csv")
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    columns = timeseries_columns(lb_run)

    assert rows[0] == list(columns)
    assert len(rows) == 1 + columns["t_s"].size
    p99 = rows[0].index("latency_p99_s")
    for row, value in zip(rows[1:], columns["latency_p99_s"], strict=True):
        assert (row[p99] == "") == math.isnan(value)


@pytest.mark.parametrize("chunk", [7, 1000])
def test_request_csv_made_a_chunk_at_a_time_is_the_whole_table(
    lb_run: Results, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    whole = tmp_path / "whole.csv"
    monkeypatch.setattr(results_module, "CSV_CHUNK_ROWS", len(lb_run.requests) + 1)
    lb_run.write_csv(whole)
    monkeypatch.setattr(results_module, "CSV_CHUNK_ROWS", chunk)
    lb_run.write_csv(tmp_path / "parts.csv")

    assert (tmp_path / "parts.csv").read_bytes() == whole.read_bytes()
    with whole.open(encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert len(rows) == 1 + len(lb_run.requests)
    assert [int(row[0]) for row in rows[1:]] == list(range(len(lb_run.requests)))


def test_timeseries_parquet_matches_the_columns(lb_run: Results, tmp_path: Path) -> None:
    table = pq.read_table(write_timeseries_parquet(lb_run, tmp_path / "series.parquet"))
    columns = timeseries_columns(lb_run)

    assert table.column_names == list(columns)
    np.testing.assert_allclose(table.column("completed_rps").to_numpy(), columns["completed_rps"])


def test_request_parquet_matches_the_csv_table(lb_run: Results, tmp_path: Path) -> None:
    pytest.importorskip("pandas")
    frame = pq.read_table(write_requests_parquet(lb_run, tmp_path / "requests.parquet")).to_pandas()
    expected = lb_run.to_pandas()

    assert list(frame.columns) == list(expected.columns)
    assert len(frame) == len(lb_run.requests)
    for column in ("outcome", "reason", "server", "endpoint"):
        left = frame[column].astype(object).where(frame[column].notna(), None)
        right = expected[column].astype(object).where(expected[column].notna(), None)
        assert left.tolist() == right.tolist(), column
    np.testing.assert_allclose(frame["ram_wait_s"], expected["ram_wait_s"])
    assert frame["finished_s"].isna().sum() == np.count_nonzero(lb_run.requests.outcome == 0)


def test_failed_requests_keep_their_reason_in_parquet(
    minimal_scenario_with_drops: Results, tmp_path: Path
) -> None:
    frame = pq.read_table(
        write_requests_parquet(minimal_scenario_with_drops, tmp_path / "r.parquet")
    ).to_pandas()
    failed = frame[frame["outcome"] == "failed"]

    assert len(failed) > 0
    assert set(failed["reason"].astype(str)) == {"network_drop"}
    assert frame.loc[frame["outcome"] == "completed", "reason"].isna().all()
    expected = minimal_scenario_with_drops.to_pandas()
    assert frame["server"].isna().sum() == expected["server"].isna().sum()
