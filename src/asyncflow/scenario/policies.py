"""Overload policies: the optional top-level ``policies`` section.

Each policy names the node it protects (``target``), so that two variants of
a scenario can differ in this section only::

    policies:
      - { type: rate_limit, target: srv-1, rate_per_s: 50, burst: 10 }
      - { type: concurrency_limit, target: srv-1, max_in_flight: 5 }

- ``rate_limit``: a token bucket (``rate_per_s``, ``burst``) at a server or
  a load balancer, for all traffic arriving there or for one workload's;
  calls that find no token fail with ``rate_limited`` (a 429).
- ``concurrency_limit``: at most ``max_in_flight`` calls inside a server (or
  inside one of its endpoints: a bulkhead); the excess is shed (``shed``, a
  503), or waits in an admission queue (``queue``: FIFO, LIFO or CoDel) of
  bounded length.
- ``timeout``: a workload's client timeout (``target`` a workload), or a
  per-call timeout of a server's calls to one node (``target`` the server,
  ``calls_to`` the node). The caller gives up after ``timeout_s``; the call
  fails with ``timeout``. The deadline travels with the call: servers skip
  work whose deadline passed (``deadline_exceeded``); with ``cancel`` the
  call given up on is withdrawn wherever it is.
- ``retry`` (:mod:`asyncflow.scenario.policies_retry`): a workload's client,
  or a server's calls to one node, try a failed call again after a backoff,
  up to ``max_attempts``, within an optional retry budget.

The rules between a policy and the rest of the scenario (targets that
exist, one limit per place) are in :func:`policy_problems`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal, Self

from pydantic import BeforeValidator, Field, ValidationError, model_validator

from asyncflow.scenario._base import (
    NO_VALUE,
    FrozenModel,
    Loc,
    Problem,
    did_you_mean,
    raise_problems,
    relocate,
)
from asyncflow.scenario._types import EndpointName, Identifier, Integer, Number
from asyncflow.scenario.policies_health import HealthCheck, OutlierEjection, health_problems
from asyncflow.scenario.policies_retry import (
    CircuitBreakerSpec,
    Retry,
    breaker_problems,
    retry_problems,
)

if TYPE_CHECKING:
    from asyncflow.scenario.graph import Hints
    from asyncflow.scenario.models import Scenario

__all__ = [
    "MAX_POLICIES",
    "AdaptiveLimit",
    "AdmissionQueue",
    "CircuitBreakerSpec",
    "ConcurrencyLimit",
    "Policy",
    "RateLimit",
    "Retry",
    "Timeout",
    "policy_problems",
]

MAX_POLICIES: Final = 10_000
"""At most this many policies in a scenario (each is built before the run)."""

MAX_RATE_PER_S: Final = 1e9
MAX_BURST: Final = 1e9
MAX_IN_FLIGHT: Final = 10_000_000

_TARGET_TEXT: Final = "Id of the node it protects"


class RateLimit(FrozenModel):
    """A token bucket in front of a server or a load balancer (``type: rate_limit``).

    Tokens refill at ``rate_per_s`` up to ``burst``, starting full; each call
    arriving takes one, and a call that finds none fails with
    ``rate_limited``, its error crossing back as a reply.
    """

    type: Literal["rate_limit"] = Field(description="Always rate_limit.")
    target: Identifier = Field(description=_TARGET_TEXT + ": a server or a load balancer.")
    rate_per_s: Number = Field(
        gt=0,
        le=MAX_RATE_PER_S,
        description="Tokens added per second: the long-run rate admitted, in requests per second.",
    )
    burst: Number = Field(
        default=1.0,
        ge=1,
        le=MAX_BURST,
        description="Size of the bucket (a count of requests): how many may pass at once "
        "after a quiet spell; the bucket starts full.",
    )
    workload: Identifier | None = Field(
        default=None,
        description="Only this workload's requests (and the calls they lead to) take tokens "
        "from this bucket; unset: every call arriving at the target does.",
    )


class AdmissionQueue(FrozenModel):
    """Where calls beyond a concurrency limit wait for a free place.

    FIFO serves the oldest first, LIFO the newest (the freshest requests,
    whose clients are still waiting, go first); CoDel serves in FIFO order
    but drops (sheds) calls at the head while their wait has stayed above
    ``target_delay_s`` for an ``interval_s``.
    """

    discipline: Literal["fifo", "lifo", "codel"] = Field(
        default="fifo",
        description="Which waiting call gets a place that frees: fifo, "
        "lifo or codel (FIFO with controlled-delay dropping).",
    )
    max_length: Integer = Field(
        ge=0,
        le=MAX_IN_FLIGHT,
        description="Calls that may wait (a count); an arrival finding it full is shed.",
    )
    target_delay_s: Number | None = Field(
        default=None,
        gt=0,
        description="CoDel only: the wait (seconds) the queue aims to stay under; default 0.005.",
    )
    interval_s: Number | None = Field(
        default=None,
        gt=0,
        description="CoDel only: how long (seconds) the wait must stay above the target "
        "before the first drop; default 0.1.",
    )

    @model_validator(mode="after")
    def _codel_settings(self) -> Self:
        if self.discipline != "codel":
            problems: list[Problem] = [
                ((key,), f"only with discipline codel, not {self.discipline}", value)
                for key, value in (
                    ("target_delay_s", self.target_delay_s),
                    ("interval_s", self.interval_s),
                )
                if value is not None
            ]
            if problems:
                raise_problems(problems, "AdmissionQueue")
        return self


class AdaptiveLimit(FrozenModel):
    """A concurrency limit that learns from the calls that leave (``adaptive``).

    ``aimd``: each call answered within ``target_s`` raises the limit by one
    over the limit; a failure or a slower answer multiplies it by
    ``decrease``. ``gradient``: the limit follows the ratio of the best time
    in the server to the recent one, plus its square root, smoothed.
    """

    algorithm: Literal["aimd", "gradient"] = Field(
        description="How the limit learns: aimd (additive increase, multiplicative "
        "decrease) or gradient (best over recent time in the server)."
    )
    minimum: Integer = Field(
        default=1, ge=1, le=MAX_IN_FLIGHT, description="Lowest limit (a count)."
    )
    maximum: Integer = Field(
        default=1000, ge=1, le=MAX_IN_FLIGHT, description="Highest limit (a count)."
    )
    target_s: Number | None = Field(
        default=None,
        gt=0,
        description="aimd only: time in the server, in seconds, above which an answer "
        "counts as a congestion signal; unset: only failures do.",
    )
    decrease: Number | None = Field(
        default=None,
        gt=0,
        lt=1,
        description="aimd only: the factor (no unit) applied on a congestion signal; default 0.9.",
    )
    smoothing: Number | None = Field(
        default=None,
        gt=0,
        le=1,
        description="gradient only: how far (no unit, 0 to 1) each answer moves the limit "
        "towards its new target; default 0.2.",
    )

    @model_validator(mode="after")
    def _settings_of_the_algorithm(self) -> Self:
        own = {"aimd": ("target_s", "decrease"), "gradient": ("smoothing",)}
        problems: list[Problem] = [
            ((key,), f"only with algorithm {other}, not {self.algorithm}", getattr(self, key))
            for other, keys in own.items()
            if other != self.algorithm
            for key in keys
            if getattr(self, key) is not None
        ]
        if self.minimum > self.maximum:
            problems.append((("minimum",), f"must be <= maximum ({self.maximum})", self.minimum))
        if problems:
            raise_problems(problems, "AdaptiveLimit")
        return self


class ConcurrencyLimit(FrozenModel):
    """At most ``max_in_flight`` calls inside a server (``type: concurrency_limit``).

    In flight are the calls admitted and not yet answered (waiting for RAM
    or a core, on a core, in I/O, awaiting calls). An arrival beyond the
    limit is shed (``shed``, its 503 crossing back as a reply), or waits in
    the admission ``queue``. With ``endpoint`` the limit holds for that
    endpoint's calls only (a bulkhead). With ``calls_to`` it limits instead
    the calls the target makes to one node (a bulkhead per dependency): a
    call beyond it fails at once at the caller, with ``shed``.
    """

    type: Literal["concurrency_limit"] = Field(description="Always concurrency_limit.")
    target: Identifier = Field(description=_TARGET_TEXT + ": a server.")
    max_in_flight: Integer = Field(
        ge=1,
        le=MAX_IN_FLIGHT,
        description="Calls that may be inside at once (a count; like uvicorn's "
        "--limit-concurrency).",
    )
    endpoint: EndpointName | None = Field(
        default=None,
        description="Limit this endpoint of the target only (a bulkhead); unset: every "
        "call at the server counts.",
    )
    queue: AdmissionQueue | None = Field(
        default=None,
        description="Where calls beyond the limit wait; unset: they are shed at once.",
    )
    calls_to: Identifier | None = Field(
        default=None,
        description="Limit instead the calls the target makes to this node (a bulkhead per "
        "dependency); the excess fails at once at the caller. Not with endpoint or queue.",
    )
    adaptive: AdaptiveLimit | None = Field(
        default=None,
        description="Let the limit learn from the calls that leave (max_in_flight is where "
        "it starts); unset: it stays at max_in_flight. Not with calls_to.",
    )

    @model_validator(mode="after")
    def _dependency_alone(self) -> Self:
        if self.calls_to is not None:
            rule = "not with calls_to (a limit on calls out sheds at the caller)"
            problems: list[Problem] = [
                ((key,), rule, NO_VALUE)
                for key, value in (
                    ("endpoint", self.endpoint),
                    ("queue", self.queue),
                    ("adaptive", self.adaptive),
                )
                if value is not None
            ]
            if problems:
                raise_problems(problems, "ConcurrencyLimit")
        return self


class Timeout(FrozenModel):
    """A caller that gives up after ``timeout_s`` (``type: timeout``).

    ``target`` a workload: its client's timeout, from when a request is
    generated. ``target`` a server and ``calls_to`` a node: the timeout of every
    call that server's endpoints make to that node, from when it is sent.
    Either way the call fails with ``timeout`` when it fires, a dropped call
    is noticed then (not at once), and the deadline travels with the call
    and the calls it leads to.
    """

    type: Literal["timeout"] = Field(description="Always timeout.")
    target: Identifier = Field(
        description="A workload (its client timeout) or a server (the timeout of its calls "
        "to calls_to)."
    )
    timeout_s: Number = Field(
        gt=0,
        le=1e7,
        description="How long, in seconds, the caller waits for an answer before it gives up.",
    )
    calls_to: Identifier | None = Field(
        default=None,
        description="With a server target: the node (server or load balancer) whose calls "
        "time out; not with a workload target.",
    )
    cancel: bool | None = Field(
        default=None,
        strict=True,
        description="A client timeout: whether giving up cancels the request wherever it "
        "is (its RAM, core and calls are freed); unset or false: it runs on, answering "
        "nobody (wasted work). A call timeout always cancels its call (the caller closes "
        "its connection): only unset or true.",
    )
    propagate_deadline: bool = Field(
        default=True,
        strict=True,
        description="Whether the call carries its deadline: every server it or its calls "
        "reach skips work whose deadline passed (deadline_exceeded).",
    )


_Kind = (
    RateLimit
    | ConcurrencyLimit
    | Timeout
    | Retry
    | CircuitBreakerSpec
    | HealthCheck
    | OutlierEjection
)

_KINDS: Final[dict[str, type[_Kind]]] = {
    "rate_limit": RateLimit,
    "concurrency_limit": ConcurrencyLimit,
    "timeout": Timeout,
    "retry": Retry,
    "circuit_breaker": CircuitBreakerSpec,
    "health_check": HealthCheck,
    "outlier_ejection": OutlierEjection,
}


def _by_type(value: Any) -> Any:
    """Validate a policy as the model its ``type`` names, errors under its own keys."""
    if isinstance(value, _Kind) or not isinstance(value, Mapping):
        return value
    kinds = ", ".join(_KINDS)
    kind = value.get("type")
    if kind is None:
        raise_problems([(("type",), f"required field missing (one of {kinds})", NO_VALUE)])
    model = _KINDS.get(kind) if isinstance(kind, str) else None
    if model is None:
        hint = did_you_mean(kind, _KINDS) if isinstance(kind, str) else ""
        raise_problems([(("type",), f"must be one of {kinds}{hint}", kind)])
    try:
        return model.model_validate(value)
    except ValidationError as error:
        _name_unknown_keys(error, model)
        relocate(error, (), "Policy")


def _name_unknown_keys(error: ValidationError, model: type[FrozenModel]) -> None:
    """Report unknown keys against the fields of the policy's own type.

    The message converter finds models by their place in the scenario, and
    in a list of policies of several types that place names none of them.
    """
    unknown = [e for e in error.errors() if e["type"] == "extra_forbidden" and len(e["loc"]) == 1]
    if not unknown:
        return
    fields = list(model.model_fields)
    problems: list[Problem] = []
    for item in unknown:
        key = str(item["loc"][0])
        hint = did_you_mean(key, fields) or f" (expected one of: {', '.join(fields)})"
        problems.append(((key,), f"unknown field{hint}", NO_VALUE))
    raise_problems(problems, "Policy")


Policy = Annotated[
    RateLimit
    | ConcurrencyLimit
    | Timeout
    | Retry
    | CircuitBreakerSpec
    | HealthCheck
    | OutlierEjection,
    Field(discriminator="type"),
    BeforeValidator(_by_type),
]
"""One overload policy, chosen by its ``type``."""


# --------------------------------------------------------------------------- cross rules


def _is_group(server: object) -> bool:
    """Whether a server runs as a replica group (its replicas get their own ids)."""
    return getattr(server, "replicas", None) is not None


def policy_problems(scenario: Scenario, hint: Hints) -> list[Problem]:
    """Every problem between the policies and the rest of the scenario.

    Args:
        scenario: A scenario whose parts are valid.
        hint: Suggests the closest id for an unknown one.

    Returns:
        The problems, in the order of the policies.
    """
    nodes = scenario.topology_graph.nodes
    servers = {s.id: s for s in nodes.servers}
    balancers = {b.id for b in nodes.balancers}
    workloads = [w.id for w in scenario.workload_list]
    others = {nodes.client.id: "the client"} | dict.fromkeys(workloads, "a workload")
    problems: list[Problem] = []
    seen: dict[tuple[str, str, str | None], int] = {}
    for i, policy in enumerate(scenario.policies):
        loc: Loc = ("policies", i)
        if isinstance(policy, HealthCheck | OutlierEjection):
            problems += health_problems(scenario, i, policy, hint)
            continue
        if policy.type == "timeout":
            problem = _timeout_problem(scenario, policy, hint)
            if problem is not None:
                problems.append(((*loc, problem[0]), problem[1], problem[2]))
                continue
            key3 = ("timeout", policy.target, policy.calls_to)
            if key3 in seen:
                rule = f"a second timeout on the same place (also policies[{seen[key3]}])"
                problems.append(((*loc, "target"), rule, policy.target))
            seen.setdefault(key3, i)
            continue
        if isinstance(policy, Retry | CircuitBreakerSpec):
            target = servers.get(policy.target)
            called = _called_by(target) if target is not None else None
            if isinstance(policy, Retry):
                problem = retry_problems(scenario, policy, hint, called)
            else:
                problem = breaker_problems(scenario, policy, hint, called)
            key3 = (policy.type, policy.target, policy.calls_to)
            if problem is None and key3 in seen:
                rule = f"a second {policy.type} on the same place (also policies[{seen[key3]}])"
                problem = ("target", rule, policy.target)
            if problem is not None:
                problems.append(((*loc, problem[0]), problem[1], problem[2]))
            seen.setdefault(key3, i)
            continue
        allowed = [*servers, *balancers] if isinstance(policy, RateLimit) else list(servers)
        refusal = _target_rule(policy, allowed, balancers, others, hint)
        if refusal is None and _is_group(servers.get(policy.target)):
            refusal = "a replica group cannot carry a policy yet (set it on its balancer)"
        if refusal is not None:
            problems.append(((*loc, "target"), refusal, policy.target))
            continue
        if isinstance(policy, RateLimit):
            scope = policy.workload
            if scope is not None and scope not in workloads:
                rule = f"unknown workload{hint(scope, workloads)}"
                problems.append(((*loc, "workload"), rule, scope))
                continue
        elif policy.calls_to is not None:
            called = _called_by(servers[policy.target])
            if policy.calls_to not in called:
                rule = (
                    f"{policy.target!r} makes no calls to {policy.calls_to!r}"
                    f"{hint(policy.calls_to, sorted(called))}"
                )
                problems.append(((*loc, "calls_to"), rule, NO_VALUE))
                continue
            scope = f"-> {policy.calls_to}"
        else:
            scope = policy.endpoint
            names = [e.endpoint_name for e in servers[policy.target].endpoints]
            if scope is not None and scope not in names:
                rule = f"no endpoint {scope!r} at server {policy.target!r}{hint(scope, names)}"
                problems.append(((*loc, "endpoint"), rule, NO_VALUE))
                continue
        key = (policy.type, policy.target, scope)
        if key in seen:
            rule = f"a second {policy.type} on the same place (also policies[{seen[key]}])"
            problems.append(((*loc, "target"), rule, policy.target))
        seen.setdefault(key, i)
    return problems


def _timeout_problem(
    scenario: Scenario, policy: Timeout, hint: Hints
) -> tuple[str, str, object] | None:
    """The key and rule a timeout breaks, with the value shown, or None."""
    nodes = scenario.topology_graph.nodes
    workloads = [w.id for w in scenario.workload_list]
    servers = {s.id: s for s in nodes.servers}
    target, calls_to = policy.target, policy.calls_to
    if target in workloads:
        if calls_to is not None:
            rule = "only with a server target (a workload's timeout is its client's)"
            return "calls_to", rule, calls_to
        return None
    if target not in servers:
        wanted = "a workload or a server"
        if target == nodes.client.id:
            return "target", f"a timeout needs {wanted}, {target!r} is the client", target
        if target in {b.id for b in nodes.balancers}:
            return "target", f"a timeout needs {wanted}, {target!r} is a load balancer", target
        rule = f"unknown workload or server{hint(target, [*workloads, *servers])}"
        return "target", rule, target
    if calls_to is None:
        rule = "required with a server target: the node whose calls time out"
        return "calls_to", rule, NO_VALUE
    if policy.cancel is False:
        rule = "a call timeout always cancels its call (its caller closes the connection)"
        return "cancel", rule, False
    called = _called_by(servers[target])
    if calls_to not in called:
        rule = f"{target!r} makes no calls to {calls_to!r}{hint(calls_to, sorted(called))}"
        return "calls_to", rule, NO_VALUE
    return None


def _called_by(server: Any) -> set[str]:
    """Every node an endpoint of ``server`` calls, branches included."""
    called: set[str] = set()

    def walk(steps: Any) -> None:
        for step in steps:
            for key, value in step.step_operation.items():
                if key == "call":
                    called.add(value.target)
                elif key == "parallel":
                    called.update(c.target for c in value.calls)
                elif key == "branch":
                    for arm in value:
                        walk(arm.steps)

    for endpoint in server.endpoints:
        walk(endpoint.steps)
    return called


def _target_rule(
    policy: RateLimit | ConcurrencyLimit,
    allowed: list[str],
    balancers: set[str],
    others: dict[str, str],
    hint: Hints,
) -> str | None:
    """Why ``policy.target`` cannot carry the policy, or None."""
    target = policy.target
    if target in allowed:
        return None
    if target in balancers:
        return f"a {policy.type} needs a server, {target!r} is a load balancer"
    wanted = "a server or a load balancer" if isinstance(policy, RateLimit) else "a server"
    if target in others:
        return f"a {policy.type} needs {wanted}, {target!r} is {others[target]}"
    return f"unknown node{hint(target, allowed)}"
