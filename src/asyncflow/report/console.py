"""Readable terminal summary of a run, rendered with rich.

:func:`summary_renderable` builds the tables from a :class:`Results` or from
the summary dictionary (``Results.summary()``, documented in
``docs/reference/summary.md``); :func:`print_summary` prints them. Fault
windows are not part of the summary dictionary, so they are shown when a
``Results`` is given or when passed explicitly.
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

if TYPE_CHECKING:
    from collections.abc import Sequence

    from rich.console import RenderableType

    from asyncflow.results import FaultWindow, Results

__all__ = ["print_summary", "summary_renderable", "verdict_text"]

_MISSING = "–"
_LATENCY_KEYS = ("mean", "p50", "p90", "p95", "p99", "max")


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
        A rich ``Group``: header, requests, latency, where the time goes,
        servers, fault windows, and the bottleneck verdict.
    """
    if isinstance(source, Mapping):
        summary: Mapping[str, Any] = source
        windows: Sequence[FaultWindow] = fault_windows or ()
    else:
        summary = source.summary()
        windows = source.fault_windows if fault_windows is None else fault_windows
    parts: list[RenderableType] = [
        _header(summary),
        _requests_table(summary),
        _latency_table(summary),
    ]
    if summary.get("latency_breakdown_s"):
        parts.append(_breakdown_table(summary))
    parts.append(_servers_table(summary))
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
        ``Bottleneck: <sentence>`` as rich text.
    """
    bottleneck: Any = summary.get("bottleneck")
    if not isinstance(bottleneck, Mapping) or not bottleneck.get("verdict"):
        return None
    text = Text()
    text.append("Bottleneck: ", style="bold")
    text.append(str(bottleneck["verdict"]))
    return text


def _breakdown_table(summary: Mapping[str, Any]) -> Table:
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
    table = _table("Where the time goes (mean ms per request)", ("requests", *phases))
    for label, values in rows:
        table.add_row(label, *(_milliseconds(values.get(phase)) for phase in phases))
    return table


def _header(summary: Mapping[str, Any]) -> Text:
    """Return the title line: scenario, seed, horizon, warm-up, wall time."""
    text = Text()
    text.append(str(summary.get("scenario", "")), style="bold")
    details = [
        f"seed {summary.get('seed')}",
        f"{_number(summary.get('simulated_s'), '{:g}')} s simulated",
    ]
    warm_up: Any = summary.get("warm_up_s")
    if _is_number(warm_up) and float(warm_up) > 0:
        details.append(f"warm-up {float(warm_up):g} s")
    details.append(f"wall {_number(summary.get('wall_s'), '{:.2f}')} s")
    text.append("  " + " · ".join(details), style="dim")
    return text


def _requests_table(summary: Mapping[str, Any]) -> Table:
    """Return the request counts with their share of generated requests."""
    requests: Mapping[str, Any] = summary.get("requests", {})
    throughput: Mapping[str, Any] = summary.get("throughput_rps", {})
    generated: Any = requests.get("generated")
    table = _table("Requests", ("", "count", "share"))

    def add(label: str, count: Any, style: str | None = None) -> None:
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
        add(f"  {reason}", count, "red")
    add("in flight at end", requests.get("in_flight"))
    table.add_row("throughput (req/s)", _number(throughput.get("mean"), "{:.2f}"), "")
    return table


def _latency_table(summary: Mapping[str, Any]) -> Table:
    """Return latency statistics in milliseconds."""
    latency: Mapping[str, Any] = summary.get("latency_s", {})
    table = _table("Latency (ms), completed requests after warm-up", _LATENCY_KEYS)
    table.add_row(*(_milliseconds(latency.get(key)) for key in _LATENCY_KEYS))
    return table


def _servers_table(summary: Mapping[str, Any]) -> Table:
    """Return one row of level statistics per server."""
    columns = (
        "server",
        "completed",
        "CPU util.",
        "ready queue mean",
        "RAM mean (MB)",
        "RAM max (MB)",
        "RAM wait queue mean",
        "service mean (ms)",
    )
    table = _table("Servers (levels time-weighted after warm-up)", columns)
    servers: Mapping[str, Mapping[str, Any]] = summary.get("servers", {})
    for server_id, stats in servers.items():
        table.add_row(
            server_id,
            _count(stats.get("completed")),
            _number(stats.get("cpu_utilization"), "{:.1%}"),
            _number(stats.get("ready_queue_mean"), "{:.3f}"),
            _number(stats.get("ram_in_use_mb_mean"), "{:.1f}"),
            _number(stats.get("ram_in_use_mb_max"), "{:.1f}"),
            _number(stats.get("ram_wait_queue_mean"), "{:.3f}"),
            _milliseconds(stats.get("service_s_mean")),
        )
    return table


def _faults_table(windows: Sequence[FaultWindow]) -> Table:
    """Return the fault windows of the run."""
    table = _table(
        "Fault windows", ("event", "kind", "target", "start (s)", "end (s)"), text_columns=3
    )
    for window in windows:
        table.add_row(
            window.event_id,
            window.kind,
            window.target,
            f"{window.start_s:g}",
            f"{window.end_s:g}",
        )
    return table


def _table(title: str, columns: Sequence[str], *, text_columns: int = 1) -> Table:
    """Return an empty table: the first ``text_columns`` left-aligned, numbers right."""
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, title_style="bold")
    for index, column in enumerate(columns):
        table.add_column(column, justify="left" if index < text_columns else "right")
    return table


def _count(value: Any) -> str:
    """Format a count, or a dash when it is missing."""
    return _MISSING if value is None else f"{int(value):,}"


def _milliseconds(seconds: Any) -> str:
    """Format a duration in seconds as milliseconds."""
    if not _is_number(seconds):
        return _MISSING
    return f"{float(seconds) * 1000.0:.2f}"


def _number(value: Any, template: str) -> str:
    """Format a number with ``template``, or a dash when missing or NaN."""
    return template.format(float(value)) if _is_number(value) else _MISSING


def _is_number(value: Any) -> bool:
    """Tell whether ``value`` is a finite real number."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return False
    return math.isfinite(float(value))
