"""HTML reports of replications, comparisons, sweeps and runs (theory); the sweep chart."""

from __future__ import annotations

import html
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from capacity_scenarios import queue

import asyncflow
from asyncflow.experiment import Objective, compare, replicate
from asyncflow.experiment.gates import check_ensemble
from asyncflow.experiment.sweep import Sweep, sweep
from asyncflow.report.experiment_html import (
    comparison_report,
    ensemble_report,
    sweep_report,
)
from asyncflow.report.html import html_report
from asyncflow.report.sweep_plot import FOUND_GID, KNEE_GID, build_sweep_chart
from asyncflow.scenario.builder import cpu, exponential
from asyncflow.scenario.overrides import Override, with_overrides

CHROMIUM = Path(os.environ.get("ASYNCFLOW_CHROMIUM", "/usr/bin/chromium"))
ODD = "srv>zz>1"  # the id rule allows '>', which HTML must escape
USERS = "rqs_input.avg_active_users.mean"


def odd_scenario(rate: float = 40.0, cores: int = 1) -> asyncflow.Scenario:
    """A server whose id is markup, to check every page escapes it."""
    scenario = queue(rate, cpu(exponential(0.01)), cores=cores, horizon_s=20.0, warm_up_s=2.0)
    text = json.dumps(scenario.model_dump(mode="json", exclude_unset=True)).replace("srv-1", ODD)
    return with_overrides(json.loads(text), [Override.parse("name=odd <yy>name</yy>")])


@pytest.fixture(scope="module")
def pages() -> dict[str, str]:
    ensemble = replicate(odd_scenario(), runs=3, jobs=1)
    goal = Objective.parse("latency_s.p95<0.05")
    comparison = compare(odd_scenario(), odd_scenario(cores=2), runs=3, jobs=1)
    gates = {
        "a": check_ensemble(comparison.a, [goal], 0.95),
        "b": check_ensemble(comparison.b, [goal], 0.95),
    }
    swept = sweep(odd_scenario(), {USERS: [10, 50, 80, 92]}, runs=2, jobs=1, slo=[goal])
    return {
        "ensemble": ensemble_report(ensemble, [goal]),
        "comparison": comparison_report(comparison, gates),
        "sweep": sweep_report(swept),
        "run": html_report(asyncflow.run(odd_scenario(), seed=1)),
    }


def figures_of(page: str) -> dict[str, Any]:
    match = re.search(r'<script type="application/json" id="figures">(.*?)</script>', page, re.S)
    assert match is not None
    loaded: dict[str, Any] = json.loads(match.group(1).replace("<\\/", "</"))
    return loaded


@pytest.mark.parametrize("kind", ["ensemble", "comparison", "sweep", "run"])
def test_pages_escape_ids_and_need_no_network(pages: dict[str, str], kind: str) -> None:
    page = pages[kind]
    markup = re.sub(r"<script[^>]*>.*?</script>", "<script></script>", page, flags=re.S)
    assert ODD not in markup
    assert "<yy>" not in markup
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=", markup)
    figures = figures_of(page)
    divs = [html.unescape(d) for d in re.findall(r'<div class="chart[^"]*" id="([^"]+)"', page)]
    assert divs
    assert set(divs) == set(figures)


def test_the_replications_report(pages: dict[str, str]) -> None:
    page = pages["ensemble"]
    for table in ("table-objectives", "table-ensemble", "table-theory", "table-models"):
        assert f'id="{table}"' in page, table
    assert "latency_s.p95&lt;0.05" in page
    assert "p95 (ms)" in page
    assert "simulated (mean ± interval)" in page
    assert "M/M/1" in page
    assert {"chart-throughput", "chart-latency", "chart-errors"} <= set(figures_of(page))


def test_the_comparison_report_shows_units_directions_and_verdicts(pages: dict[str, str]) -> None:
    page = pages["comparison"]
    assert 'id="table-slo-a"' in page
    assert 'id="table-slo-b"' in page
    rows = re.findall(r"<tr><td>([^<]*)</td><td>([^<]*)</td>", page)
    directions = dict(rows)
    assert directions["mean (ms)"] == "lower"
    assert directions["throughput (req/s)"] == "–"
    assert 'class="better"' in page  # two cores: less waiting
    latency = figures_of(page)["chart-latency"]
    names = {t["name"] for t in latency["data"] if "name" in t}
    assert "A: odd &lt;yy&gt;name&lt;/yy&gt;" in names


def test_the_sweep_report_has_points_curves_and_theory(pages: dict[str, str]) -> None:
    page = pages["sweep"]
    assert 'id="table-points"' in page
    assert 'id="table-theory"' in page
    figures = figures_of(page)
    assert set(figures) == {
        "chart-sweep-latency",
        "chart-sweep-throughput",
        "chart-sweep-busiest",
        "chart-sweep-failed",
    }
    names = [t.get("name") for t in figures["chart-sweep-latency"]["data"]]
    assert names == ["p50", "p95", "p99", "p95 theory"]
    shapes = figures["chart-sweep-latency"]["layout"]["shapes"]
    assert any(s.get("name", "").startswith("objective") for s in shapes)


def test_the_run_report_sets_theory_beside_the_run(pages: dict[str, str]) -> None:
    page = pages["run"]
    assert '<h2 id="theory">Theory beside the simulation</h2>' in page
    assert 'id="table-theory"' in page
    assert "Poisson arrivals" in page


def test_the_sweep_chart_marks_the_knee_and_what_a_search_found() -> None:
    swept = sweep(
        queue(50.0, horizon_s=20.0, warm_up_s=2.0), {USERS: [10, 50, 80, 95]}, runs=2, jobs=1
    )
    assert swept.knees()
    figure = build_sweep_chart(swept)
    gids = {artist.get_gid() for ax in figure.axes for artist in ax.get_lines()}
    assert KNEE_GID in gids
    assert FOUND_GID not in gids
    assert len([ax for ax in figure.axes if ax.get_visible()]) == 4


@pytest.mark.skipif(
    not CHROMIUM.exists() and not os.environ.get("CI"),
    reason=f"no Chromium at {CHROMIUM} (.ci/run installs it; in CI its absence fails)",
)
def test_chromium_draws_every_chart_of_every_page(pages: dict[str, str], tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs playwright (dev extra)")
    errors: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"],
            headless=True,
            viewport={"width": 1300, "height": 900},
        )
        try:
            tab = browser.new_page()
            tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            tab.on("pageerror", lambda e: errors.append(str(e)))
            for kind in ("ensemble", "comparison", "sweep"):
                path = tmp_path / f"{kind}.html"
                path.write_text(pages[kind], encoding="utf-8")
                tab.goto(path.as_uri(), wait_until="load")
                tab.wait_for_selector("body[data-charts-drawn]", timeout=30_000)
                drawn = int(tab.get_attribute("body", "data-charts-drawn") or 0)
                assert drawn == len(figures_of(pages[kind])), kind
                svgs = tab.eval_on_selector_all(
                    "div.chart", "divs => divs.map(d => d.querySelectorAll('svg.main-svg').length)"
                )
                assert all(n > 0 for n in svgs), kind
        finally:
            browser.close()
    assert errors == []


def test_a_sweep_needs_points() -> None:
    from asyncflow.errors import ExperimentError

    with pytest.raises(ExperimentError, match=r"^a sweep needs at least one point$"):
        Sweep(name="x", params=["p"], points=[])
