"""Balancer health policy mappings for :class:`~asyncflow.scenario.builder.ScenarioBuilder`.

Each function returns the mapping a ``policies:`` entry of a file holds;
nothing is checked until the scenario is built.
"""

from __future__ import annotations

from typing import Any

__all__ = ["health_check", "outlier_ejection"]


def health_check(
    target: str,
    *,
    interval_s: float = 2.0,
    timeout_s: float = 1.0,
    healthy_threshold: int = 2,
    unhealthy_threshold: int = 3,
) -> dict[str, Any]:
    """Active health checks from a load balancer (``type: health_check``).

    Args:
        target: The load balancer.
        interval_s: Seconds between two probes of a server.
        timeout_s: Seconds before a probe of a server that is down fails.
        healthy_threshold: Good probes in a row that bring a server back.
        unhealthy_threshold: Failed probes in a row that take it out.
    """
    return {
        "type": "health_check",
        "target": target,
        "interval_s": interval_s,
        "timeout_s": timeout_s,
        "healthy_threshold": healthy_threshold,
        "unhealthy_threshold": unhealthy_threshold,
    }


def outlier_ejection(
    target: str,
    *,
    consecutive_failures: int = 5,
    ejection_s: float = 30.0,
    max_ejection_s: float | None = None,
    max_ejected_ratio: float = 0.1,
) -> dict[str, Any]:
    """Outlier ejection at a load balancer (``type: outlier_ejection``).

    Args:
        target: The load balancer.
        consecutive_failures: Failed replies in a row that eject a server.
        ejection_s: Seconds a first ejection lasts (the n-th recent one n times more).
        max_ejection_s: Longest ejection; None: 300 s (or ``ejection_s`` if larger).
        max_ejected_ratio: Largest share of the servers ejected at once.
    """
    spec: dict[str, Any] = {
        "type": "outlier_ejection",
        "target": target,
        "consecutive_failures": consecutive_failures,
        "ejection_s": ejection_s,
        "max_ejected_ratio": max_ejected_ratio,
    }
    if max_ejection_s is not None:
        spec["max_ejection_s"] = max_ejection_s
    return spec
