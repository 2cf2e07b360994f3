"""Drawing bands over time with event markers."""

from __future__ import annotations

from pathlib import Path

import pytest
from experiment_scenarios import small
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from asyncflow.experiment import Ensemble, replicate
from asyncflow.report.bands import (
    BAND_GID,
    ENVELOPE_GID,
    build_bands,
    mark_events,
    plot_band,
    write_bands,
)
from asyncflow.report.plots import FAULT_GID, WARM_UP_GID


@pytest.fixture(scope="module")
def ensemble() -> Ensemble:
    return replicate(small(), runs=3, jobs=1, warm_up=2.0)


def gids(ax: Axes, gid: str) -> int:
    return sum(1 for artist in ax.get_children() if artist.get_gid() == gid)


def test_plot_band_draws_mean_band_and_envelope(ensemble: Ensemble) -> None:
    ax = Figure().subplots()
    plot_band(ax, ensemble.band("throughput_rps"), label="mean", color="C0")
    assert gids(ax, BAND_GID) == 1
    assert gids(ax, ENVELOPE_GID) == 1
    (line,) = ax.get_lines()
    assert line.get_label() == "mean"
    assert len(line.get_xdata()) == ensemble.t.size + 1


def test_events_and_warm_up_are_marked(ensemble: Ensemble) -> None:
    ax = Figure().subplots()
    assert mark_events(ax, ensemble.fault_windows, ensemble.warm_up_s) == 1
    assert gids(ax, FAULT_GID) == 1
    assert gids(ax, WARM_UP_GID) == 1
    assert [t.get_text() for t in ax.texts] == [" down"]


def test_a_page_of_bands_for_one_ensemble_and_for_two(ensemble: Ensemble, tmp_path: Path) -> None:
    figure = build_bands(ensemble)
    titles = [ax.get_title() for ax in figure.axes if ax.get_visible()]
    assert titles[:3] == ["Throughput", "Latency percentiles (by finish time)", "Error rate"]
    assert "srv-1: ready queue" in titles
    latency = figure.axes[1]
    assert [line.get_label() for line in latency.get_lines()] == ["p50", "p95", "p99"]
    pair = build_bands([("A", ensemble), ("B", ensemble)])
    assert [line.get_label() for line in pair.axes[0].get_lines()] == ["A", "B"]
    path = write_bands(ensemble, tmp_path / "bands.png")
    assert path.read_bytes().startswith(b"\x89PNG")
    with pytest.raises(ValueError, match=r"^nothing to draw"):
        build_bands([])


def test_two_designs_use_both_horizons_and_both_fault_windows() -> None:
    """B runs longer and has its own outage: neither is cut nor left unshaded."""
    a = replicate(small("a", horizon_s=20.0), runs=2, jobs=1)
    b = replicate(small("b", horizon_s=40.0), runs=2, jobs=1)
    figure = build_bands([("A: a", a), ("B: b", b)])
    throughput, latency = figure.axes[0], figure.axes[1]
    assert throughput.get_xlim() == (0.0, 40.0)
    assert latency.get_title() == "Latency p95 (by finish time)"
    assert latency.get_ylabel() == "p95 latency (ms)"
    labels = sorted(t.get_text() for t in throughput.texts)
    assert labels == [" A: down", " B: down"]
    assert gids(throughput, FAULT_GID) == 2
    b_line = throughput.get_lines()[1]
    assert max(b_line.get_xdata()) == pytest.approx(40.0)


def test_a_window_shared_by_both_designs_is_shaded_once(ensemble: Ensemble) -> None:
    figure = build_bands([("A: x", ensemble), ("B: y", ensemble)])
    assert [t.get_text() for t in figure.axes[0].texts] == [" down"]
    assert gids(figure.axes[0], FAULT_GID) == 1


def test_names_with_dollar_signs_are_drawn_as_written(ensemble: Ensemble, tmp_path: Path) -> None:
    """Matplotlib reads $...$ as a formula; a user's name must not be parsed, nor crash."""
    pairs = [("A: $\\frac$", ensemble), ("B: cost $5", ensemble)]
    path = write_bands(pairs, tmp_path / "b.png")
    assert path.read_bytes().startswith(b"\x89PNG")
