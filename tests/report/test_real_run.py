"""Charts and dashboard drawn from a real (short) run of a bundled example."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from matplotlib.figure import Figure

import asyncflow
from asyncflow.report.dashboard import build_dashboard
from asyncflow.report.plots import (
    FAULT_GID,
    plot_latency_distribution,
    plot_server_queues,
    plot_server_resources,
    plot_throughput,
)
from asyncflow.results import Results

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "asyncflow-0.1" / "event_inj_lb.yml"


@pytest.fixture(scope="module")
def lb_results() -> Results:
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    data["sim_settings"]["total_simulation_time"] = 60.0
    data["sim_settings"]["warm_up_s"] = 5.0
    for event in data["events"]:
        event["start"]["t_start"] /= 10.0
        event["end"]["t_end"] /= 10.0
    scenario = asyncflow.parse_scenario(data, name="lb-short")
    return asyncflow.run(scenario, seed=4)


def new_ax() -> Any:
    return Figure().add_subplot()


def test_histogram_counts_every_measured_latency(lb_results: Results) -> None:
    ax = plot_latency_distribution(lb_results, new_ax())

    heights = sum(patch.get_height() for patch in ax.patches)
    assert heights == lb_results.latencies().size > 1000


def test_fault_spans_match_the_scenario_events(lb_results: Results) -> None:
    ax = plot_throughput(lb_results, new_ax())

    spans = [p for p in ax.patches if p.get_gid() == FAULT_GID]
    assert len(spans) == len(lb_results.scenario.events) == 5
    starts = sorted(span.get_x() for span in spans)
    assert starts == pytest.approx([10.0, 18.0, 30.0, 36.0, 48.0])


def test_throughput_line_matches_results(lb_results: Results) -> None:
    ax = plot_throughput(lb_results, new_ax())

    line = next(line for line in ax.get_lines() if line.get_label() == "completed")
    np.testing.assert_allclose(line.get_ydata()[:-1], lb_results.throughput().completed)


def test_server_panels_use_the_server_series_and_capacity(lb_results: Results) -> None:
    queues = plot_server_queues(lb_results, new_ax(), "srv-2")
    resources = plot_server_resources(lb_results, new_ax(), "srv-2")

    ready = next(line for line in queues.get_lines() if line.get_label() == "ready queue (mean)")
    np.testing.assert_allclose(
        ready.get_ydata()[:-1], lb_results.series("ready_queue", "srv-2").mean
    )
    assert resources.get_ylabel() == "busy cores (of 1)"
    twin = resources.figure.axes[1]
    assert twin.get_ylabel() == "RAM in use (MB of 2048)"


def test_dashboard_of_two_servers(lb_results: Results) -> None:
    figure = build_dashboard(lb_results)

    titles = {ax.get_title() for ax in figure.axes}
    assert {"srv-1: queues", "srv-2: queues", "Throughput and errors"} <= titles
    assert figure.get_suptitle().startswith("lb-short · seed 4 · 60 s simulated · warm-up 5 s")
