from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from matplotlib.figure import Figure
from report_fakes import FakeResults

from asyncflow.report.plots import (
    FAULT_GID,
    WARM_UP_GID,
    plot_latency_distribution,
    plot_latency_percentiles,
    plot_server_queues,
    plot_server_resources,
    plot_throughput,
)


def spans(ax: Any, gid: str = FAULT_GID) -> list[Any]:
    return [patch for patch in ax.patches if patch.get_gid() == gid]


def labels(ax: Any) -> dict[str, Any]:
    return {line.get_label(): line for line in ax.get_lines()}


def texts(ax: Any) -> list[str]:
    return [text.get_text().strip() for text in ax.texts]


def test_latency_distribution_draws_histogram_and_percentile_markers(
    fake_results: FakeResults, ax: Any
) -> None:
    plot_latency_distribution(fake_results, ax, bins=40)

    bars = [patch for patch in ax.patches if patch.get_gid() is None]
    assert len(bars) == 40
    assert sum(bar.get_height() for bar in bars) == pytest.approx(fake_results.latencies().size)
    expected = np.percentile(fake_results.latencies() * 1000, [50, 95, 99])
    markers = [line for line in ax.get_lines() if line.get_label().startswith("p")]
    assert [line.get_label().split()[0] for line in markers] == ["p50", "p95", "p99"]
    assert [line.get_xdata()[0] for line in markers] == pytest.approx(expected)
    assert ax.get_xlabel() == "latency (ms)"


def test_latency_distribution_clips_a_far_tail_and_reports_the_max(ax: Any) -> None:
    sample = np.concatenate([np.full(999, 0.010), [1.0]])
    plot_latency_distribution(FakeResults(latency_sample=sample), ax)

    assert ax.get_xlim()[1] < 100.0
    assert any("max 1000.0 ms" in text for text in texts(ax))


def test_latency_distribution_without_completed_requests_says_so(ax: Any) -> None:
    plot_latency_distribution(FakeResults(latency_sample=np.array([])), ax)

    assert not ax.patches
    assert "no completed requests" in texts(ax)


def test_latency_percentiles_are_step_lines_in_ms(fake_results: FakeResults, ax: Any) -> None:
    plot_latency_percentiles(fake_results, ax)

    lines = labels(ax)
    assert set(lines) >= {"p50", "p95", "p99"}
    y = lines["p95"].get_ydata()
    assert y[0] == pytest.approx(95.0)
    # one step per bin plus the closing edge at the horizon
    x = lines["p95"].get_xdata()
    assert x[0] == 0.0
    assert x[-1] == pytest.approx(fake_results.end_s)
    assert np.isnan(lines["p50"].get_ydata()[3])


def test_throughput_has_completed_and_one_line_per_failure_reason(
    fake_results: FakeResults, ax: Any
) -> None:
    plot_throughput(fake_results, ax)

    lines = labels(ax)
    assert lines["completed"].get_ydata()[0] == pytest.approx(40.0)
    assert max(lines["failed: server_down"].get_ydata()) == pytest.approx(3.0)
    assert ax.get_ylabel() == "requests / s"


def test_server_queues_draw_mean_and_max_of_both_queues(fake_results: FakeResults, ax: Any) -> None:
    plot_server_queues(fake_results, ax, "srv-1")

    lines = labels(ax)
    assert set(lines) >= {
        "ready queue (mean)",
        "ready queue (max)",
        "RAM wait queue (mean)",
        "RAM wait queue (max)",
    }
    assert lines["ready queue (max)"].get_alpha() < 1.0
    assert "srv-1" in ax.get_title()


def test_server_resources_put_ram_on_a_twin_axis(fake_results: FakeResults) -> None:
    figure = Figure()
    ax = figure.add_subplot()
    returned = plot_server_resources(fake_results, ax, "srv-1")

    assert returned is ax
    assert len(figure.axes) == 2
    twin = figure.axes[1]
    assert "busy cores" in labels(ax)
    assert "RAM in use (MB)" in labels(twin)
    assert twin.get_ylabel() == "RAM in use (MB)"


def test_unknown_server_is_not_silently_drawn(fake_results: FakeResults, ax: Any) -> None:
    with pytest.raises(KeyError):
        plot_server_queues(fake_results, ax, "srv-9")


@pytest.mark.parametrize(
    "draw",
    [
        lambda r, ax: plot_latency_percentiles(r, ax),
        lambda r, ax: plot_throughput(r, ax),
        lambda r, ax: plot_server_queues(r, ax, "srv-1"),
        lambda r, ax: plot_server_resources(r, ax, "srv-1"),
    ],
    ids=["percentiles", "throughput", "queues", "resources"],
)
def test_every_chart_over_time_shades_and_labels_each_fault_window(
    draw: Any, fake_results: FakeResults, ax: Any
) -> None:
    draw(fake_results, ax)

    shaded = spans(ax)
    assert len(shaded) == len(fake_results.fault_windows)
    for span, window in zip(shaded, fake_results.fault_windows, strict=True):
        x0, x1 = span.get_x(), span.get_x() + span.get_width()
        assert (x0, x1) == pytest.approx((window.start_s, window.end_s))
    assert {w.event_id for w in fake_results.fault_windows} <= set(texts(ax))
    assert len(spans(ax, WARM_UP_GID)) == 1
    assert ax.get_xlim() == pytest.approx((0.0, fake_results.end_s))


def test_no_fault_window_no_span(ax: Any) -> None:
    plot_throughput(FakeResults(warm_up_s=0.0), ax)

    assert not ax.patches
