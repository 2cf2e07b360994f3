"""The HTML report: self-contained structure, and a real headless Chromium render."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from asyncflow.report.html import html_report, write_html_report
from asyncflow.results import Results

pytest.importorskip("plotly", reason="the HTML report needs the report extra")

CHROMIUM = Path(os.environ.get("ASYNCFLOW_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(__file__).resolve().parents[2] / "out" / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def page(lb_run: Results) -> str:
    return html_report(lb_run)


def figures(page: str) -> dict[str, Any]:
    match = re.search(r'<script type="application/json" id="figures">(.*?)</script>', page, re.S)
    assert match is not None
    loaded: dict[str, Any] = json.loads(match.group(1))
    return loaded


def test_page_needs_no_network(page: str) -> None:
    markup = re.sub(r"<script[^>]*>.*?</script>", "<script></script>", page, flags=re.S)

    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=", markup)
    assert markup.count("<script") == 3  # plotly bundle, figures, drawing
    assert "Plotly.newPlot" in page


def test_page_has_verdict_tables_and_scenario(page: str, lb_run: Results) -> None:
    summary = lb_run.summary()

    assert '<p class="verdict" id="verdict">' in page
    verdict = summary["bottleneck"]["verdict"].replace("'", "&#x27;")
    assert verdict in page
    for table in ("requests", "latency", "breakdown", "servers", "endpoints", "edges", "events"):
        assert f'<table id="table-{table}">' in page
    assert '<pre id="scenario-yaml">' in page
    assert "server_covered:" in page
    for window in lb_run.fault_windows:
        assert window.event_id in page


def test_every_chart_div_has_a_figure(page: str, lb_run: Results) -> None:
    divs = re.findall(r'<div class="chart[^"]*" id="([^"]+)"></div>', page)
    specs = figures(page)

    assert divs == list(specs)
    expected = {"chart-latency", "chart-throughput", "chart-cdf", "chart-breakdown"}
    assert expected | {"chart-srv-1-queues", "chart-srv-2-cores", "chart-srv-2-ram"} <= set(divs)
    for spec in specs.values():
        assert spec["data"]


def test_time_charts_shade_and_label_every_event(page: str, lb_run: Results) -> None:
    specs = figures(page)
    events = {f"event:{w.event_id}" for w in lb_run.fault_windows}
    time_charts = [s for s in specs.values() if "simulated time" in json.dumps(s["layout"])]

    assert len(time_charts) >= 5
    for spec in time_charts:
        shapes = {shape["name"] for shape in spec["layout"]["shapes"]}
        assert events | {"warm-up"} == shapes
        labels = " ".join(a["text"] for a in spec["layout"]["annotations"])
        for window in lb_run.fault_windows:
            assert window.event_id in labels


def test_latency_chart_holds_the_percentiles(page: str, lb_run: Results) -> None:
    spec = figures(page)["chart-latency"]
    series = lb_run.latency_over_time()

    assert [trace["name"] for trace in spec["data"]] == ["p50", "p95", "p99"]
    p99 = spec["data"][2]["y"][:-1]
    assert len(p99) == series.t.size
    first = next(i for i, v in enumerate(series.values[99]) if v == v)
    assert p99[first] == pytest.approx(series.values[99][first] * 1000, rel=1e-5)


def _outside(url: str, errors: list[str]) -> None:
    if not url.startswith(("file:", "data:")):
        errors.append(f"network request to {url}")


@pytest.mark.skipif(
    not CHROMIUM.exists() and not os.environ.get("CI"),
    reason=f"no Chromium at {CHROMIUM} (.ci/run installs it; in CI its absence fails)",
)
def test_chromium_renders_the_page_without_errors(lb_run: Results, tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs playwright (dev extra)")
    path = write_html_report(lb_run, tmp_path / "report.html")
    errors: list[str] = []
    shot = tmp_path / "report.png"
    with sync_api.sync_playwright() as playwright:
        # a fresh profile directory: playwright passes it as --user-data-dir
        browser = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1300, "height": 900},
        )
        try:
            tab = browser.new_page()
            tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            tab.on("pageerror", lambda e: errors.append(str(e)))
            tab.on("request", lambda r: _outside(r.url, errors))
            tab.goto(path.as_uri(), wait_until="load")
            tab.wait_for_selector("body[data-charts-drawn]", timeout=30_000)
            drawn = int(tab.get_attribute("body", "data-charts-drawn") or 0)
            charts = tab.eval_on_selector_all(
                "div.chart",
                "divs => divs.map(d => [d.id, d.querySelectorAll('svg.main-svg').length,"
                " d.querySelectorAll('path.js-line, g.point path, path.point').length])",
            )
            tab.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, ARTIFACTS / "html-report.png")

    assert errors == []
    assert drawn == len(charts) >= 8
    for chart_id, svgs, marks in charts:
        assert svgs >= 1, chart_id
        assert marks >= 1, chart_id
    assert shot.stat().st_size > 50_000
