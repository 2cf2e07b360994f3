"""Replica groups and their autoscalers (the ``replicas`` block of a server).

A server with a ``replicas`` block is a group of identical replicas behind
the load balancer that covers it::

    replicas:
      min_replicas: 1
      max_replicas: 8
      initial_replicas: 2
      startup_s: {mean: 20, distribution: log_normal, variance: 25}
      endpoint_delay_s: 2
      drain_grace_s: 30
      cost_per_replica_s: 0.0001
      autoscaler: {policy: hpa, target_utilization: 0.6}

A replica started is billed while it starts, serves once ready, and is in
the balancer's rotation ``endpoint_delay_s`` after that. A replica removed
leaves the rotation after ``endpoint_delay_s``, finishes the calls inside
it, and is stopped when it is empty or ``drain_grace_s`` after the
decision, whichever comes first (calls still inside then fail with
``server_down``). The autoscalers and what they read are described in
``docs/reference/replicas.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal, Self

from pydantic import Discriminator, Field, ValidationError, model_validator

from asyncflow.scenario._base import (
    NO_VALUE,
    FrozenModel,
    Problem,
    did_you_mean,
    raise_problems,
    relocate,
)
from asyncflow.scenario._types import Integer, Number
from asyncflow.scenario.distributions import Duration

__all__ = [
    "MAX_REPLICAS",
    "Autoscaler",
    "HpaScaler",
    "KnativeScaler",
    "ReplicaGroup",
    "ScalingBehavior",
    "ScalingRule",
    "StaticScaler",
    "StepRule",
    "StepScaler",
    "TargetTrackingScaler",
    "ThresholdScaler",
    "default_scale_down",
    "default_scale_up",
]

MAX_REPLICAS = 256
"""Largest ``max_replicas`` of a group (each possible replica is built up front)."""

_MAX_WINDOW_S = 86_400.0

Seconds = Annotated[Number, Field(ge=0, le=_MAX_WINDOW_S)]
Interval = Annotated[Number, Field(gt=0, le=_MAX_WINDOW_S)]
Fraction = Annotated[Number, Field(gt=0, le=1)]


class _Scaler(FrozenModel):
    """What every autoscaler shares: how often it decides and what it sees."""

    interval_s: Interval = Field(
        default=15.0,
        description="Time between two decisions, in seconds (the first at interval_s).",
    )
    metric_lag_s: Seconds = Field(
        default=0.0,
        description="Age of the newest metrics a decision sees, in seconds "
        "(a metrics pipeline's delay).",
    )


class StaticScaler(_Scaler):
    """Keeps the replicas it has (decisions may still come from an agent)."""

    policy: Literal["static"] = Field(description="Always static.")


class ThresholdScaler(_Scaler):
    """Adds or removes ``step`` replicas when utilisation crosses a threshold."""

    policy: Literal["threshold"] = Field(description="Always threshold.")
    scale_out_above: Fraction = Field(
        description="Utilisation above which it adds replicas (no unit, 0 to 1)."
    )
    scale_in_below: Fraction = Field(
        description="Utilisation below which it removes replicas (no unit, 0 to 1)."
    )
    step: Integer = Field(
        default=1,
        ge=1,
        le=MAX_REPLICAS,
        description="Replicas added or removed a change (a count).",
    )
    cooldown_s: Seconds = Field(
        default=60.0, description="Time after a change during which no other is made, in seconds."
    )

    @model_validator(mode="after")
    def _check_band(self) -> Self:
        if self.scale_in_below >= self.scale_out_above:
            rule = f"must be below scale_out_above ({self.scale_out_above:g})"
            raise_problems([(("scale_in_below",), rule, self.scale_in_below)], "ThresholdScaler")
        return self


class ScalingRule(FrozenModel):
    """A limit on how fast replicas change (a Kubernetes HPA scaling policy)."""

    type: Literal["pods", "percent"] = Field(description="Replicas, or percent of replicas.")
    value: Annotated[Number, Field(gt=0, le=10_000)] = Field(
        description="Replicas (pods: a count) or percent (percent) allowed per period."
    )
    period_s: Annotated[Number, Field(gt=0, le=1800)] = Field(
        default=15.0, description="Length of the period the limit applies to, in seconds."
    )


class ScalingBehavior(FrozenModel):
    """Stabilisation window and rate limits of one direction of an HPA."""

    stabilization_window_s: Seconds = Field(
        description="Past recommendations considered, in seconds: the most cautious one is used."
    )
    select_policy: Literal["max", "min", "disabled"] = Field(
        default="max",
        description="Use the rule allowing the largest change (max), the smallest (min), "
        "or make no change in this direction (disabled).",
    )
    policies: tuple[ScalingRule, ...] = Field(min_length=1, description="The rate limits.")


def default_scale_up() -> ScalingBehavior:
    """Kubernetes' default scale-up: no window, +100% or +4 pods per 15 s (the larger)."""
    rules = (ScalingRule(type="percent", value=100.0), ScalingRule(type="pods", value=4.0))
    return ScalingBehavior(stabilization_window_s=0.0, policies=rules)


