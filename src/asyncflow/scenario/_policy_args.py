"""Policy mappings for :class:`~asyncflow.scenario.builder.ScenarioBuilder` (``policy()``).

Each function returns the mapping a ``policies:`` entry of a file holds;
nothing is checked until the scenario is built.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

__all__ = [
    "admission_queue",
    "backoff",
    "circuit_breaker",
    "concurrency_limit",
    "rate_limit",
    "retry",
    "timeout",
]


def rate_limit(
    target: str, rate_per_s: float, *, burst: float = 1.0, workload: str | None = None
) -> dict[str, Any]:
    """A token bucket at a server or load balancer (``type: rate_limit``).

    Args:
        target: The server or load balancer it protects.
        rate_per_s: Tokens per second.
        burst: Size of the bucket (it starts full).
        workload: Limit only this workload's requests; None: all traffic.
    """
    spec: dict[str, Any] = {
        "type": "rate_limit",
        "target": target,
        "rate_per_s": rate_per_s,
        "burst": burst,
    }
    if workload is not None:
        spec["workload"] = workload
    return spec


def admission_queue(
    max_length: int,
    discipline: Literal["fifo", "lifo", "codel"] = "fifo",
    *,
    target_delay_s: float | None = None,
    interval_s: float | None = None,
) -> dict[str, Any]:
    """Where calls beyond a concurrency limit wait (``queue`` of ``concurrency_limit()``)."""
    spec: dict[str, Any] = {"discipline": discipline, "max_length": max_length}
    if target_delay_s is not None:
        spec["target_delay_s"] = target_delay_s
    if interval_s is not None:
        spec["interval_s"] = interval_s
    return spec


def concurrency_limit(
    target: str,
    max_in_flight: int,
    *,
    endpoint: str | None = None,
    queue: dict[str, Any] | None = None,
    calls_to: str | None = None,
) -> dict[str, Any]:
    """At most ``max_in_flight`` calls inside a server, or one endpoint of it (a bulkhead).

    With ``calls_to``, at most that many calls from the server to that node
    out at once (a bulkhead per dependency).

    Args:
        target: The server.
        max_in_flight: Calls inside at once; the excess is shed or queued.
        endpoint: Limit only this endpoint's calls.
        queue: An admission queue (from :func:`admission_queue`); None: shed at once.
        calls_to: Limit the server's calls to this node instead.
    """
    spec: dict[str, Any] = {
        "type": "concurrency_limit",
        "target": target,
        "max_in_flight": max_in_flight,
    }
    if endpoint is not None:
        spec["endpoint"] = endpoint
    if queue is not None:
        spec["queue"] = queue
    if calls_to is not None:
        spec["calls_to"] = calls_to
    return spec


def timeout(
    target: str,
    timeout_s: float,
    *,
    calls_to: str | None = None,
    cancel: bool | None = None,
    propagate_deadline: bool = True,
) -> dict[str, Any]:
    """A client timeout (``target`` a workload) or a call timeout (a server and ``calls_to``).

    Args:
        target: The workload, or the server whose calls time out.
        timeout_s: Seconds before the caller gives up.
        calls_to: With a server target, the node its timed calls go to.
        cancel: A client timeout: whether giving up withdraws the request.
        propagate_deadline: Whether servers skip work whose deadline passed.
    """
    spec: dict[str, Any] = {"type": "timeout", "target": target, "timeout_s": timeout_s}
    if calls_to is not None:
        spec["calls_to"] = calls_to
    if cancel is not None:
        spec["cancel"] = cancel
    if not propagate_deadline:
        spec["propagate_deadline"] = False
    return spec


def backoff(
    base_s: float = 0.1,
    max_s: float = 10.0,
    *,
    multiplier: float = 2.0,
    jitter: Literal["none", "full", "equal", "decorrelated"] = "full",
) -> dict[str, Any]:
    """The wait before each retry of a :func:`retry` (``backoff:``).

    Args:
        base_s: Wait before the first retry (its ceiling, with jitter).
        max_s: Longest wait.
        multiplier: Growth of the ceiling from one retry to the next.
        jitter: none, full, equal or decorrelated.
    """
    return {"base_s": base_s, "max_s": max_s, "multiplier": multiplier, "jitter": jitter}


def retry(
    target: str,
    *,
    calls_to: str | None = None,
    max_attempts: int = 3,
    retry_on: Sequence[str] | None = None,
    backoff: Mapping[str, Any] | None = None,
    budget_ratio: float | None = None,
    budget_min_per_s: float = 0.0,
) -> dict[str, Any]:
    """Retries at a workload's client, or at a server's calls to ``calls_to`` (``type: retry``).

    Args:
        target: The workload, or the server whose calls are retried.
        calls_to: With a server target, the node its retried calls go to.
        max_attempts: Attempts at most, the first included.
        retry_on: The failure reasons retried; None: the default set.
        backoff: From :func:`backoff`; None: the default backoff.
        budget_ratio: Retries allowed per first attempt (a retry budget); None: no budget.
        budget_min_per_s: With a budget, the retries per second always allowed.
    """
    spec: dict[str, Any] = {"type": "retry", "target": target, "max_attempts": max_attempts}
    if calls_to is not None:
        spec["calls_to"] = calls_to
    if retry_on is not None:
        spec["retry_on"] = list(retry_on)
    if backoff is not None:
        spec["backoff"] = dict(backoff)
    if budget_ratio is not None:
        spec["budget"] = {"ratio": budget_ratio, "min_per_s": budget_min_per_s}
    return spec


def circuit_breaker(
    target: str,
    calls_to: str,
    *,
    failure_ratio: float = 0.5,
    window_s: float = 10.0,
    minimum_calls: int = 20,
    open_s: float = 5.0,
    probes: int = 1,
) -> dict[str, Any]:
    """A circuit breaker on a server's calls to one node (``type: circuit_breaker``).

    Args:
        target: The server whose calls it guards.
        calls_to: The node called.
        failure_ratio: Share of failures in the window that opens it.
        window_s: Seconds of outcomes remembered.
        minimum_calls: Outcomes the window must hold before it can open.
        open_s: Seconds it stays open before letting probes through.
        probes: Calls let through half-open; all must succeed to close it.
    """
    return {
        "type": "circuit_breaker",
        "target": target,
        "calls_to": calls_to,
        "failure_ratio": failure_ratio,
        "window_s": window_s,
        "minimum_calls": minimum_calls,
        "open_s": open_s,
        "probes": probes,
    }
