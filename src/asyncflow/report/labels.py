"""Words, units and colours shared by the terminal, PNG and HTML reports.

Summary keys and level metrics are snake_case names made for programs; the
reports show them through these functions, so that the terminal, the charts
and the HTML tables call a thing by the same name and unit. Durations are
shown in milliseconds everywhere, simulated time in seconds.
"""

from __future__ import annotations

__all__ = [
    "PHASE_COLORS",
    "endpoint_label",
    "metric_unit",
    "metric_words",
    "phase_color",
    "phase_header",
    "stat_label",
]

PHASE_COLORS = {
    "network": "#7f7f7f",
    "handshake": "#bcbd22",
    "connection_wait": "#e377c2",
    "ram_wait": "#9467bd",
    "cpu_wait": "#d62728",
    "cpu": "#1f77b4",
    "io": "#2ca02c",
}
"""Colour of each phase, shared by the PNG charts and the HTML report."""

_OTHER_COLORS = ("#8c564b", "#17becf", "#ff7f0e", "#aec7e8")

_PHASE_HEADERS = {
    "network": "network",
    "handshake": "handshake",
    "connection_wait": "backlog wait",
    "ram_wait": "RAM wait",
    "cpu_wait": "core wait",
    "cpu": "CPU",
    "io": "I/O",
    "pool_wait": "pool wait",
}

_METRICS = {
    "ready_queue": ("ready queue", "requests"),
    "ram_wait_queue": ("RAM wait queue", "requests"),
    "busy_cores": ("busy cores", "cores"),
    "io_waiting": ("requests in I/O", "requests"),
    "ram_in_use_mb": ("RAM in use", "MB"),
    "connections": ("open connections", "connections"),
    "backlog": ("accept backlog", "connections"),
    "connection_memory_mb": ("connection memory", "MB"),
    "in_transit": ("requests in transit", "requests"),
}

_STATS = {
    "completed": ("completed requests", "count"),
    "refused": ("connections refused", "count"),
    "cpu_utilization": ("CPU utilisation (mean)", "percent"),
    "ram_utilization": ("RAM utilisation (mean)", "percent"),
    "connection_utilization": ("connection utilisation (mean)", "percent"),
    "service_s_mean": ("service time, mean (ms)", "ms"),
    "transit_s_mean": ("time on the edge, mean (ms)", "ms"),
    "max_connections": ("open connections, limit", "count"),
    "listen_backlog": ("accept backlog, limit", "count"),
    "ram_mb": ("memory for connections, limit (MB)", "mb"),
}


def phase_color(phase: str, index: int = 0) -> str:
    """Return the colour of a phase (a fallback by position for new phases)."""
    return PHASE_COLORS.get(phase, _OTHER_COLORS[index % len(_OTHER_COLORS)])


def phase_header(phase: str) -> str:
    """Return a short column header for a phase (``"cpu_wait"`` → ``"core wait"``)."""
    return _PHASE_HEADERS.get(phase, phase.replace("_", " "))


def metric_words(metric: str) -> str:
    """Return a level metric in words, without unit (``"ram_in_use_mb"`` → ``"RAM in use"``)."""
    if metric in _METRICS:
        return _METRICS[metric][0]
    return metric.removesuffix("_mb").replace("_", " ")


def metric_unit(metric: str) -> str:
    """Return the unit of a level metric (``"MB"``, ``"requests"``, ``"cores"``, ...)."""
    if metric in _METRICS:
        return _METRICS[metric][1]
    return "MB" if metric.endswith("_mb") else "level"


def endpoint_label(server: str, endpoint: str) -> str:
    """Join a server id and an endpoint name with one slash (``srv-1/api``, not ``srv-1//api``)."""
    return f"{server}/{endpoint.lstrip('/')}"


def stat_label(key: str) -> tuple[str, str]:
    """Return the words and the kind of a key of a server or load-balancer summary.

    Args:
        key: A key of ``summary["servers"][id]`` or ``summary["load_balancers"][id]``.

    Returns:
        ``(label, kind)``: the label with its unit in words (``"RAM in use,
        max (MB)"``), and how to format the value: ``"count"`` (whole
        numbers), ``"percent"``, ``"ms"`` (given in seconds), ``"mb"`` or
        ``"level"`` (a time-weighted mean or a maximum of a count).
    """
    if key in _STATS:
        return _STATS[key]
    for suffix, word in (("_mean", "mean"), ("_max", "max")):
        if not key.endswith(suffix):
            continue
        base = key.removesuffix(suffix)
        if base.endswith("_s"):
            return f"{phase_header(base.removesuffix('_s'))}, {word} (ms)", "ms"
        if metric_unit(base) == "MB":
            return f"{metric_words(base)}, {word} (MB)", "mb"
        return f"{metric_words(base)}, {word}", "level"
    return key.replace("_", " "), "level"
