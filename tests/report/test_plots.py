from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from matplotlib.figure import Figure
from report_fakes import FakeResults

from asyncflow.report.plots import (
    FAULT_GID,
    LIMIT_GID,
    OVERFLOW_GID,
    WARM_UP_GID,
    plot_latency_distribution,
    plot_latency_percentiles,
    plot_server_cores,
    plot_server_queues,
    plot_server_ram,
    plot_throughput,
)


def spans(ax: Any, gid: str = FAULT_GID) -> list[Any]:
    return [patch for patch in ax.patches if patch.get_gid() == gid]


def labels(ax: Any) -> dict[str, Any]:
    return {line.get_label(): line for line in ax.get_lines()}


def texts(ax: Any) -> list[str]:
    return [text.get_text().strip() for text in ax.texts]


def legend_texts(ax: Any) -> list[str]:
    legend = ax.get_legend()
    return [] if legend is None else [text.get_text() for text in legend.get_texts()]


def bars(ax: Any) -> list[Any]:
    return [patch for patch in ax.patches if patch.get_gid() is None]


def beyond_note(ax: Any) -> str | None:
    notes = [line.get_label() for line in ax.get_lines() if line.get_gid() == OVERFLOW_GID]
    return notes[0] if notes else None


def test_latency_distribution_draws_histogram_and_percentile_markers(
    fake_results: FakeResults, ax: Any
) -> None:
    plot_latency_distribution(fake_results, ax, bins=40)

    latencies_ms = fake_results.latencies() * 1000
    upper = ax.get_xlim()[1]
    assert len(bars(ax)) == 40
    drawn = sum(bar.get_height() for bar in bars(ax))
    beyond = int(np.count_nonzero(latencies_ms > np.percentile(latencies_ms, 99.9)))
    assert drawn + beyond == latencies_ms.size
    assert ax.get_xscale() == "linear"
    assert upper < latencies_ms.max()
    expected = np.percentile(latencies_ms, [50, 95, 99])
    markers = [line for line in ax.get_lines() if line.get_label().startswith("p")]
    assert [line.get_label().split()[0] for line in markers] == ["p50", "p95", "p99"]
    assert [line.get_xdata()[0] for line in markers] == pytest.approx(expected)
    assert ax.get_xlabel() == "latency (ms)"


def test_latency_distribution_clips_a_far_tail_and_reports_the_max(ax: Any) -> None:
    sample = np.concatenate([np.full(999, 0.010), [1.0]])
    plot_latency_distribution(FakeResults(latency_sample=sample), ax)

    assert ax.get_xlim()[1] < 100.0
    note = beyond_note(ax)
    assert note is not None
    assert note.startswith("1 beyond p99.9 (")
    assert note.endswith("max 1,000.0 ms")
    assert note in legend_texts(ax)


def test_a_heavy_tail_gets_log_bins_and_plain_ticks(ax: Any) -> None:
    sample = np.random.default_rng(3).lognormal(np.log(0.005), 2.0, 20_000)
    plot_latency_distribution(FakeResults(latency_sample=sample), ax, bins=50)

    heights = np.array([bar.get_height() for bar in bars(ax)])
    assert ax.get_xscale() == "log"
    assert heights.max() < 0.1 * sample.size  # the body spreads over many bins
    assert np.count_nonzero(heights > 0.01 * sample.size) >= 20
    ax.figure.canvas.draw()
    labels = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert len(labels) >= 3
    assert all(label.replace(",", "").replace(".", "").isdigit() for label in labels), labels


def test_a_light_tail_keeps_every_request_and_a_linear_axis(ax: Any) -> None:
    sample = np.linspace(0.010, 0.020, 1000)
    plot_latency_distribution(FakeResults(latency_sample=sample), ax, bins=20)

    assert ax.get_xscale() == "linear"
    assert sum(bar.get_height() for bar in bars(ax)) == sample.size
    assert beyond_note(ax) is None


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
        "ready queue (bin mean)",
        "ready queue (bin max)",
        "RAM wait queue (bin mean)",
        "RAM wait queue (bin max)",
    }
    assert lines["ready queue (bin max)"].get_alpha() < 1.0
    assert "srv-1" in ax.get_title()


def test_cores_and_ram_have_their_own_axes_with_mean_and_max() -> None:
    results = FakeResults()
    figure = Figure()
    cores = plot_server_cores(results, figure.add_subplot(1, 2, 1), "srv-1")
    ram = plot_server_ram(results, figure.add_subplot(1, 2, 2), "srv-1")

    assert len(figure.axes) == 2  # no twin axes
    assert set(labels(cores)) == {"busy cores (bin mean)", "busy cores (bin max)"}
    assert set(labels(ram)) == {"RAM in use (bin mean)", "RAM in use (bin max)"}
    assert (cores.get_ylabel(), ram.get_ylabel()) == ("cores", "MB")
    assert ram.get_title() == "srv-1: RAM in use"
    # without a scenario there is no limit to draw
    assert not [line for line in ram.get_lines() if line.get_gid() == LIMIT_GID]


def test_unknown_server_is_not_silently_drawn(fake_results: FakeResults, ax: Any) -> None:
    with pytest.raises(KeyError):
        plot_server_queues(fake_results, ax, "srv-9")


@pytest.mark.parametrize(
    "draw",
    [
        lambda r, ax: plot_latency_percentiles(r, ax),
        lambda r, ax: plot_throughput(r, ax),
        lambda r, ax: plot_server_queues(r, ax, "srv-1"),
        lambda r, ax: plot_server_cores(r, ax, "srv-1"),
        lambda r, ax: plot_server_ram(r, ax, "srv-1"),
    ],
    ids=["percentiles", "throughput", "queues", "cores", "ram"],
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
