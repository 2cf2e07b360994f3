"""PNG pages of a run whose ids hold markup, math signs and control characters."""

from __future__ import annotations

from pathlib import Path

from hostile import HOSTILE, hostile_results

from asyncflow.report.dashboard import build_node_page, write_dashboard, write_node_pages
from asyncflow.report.safe import mpl_text
from asyncflow.results import Results

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_dashboard_and_node_pages_are_written(lb_run: Results, tmp_path: Path) -> None:
    results = hostile_results(lb_run)
    written = [write_dashboard(results, tmp_path / "dashboard.png")]
    written += write_node_pages(results, tmp_path / "nodes")

    assert len(written) == 1 + 2 + len(results.edge_ids)
    for path in written:
        assert path.read_bytes()[:8] == PNG_SIGNATURE
        assert path.parent in (tmp_path, tmp_path / "nodes")


def test_math_signs_in_ids_are_shown_as_written(lb_run: Results) -> None:
    results = hostile_results(lb_run)
    edge = HOSTILE["srv1-client"]
    figure = build_node_page(results, edge)
    figure.canvas.draw()
    titles = [ax.get_title() for ax in figure.axes]
    labels = [t.get_text() for ax in figure.axes for t in ax.texts]

    assert titles[0] == f"{mpl_text(edge)}: requests in transit"
    assert mpl_text(edge) == r"\$\frac{\$ back"
    assert f" {mpl_text(HOSTILE['ev-spike-3'])}" in labels
    assert all("\x1b" not in label for label in labels)