def default_scale_down() -> ScalingBehavior:
    """Kubernetes' default scale-down: a 300 s window, -100% per 15 s."""
    return ScalingBehavior(
        stabilization_window_s=300.0, policies=(ScalingRule(type="percent", value=100.0),)
    )


class HpaScaler(_Scaler):
    """The Kubernetes Horizontal Pod Autoscaler on CPU utilisation."""

    policy: Literal["hpa"] = Field(description="Always hpa.")
    target_utilization: Fraction = Field(
        description="Mean CPU utilisation aimed at (no unit, 0 to 1)."
    )
    tolerance: Annotated[Number, Field(ge=0, lt=1)] = Field(
        default=0.1, description="No change while |metric/target - 1| is within it (no unit)."
    )
    scale_up: ScalingBehavior = Field(
        default_factory=default_scale_up, description="Window and rate limits upwards."
    )
    scale_down: ScalingBehavior = Field(
        default_factory=default_scale_down, description="Window and rate limits downwards."
    )


class TargetTrackingScaler(_Scaler):
    """Keeps utilisation near a target (cloud target tracking), with cooldowns."""

    policy: Literal["target_tracking"] = Field(description="Always target_tracking.")
    target_utilization: Fraction = Field(
        description="Mean CPU utilisation aimed at (no unit, 0 to 1)."
    )
    scale_out_cooldown_s: Seconds = Field(
        default=60.0, description="Time after a scale-out before the next scale-out, in seconds."
    )
    scale_in_cooldown_s: Seconds = Field(
        default=300.0, description="Time after any change before a scale-in, in seconds."
    )


class StepRule(FrozenModel):
    """One step of a step-scaling policy: a utilisation band and its change."""

    lower: Annotated[Number, Field(ge=0, le=1)] = Field(
        description="Band start, a utilisation (no unit, included)."
    )
    upper: Annotated[Number, Field(gt=0, le=1)] | None = Field(
        default=None,
        description="Band end, a utilisation (no unit, excluded); none for no upper end.",
    )
    change: Annotated[Integer, Field(ge=-MAX_REPLICAS, le=MAX_REPLICAS)] = Field(
        description="Replicas added (positive) or removed (negative): a count."
    )


class StepScaler(_Scaler):
    """Step scaling: the first band containing the utilisation decides the change."""

    policy: Literal["step_scaling"] = Field(description="Always step_scaling.")
    steps: tuple[StepRule, ...] = Field(min_length=1, description="The bands, first match wins.")
    cooldown_s: Seconds = Field(
        default=60.0, description="Time after a change during which no other is made, in seconds."
    )

    @model_validator(mode="after")
    def _check_steps(self) -> Self:
        problems: list[Problem] = []
        for i, step in enumerate(self.steps):
            if step.upper is not None and step.upper <= step.lower:
                rule = f"must be above lower ({step.lower:g})"
                problems.append((("steps", i, "upper"), rule, step.upper))
        if problems:
            raise_problems(problems, "StepScaler")
        return self


class KnativeScaler(_Scaler):
    """Knative's concurrency autoscaler: a stable window and a panic window."""

    policy: Literal["knative"] = Field(description="Always knative.")
    interval_s: Interval = Field(default=2.0, description="Time between two decisions, in seconds.")
    target_concurrency: Annotated[Number, Field(gt=0, le=1e6)] = Field(
        description="Calls in progress per replica aimed at (a count)."
    )
    stable_window_s: Annotated[Number, Field(ge=1, le=3600)] = Field(
        default=60.0, description="Window of the stable mean concurrency, in seconds."
    )
    panic_window_fraction: Annotated[Number, Field(gt=0, le=1)] = Field(
        default=0.1, description="Panic window as a fraction of the stable window (no unit)."
    )
    panic_threshold: Annotated[Number, Field(gt=1, le=100)] = Field(
        default=2.0,
        description="Panic when the panic window wants this many times the ready "
        "replicas (no unit).",
    )
    max_scale_up_rate: Annotated[Number, Field(gt=1, le=1e6)] = Field(
        default=1000.0,
        description="At most this many times the ready replicas a decision (no unit).",
    )
    max_scale_down_rate: Annotated[Number, Field(gt=1, le=1e6)] = Field(
        default=2.0, description="At least the ready replicas divided by this a decision (no unit)."
    )


