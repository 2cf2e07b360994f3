"""Every time series of a run as one table: CSV, or Parquet with the extra.

One row per bin of ``Results.bin_s``; columns:

- ``t_s``: start of the bin, ``bin_s``: its width;
- ``<node>.<metric>.mean`` and ``<node>.<metric>.max`` for every level of
  every server, load balancer and edge (whatever ``level_metrics`` returns);
- ``completed_rps`` and ``failed_rps.<reason>`` for every failure reason the
  run can produce, by finish time;
- ``latency_p50_s``, ``latency_p95_s``, ``latency_p99_s`` of the requests
  completed in the bin (empty / null when none).

The request table has its own writers: ``Results.write_csv`` and
``Results.write_parquet``; :func:`write_requests_parquet` is the latter.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from asyncflow.tabular import csv_text, import_pyarrow

if TYPE_CHECKING:
    from os import PathLike

    from asyncflow.results import Results

__all__ = [
    "timeseries_columns",
    "write_requests_parquet",
    "write_timeseries_csv",
    "write_timeseries_parquet",
]

_PERCENTILES = (50, 95, 99)


def timeseries_columns(results: Results) -> dict[str, np.ndarray]:
    """Return every time series of a run as columns of equal length.

    Args:
        results: The run.

    Returns:
        Column name to a float array, one value per bin, in the order given
        in the module docstring.
    """
    rates = results.throughput()
    t = np.asarray(rates.t, dtype=float)
    columns: dict[str, np.ndarray] = {"t_s": t, "bin_s": np.full(t.size, rates.bin_s)}
    nodes = [*results.server_ids, *results.load_balancer_ids, *results.edge_ids]
    for node in nodes:
        for metric in results.level_metrics(node):
            level = results.series(metric, node)
            columns[f"{node}.{metric}.mean"] = np.asarray(level.mean, dtype=float)
            columns[f"{node}.{metric}.max"] = np.asarray(level.max, dtype=float)
    columns["completed_rps"] = np.asarray(rates.completed, dtype=float)
    for reason, values in rates.failed.items():
        columns[f"failed_rps.{reason}"] = np.asarray(values, dtype=float)
    latency = results.latency_over_time(percentiles=_PERCENTILES)
    for pct in _PERCENTILES:
        columns[f"latency_p{pct}_s"] = np.asarray(latency.values[pct], dtype=float)
    return columns


def write_timeseries_csv(results: Results, path: str | PathLike[str]) -> Path:
    """Write every time series as CSV (an empty cell for a missing value).

    Column names built from node ids that a spreadsheet would run as a
    formula are neutralised (``asyncflow.tabular.csv_text``); the values are
    numbers and are written as they are.

    Args:
        results: The run.
        path: The file to write; its parent directory must exist.

    Returns:
        The path written.
    """
    target = Path(path)
    columns = timeseries_columns(results)
    with target.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([csv_text(name) for name in columns])
        for row in zip(*(c.tolist() for c in columns.values()), strict=True):
            writer.writerow(["" if math.isnan(v) else repr(v) for v in row])
    return target


def write_timeseries_parquet(results: Results, path: str | PathLike[str]) -> Path:
    """Write every time series as Parquet (needs ``pip install 'asyncflow[parquet]'``).

    Args:
        results: The run.
        path: The file to write; its parent directory must exist.

    Returns:
        The path written.
    """
    pa, pq = import_pyarrow()
    columns = timeseries_columns(results)
    table = pa.table({name: pa.array(values, from_pandas=True) for name, values in columns.items()})
    target = Path(path)
    pq.write_table(table, target)
    return target


def write_requests_parquet(results: Results, path: str | PathLike[str]) -> Path:
    """Write the request table with its phases as Parquet (``Results.write_parquet``).

    Args:
        results: The run.
        path: The file to write; its parent directory must exist.

    Returns:
        The path written.
    """
    target = Path(path)
    results.write_parquet(target)
    return target
