"""Reports of a call tree: time by node along the critical path, every balancer drawn."""

from __future__ import annotations

import numpy as np
import pytest

import asyncflow
from asyncflow.analysis.attribution import measured_mask
from asyncflow.report.charts import node_breakdown_rows
from asyncflow.report.dashboard import build_dashboard, write_node_pages
from asyncflow.report.tables import timeseries_columns
from asyncflow.results import Results
from asyncflow.scenario import ScenarioBuilder
from asyncflow.scenario.builder import call, cpu, endpoint, exponential, io

SOCKETS = {"ram_mb": 256, "max_connections": 64, "listen_backlog": 32}


@pytest.fixture(scope="module")
def tree() -> Results:
    """Client -> lb-api -> api-1/2 -> lb-back -> back-1/2, both balancers with sockets."""
    api = endpoint("/page", cpu(exponential(0.001)), call("lb-back", "/data"), cpu(0.0005))
    back = endpoint("/data", cpu(exponential(0.002)), io(exponential(0.008)))
    builder = (
        ScenarioBuilder("two tiers")
        .workload(users=30, requests_per_minute=60, target="lb-api")
        .client()
        .server("api-1", cpu_cores=2, endpoints=[api])
        .server("api-2", cpu_cores=2, endpoints=[api])
        .server("back-1", endpoints=[back])
        .server("back-2", endpoints=[back])
        .load_balancer("lb-api", servers=["api-1", "api-2"], resources=SOCKETS)
        .load_balancer("lb-back", servers=["back-1", "back-2"], resources=SOCKETS)
        .wire(latency=exponential(0.0005))
    )
    return asyncflow.run(builder.settings(horizon_s=60, seed=3).build())


def test_time_by_node_adds_up_to_the_mean_latency(tree: Results) -> None:
    rows = dict(node_breakdown_rows(tree))
    assert np.count_nonzero(measured_mask(tree)) == tree.latencies().size
    mean_latency = float(np.mean(tree.latencies()))
    total = sum(sum(phases.values()) for phases in rows.values())
    # phases are stored as float32: a relative error of 1e-4 is rounding, not a leak
    assert total == pytest.approx(mean_latency, rel=1e-4)
    assert set(rows) == {"api-1", "api-2", "back-1", "back-2", "network (all edges)"}
    # the backends do most of the work: 2 ms CPU + 8 ms I/O against 1.5 ms, split in two
    back = sum(rows["back-1"].values()) + sum(rows["back-2"].values())
    api = sum(rows["api-1"].values()) + sum(rows["api-2"].values())
    assert back == pytest.approx(0.010, rel=0.1)
    assert api == pytest.approx(0.0015, rel=0.1)
    assert rows["back-1"]["io"] > 0
    assert rows["api-1"].get("io", 0.0) == 0.0


def test_dashboard_draws_the_node_breakdown_and_every_balancer(tree: Results) -> None:
    titles = [ax.get_title() for ax in build_dashboard(tree).axes]
    assert "Where the time goes, by node (critical path)" in titles
    for lb in ("lb-api", "lb-back"):
        assert any(title.startswith(f"{lb}: connections") for title in titles), titles


def test_node_pages_and_timeseries_cover_both_balancers(tree: Results, tmp_path: object) -> None:
    from pathlib import Path

    written = {p.name for p in write_node_pages(tree, Path(str(tmp_path)))}
    assert {"load_balancer-lb-api.png", "load_balancer-lb-back.png"} <= written
    columns = timeseries_columns(tree)
    for lb in ("lb-api", "lb-back"):
        assert f"{lb}.connections.mean" in columns


def test_html_report_has_the_node_breakdown(tree: Results) -> None:
    from asyncflow.report import interactive

    figure = interactive.breakdown_figure(tree, "node")
    bars = {
        trace["name"]: dict(zip(trace["y"], trace["x"], strict=True)) for trace in figure["data"]
    }
    rows = dict(node_breakdown_rows(tree))
    assert bars["I/O"]["back-1"] == pytest.approx(rows["back-1"]["io"] * 1000)
    assert figure["layout"]["title"]["text"] == "Where the time goes by node (critical path)"


def test_terminal_lists_the_calls_each_server_served(tree: Results) -> None:
    from rich.console import Console

    from asyncflow.report.console import print_summary

    console = Console(width=120, record=True)
    print_summary(tree, console)
    text = console.export_text()
    calls = text[text.index("Calls (served") :]
    row = next(line for line in calls.splitlines() if line.strip().startswith("back-1"))
    served = tree.summary()["servers"]["back-1"]["calls"]["served"]
    assert f"{served:,}" in row
    # one workload: no workloads table
    assert "Workloads" not in text
