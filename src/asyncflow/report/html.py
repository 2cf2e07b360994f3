"""A self-contained HTML report of one run.

:func:`write_html_report` writes a single file that works offline: the
Plotly JavaScript bundle is inlined (taken from the ``plotly`` package, the
``report`` extra), so nothing is fetched when the page is opened. The page
holds, top to bottom: the bottleneck verdict, summary tables (requests,
latency, where the time goes, servers, load balancers, endpoints, edges,
event windows when there are any), theory beside the simulation (the
predicted figures, the models and their assumptions, where and why they
differ), interactive charts (zoom and pan with the
mouse, values on hover, event windows shaded and labelled; zooming one chart
over time zooms all of them), per-node panels with every limit drawn, and
the scenario itself as YAML for reference. Counts have thousands separators,
durations are in milliseconds, and ids are HTML-escaped everywhere.

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
from asyncflow.report.datastores import datastore_figures
from asyncflow.report.labels import endpoint_label, phase_header, stat_label
from asyncflow.report.safe import printable

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
#table-events th:nth-child(-n+3), #table-events td:nth-child(-n+3) { text-align: left; }
.grid { display: grid; grid-template-columns: 1fr 1fr; gap: 0.5rem 1rem; }
.grid > * { align-self: start; }
.wide { grid-column: 1 / -1; }
.chart { min-height: 260px; }
pre { background: #f6f6f6; padding: 1rem; overflow: auto; font-size: 0.8rem; }
@media (max-width: 900px) { .grid { grid-template-columns: 1fr; } }
"""

