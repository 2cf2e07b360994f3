"""Reports of a run: charts, a PNG dashboard and a terminal summary.

Reports only read :class:`~asyncflow.results.Results`; nothing in the engine
imports this package. matplotlib is imported when a chart is drawn, not when
this package is imported.
"""

from asyncflow.report.console import print_summary, summary_renderable
from asyncflow.report.dashboard import build_dashboard, write_dashboard
from asyncflow.report.plots import (
    plot_latency_distribution,
    plot_latency_percentiles,
    plot_server_queues,
    plot_server_resources,
    plot_throughput,
    shade_fault_windows,
)

__all__ = [
    "build_dashboard",
    "plot_latency_distribution",
    "plot_latency_percentiles",
    "plot_server_queues",
    "plot_server_resources",
    "plot_throughput",
    "print_summary",
    "shade_fault_windows",
    "summary_renderable",
    "write_dashboard",
]
