"""Reports of a run: charts, PNG dashboard and node pages, HTML report, traces, tables.

Reports only read :class:`~asyncflow.results.Results`; nothing in the engine
imports this package. matplotlib is imported when a chart is drawn, not when
this package is imported.
"""

from asyncflow.report.console import print_summary, summary_renderable
from asyncflow.report.dashboard import (
    build_dashboard,
    build_node_page,
    write_dashboard,
    write_node_pages,
)
from asyncflow.report.html import write_html_report
from asyncflow.report.plots import (
    plot_connections,
    plot_latency_distribution,
    plot_latency_percentiles,
    plot_server_cores,
    plot_server_queues,
    plot_server_ram,
    plot_throughput,
    shade_fault_windows,
)
from asyncflow.report.tables import (
    write_requests_parquet,
    write_timeseries_csv,
    write_timeseries_parquet,
)
from asyncflow.report.trace import write_trace

__all__ = [
    "build_dashboard",
    "build_node_page",
    "plot_connections",
    "plot_latency_distribution",
    "plot_latency_percentiles",
    "plot_server_cores",
    "plot_server_queues",
    "plot_server_ram",
    "plot_throughput",
    "print_summary",
    "shade_fault_windows",
    "summary_renderable",
    "write_dashboard",
    "write_html_report",
    "write_node_pages",
    "write_requests_parquet",
    "write_timeseries_csv",
    "write_timeseries_parquet",
    "write_trace",
]
