"""What each figure of a run is: its kind, its preferred direction, its unit and group.

A figure is a numeric leaf of ``Results.summary()`` by dotted path
(``latency_s.p95``, ``servers.srv-1.ready_queue_mean``,
``endpoints.srv-1./api.latency_s.p95``). Every rule about figures lives
here, in :data:`KIND_RULES`, and nowhere else: the verdicts of comparisons
and the terminal tables both read it.

Kinds, and the direction a comparison judges them by:

========== ======================================================== =============
kind       figures                                                  lower is
========== ======================================================== =============
time       time requests spend: latencies, waits, service, CPU,      better
           I/O, handshakes, network transit, latency breakdowns
queue      requests waiting: ready queue, RAM wait queue, backlog   better
failures   failed, failed by reason, in flight at the end, refused  better, if
                                                                    the offered
                                                                    load is the
                                                                    same
work       generated, completed (total, per server, per endpoint),  –
           throughput
resource   utilisation, RAM in use, open connections, connection    –
           memory, requests in I/O or in transit
input      latency added by injected spikes                         –
cost       cost per hour and per million requests (``cost``)         better
other      the bottleneck's shares, anything unknown                –
========== ======================================================== =============

Completions and throughput have no good or bad direction: how much work is
done is set by the offered load, and with the same offered load any
shortfall shows up as failures or requests left in flight, which do.
Failures are only judged when both designs are offered the same load:
more failures under three times the load says nothing about the design.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "GROUP_ORDER",
    "KIND_RULES",
    "LOWER_IS_BETTER",
    "LOWER_IS_BETTER_AT_SAME_LOAD",
    "Figure",
    "describe",
    "direction",
    "kind_of",
    "select",
]

KIND_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("cost", re.compile(r"^cost\.")),
    ("other", re.compile(r"^bottleneck\.")),
    ("input", re.compile(r"\.spike_s_(mean|max)$")),
    ("time", re.compile(r"(^|\.)latency_s\.(mean|max|p\d+)$")),
    ("time", re.compile(r"^latency_breakdown(_tail)?_s\.")),
    ("time", re.compile(r"\.\w+_s_mean$")),
    ("queue", re.compile(r"\.(ready_queue|ram_wait_queue|backlog)_(mean|max)$")),
    ("failures", re.compile(r"^requests\.(failed|in_flight)$")),
    ("failures", re.compile(r"^requests\.failed_by_reason\.")),
    ("failures", re.compile(r"\.refused$")),
    ("work", re.compile(r"^requests\.(generated|completed)$")),
    ("work", re.compile(r"\.completed$")),
    ("work", re.compile(r"^throughput_rps\.")),
    ("resource", re.compile(r"_utilization$")),
    ("resource", re.compile(r"_(mean|max)$")),
)
"""``(kind, pattern)`` in order; the first pattern that matches the path decides."""

LOWER_IS_BETTER = frozenset({"time", "queue", "cost"})
"""Kinds where lower is better, whatever the load."""

LOWER_IS_BETTER_AT_SAME_LOAD = frozenset({"failures"})
"""Kinds where lower is better when both designs are offered the same load."""


def kind_of(path: str) -> str:
    """The kind of a figure (see the module's table); ``other`` when unknown."""
    for kind, pattern in KIND_RULES:
        if pattern.search(path):
            return kind
    return "other"


def direction(path: str, same_load: bool = True) -> int:
    """Preferred direction of a figure: -1 lower is better, +1 higher is better, 0 neither.

    Args:
        path: The figure's dotted path.
        same_load: Whether the two designs compared are offered the same
            load (same workload and horizon); failures are judged only then.

    Returns:
        -1, +1 or 0. No figure prefers higher values: completions and
        throughput are judged through failures instead.
    """
    kind = kind_of(path)
    if kind in LOWER_IS_BETTER or (same_load and kind in LOWER_IS_BETTER_AT_SAME_LOAD):
        return -1
    return 0


@dataclass(frozen=True, slots=True)
class Figure:
    """How a figure is shown in a terminal table.

    Attributes:
        path: The dotted path.
        group: The table section (``Requests``, ``Latency``, ``Servers``, ...).
        label: The row's label, in the unit shown (``srv-1 cpu_wait mean (ms)``).
        scale: Factor from the figure's unit to the unit shown (1000 for ms).
        kind: As :func:`kind_of`.
        rank: Place within the group before the summary's own order (failures
            by reason right under ``failed``, throughput last).
    """

    path: str
    group: str
    label: str
    scale: float
    kind: str
    rank: int = 0


_GROUPS = (
    ("requests.", "Requests (whole run)"),
    ("throughput_rps.", "Requests (whole run)"),
    ("latency_s.", "Latency"),
    ("servers.", "Servers"),
    ("load_balancers.", "Load balancers"),
    ("edges.", "Edges"),
    ("endpoints.", "Endpoints"),
    ("latency_breakdown_s.", "Where the time goes (mean per request)"),
    ("latency_breakdown_tail_s.", "Where the time goes (mean per request)"),
    ("bottleneck.", "Bottleneck"),
    ("cost.", "Cost (in the scenario's currency)"),
)
GROUP_ORDER = tuple(dict.fromkeys(title for _, title in _GROUPS))
"""Sections of the tables, in the order shown."""

_REQUEST_RANKS = {
    "requests.generated": 0,
    "requests.completed": 1,
    "requests.failed": 2,
    "requests.in_flight": 3,
}
_SECONDS = re.compile(r"^(?P<name>\w+?)_s_(?P<stat>mean|max)$")
_MEGABYTES = re.compile(r"^(?P<name>\w+?)_mb_(?P<stat>mean|max)$")
_LATENCY = re.compile(r"^latency_s\.(?P<stat>\w+)$")


def describe(path: str) -> Figure:
    """The table section, label and scale of a figure.

    Node ids and endpoint names may contain dots: the label keeps the part
    of the path between the section's prefix and the metric's own name.
    """
    group, rest = "Other", path
    for prefix, title in _GROUPS:
        if path.startswith(prefix):
            group, rest = title, path[len(prefix) :]
            break
    kind = kind_of(path)
    if path in _REQUEST_RANKS:
        label = rest.replace("_", " ")
        return Figure(path, group, label, 1.0, kind, _REQUEST_RANKS[path])
    if path.startswith("requests.failed_by_reason."):
        reason = rest.split(".", 1)[1]
        return Figure(
            path, group, f"  failed: {reason}", 1.0, kind, _REQUEST_RANKS["requests.failed"]
        )
    if path == "throughput_rps.mean":
        return Figure(path, group, "throughput (req/s)", 1.0, kind, len(_REQUEST_RANKS))
    if path.startswith("latency_s."):
        return Figure(path, group, f"{rest} (ms)", 1000.0, kind)
    if path.startswith("cost."):
        label = rest.removeprefix("nodes.") + " per hour" if rest.startswith("nodes.") else rest
        return Figure(path, group, label.replace("_", " "), 1.0, kind)
    if path.startswith(("latency_breakdown_s.", "latency_breakdown_tail_s.")):
        label = rest if path.startswith("latency_breakdown_s.") else f">= {rest}"
        label = label.replace(".", " ", 1) if label.startswith(">=") else label
        return Figure(path, group, f"{label} (ms)", 1000.0, kind)
    subject, metric = _split_metric(rest)
    if path.startswith("endpoints."):
        subject = subject.replace(".", " ", 1)  # "srv-1 /api"
    label, scale = _metric_label(metric)
    return Figure(path, group, f"{subject} {label}".strip(), scale, kind)


def _split_metric(rest: str) -> tuple[str, str]:
    """``srv-1.cpu_wait_s_mean`` → (``srv-1``, ``cpu_wait_s_mean``); metrics may hold a dot."""
    match = re.search(r"\.(latency_s\.\w+)$", rest)
    if match is not None:
        return rest[: match.start()], match.group(1)
    subject, _, metric = rest.rpartition(".")
    return subject, metric


def _metric_label(metric: str) -> tuple[str, float]:
    latency = _LATENCY.match(metric)
    if latency is not None:
        return f"latency {latency.group('stat')} (ms)", 1000.0
    seconds = _SECONDS.match(metric)
    if seconds is not None:
        return f"{seconds.group('name')} {seconds.group('stat')} (ms)", 1000.0
    megabytes = _MEGABYTES.match(metric)
    if megabytes is not None:
        return f"{megabytes.group('name')} {megabytes.group('stat')} (MB)", 1.0
    if metric.endswith(("utilization", "share_of_p99")):
        return f"{metric} (%)", 100.0
    return metric.replace("_mean", " mean").replace("_max", " max"), 1.0


def select(paths: Iterable[str], patterns: Sequence[str]) -> tuple[list[str], list[str]]:
    """The paths matching any pattern, and the patterns that match none.

    A pattern is a dotted path (``latency_s.p95``), a prefix at a dot
    (``servers.srv-1`` matches every figure of that server) or a shell glob
    (``*.cpu_utilization``, ``latency_s.p9?``). No pattern selects every path.

    Returns:
        ``(selected paths in their order, patterns that matched nothing)``.
    """
    every = list(paths)
    if not patterns:
        return every, []
    hits = {pattern: [p for p in every if _matches(p, pattern)] for pattern in patterns}
    chosen = {p for found in hits.values() for p in found}
    return [p for p in every if p in chosen], [pattern for pattern, f in hits.items() if not f]


def _matches(path: str, pattern: str) -> bool:
    if any(char in pattern for char in "*?["):
        return fnmatch.fnmatchcase(path, pattern)
    return path == pattern or path.startswith(pattern.rstrip(".") + ".")
