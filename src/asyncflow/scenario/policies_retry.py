"""Retries and circuit breakers: how callers handle failed calls.

``type: retry``: a caller that tries a failed call again;
``type: circuit_breaker``: a caller that stops calling a failing node for a
while (see :class:`CircuitBreakerSpec`).

A retry policy sits where a timeout does: at a workload's client (``target``
a workload) or at a server's calls to one node (``target`` the server,
``calls_to`` the node)::

    policies:
      - type: retry
        target: web
        max_attempts: 3
        retry_on: [timeout, shed]
        backoff: { base_s: 0.1, max_s: 5, multiplier: 2, jitter: full }
        budget: { ratio: 0.1, min_per_s: 5 }

A failed attempt whose reason is in ``retry_on`` is tried again once the
caller has noticed the failure (a timeout fired, an error crossed back) and
waited its backoff, until ``max_attempts`` attempts were made or the budget
refuses; the request (or the call) keeps one outcome, its last attempt's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, Literal, Self, get_args

from pydantic import Field, model_validator

from asyncflow.scenario._base import NO_VALUE, FrozenModel, raise_problems
from asyncflow.scenario._types import Identifier, Integer, Number

if TYPE_CHECKING:
    from asyncflow.scenario.graph import Hints
    from asyncflow.scenario.models import Scenario

__all__ = [
    "DEFAULT_RETRY_ON",
    "RETRYABLE",
    "Backoff",
    "CircuitBreakerSpec",
    "Retry",
    "RetryBudgetSpec",
    "breaker_problems",
    "retry_problems",
]

RetryReason = Literal[
    "timeout",
    "deadline_exceeded",
    "shed",
    "rate_limited",
    "connection_refused",
    "server_down",
    "network_drop",
    "pool_timeout",
    "circuit_open",
]

RETRYABLE: Final = get_args(RetryReason)
"""The failure reasons a retry may name."""

DEFAULT_RETRY_ON: Final = (
    "timeout",
    "shed",
    "rate_limited",
    "connection_refused",
    "server_down",
    "network_drop",
)
"""What is retried when ``retry_on`` is not given: timeouts, refusals, 503s, 429s, drops."""

MAX_ATTEMPTS: Final = 100


class Backoff(FrozenModel):
    """How long a caller waits before each retry.

    The ceiling before retry ``n`` (1 for the first) is
    ``min(max_s, base_s * multiplier ** (n - 1))``. ``none`` waits the
    ceiling; ``full`` a uniform share of it; ``equal`` half of it plus a
    uniform share of the other half; ``decorrelated`` a uniform value between
    ``base_s`` and three times the previous wait, at most ``max_s``.
    """

    base_s: Number = Field(
        default=0.1, ge=0, le=1e6, description="Wait before the first retry, in seconds."
    )
    max_s: Number = Field(
        default=10.0, ge=0, le=1e7, description="Longest wait between attempts, in seconds."
    )
    multiplier: Number = Field(
        default=2.0,
        ge=1,
        le=100,
        description="Factor (no unit) by which the ceiling grows from one retry to the next.",
    )
    jitter: Literal["none", "full", "equal", "decorrelated"] = Field(
        default="full",
        description="How the wait is spread: none, full, equal or decorrelated jitter.",
    )

    @model_validator(mode="after")
    def _cap_above_base(self) -> Self:
        if self.max_s < self.base_s:
            raise_problems([(("max_s",), f"must be >= base_s ({self.base_s})", self.max_s)])
        return self


class RetryBudgetSpec(FrozenModel):
    """Retries allowed while under ``ratio`` x recent first attempts + ``min_per_s`` x window.

    First attempts and retries are counted over the last ``window_s``
    seconds; a retry beyond the budget is not made (the failure stands).
    """

    ratio: Number = Field(
        ge=0, le=100, description="Retries allowed per first attempt (no unit, e.g. 0.1)."
    )
    min_per_s: Number = Field(
        default=0.0,
        ge=0,
        le=1e9,
        description="Retries per second allowed whatever the traffic (a floor).",
    )
    window_s: Number = Field(
        default=10.0, gt=0, le=1e6, description="How long, in seconds, attempts are counted for."
    )


class Retry(FrozenModel):
    """A caller that tries failed calls again (``type: retry``).

    ``target`` a workload: its client retries requests (each attempt gets
    the workload's timeout afresh). ``target`` a server and ``calls_to`` a
    node: the server's endpoints retry their calls to that node (each
    attempt gets that call timeout afresh).
    """

    type: Literal["retry"] = Field(description="Always retry.")
    target: Identifier = Field(
        description="A workload (its client retries) or a server (it retries its calls to "
        "calls_to)."
    )
    calls_to: Identifier | None = Field(
        default=None,
        description="With a server target: the node (server or load balancer) whose calls are "
        "retried; not with a workload target.",
    )
    max_attempts: Integer = Field(
        default=3,
        ge=1,
        le=MAX_ATTEMPTS,
        description="Attempts at most, the first included (a count; 1 means no retry).",
    )
    retry_on: tuple[RetryReason, ...] = Field(
        default=DEFAULT_RETRY_ON,
        min_length=1,
        description="The failure reasons that are retried; default timeout, shed, "
        "rate_limited, connection_refused, server_down, network_drop.",
    )
    backoff: Backoff = Field(
        default_factory=Backoff, description="The wait before each retry."
    )
    budget: RetryBudgetSpec | None = Field(
        default=None,
        description="A cap on retries relative to first attempts; unset: no cap.",
    )

    @model_validator(mode="after")
    def _reasons_once(self) -> Self:
        seen: set[str] = set()
        for i, reason in enumerate(self.retry_on):
            if reason in seen:
                raise_problems([(("retry_on", i), "named twice", reason)], "Retry")
            seen.add(reason)
        return self


def retry_problems(
    scenario: Scenario, policy: Retry, hint: Hints, called: set[str] | None
) -> tuple[str, str, object] | None:
    """The key and rule a retry breaks, with the value shown, or None.

    Args:
        scenario: A scenario whose parts are valid.
        policy: The retry.
        hint: Suggests the closest id for an unknown one.
        called: The nodes the target calls, when it is a server.
    """
    nodes = scenario.topology_graph.nodes
    workloads = [w.id for w in scenario.workload_list]
    servers = [s.id for s in nodes.servers]
    target, calls_to = policy.target, policy.calls_to
    if target in workloads:
        if calls_to is not None:
            return "calls_to", "only with a server target (a workload's client retries)", calls_to
    elif target in servers:
        if calls_to is None:
            return "calls_to", "required with a server target: the node whose calls retry", NO_VALUE
        if called is not None and calls_to not in called:
            rule = f"{target!r} makes no calls to {calls_to!r}{hint(calls_to, sorted(called))}"
            return "calls_to", rule, NO_VALUE
    else:
        rule = f"unknown workload or server{hint(target, [*workloads, *servers])}"
        if target == nodes.client.id:
            rule = f"a retry needs a workload or a server, {target!r} is the client"
        elif target in {b.id for b in nodes.balancers}:
            rule = f"a retry needs a workload or a server, {target!r} is a load balancer"
        return "target", rule, target
    return _timeout_needed(scenario, policy)


def _timeout_needed(scenario: Scenario, policy: Retry) -> tuple[str, str, object] | None:
    """Retrying timeouts needs a timeout on the same place."""
    if "timeout" not in policy.retry_on:
        return None
    for other in scenario.policies:
        if (
            other.type == "timeout"
            and other.target == policy.target
            and other.calls_to == policy.calls_to
        ):
            return None
    place = policy.target if policy.calls_to is None else f"{policy.target} -> {policy.calls_to}"
    return "retry_on", f"timeout is retried but no timeout is set on {place}", "timeout"


class CircuitBreakerSpec(FrozenModel):
    """A breaker on a server's calls to one node (``type: circuit_breaker``).

    Closed, calls pass and their outcomes fill a sliding window of
    ``window_s``; once it holds at least ``minimum_calls`` outcomes and the
    share of failures reaches ``failure_ratio``, the breaker opens: calls
    fail at once at the caller with ``circuit_open``, without being sent.
    After ``open_s`` it lets ``probes`` calls through (half-open): if they
    all succeed it closes, a failure opens it again.
    """

    type: Literal["circuit_breaker"] = Field(description="Always circuit_breaker.")
    target: Identifier = Field(description="The server whose calls it guards.")
    calls_to: Identifier = Field(description="The node (server or load balancer) called.")
    failure_ratio: Number = Field(
        default=0.5,
        gt=0,
        le=1,
        description="Share of failed calls (no unit, 0 to 1) in the window that opens it.",
    )
    window_s: Number = Field(
        default=10.0, gt=0, le=1e6, description="How long, in seconds, outcomes are remembered."
    )
    minimum_calls: Integer = Field(
        default=20,
        ge=1,
        le=10_000_000,
        description="Outcomes (a count) the window must hold before it can open.",
    )
    open_s: Number = Field(
        default=5.0,
        gt=0,
        le=1e6,
        description="How long, in seconds, it stays open before letting probes through.",
    )
    probes: Integer = Field(
        default=1,
        ge=1,
        le=10_000,
        description="Calls (a count) let through half-open; all must succeed to close it.",
    )


def breaker_problems(
    scenario: Scenario, policy: CircuitBreakerSpec, hint: Hints, called: set[str] | None
) -> tuple[str, str, object] | None:
    """The key and rule a circuit breaker breaks, with the value shown, or None."""
    nodes = scenario.topology_graph.nodes
    servers = [s.id for s in nodes.servers]
    target = policy.target
    if target not in servers:
        rule = f"unknown server{hint(target, servers)}"
        if target in {w.id for w in scenario.workload_list}:
            rule = f"a circuit_breaker needs a server, {target!r} is a workload"
        elif target == nodes.client.id:
            rule = f"a circuit_breaker needs a server, {target!r} is the client"
        elif target in {b.id for b in nodes.balancers}:
            rule = f"a circuit_breaker needs a server, {target!r} is a load balancer"
        return "target", rule, target
    if called is not None and policy.calls_to not in called:
        calls_to = policy.calls_to
        rule = f"{target!r} makes no calls to {calls_to!r}{hint(calls_to, sorted(called))}"
        return "calls_to", rule, NO_VALUE
    return None
