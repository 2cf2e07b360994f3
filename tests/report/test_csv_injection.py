"""CSV writers neutralise text that a spreadsheet would run as a formula."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from hostile import HOSTILE, hostile_results

from asyncflow.report import tables
from asyncflow.report.tables import timeseries_columns, write_timeseries_csv
from asyncflow.results import Results
from asyncflow.tabular import csv_text

DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("srv-1", "srv-1"),
        ("a.b", "a.b"),
        ("", ""),
        ("1=1", "1=1"),
    ],
)
def test_csv_text(text: str, written: str) -> None:
    assert csv_text(text) == written


def read(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


@pytest.fixture(scope="module")
def hostile(lb_run: Results) -> Results:
    return hostile_results(lb_run)


def test_request_csv_neutralises_ids_and_keeps_numbers(hostile: Results, tmp_path: Path) -> None:
    hostile.write_csv(tmp_path / "requests.csv")
    rows = read(tmp_path / "requests.csv")
    header, body = rows[0], rows[1:]
    server, endpoint = header.index("server"), header.index("endpoint")

    assert {row[server] for row in body} >= {"'" + HOSTILE["srv-1"], HOSTILE["srv-2"]}
    assert {row[endpoint] for row in body if row[endpoint]} == {"'" + HOSTILE["/api"]}
    for row in body:
        for cell in (row[server], row[endpoint]):
            assert not cell.startswith(DANGEROUS)
    # numbers stay numbers: every numeric cell parses as a float
    latency = header.index("latency_s")
    assert all(float(row[latency]) > 0 for row in body if row[latency])


def test_timeseries_header_is_neutralised(hostile: Results, tmp_path: Path) -> None:
    path = write_timeseries_csv(hostile, tmp_path / "timeseries.csv")
    header = read(path)[0]

    assert len(header) == len(timeseries_columns(hostile))
    assert "'" + HOSTILE["gen-client"] + ".in_transit.mean" in header
    assert "'" + HOSTILE["lb-srv1"] + ".in_transit.max" in header
    assert "'" + HOSTILE["srv-1"] + ".busy_cores.mean" in header
    assert not [name for name in header if name.startswith(DANGEROUS)]


def test_negative_numbers_stay_numbers_in_the_timeseries(
    tmp_path: Path, lb_run: Results, monkeypatch: pytest.MonkeyPatch
) -> None:
    columns = {"t_s": np.array([0.0, 1.0]), "=x": np.array([-1.5, np.nan])}
    monkeypatch.setattr(tables, "timeseries_columns", lambda _: columns)
    rows = read(write_timeseries_csv(lb_run, tmp_path / "timeseries.csv"))

    assert rows == [["t_s", "'=x"], ["0.0", "-1.5"], ["1.0", ""]]
