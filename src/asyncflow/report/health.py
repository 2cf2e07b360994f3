"""Rows of the terminal summary's balancer health table (health checks, ejections)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["health_table_rows"]

_FIGURES = (
    ("health_check_removals", "removed by health checks"),
    ("health_check_returns", "restored by health checks"),
    ("failed_probes", "failed probes"),
    ("ejections", "outlier ejections"),
)


def health_table_rows(summary: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """``(balancer, figure, value)`` rows for the balancers with health policies.

    Args:
        summary: The dictionary returned by ``Results.summary()``.

    Returns:
        The rows, empty when no balancer has a health check or outlier ejection.
    """
    policies: Any = summary.get("policies") or {}
    balancers: Any = policies.get("balancers") if isinstance(policies, Mapping) else None
    if not isinstance(balancers, Mapping):
        return []
    load_balancers: Any = summary.get("load_balancers") or {}
    rows: list[tuple[str, str, str]] = []
    for balancer_id, figures in balancers.items():
        if not isinstance(figures, Mapping):
            continue
        for key, label in _FIGURES:
            value = figures.get(key)
            if isinstance(value, int):
                rows.append((str(balancer_id), label, f"{value:,}"))
        stats = load_balancers.get(balancer_id) if isinstance(load_balancers, Mapping) else None
        mean = stats.get("servers_in_rotation_mean") if isinstance(stats, Mapping) else None
        if isinstance(mean, int | float):
            rows.append((str(balancer_id), "servers in rotation (mean)", f"{mean:,.2f}"))
    return rows