_DRAW = """
(function () {
  var figures = JSON.parse(document.getElementById("figures").textContent);
  var config = {responsive: true, displaylogo: false, scrollZoom: true};
  var linked = Object.keys(figures).filter(function (id) { return figures[id].link_x; });
  var home = {};  // the whole run: where a double-click (autorange) goes back to
  linked.forEach(function (id) { home[id] = figures[id].layout.xaxis.range.slice(); });
  function newRange(source, event) {
    if ("xaxis.range[0]" in event && "xaxis.range[1]" in event) {
      return [event["xaxis.range[0]"], event["xaxis.range[1]"]];
    }
    if ("xaxis.range" in event) { return event["xaxis.range"]; }
    if ("xaxis.autorange" in event) { return home[source]; }
    return null;
  }
  function follow(source, event) {
    var range = newRange(source, event);
    if (range === null) { return; }
    range = [Number(range[0]), Number(range[1])];
    linked.forEach(function (id) {
      var div = document.getElementById(id);
      var now = div.layout.xaxis.range || [NaN, NaN];
      // only charts not there yet: their own relayout event then changes nothing
      if (id !== source && (now[0] !== range[0] || now[1] !== range[1])) {
        Plotly.relayout(div, {"xaxis.range": range.slice()});
      }
    });
  }
  Object.keys(figures).forEach(function (id) {
    var fig = figures[id];
    var div = document.getElementById(id);
    Plotly.newPlot(div, fig.data, fig.layout, config);
    if (fig.link_x) { div.on("plotly_relayout", function (e) { follow(id, e); }); }
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
    parts += ['<div class="wide">', _nodes_table(summary, "servers", "Servers"), "</div>"]
    if summary.get("load_balancers"):
        balancers = _nodes_table(summary, "load_balancers", "Load balancers")
        parts += ['<div class="wide">', balancers, "</div>"]
    parts += [_endpoints_table(summary), _edges_table(summary)]
    if results.fault_windows:
        parts.append(_events_table(results))
    parts.append("</div>")
    parts.append(_theory(summary))
    parts += ['<h2 id="charts">Charts</h2>', '<div class="grid">']
    parts += [_chart_div(chart_id, wide) for chart_id, wide in _layout(figures)]
    parts += ["</div>", '<h2 id="scenario">Scenario</h2>']
    parts.append("<details open><summary>The scenario as simulated (YAML)</summary>")
    yaml_text = html.escape(_scenario_yaml(results), quote=True)
    parts.append(f'<pre id="scenario-yaml">{yaml_text}</pre></details>')
    figures_json = json.dumps(figures, allow_nan=False, separators=(",", ":"))
    parts.append(
        '<script type="application/json" id="figures">'
        + figures_json.replace("</", "<\\/")
        + "</script>"
    )
    parts += [f"<script>{_DRAW}</script>", "</body></html>"]
    return "\n".join(parts)


def _theory(summary: Mapping[str, Any]) -> str:
    """Theory beside the simulation (drawn by the experiment reports' helper)."""
    from asyncflow.report.experiment_html import theory_section

    return theory_section(summary.get("theory"), ensemble=False)


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
    if len(results.critical):
        figures["chart-breakdown-node"] = interactive.breakdown_figure(results, "node")
    for chart_id, figure in datastore_figures(results).items():
        figures[f"chart-{_slug(chart_id.removeprefix('chart-'))}"] = figure
    for _, chart_id, figure in interactive.node_figures(results):
        key = f"chart-{_slug(chart_id)}"
        while key in figures:  # two ids that differ only in unusual characters
            key += "-"
        figures[key] = figure
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
    """Escape one line of text for HTML, without its control characters."""
    return html.escape(printable(text), quote=True)


def _fmt(value: Any, template: str = "{:,.4g}", scale: float = 1.0) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "–" if value is None else _e(str(value))
    try:
        number = float(value) * scale
    except OverflowError:  # an integer too large for a float
        return _e(f"{value:,}")
    return "–" if not math.isfinite(number) else template.format(number)


_KIND_FORMATS = {
    "count": ("{:,.0f}", 1.0),
    "percent": ("{:.1%}", 1.0),
    "ms": ("{:,.2f}", 1000.0),
    "mb": ("{:,.1f}", 1.0),
    "level": ("{:,.3f}", 1.0),
}


def _stat(key: str, value: Any) -> str:
    """Format a server or balancer statistic by its kind (see ``stat_label``)."""
    _, kind = stat_label(key)
    template, scale = _KIND_FORMATS[kind]
    whole = isinstance(value, int | float) and float(value).is_integer()
    if kind == "level" and key.endswith("_max") and whole:  # the maximum of a count
        template = "{:,.0f}"
    return _fmt(value, template, scale)


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
    rows.append(
        ["throughput (req/s)", _fmt(summary.get("throughput_rps", {}).get("mean"), "{:,.2f}")]
    )
    return _table("Requests", ("", "count"), rows, "table-requests")


def _latency_table(summary: Mapping[str, Any]) -> str:
    lat = summary.get("latency_s", {})
    rows = [[_e(key), _fmt(lat.get(key), "{:,.2f}", 1000.0)] for key in lat]
    return _table("Latency, measured requests", ("", "ms"), rows, "table-latency")


def _breakdown_table(summary: Mapping[str, Any]) -> str:
    overall = summary.get("latency_breakdown_s") or {}
    tails = summary.get("latency_breakdown_tail_s") or {}
    rows_in = [("all requests", overall)] + [(f"≥ {k}", v) for k, v in tails.items() if v]
    phases = list(overall)
    rows = [
        [_e(label)] + [_fmt(v.get(p), "{:,.2f}", 1000.0) for p in phases] for label, v in rows_in
    ]
    caption = "Where the time goes (mean ms per request)"
    header = ("requests", *(phase_header(p) for p in phases))
    return _table(caption, header, rows, "table-breakdown")


def _nodes_table(summary: Mapping[str, Any], section: str, caption: str) -> str:
    """One column per node, one row per statistic in words with its unit."""
    nodes: Mapping[str, Mapping[str, Any]] = summary.get(section) or {}
    keys: list[str] = []
    for stats in nodes.values():
        keys += [k for k in stats if k not in keys]
    rows = [
        [_e(stat_label(k)[0]), *(_stat(k, stats.get(k)) for stats in nodes.values())] for k in keys
    ]
    table_id = "table-" + section.replace("_", "-")
    return _table(caption, ("", *nodes), rows, table_id)


def _endpoints_table(summary: Mapping[str, Any]) -> str:
    rows = []
    for sid, endpoints in (summary.get("endpoints") or {}).items():
        for name, stats in endpoints.items():
            lat = stats.get("latency_s") or {}
            rows.append(
                [
                    _e(endpoint_label(sid, name)),
                    _fmt(stats.get("completed"), "{:,.0f}"),
                    _fmt(lat.get("mean"), "{:,.2f}", 1000.0),
                    _fmt(lat.get("p99"), "{:,.2f}", 1000.0),
                    _fmt(stats.get("service_s_mean"), "{:,.2f}", 1000.0),
                ]
            )
    header = ("endpoint", "completed", "mean (ms)", "p99 (ms)", "service (ms)")
    return _table("Endpoints", header, rows, "table-endpoints")


def _edges_table(summary: Mapping[str, Any]) -> str:
    edges: Mapping[str, Mapping[str, Any]] = summary.get("edges", {})
    rows = [
        [
            _e(eid),
            _fmt(stats.get("in_transit_mean"), "{:,.3f}"),
            _fmt(stats.get("in_transit_max"), "{:,.0f}"),
            _fmt(stats.get("transit_s_mean"), "{:,.2f}", 1000.0),
        ]
        for eid, stats in edges.items()
    ]
    header = ("edge", "in transit, mean", "in transit, max", "time on it, mean (ms)")
    return _table("Edges", header, rows, "table-edges")


def _events_table(results: Results) -> str:
    rows = [
        [_e(w.event_id), _e(w.kind), _e(w.target), _fmt(w.start_s, "{:,g}"), _fmt(w.end_s, "{:,g}")]
        for w in results.fault_windows
    ]
    header = ("event", "kind", "target", "start (s)", "end (s)")
    return _table("Event windows", header, rows, "table-events")
