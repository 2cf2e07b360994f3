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
    LIMIT_GID,
    plot_latency_distribution,
    plot_server_cores,
    plot_server_queues,
    plot_server_ram,
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


def test_histogram_counts_every_measured_latency_up_to_its_cut(lb_results: Results) -> None:
    ax = plot_latency_distribution(lb_results, new_ax())

    latencies_ms = lb_results.latencies() * 1000
    heights = sum(patch.get_height() for patch in ax.patches)
    upper = np.percentile(latencies_ms, 99.9)
    if latencies_ms.max() <= 1.05 * upper:
        upper = latencies_ms.max()
    assert heights == np.count_nonzero(latencies_ms <= upper) > 1000


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
    cores = plot_server_cores(lb_results, new_ax(), "srv-2")
    ram = plot_server_ram(lb_results, new_ax(), "srv-2")

    ready = next(
        line for line in queues.get_lines() if line.get_label() == "ready queue (bin mean)"
    )
    np.testing.assert_allclose(
        ready.get_ydata()[:-1], lb_results.series("ready_queue", "srv-2").mean
    )
    assert limits(cores) == {"cpu_cores 1": 1.0}
    assert limits(ram) == {"ram_mb 2048": 2048.0}
    top = max(line.get_ydata().max() for line in ram.get_lines() if "bin max" in line.get_label())
    assert top == lb_results.series("ram_in_use_mb", "srv-2").max.max()
    assert ram.get_ylim()[1] >= 2048.0


def limits(ax: Any) -> dict[str, float]:
    return {
        line.get_label(): float(line.get_ydata()[0])
        for line in ax.get_lines()
        if line.get_gid() == LIMIT_GID
    }


def test_dashboard_of_two_servers(lb_results: Results) -> None:
    figure = build_dashboard(lb_results)

    titles = {ax.get_title() for ax in figure.axes}
    assert {"srv-1: queues", "srv-2: queues", "Throughput and errors"} <= titles
    assert figure.get_suptitle().startswith("lb-short · seed 4 · 60 s simulated · warm-up 5 s")
