"""Readable terminal summary of a run, rendered with rich.

:func:`summary_renderable` builds the tables from a :class:`Results` or from
the summary dictionary (``Results.summary()``, documented in
``docs/reference/summary.md``); :func:`print_summary` prints them. Fault
windows are not part of the summary dictionary, so they are shown when a
``Results`` is given or when passed explicitly.

Every table fits the console's width (80 columns in CI logs and pipes): the
headers are short, with their units, and a table too wide is split into
several, each repeating the label column. Ids, names and event ids are
printed as plain text (never read as rich markup) without control
characters (:mod:`asyncflow.report.safe`).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rich import box
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from asyncflow.report.datastores import datastore_table_rows
from asyncflow.report.health import health_table_rows
from asyncflow.report.labels import phase_header
from asyncflow.report.limits import node_limits
from asyncflow.report.safe import terminal_text

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from rich.console import ConsoleOptions, RenderableType, RenderResult

    from asyncflow.results import FaultWindow, Results

__all__ = ["FitTable", "print_summary", "summary_renderable", "verdict_text"]

_MISSING = "–"
_UNBOUNDED = 100_000
_LATENCY_KEYS = ("mean", "p50", "p90", "p95", "p99", "max")
_WORKLOAD_KEYS = ("mean", "p50", "p95", "p99")
Cell = str | Text


class FitTable:
    """A table that splits into several when it is wider than the console.

    The first ``keys`` columns (the row labels) are repeated in every part;
    the other columns are packed in order into as few parts as fit the
    width. Parts after the first are titled ``<title> (continued)``.
    """

    def __init__(self, title: str, headers: Sequence[str], *, keys: int = 1) -> None:
        """Start an empty table.

        Args:
            title: Title over the (first) table.
            headers: Column headers; a line break splits a header in two lines.
            keys: How many leading columns are labels (left-aligned, repeated).
        """
        self.title = title
        self.headers = tuple(headers)
        self.keys = keys
        self.rows: list[tuple[tuple[Cell, ...], str | None]] = []

    def add_row(self, *cells: Cell, style: str | None = None) -> None:
        """Add a row of cells (plain strings of our own, or ``Text``)."""
        self.rows.append((cells, style))

    def parts(self, console: Console, width: int) -> list[Table]:
        """The rich tables this table is split into to fit ``width`` columns."""
        labels = list(range(self.keys))
        others = list(range(self.keys, len(self.headers)))
        groups: list[list[int]] = []
        current: list[int] = []
        for column in others:
            if current and self._width(console, labels + current + [column]) > width:
                groups.append(current)
                current = []
            current.append(column)
        groups.append(current)
        return [
            self._table(labels + group, continued=index > 0) for index, group in enumerate(groups)
        ]

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        """Render as one or more tables that fit ``options.max_width``."""
        yield from self.parts(console, options.max_width)

    def _width(self, console: Console, columns: list[int]) -> int:
        table = self._table(columns, continued=False)
        unbounded = console.options.update_width(_UNBOUNDED)
        return table.__rich_measure__(console, unbounded).maximum

    def _table(self, columns: list[int], *, continued: bool) -> Table:
        title = f"{self.title} (continued)" if continued else self.title
        table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, title_style="bold")
        for column in columns:
            label = column < self.keys
            table.add_column(
                self.headers[column],
                justify="left" if label else "right",
                overflow="fold",
                no_wrap=not label,
            )
        for cells, style in self.rows:
            table.add_row(*(cells[c] for c in columns), style=style)
        return table


def print_summary(
    source: Results | Mapping[str, Any],
    console: Console | None = None,
    *,
    fault_windows: Sequence[FaultWindow] | None = None,
) -> None:
    """Print the summary of a run.

    Args:
        source: A ``Results`` or its ``summary()`` dictionary.
        console: Where to print; a new stdout console when ``None``.
        fault_windows: Fault windows to list; taken from ``source`` when it
            is a ``Results`` and this is ``None``.
    """
    (console or Console()).print(summary_renderable(source, fault_windows=fault_windows))


def summary_renderable(
    source: Results | Mapping[str, Any],
    *,
    fault_windows: Sequence[FaultWindow] | None = None,
) -> Group:
    """Build the summary of a run as rich renderables.

    Args:
        source: A ``Results`` or its ``summary()`` dictionary.
        fault_windows: Fault windows to list; taken from ``source`` when it
            is a ``Results`` and this is ``None``.

    Returns:
        A rich ``Group``: header, requests, latency, workloads (when there
        are several), where the time goes, servers, calls (when servers
        make them), connections (when any node models them), datastores
        (when there are any), fault windows, and the bottleneck verdict.
    """
    if isinstance(source, Mapping):
        summary: Mapping[str, Any] = source
        windows: Sequence[FaultWindow] = fault_windows or ()
        limits: Mapping[str, Mapping[str, Any]] = {}
    else:
        summary = source.summary()
        windows = source.fault_windows if fault_windows is None else fault_windows
        limits = {sid: node_limits(source, sid) for sid in source.server_ids}
    parts: list[RenderableType] = [
        _header(summary),
        _requests_table(summary),
        _latency_table(summary),
    ]
    if len(summary.get("workloads") or {}) > 1:
        parts.append(_workloads_table(summary))
    if summary.get("latency_breakdown_s"):
        parts.append(_breakdown_table(summary))
    parts.append(_servers_table(summary))
    calls = _calls_table(summary)
    if calls is not None:
        parts.append(calls)
    connections = _connections_table(summary, limits)
    if connections is not None:
        parts.append(connections)
    stores = datastore_table_rows(summary)
    if stores:
        table = FitTable("Datastores (after warm-up)", ("datastore", "figure", "value"), keys=2)
        for store, figure, value in stores:
            table.add_row(terminal_text(store), figure, value)
        parts.append(table)
    health = health_table_rows(summary)
    if health:
        table = FitTable("Balancer health", ("balancer", "figure", "value"), keys=2)
        for balancer, figure, value in health:
            table.add_row(terminal_text(balancer), figure, value)
        parts.append(table)
    if windows:
        parts.append(_faults_table(windows))
    verdict = verdict_text(summary)
    if verdict is not None:
        parts.append(verdict)
    return Group(*parts)


def verdict_text(summary: Mapping[str, Any]) -> Text | None:
    """Return the bottleneck verdict line, or ``None`` when the summary has none.

    Args:
        summary: The dictionary returned by ``Results.summary()``.

    Returns:
        ``Bottleneck: <sentence>`` as rich text (the sentence as plain text).
    """
    bottleneck: Any = summary.get("bottleneck")
    if not isinstance(bottleneck, Mapping) or not bottleneck.get("verdict"):
        return None
    text = Text()
    text.append("Bottleneck: ", style="bold")
    text.append_text(terminal_text(bottleneck["verdict"]))
    return text


def _breakdown_table(summary: Mapping[str, Any]) -> FitTable:
    """Return the mean time per phase, for all requests and for the tails, in ms.

    Phases that are zero in every row are left out.
    """
    rows: list[tuple[str, Mapping[str, Any]]] = [("all", summary["latency_breakdown_s"])]
    tails: Mapping[str, Any] = summary.get("latency_breakdown_tail_s") or {}
    rows += [(f">= {name}", values) for name, values in tails.items() if values]
    phases = [
        phase
        for phase in rows[0][1]
        if any(_is_number(values.get(phase)) and values.get(phase) for _, values in rows)
    ]
    headers = [phase_header(phase).replace(" ", "\n", 1) for phase in phases]
    table = FitTable("Where the time goes (mean ms per request)", ("requests", *headers))
    for label, values in rows:
        table.add_row(label, *(_milliseconds(values.get(phase)) for phase in phases))
    return table


def _header(summary: Mapping[str, Any]) -> Text:
    """Return the title line: scenario, seed, horizon, warm-up, wall time."""
    text = terminal_text(summary.get("scenario", ""), style="bold")
    details = [
        f"seed {_number(summary.get('seed'), '{:.0f}')}",
        f"{_number(summary.get('simulated_s'), '{:g}')} s simulated",
    ]
    warm_up: Any = summary.get("warm_up_s")
    if _is_number(warm_up) and float(warm_up) > 0:
        details.append(f"warm-up {float(warm_up):g} s")
    details.append(f"wall {_number(summary.get('wall_s'), '{:.2f}')} s")
    text.append("  " + " · ".join(details), style="dim")
    return text


def _requests_table(summary: Mapping[str, Any]) -> FitTable:
    """Return the request counts with their share of generated requests."""
    requests: Mapping[str, Any] = summary.get("requests", {})
    throughput: Mapping[str, Any] = summary.get("throughput_rps", {})
    generated: Any = requests.get("generated")
    table = FitTable("Requests", ("", "count", "share"))

    def add(label: Cell, count: Any, style: str | None = None) -> None:
        share = _MISSING
        if _is_number(count) and _is_number(generated) and generated > 0:
            share = f"{float(count) / float(generated):.1%}"
        table.add_row(label, _count(count), share, style=style)

    table.add_row("generated", _count(generated), "")
    add("completed", requests.get("completed"), "green")
    failed = requests.get("failed")
    add("failed", failed, "red" if failed else None)
    by_reason: Mapping[str, Any] = requests.get("failed_by_reason", {})
    for reason, count in sorted(by_reason.items()):
        add(terminal_text(f"  {reason}"), count, "red")
    add("in flight at end", requests.get("in_flight"))
    table.add_row("throughput (req/s)", _number(throughput.get("mean"), "{:,.2f}"), "")
    return table


def _latency_table(summary: Mapping[str, Any]) -> FitTable:
    """Return latency statistics in milliseconds."""
    latency: Mapping[str, Any] = summary.get("latency_s", {})
    table = FitTable("Latency (ms), completed requests after warm-up", _LATENCY_KEYS, keys=0)
    table.add_row(*(_milliseconds(latency.get(key)) for key in _LATENCY_KEYS))
    return table


def _workloads_table(summary: Mapping[str, Any]) -> FitTable:
    """Return one row per workload: its requests, throughput and latency."""
    headers = ("workload", "completed", "failed", "req/s", *(f"{k}\nms" for k in _WORKLOAD_KEYS))
    table = FitTable("Workloads (latency of completed requests after warm-up)", headers)
    for workload_id, stats in _items(summary, "workloads"):
        requests = stats.get("requests", {})
        latency = stats.get("latency_s", {})
        table.add_row(
            terminal_text(workload_id),
            _count(requests.get("completed")),
            _count(requests.get("failed")),
            _number(stats.get("throughput_rps", {}).get("mean"), "{:,.2f}"),
            *(_milliseconds(latency.get(key)) for key in _WORKLOAD_KEYS),
        )
    return table


def _calls_table(summary: Mapping[str, Any]) -> FitTable | None:
    """Return the calls each server answered and the time it waited on its own.

    ``None`` when no server makes calls.
    """
    servers: Mapping[str, Mapping[str, Any]] = summary.get("servers", {})
    if not any("calls_s_mean" in stats for stats in servers.values()):
        return None
    headers = ("server", "served", "failed", "cancelled", "waiting on\nits calls ms")
    table = FitTable("Calls (served: requests and calls it answered)", headers)
    for server_id, stats in servers.items():
        calls = stats.get("calls", {})
        table.add_row(
            terminal_text(server_id),
            _count(calls.get("served")),
            _count(calls.get("failed")),
            _count(calls.get("cancelled")),
            _milliseconds(stats.get("calls_s_mean", 0.0)),
        )
    return table


def _servers_table(summary: Mapping[str, Any]) -> FitTable:
    """Return one row of level statistics per server."""
    headers = (
        "server",
        "completed",
        "CPU\nutil.",
        "ready\nqueue",
        "RAM MB\nmean",
        "RAM MB\nmax",
        "RAM wait\nqueue",
        "service\nms",
    )
    table = FitTable("Servers (levels: time-weighted means after warm-up)", headers)
    servers: Mapping[str, Mapping[str, Any]] = summary.get("servers", {})
    for server_id, stats in servers.items():
        table.add_row(
            terminal_text(server_id),
            _count(stats.get("completed")),
            _number(stats.get("cpu_utilization"), "{:.1%}"),
            _number(stats.get("ready_queue_mean"), "{:,.3f}"),
            _number(stats.get("ram_in_use_mb_mean"), "{:,.1f}"),
            _number(stats.get("ram_in_use_mb_max"), "{:,.1f}"),
            _number(stats.get("ram_wait_queue_mean"), "{:,.3f}"),
            _milliseconds(stats.get("service_s_mean")),
        )
    return table


def _connections_table(
    summary: Mapping[str, Any], limits: Mapping[str, Mapping[str, Any]]
) -> FitTable | None:
    """Return open connections, backlog, their limits and refusals per node.

    One row for the load balancer and one per server that records open
    connections; ``None`` when no node does. Balancer limits come from the
    summary, server limits from ``limits`` (``node_limits`` per server).
    """
    headers = (
        "node",
        "open\nmean",
        "open\nmax",
        "open\nlimit",
        "backlog\nmean",
        "backlog\nmax",
        "backlog\nlimit",
        "refused",
    )
    table = FitTable("Connections (time-weighted means; limits from the scenario)", headers)
    nodes = [*_items(summary, "load_balancers"), *_items(summary, "servers")]
    for node_id, stats in nodes:
        if "connections_mean" not in stats:
            continue
        node_limit = {k: v for k, (_, v) in limits.get(node_id, {}).items()}
        table.add_row(
            terminal_text(node_id),
            _number(stats.get("connections_mean"), "{:,.1f}"),
            _count(stats.get("connections_max")),
            _count(stats.get("max_connections", node_limit.get("connections"))),
            _number(stats.get("backlog_mean"), "{:,.1f}"),
            _count(stats.get("backlog_max")),
            _count(stats.get("listen_backlog", node_limit.get("backlog"))),
            _count(stats.get("refused")),
            style="red" if stats.get("refused") else None,
        )
    return table if table.rows else None


def _items(summary: Mapping[str, Any], section: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """The ``(id, stats)`` pairs of a section of the summary (none when absent)."""
    entries: Any = summary.get(section) or {}
    for node_id, stats in entries.items():
        if isinstance(stats, Mapping):
            yield str(node_id), stats


def _faults_table(windows: Sequence[FaultWindow]) -> FitTable:
    """Return the fault windows of the run."""
    table = FitTable("Fault windows", ("event", "kind", "target", "start s", "end s"), keys=3)
    for window in windows:
        table.add_row(
            terminal_text(window.event_id),
            terminal_text(window.kind),
            terminal_text(window.target),
            f"{window.start_s:g}",
            f"{window.end_s:g}",
        )
    return table


def _count(value: Any) -> str:
    """Format a count with thousands separators, or a dash when it is missing."""
    return f"{float(value):,.0f}" if _is_number(value) else _MISSING


def _milliseconds(seconds: Any) -> str:
    """Format a duration in seconds as milliseconds."""
    if not _is_number(seconds):
        return _MISSING
    return f"{float(seconds) * 1000.0:,.2f}"


def _number(value: Any, template: str) -> str:
    """Format a number with ``template``, or a dash when missing or NaN."""
    return template.format(float(value)) if _is_number(value) else _MISSING


def _is_number(value: Any) -> bool:
    """Tell whether ``value`` is a finite real number."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:  # an integer too large for a float
        return False
