"""A self-contained HTML report of one run.

:func:`write_html_report` writes a single file that works offline: the
Plotly JavaScript bundle is inlined (taken from the ``plotly`` package, the
``report`` extra), so nothing is fetched when the page is opened. The page
holds, top to bottom: the bottleneck verdict, summary tables (requests,
latency, where the time goes, servers, endpoints, edges, event windows),
interactive charts (zoom and pan with the mouse, values on hover, event
windows shaded and labelled), per-node panels, and the scenario itself as
YAML for reference.

Each chart is a ``<div class="chart" id="chart-...">``; the figures are
stored as JSON in ``<script type="application/json" id="figures">`` and drawn
by a few lines of script at the end of the page.
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from asyncflow.report import interactive

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from os import PathLike

    from asyncflow.results import Results

__all__ = ["html_report", "write_html_report"]

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5rem auto; max-width: 1200px;
       color: #222; padding: 0 1rem; }
h1 { margin-bottom: 0.2rem; } h2 { margin-top: 2rem; border-bottom: 1px solid #ddd; }
.meta { color: #666; margin-top: 0; }
.verdict { background: #fff6e5; border-left: 4px solid #ff7f0e; padding: 0.7rem 1rem;
           font-size: 1.05rem; }
table { border-collapse: collapse; margin: 0.8rem 0 1.2rem; font-size: 0.9rem; }
caption { text-align: left; font-weight: 600; padding-bottom: 0.3rem; }
th, td { padding: 0.25rem 0.7rem; border-bottom: 1px solid #eee; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.grid { display: grid; grid-template-columns: 1fr 1fr; gap: 0.5rem 1rem; }
.wide { grid-column: 1 / -1; }
.chart { min-height: 260px; }
pre { background: #f6f6f6; padding: 1rem; overflow: auto; font-size: 0.8rem; }
@media (max-width: 900px) { .grid { grid-template-columns: 1fr; } }
"""

_DRAW = """
(function () {
  var figures = JSON.parse(document.getElementById("figures").textContent);
  var config = {responsive: true, displaylogo: false, scrollZoom: true};
  Object.keys(figures).forEach(function (id) {
    var fig = figures[id];
    Plotly.newPlot(document.getElementById(id), fig.data, fig.layout, config);
  });
  document.body.setAttribute("data-charts-drawn", String(Object.keys(figures).length));
})();
"""


def write_html_report(results: Results, path: str | PathLike[str]) -> Path:
    """Write the self-contained HTML report of a run.

    Args:
        results: The run.
        path: The ``.html`` file to write; its parent directory must exist.

    Returns:
        The path written.

    Raises:
        ImportError: When ``plotly`` (``pip install 'asyncflow[report]'``) is
            missing.
    """
    target = Path(path)
    target.write_text(html_report(results), encoding="utf-8")
    return target


def html_report(results: Results) -> str:
    """Return the HTML report of a run as text (see :func:`write_html_report`)."""
    plotly_js = _plotly_js()
    summary = results.summary()
    figures = _figures(results)
    bottleneck = summary.get("bottleneck") or {}
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>AsyncFlow report: {_e(results.name)}</title>",
        f"<style>{_STYLE}</style>",
        f"<script>{plotly_js}</script>",
        "</head><body>",
        f"<h1>{_e(results.name)}</h1>",
        f'<p class="meta">{_e(_meta(summary))}</p>',
    ]
    if bottleneck.get("verdict"):
        verdict = _e(str(bottleneck["verdict"]))
        parts.append(f'<p class="verdict" id="verdict"><b>Bottleneck:</b> {verdict}</p>')
    parts += ['<h2 id="summary">Summary</h2>', '<div class="grid">']
    parts += [_requests_table(summary), _latency_table(summary)]
    parts += ['<div class="wide">', _breakdown_table(summary), "</div>"]
    parts += ['<div class="wide">', _servers_table(summary), "</div>"]
    parts += [_endpoints_table(summary), _edges_table(summary)]
    parts += [_events_table(results), "</div>"]
    parts += ['<h2 id="charts">Charts</h2>', '<div class="grid">']
    parts += [_chart_div(chart_id, wide) for chart_id, wide in _layout(figures)]
    parts += ["</div>", '<h2 id="scenario">Scenario</h2>']
    parts.append("<details open><summary>The scenario as simulated (YAML)</summary>")
    parts.append(f'<pre id="scenario-yaml">{_e(_scenario_yaml(results))}</pre></details>')
    figures_json = json.dumps(figures, allow_nan=False, separators=(",", ":"))
    parts.append(
        '<script type="application/json" id="figures">'
        + figures_json.replace("</", "<\\/")
        + "</script>"
    )
    parts += [f"<script>{_DRAW}</script>", "</body></html>"]
    return "\n".join(parts)


def _plotly_js() -> str:
    try:
        from plotly.offline import get_plotlyjs
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("the HTML report needs plotly: pip install 'asyncflow[report]'") from exc
    text: str = get_plotlyjs()
    return text.replace("</script", "<\\/script")


def _figures(results: Results) -> dict[str, interactive.Figure]:
    """All figures of the page, keyed by the id of their ``div``."""
    figures: dict[str, interactive.Figure] = {
        "chart-latency": interactive.latency_figure(results),
        "chart-throughput": interactive.throughput_figure(results),
        "chart-cdf": interactive.cdf_figure(results),
        "chart-breakdown": interactive.breakdown_figure(results),
    }
    if len(results.server_ids) > 1:
        figures["chart-breakdown-server"] = interactive.breakdown_figure(results, "server")
    figures["chart-breakdown-endpoint"] = interactive.breakdown_figure(results, "endpoint")
    for _, chart_id, figure in interactive.node_figures(results):
        figures[f"chart-{_slug(chart_id)}"] = figure
    return figures


