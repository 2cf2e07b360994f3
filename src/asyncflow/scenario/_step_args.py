"""The builder's functions for distributions, steps and endpoints (re-exported by ``builder``).

Each returns the plain mapping the YAML would hold, checked as far as its
own arguments go; the models validate the rest when the scenario is built.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from asyncflow.scenario._builder_args import mapping_arg, mappings_arg, numbers_arg
from asyncflow.scenario.distributions import Distribution

DistributionLike = float | Mapping[str, Any] | Distribution
"""A number (a constant), a distribution mapping, or a :class:`Distribution`."""

CpuKind = Literal["initial_parsing", "cpu_bound_operation"]
IoKind = Literal["io_task_spawn", "io_llm", "io_wait", "io_db", "io_cache"]


# --------------------------------------------------------------------------- distributions


def _spec(family: str, mean: float, variance: float | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"distribution": family, "mean": mean}
    if variance is not None:
        spec["variance"] = variance
    return spec


def deterministic(value: float) -> dict[str, Any]:
    """A constant."""
    return _spec("deterministic", value)


def exponential(mean: float) -> dict[str, Any]:
    """An exponential with this mean (variance ``mean**2``)."""
    return _spec("exponential", mean)


def normal(mean: float, variance: float | None = None) -> dict[str, Any]:
    """A normal truncated at 0 that keeps this mean and variance (default: the mean)."""
    return _spec("normal", mean, variance)


def log_normal(mean: float, variance: float | None = None) -> dict[str, Any]:
    """A log-normal with this mean and variance (default: the mean)."""
    return _spec("log_normal", mean, variance)


def uniform(mean: float, variance: float | None = None) -> dict[str, Any]:
    """A uniform with this mean and variance (default: uniform on ``[0, 2*mean]``)."""
    return _spec("uniform", mean, variance)


def gamma(mean: float, variance: float) -> dict[str, Any]:
    """A gamma with this mean and variance."""
    return _spec("gamma", mean, variance)


def poisson(mean: float) -> dict[str, Any]:
    """A Poisson count (for users); on a duration it is read as exponential."""
    return _spec("poisson", mean)


def empirical(values: Sequence[float]) -> dict[str, Any]:
    """Draw uniformly among these observed values."""
    observed = numbers_arg(values, "empirical(): values", "a list of numbers")
    return {"distribution": "empirical", "values": observed}


def quantiles(points: Mapping[str, float]) -> dict[str, Any]:
    """A duration given by its percentiles, e.g. ``{"p50": 0.004, "p99": 0.03}``.

    Keys ``p<percent>``, ``min`` and ``max``; see the scenario reference for
    the interpolation between them and the tail above the highest.
    """
    given = mapping_arg(points, "quantiles(): points", 'a mapping like {"p50": 0.004}')
    return {"distribution": "quantiles", "quantiles": given}


# --------------------------------------------------------------------------- steps


def cpu(duration: DistributionLike, *, kind: CpuKind = "cpu_bound_operation") -> dict[str, Any]:
    """A CPU step holding a core for ``duration`` seconds."""
    return {"kind": kind, "step_operation": {"cpu_time": as_plain(duration)}}


def io(duration: DistributionLike, *, kind: IoKind = "io_wait") -> dict[str, Any]:
    """An I/O step releasing the core and waiting ``duration`` seconds."""
    return {"kind": kind, "step_operation": {"io_waiting_time": as_plain(duration)}}


def ram(mb: float) -> dict[str, Any]:
    """A RAM step reserving ``mb`` MB while the request is in the server."""
    return {"kind": "ram", "step_operation": {"necessary_ram": mb}}


def call(target: str, endpoint: str | None = None) -> dict[str, Any]:
    """A call step: send a call to ``target`` (a server or a load balancer) and await it."""
    return {"kind": "call", "step_operation": {"call": _call_target(target, endpoint)}}


def _call_target(target: str, endpoint: str | None) -> dict[str, Any]:
    spec: dict[str, Any] = {"target": target}
    if endpoint is not None:
        spec["endpoint"] = endpoint
    return spec


def parallel(*calls: str | tuple[str, str | None], wait: str | int = "all") -> dict[str, Any]:
    """A parallel step: send calls at once; await ``all``, the ``first`` or ``k`` answers.

    Each call is a target id, or a ``(target, endpoint)`` pair.
    """
    targets = []
    for i, item in enumerate(calls):
        if isinstance(item, str):
            targets.append(_call_target(item, None))
        elif isinstance(item, tuple) and len(item) == 2:
            targets.append(_call_target(item[0], item[1]))
        else:
            raise TypeError(
                f"parallel(): calls[{i}]: expected a target id or a (target, endpoint) pair "
                f"(got {type(item).__name__})"
            )
    return {"kind": "parallel", "step_operation": {"parallel": {"calls": targets, "wait": wait}}}


def branch(*arms: tuple[float, Sequence[Mapping[str, Any]]]) -> dict[str, Any]:
    """A branch step: ``(probability, [steps])`` arms, one drawn per request."""
    checked = []
    for arm in arms:
        if not isinstance(arm, tuple) or len(arm) != 2:
            raise TypeError(
                f"branch(): expected (probability, [steps]) pairs (got {type(arm).__name__})"
            )
        probability, steps = arm
        where = "branch(): steps"
        checked.append(
            {"probability": probability, "steps": mappings_arg(steps, where, "a list of steps")}
        )
    return {"kind": "branch", "step_operation": {"branch": checked}}


def endpoint(
    name: str,
    *steps: Mapping[str, Any],
    weight: float | None = None,
    request_kb: float | None = None,
    response_kb: float | None = None,
) -> dict[str, Any]:
    """An endpoint; ``weight`` is its selection weight (``probability`` in files).

    ``request_kb`` and ``response_kb`` are body sizes, sent through the
    bandwidth of the links into and out of the server.
    """
    checked = mappings_arg(list(steps), "endpoint(): steps", "steps from cpu(), io() or ram()")
    spec: dict[str, Any] = {"endpoint_name": name, "steps": checked}
    if weight is not None:
        spec["probability"] = weight
    if request_kb is not None:
        spec["request_kb"] = request_kb
    if response_kb is not None:
        spec["response_kb"] = response_kb
    return spec


def connection_pool(
    *, keep_alive: bool = True, pool_size: int = 10, idle_timeout_s: float = 60.0
) -> dict[str, Any]:
    """A keep-alive pool for a client, a load balancer or a calling server (``connection_pool``)."""
    return {"keep_alive": keep_alive, "pool_size": pool_size, "idle_timeout_s": idle_timeout_s}


def tls(round_trips: int = 1, cpu_s: DistributionLike | None = None) -> dict[str, Any]:
    """TLS termination at a server (``cpu_s``) or load balancer (round trips only)."""
    spec: dict[str, Any] = {"round_trips": round_trips}
    if cpu_s is not None:
        spec["cpu_s"] = as_plain(cpu_s)
    return spec


def as_plain(value: Any) -> Any:
    """Turn models into mappings so that :meth:`ScenarioBuilder.to_dict` is plain data."""
    if isinstance(value, Distribution):
        return value.model_dump(exclude_none=True)
    if isinstance(value, Mapping):
        return {key: as_plain(item) for key, item in value.items()}
    return value
