"""Per-node PNG pages and the new charts, drawn from a real run."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from matplotlib.figure import Figure
from report_fakes import FakeResults

from asyncflow.analysis.attribution import hop_edges
from asyncflow.metrics.phases import HOP_SLOTS
from asyncflow.report import charts
from asyncflow.report.charts import (
    breakdown_rows,
    cdf_points,
    plot_latency_cdf,
    plot_levels,
    plot_phase_breakdown,
)
from asyncflow.report.dashboard import build_node_page, write_node_pages
from asyncflow.report.labels import metric_words
from asyncflow.report.plots import FAULT_GID
from asyncflow.results import Results
from asyncflow.simulation import Simulation

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def new_ax() -> Any:
    return Figure().add_subplot()


def test_a_page_per_server_and_edge(lb_run: Results, tmp_path: Path) -> None:
    written = write_node_pages(lb_run, tmp_path / "nodes")

    names = [path.name for path in written]
    assert names[:2] == ["server-srv-1.png", "server-srv-2.png"]
    assert names[2:] == [f"edge-{edge}.png" for edge in lb_run.edge_ids]
    for path in written:
        assert path.read_bytes()[:8] == PNG_SIGNATURE


def test_server_page_shows_every_level_and_marks_events(lb_run: Results) -> None:
    figure = build_node_page(lb_run, "srv-1")
    titles = [ax.get_title() for ax in figure.axes]

    assert "srv-1: queues" in titles
    assert "srv-1: busy cores" in titles
    assert "srv-1: RAM in use" in titles
    assert "srv-1: where the time goes by endpoint" in titles
    levels = next(ax for ax in figure.axes if ax.get_title() == "srv-1: requests in I/O")
    assert sum(p.get_gid() == FAULT_GID for p in levels.patches) == len(lb_run.fault_windows)


def test_edge_page_and_unknown_node(lb_run: Results) -> None:
    figure = build_node_page(lb_run, "client-lb")

    assert [ax.get_title() for ax in figure.axes] == [
        "client-lb: requests in transit",
        "client-lb: time on the edge",
    ]
    with pytest.raises(KeyError, match="no server, edge or load balancer 'nope'"):
        build_node_page(lb_run, "nope")


@pytest.mark.parametrize("chunk", [128, 500, 1 << 16])
def test_hop_histogram_made_a_part_at_a_time_is_numpys_of_the_whole(
    lb_run: Results, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    monkeypatch.setattr(charts, "_EDGE_CHUNK", chunk)
    whole = np.concatenate(  # client-lb is crossed on the way to either server: two paths
        [
            np.asarray(lb_run.requests.slot(HOP_SLOTS[j])[lb_run.path_rows(w, i)], dtype=float)
            for (w, i), path in hop_edges(lb_run).items()
            for j, edge in enumerate(path)
            if edge == "client-lb"
        ]
    )
    assert whole.size > 3 * 500
    np.testing.assert_array_equal(charts.edge_durations(lb_run, "client-lb"), whole)

    ax = charts.plot_hop_durations(lb_run, new_ax(), "client-lb")

    reference = new_ax()  # the bars of every value binned at once
    reference.hist(whole * 1000.0, bins=50)
    assert len(ax.patches) == 50
    for bar, expected in zip(ax.patches, reference.patches, strict=True):
        assert bar.get_bbox().bounds == expected.get_bbox().bounds
    mean_line = next(line for line in ax.get_lines() if line.get_label() == "mean")
    assert mean_line.get_xdata()[0] == (whole * 1000.0).mean()


def test_hop_histogram_without_phases_is_of_zeros(lb_run: Results) -> None:
    bare = Simulation(lb_run.scenario, 4, record_phases=False).run()
    assert bare.requests.kept == ()

    times = charts.edge_durations(bare, "client-lb")
    ax = charts.plot_hop_durations(bare, new_ax(), "client-lb")

    assert times.size == charts.edge_durations(lb_run, "client-lb").size
    assert not times.any()
    assert sum(p.get_height() for p in ax.patches) == times.size


def test_levels_chart_draws_whatever_a_node_records(lb_run: Results) -> None:
    ax = plot_levels(lb_run, new_ax(), "srv-2")

    labels = {line.get_label() for line in ax.get_lines()}
    for metric in lb_run.level_metrics("srv-2"):
        assert f"{metric_words(metric)} (bin mean)" in labels
        assert f"{metric_words(metric)} (bin max)" in labels


def test_breakdown_bars_stack_to_the_mean_latency(lb_run: Results) -> None:
    ax = plot_phase_breakdown(lb_run, new_ax())
    rows = breakdown_rows(lb_run)

    assert [label for label, _ in rows] == ["all requests", "≥ p95", "≥ p99"]
    widths: dict[float, float] = {}
    for patch in ax.patches:
        widths[patch.get_y()] = widths.get(patch.get_y(), 0.0) + patch.get_width()
    top = max(widths)  # first row is drawn highest
    assert widths[top] == pytest.approx(float(lb_run.latencies().mean()) * 1000, rel=1e-4)


def test_cdf_is_monotone_and_reaches_one(lb_run: Results) -> None:
    values, fractions = cdf_points(lb_run.latencies())

    assert np.all(np.diff(values) >= 0)
    assert fractions[0] == 0.0
    assert fractions[-1] == 1.0
    ax = plot_latency_cdf(lb_run, new_ax())
    wide = values[-1] >= 10 * values[0]
    assert ax.get_xscale() == ("log" if wide else "linear")


@pytest.mark.parametrize("sigma", [0.5, 1.5, 3.0])
def test_cdf_ticks_are_plain_ms_that_never_overlap(sigma: float) -> None:
    sample = np.random.default_rng(5).lognormal(np.log(0.05), sigma, 50_000)
    figure = Figure(figsize=(7.5, 3.4))
    ax = plot_latency_cdf(FakeResults(latency_sample=sample), figure.add_subplot())
    figure.canvas.draw()
    shown = [t for t in ax.get_xticklabels() if t.get_text()]
    boxes = [t.get_window_extent() for t in shown]

    assert ax.get_xscale() == "log"
    assert len(shown) >= 3
    for text in shown:
        assert text.get_text().replace(",", "").replace(".", "").isdigit(), text.get_text()
    for left, right in itertools.pairwise(sorted(boxes, key=lambda b: b.x0)):
        assert left.x1 < right.x0