def _layout(figures: Mapping[str, Any]) -> Iterable[tuple[str, bool]]:
    wide = {"chart-latency", "chart-throughput", "chart-edges-in-transit"}
    for chart_id in figures:
        yield chart_id, chart_id in wide


def _chart_div(chart_id: str, wide: bool) -> str:
    cls = "chart wide" if wide else "chart"
    return f'<div class="{cls}" id="{_e(chart_id)}"></div>'


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in text)


def _scenario_yaml(results: Results) -> str:
    data = results.scenario.model_dump(mode="json", exclude_none=True)
    text: str = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    return text


# --------------------------------------------------------------------------- tables


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _fmt(value: Any, template: str = "{:.4g}", scale: float = 1.0) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "–" if value is None else _e(str(value))
    number = float(value) * scale
    return "–" if not math.isfinite(number) else template.format(number)


def _table(
    caption: str, header: Sequence[str], rows: Iterable[Sequence[str]], table_id: str
) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return (
        f'<table id="{table_id}"><caption>{_e(caption)}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    )


def _meta(summary: Mapping[str, Any]) -> str:
    parts = [f"seed {summary.get('seed')}", f"{_fmt(summary.get('simulated_s'))} s simulated"]
    if summary.get("warm_up_s"):
        parts.append(f"warm-up {_fmt(summary.get('warm_up_s'))} s")
    parts.append(f"wall {_fmt(summary.get('wall_s'), '{:.2f}')} s")
    return " · ".join(parts)


def _requests_table(summary: Mapping[str, Any]) -> str:
    req = summary.get("requests", {})
    rows = [
        ["generated", _fmt(req.get("generated"), "{:,.0f}")],
        ["completed", _fmt(req.get("completed"), "{:,.0f}")],
        ["failed", _fmt(req.get("failed"), "{:,.0f}")],
    ]
    rows += [
        [f"&nbsp;&nbsp;{_e(reason)}", _fmt(count, "{:,.0f}")]
        for reason, count in sorted(req.get("failed_by_reason", {}).items())
    ]
    rows.append(["in flight at end", _fmt(req.get("in_flight"), "{:,.0f}")])
    rows.append(["throughput (req/s)", _fmt(summary.get("throughput_rps", {}).get("mean"))])
    return _table("Requests", ("", "count"), rows, "table-requests")


def _latency_table(summary: Mapping[str, Any]) -> str:
    lat = summary.get("latency_s", {})
    rows = [[key, _fmt(lat.get(key), "{:.2f}", 1000.0)] for key in lat]
    return _table("Latency (ms), measured requests", ("", "ms"), rows, "table-latency")


def _breakdown_table(summary: Mapping[str, Any]) -> str:
    overall = summary.get("latency_breakdown_s") or {}
    tails = summary.get("latency_breakdown_tail_s") or {}
    rows_in = [("all requests", overall)] + [(f"≥ {k}", v) for k, v in tails.items() if v]
    phases = list(overall)
    rows = [
        [_e(label)] + [_fmt(v.get(p), "{:.2f}", 1000.0) for p in phases] for label, v in rows_in
    ]
    caption = "Where the time goes (mean ms per request)"
    return _table(caption, ("requests", *phases), rows, "table-breakdown")


def _servers_table(summary: Mapping[str, Any]) -> str:
    """One column per server, one row per statistic (there are many of them)."""
    servers: Mapping[str, Mapping[str, Any]] = summary.get("servers", {})
    keys: list[str] = []
    for stats in servers.values():
        keys += [k for k in stats if k not in keys]
    rows = [[_e(k), *(_fmt(stats.get(k)) for stats in servers.values())] for k in keys]
    return _table("Servers", ("", *servers), rows, "table-servers")


def _endpoints_table(summary: Mapping[str, Any]) -> str:
    rows = []
    for sid, endpoints in (summary.get("endpoints") or {}).items():
        for name, stats in endpoints.items():
            lat = stats.get("latency_s") or {}
            rows.append(
                [
                    _e(f"{sid} {name}"),
                    _fmt(stats.get("completed"), "{:,.0f}"),
                    _fmt(lat.get("mean"), "{:.2f}", 1000.0),
                    _fmt(lat.get("p99"), "{:.2f}", 1000.0),
                    _fmt(stats.get("service_s_mean"), "{:.2f}", 1000.0),
                ]
            )
    header = ("endpoint", "completed", "mean ms", "p99 ms", "service ms")
    return _table("Endpoints", header, rows, "table-endpoints")


def _edges_table(summary: Mapping[str, Any]) -> str:
    edges: Mapping[str, Mapping[str, Any]] = summary.get("edges", {})
    rows = [
        [
            _e(eid),
            _fmt(stats.get("in_transit_mean")),
            _fmt(stats.get("in_transit_max")),
            _fmt(stats.get("transit_s_mean"), "{:.2f}", 1000.0),
        ]
        for eid, stats in edges.items()
    ]
    header = ("edge", "in transit mean", "in transit max", "ms per request")
    return _table("Edges", header, rows, "table-edges")


def _events_table(results: Results) -> str:
    rows = [
        [_e(w.event_id), _e(w.kind), _e(w.target), _fmt(w.start_s), _fmt(w.end_s)]
        for w in results.fault_windows
    ]
    header = ("event", "kind", "target", "start (s)", "end (s)")
    return _table("Event windows", header, rows, "table-events")
