"""The HTML report's tables and figures: units, labels, layout, escaping."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from browser import needs_chromium, opened, x_ranges
from hostile import HOSTILE, HOSTILE_NAME, hostile_results

from asyncflow.report.html import html_report, write_html_report
from asyncflow.report.interactive import event_labels
from asyncflow.results import FaultWindow, Results

pytest.importorskip("plotly", reason="the HTML report needs the report extra")


def figures(page: str) -> dict[str, Any]:
    match = re.search(r'<script type="application/json" id="figures">(.*?)</script>', page, re.S)
    assert match is not None
    loaded: dict[str, Any] = json.loads(match.group(1))
    return loaded


def table(page: str, table_id: str) -> list[list[str]]:
    match = re.search(f'<table id="{table_id}">(.*?)</table>', page, re.S)
    assert match is not None, table_id
    rows = re.findall(r"<tr>(.*?)</tr>", match.group(1), re.S)
    return [re.findall(r"<t[hd]>(.*?)</t[hd]>", row, re.S) for row in rows]


@pytest.fixture(scope="module")
def socket_page(socket_run: Results) -> str:
    return html_report(socket_run)


def test_counts_have_separators_and_no_scientific_notation(socket_page: str) -> None:
    servers = table(socket_page, "table-servers")
    completed = next(row for row in servers if row[0] == "completed requests")

    assert all(re.fullmatch(r"\d{1,3}(,\d{3})+", cell) for cell in completed[1:])
    balancers = table(socket_page, "table-load-balancers")
    refused = next(row for row in balancers if row[0] == "connections refused")
    assert re.fullmatch(r"\d{1,3}(,\d{3})+", refused[1])
    for table_id in ("servers", "load-balancers", "edges", "endpoints", "requests", "latency"):
        cells = [c for row in table(socket_page, f"table-{table_id}") for c in row]
        assert not [c for c in cells if re.search(r"\de[+-]\d", c)], table_id


def test_row_labels_are_words_with_units(socket_page: str) -> None:
    for table_id in ("table-servers", "table-load-balancers"):
        labels = [row[0] for row in table(socket_page, table_id)[1:]]
        assert labels
        assert not [label for label in labels if "_" in label], labels
    servers = [row[0] for row in table(socket_page, "table-servers")]
    assert "CPU, mean (ms)" in servers
    assert "RAM in use, max (MB)" in servers
    assert "service time, mean (ms)" in servers
    breakdown = table(socket_page, "table-breakdown")[0]
    assert not [h for h in breakdown if "_" in h]


def test_durations_are_milliseconds(socket_page: str, socket_run: Results) -> None:
    summary = socket_run.summary()
    servers = table(socket_page, "table-servers")
    service = next(row for row in servers if row[0] == "service time, mean (ms)")
    edges = table(socket_page, "table-edges")

    assert service[1] == f"{summary['servers']['srv-1']['service_s_mean'] * 1000:,.2f}"
    assert edges[0][-1] == "time on it, mean (ms)"
    headers = " ".join(" ".join(rows[0]) for rows in (servers, edges))
    assert "(s)" not in headers


def test_balancer_table_has_refusals_limits_and_utilisation(
    socket_page: str, socket_run: Results
) -> None:
    lb = socket_run.summary()["load_balancers"]["lb-1"]
    rows = dict(table(socket_page, "table-load-balancers")[1:])

    assert rows["connections refused"] == f"{lb['refused']:,}"
    assert rows["open connections, limit"] == "48"
    assert rows["accept backlog, limit"] == "128"
    assert rows["open connections, max"] == "48"
    assert rows["connection utilisation (mean)"] == f"{lb['connection_utilization']:.1%}"


def test_endpoint_labels_join_with_one_slash(socket_page: str) -> None:
    endpoints = [row[0] for row in table(socket_page, "table-endpoints")[1:]]
    labels = figures(socket_page)["chart-breakdown-endpoint"]["data"][0]["y"]

    assert endpoints == ["srv-1/api", "srv-2/api"]
    assert labels[0] == "srv-1/api · all requests"
    assert not [label for label in labels if "//" in label]


def test_breakdown_legends_sit_under_the_chart(socket_page: str) -> None:
    for chart_id in ("chart-breakdown", "chart-breakdown-server", "chart-breakdown-endpoint"):
        layout = figures(socket_page)[chart_id]["layout"]
        legend = layout["legend"]
        assert (legend["yref"], legend["y"], legend["yanchor"]) == ("container", 0, "bottom")
        assert layout["margin"]["b"] >= 90


def test_no_twin_axes_and_limits_on_every_capped_level(socket_page: str) -> None:
    specs = figures(socket_page)

    assert not [key for key, spec in specs.items() if "yaxis2" in spec["layout"]]
    limits = {
        (key, trace["name"])
        for key, spec in specs.items()
        for trace in spec["data"]
        if trace.get("line", {}).get("dash") == "dash"
    }
    assert limits == {
        ("chart-lb-1-connections", "max_connections 48"),
        ("chart-lb-1-connections", "listen_backlog 128"),
        ("chart-lb-1-levels-MB", "ram_mb 512"),
        *(
            (f"chart-{sid}-{key}", name)
            for sid in ("srv-1", "srv-2")
            for key, name in (
                ("cores", "cpu_cores 2"),
                ("ram", "ram_mb 4096"),
                ("connections", "max_connections 256"),
                ("connections", "listen_backlog 128"),
            )
        ),
    }


def test_event_windows_table_only_when_there_are_windows(socket_page: str, lb_run: Results) -> None:
    assert not socket_run_has_windows(socket_page)
    assert 'id="table-events"' not in socket_page
    assert 'id="table-events"' in html_report(lb_run)


def socket_run_has_windows(page: str) -> bool:
    return any(
        shape["name"].startswith("event:")
        for spec in figures(page).values()
        for shape in spec["layout"].get("shapes", [])
    )


def test_event_labels_stack_when_windows_start_close_together() -> None:
    windows = [
        FaultWindow("spike-a", "spike", "e1", 10.0, 20.0),
        FaultWindow("outage-b", "outage", "s1", 11.0, 30.0),
        FaultWindow("spike-c", "spike", "e2", 12.0, 13.0),
        FaultWindow("late", "spike", "e3", 80.0, 90.0),
    ]
    labels = event_labels(windows, 100.0)

    assert [label["text"] for label in labels] == ["spike-a", "outage-b", "spike-c", "late"]
    assert [label["yshift"] for label in labels] == [0, -15, -30, 0]
    assert labels[1]["hovertext"] == "outage on s1, 11–30 s"


def test_hostile_ids_are_escaped_in_tables_titles_labels_and_legends(lb_run: Results) -> None:
    page = html_report(hostile_results(lb_run))
    outside = page.split('<script type="application/json" id="figures">')[0]
    outside = re.sub(r"<script>.*?</script>", "", outside, flags=re.S)  # the plotly bundle

    for raw in (HOSTILE["client-lb"], HOSTILE["lb-1"], "<script>alert"):
        assert raw not in outside
    assert "&lt;img src=x onerror=alert(1)&gt;" in outside
    texts = []
    for spec in figures(page).values():
        layout = spec["layout"]
        texts.append(layout["title"]["text"])
        for annotation in layout.get("annotations", []):
            texts += [annotation["text"], annotation.get("hovertext", "")]
        for trace in spec["data"]:
            texts.append(trace["name"])
            texts += [y for y in trace.get("y", []) if isinstance(y, str)]
    assert len(texts) > 50
    for text in texts:
        assert "<" not in text, text
        assert ">" not in text, text
        assert "\x1b" not in text, text
    assert "&lt;img src=x onerror=alert(1)&gt;" in texts
    assert HOSTILE_NAME not in page


@needs_chromium
def test_zooming_one_time_chart_zooms_the_others(socket_run: Results, tmp_path: Path) -> None:
    path = write_html_report(socket_run, tmp_path / "report.html")
    linked = [
        key for key, spec in figures(path.read_text(encoding="utf-8")).items() if spec.get("link_x")
    ]
    errors: list[str] = []

    with opened(path, tmp_path / "profile", errors) as tab:
        tab.evaluate("id => Plotly.relayout(id, {'xaxis.range': [100, 200]})", "chart-latency")
        tab.wait_for_timeout(300)
        zoomed = x_ranges(tab, linked)
        tab.evaluate(
            "id => Plotly.relayout(id, {'xaxis.autorange': true})", "chart-lb-1-connections"
        )
        tab.wait_for_timeout(300)
        reset = x_ranges(tab, linked)
        cdf = x_ranges(tab, ["chart-cdf"])["chart-cdf"]

    assert errors == []
    assert len(linked) >= 10
    assert "chart-cdf" not in linked
    for key in linked:
        assert zoomed[key] == pytest.approx([100, 200]), key
        assert reset[key] == pytest.approx([0, socket_run.end_s]), key
    assert cdf != pytest.approx([100, 200])


@needs_chromium
def test_hostile_ids_render_as_text_in_chromium(lb_run: Results, tmp_path: Path) -> None:
    path = write_html_report(hostile_results(lb_run), tmp_path / "report.html")
    errors: list[str] = []

    with opened(path, tmp_path / "profile", errors) as tab:
        images = tab.evaluate("document.querySelectorAll('img, script[src], a[href]').length")
        titles = tab.evaluate(
            "Array.from(document.querySelectorAll('.gtitle')).map(t => t.textContent)"
        )
        shot = tab.screenshot(full_page=False)

    assert errors == []
    assert images == 0
    assert "<b>lb</b>&amp;: connections (0 refused)" not in titles  # the balancer has no levels
    assert f"{HOSTILE['srv-1']}: queues" in titles
    assert f"{HOSTILE['srv-2']}: queues" in titles
    assert len(shot) > 10_000