Autoscaler = Annotated[
    StaticScaler | ThresholdScaler | HpaScaler | TargetTrackingScaler | StepScaler | KnativeScaler,
    Discriminator("policy"),
]
"""One autoscaler, chosen by its ``policy`` key."""

_SCALERS: dict[str, type[FrozenModel]] = {
    "static": StaticScaler,
    "threshold": ThresholdScaler,
    "hpa": HpaScaler,
    "target_tracking": TargetTrackingScaler,
    "step_scaling": StepScaler,
    "knative": KnativeScaler,
}


class ReplicaGroup(FrozenModel):
    """A server run as a group of replicas that can be scaled at run time."""

    min_replicas: Integer = Field(ge=0, le=MAX_REPLICAS, description="Fewest replicas (a count).")
    max_replicas: Integer = Field(ge=1, le=MAX_REPLICAS, description="Most replicas (a count).")
    initial_replicas: Integer = Field(
        ge=0, le=MAX_REPLICAS, description="Replicas ready and in rotation at time 0 (a count)."
    )
    startup_s: Duration | None = Field(
        default=None,
        description="Time from a replica's start to its readiness (billed, not serving); "
        "none: ready at once.",
    )
    readiness_period_s: Seconds = Field(
        default=0.0,
        description="Period of the readiness probe, in seconds: a started replica is "
        "seen ready at the first probe after its start-up (0: at once).",
    )
    endpoint_delay_s: Seconds = Field(
        default=0.0,
        description="Delay before the balancer sees a replica join or leave its "
        "rotation, in seconds.",
    )
    drain_grace_s: Seconds = Field(
        default=30.0,
        description="Most seconds a removed replica has to finish the calls inside it.",
    )
    cost_per_replica_s: Annotated[Number, Field(ge=0, le=1e6)] = Field(
        default=0.0,
        description="Price of one replica, starting or serving (currency per replica-second).",
    )
    autoscaler: Autoscaler | None = Field(
        default=None,
        description="The autoscaler deciding the replicas; none: the replicas stay as they "
        "are unless an agent scales them.",
    )

    @model_validator(mode="before")
    @classmethod
    def _autoscaler_by_policy(cls, data: Any) -> Any:
        """Validate the autoscaler by its policy, so its errors name their own keys."""
        if not isinstance(data, Mapping) or not isinstance(data.get("autoscaler"), Mapping):
            return data
        value = data["autoscaler"]
        policy = value.get("policy")
        model = _SCALERS.get(policy) if isinstance(policy, str) else None
        if model is None:
            names = ", ".join(_SCALERS)
            hint = did_you_mean(policy, _SCALERS) if isinstance(policy, str) else ""
            rule = f"unknown autoscaler{hint}: one of {names}"
            raise_problems([(("autoscaler", "policy"), rule, policy)], "ReplicaGroup")
        try:
            scaler = model.model_validate(value)
        except ValidationError as error:
            relocate(error, ("autoscaler",), "ReplicaGroup")
        return {**data, "autoscaler": scaler}

    @model_validator(mode="after")
    def _check_bounds(self) -> Self:
        problems: list[Problem] = []
        if self.max_replicas < self.min_replicas:
            rule = f"must be at least min_replicas ({self.min_replicas})"
            problems.append((("max_replicas",), rule, self.max_replicas))
        elif not self.min_replicas <= self.initial_replicas <= self.max_replicas:
            bounds = f"{self.min_replicas}..{self.max_replicas}"
            rule = f"must be within min_replicas and max_replicas ({bounds})"
            problems.append((("initial_replicas",), rule, self.initial_replicas))
        if self.autoscaler is not None and isinstance(self.autoscaler, KnativeScaler):
            window = self.autoscaler.stable_window_s * self.autoscaler.panic_window_fraction
            if window < self.autoscaler.interval_s:
                rule = f"gives a panic window ({window:g} s) shorter than interval_s"
                problems.append((("autoscaler", "panic_window_fraction"), rule, NO_VALUE))
        if problems:
            raise_problems(problems, "ReplicaGroup")
        return self
