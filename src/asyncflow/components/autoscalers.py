"""Autoscalers: each decision turns what a group shows into a replica count.

Every autoscaler reads the group's own state (replicas ready and starting,
known at once, as a controller knows its pods) and its metrics over a
window that ends ``metric_lag_s`` before the decision (a metrics pipeline's
delay). Utilisation is the busy cores of the ready replicas over their
cores; concurrency is the calls in progress in the whole group. Each
returns the replicas it wants, within the group's bounds.

The Kubernetes HPA follows the controller's published algorithm: the ratio
rule ``ceil(ready * metric / target)`` with a tolerance, starting replicas
counted as idle on a scale-up (and no change when that reverses the
direction), stabilisation windows (the most cautious recommendation of the
window wins) and rate limits over periods (``pods`` or ``percent``, the
largest or smallest change allowed).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from asyncflow.scenario.replicas import (
        Autoscaler,
        HpaScaler,
        KnativeScaler,
        ScalingBehavior,
        StepScaler,
        TargetTrackingScaler,
        ThresholdScaler,
    )

__all__ = [
    "Decider",
    "GroupState",
    "Hpa",
    "Knative",
    "Metrics",
    "StepScaling",
    "TargetTracking",
    "Threshold",
    "make_decider",
]


class GroupState:
    """What a decision knows of its group itself (live, not lagged)."""

    __slots__ = ("max_replicas", "min_replicas", "ready", "starting")

    def __init__(self, ready: int, starting: int, min_replicas: int, max_replicas: int) -> None:
        self.ready = ready
        self.starting = starting
        self.min_replicas = min_replicas
        self.max_replicas = max_replicas

    @property
    def current(self) -> int:
        """Replicas wanted so far: ready and starting (draining ones are gone)."""
        return self.ready + self.starting

    def clamp(self, replicas: int) -> int:
        """``replicas`` within the group's bounds."""
        return max(self.min_replicas, min(self.max_replicas, replicas))


class Metrics(Protocol):
    """The metrics a decision may read, as means over a window ``(t0, t1]``."""

    def utilization(self, t0: float, t1: float) -> float | None:
        """Busy cores of the ready replicas over their cores; None without any."""

    def concurrency(self, t0: float, t1: float) -> float | None:
        """Calls in progress in the group; None when nothing was measured."""


class Decider(Protocol):
    """An autoscaler at run time."""

    @property
    def interval_s(self) -> float:
        """Seconds between two decisions."""

    @property
    def reach_s(self) -> float:
        """How far back the metrics a decision reads go."""

    @property
    def lag_s(self) -> float:
        """Age of the newest metrics a decision reads."""

    def decide(self, time: float, state: GroupState, metrics: Metrics) -> int:
        """The replicas wanted now."""


class _Base:
    """Interval, lag and the window of the newest metrics."""

    def __init__(self, interval_s: float, lag_s: float, window_s: float = 0.0) -> None:
        self._interval_s = interval_s
        self._lag_s = lag_s
        self._reach_s = max(window_s, interval_s) + lag_s

    @property
    def reach_s(self) -> float:
        """How far back the metrics a decision reads go."""
        return self._reach_s

    @property
    def lag_s(self) -> float:
        """Age of the newest metrics a decision reads."""
        return self._lag_s

    @property
    def interval_s(self) -> float:
        """Seconds between two decisions."""
        return self._interval_s

    def _window(self, time: float, length: float) -> tuple[float, float]:
        end = time - self._lag_s
        return end - length, end


class _Cooled(_Base):
    """A rule that changes the count by steps, then waits ``cooldown_s`` before the next."""

    def __init__(self, interval_s: float, metric_lag_s: float, cooldown_s: float) -> None:
        super().__init__(interval_s, metric_lag_s)
        self._cooldown_s = cooldown_s
        self._last = -math.inf

    def _utilization(self, time: float, metrics: Metrics) -> float | None:
        """The last interval's utilisation, or None while cooling down (or unknown)."""
        util = metrics.utilization(*self._window(time, self.interval_s))
        return None if time - self._last < self._cooldown_s else util

    def _changed(self, time: float, current: int, wanted: int) -> int:
        """``wanted``, starting a cooldown when it differs from ``current``."""
        if wanted != current:
            self._last = time
        return wanted


class Threshold(_Cooled):
    """``step`` replicas more above one threshold, fewer below another; a cooldown."""

    def __init__(self, spec: ThresholdScaler) -> None:
        super().__init__(spec.interval_s, spec.metric_lag_s, spec.cooldown_s)
        self._spec = spec

    def decide(self, time: float, state: GroupState, metrics: Metrics) -> int:
        """Change by ``step`` when outside the band and out of the cooldown."""
        spec = self._spec
        current = state.current
        util = self._utilization(time, metrics)
        if util is None:
            return current
        wanted = current
        if util > spec.scale_out_above:
            wanted = state.clamp(current + spec.step)
        elif util < spec.scale_in_below:
            wanted = state.clamp(current - spec.step)
        return self._changed(time, current, wanted)


class TargetTracking(_Base):
    """``ceil(ready * utilisation / target)``, with scale-out and scale-in cooldowns."""

    def __init__(self, spec: TargetTrackingScaler) -> None:
        super().__init__(spec.interval_s, spec.metric_lag_s)
        self._spec = spec
        self._last_out = -math.inf
        self._last_change = -math.inf

    def decide(self, time: float, state: GroupState, metrics: Metrics) -> int:
        """Track the target; scale in only after the longer cooldown."""
        spec = self._spec
        current = state.current
        util = metrics.utilization(*self._window(time, spec.interval_s))
        if util is None or state.ready == 0:
            return current
        wanted = state.clamp(math.ceil(state.ready * util / spec.target_utilization - 1e-9))
        if wanted > current and time - self._last_out >= spec.scale_out_cooldown_s:
            self._last_out = self._last_change = time
            return wanted
        if wanted < current and time - self._last_change >= spec.scale_in_cooldown_s:
            self._last_change = time
            return wanted
        return current


class StepScaling(_Cooled):
    """The change of the first band holding the utilisation; a cooldown."""

    def __init__(self, spec: StepScaler) -> None:
        super().__init__(spec.interval_s, spec.metric_lag_s, spec.cooldown_s)
        self._spec = spec

    def decide(self, time: float, state: GroupState, metrics: Metrics) -> int:
        """Apply the matching step, out of the cooldown."""
        current = state.current
        util = self._utilization(time, metrics)
        if util is None:
            return current
        for step in self._spec.steps:
            upper = math.inf if step.upper is None else step.upper
            if step.lower <= util < upper:
                return self._changed(time, current, state.clamp(current + step.change))
        return current


class Hpa(_Base):
    """The Kubernetes Horizontal Pod Autoscaler (CPU utilisation)."""

    def __init__(self, spec: HpaScaler) -> None:
        super().__init__(spec.interval_s, spec.metric_lag_s)
        self._spec = spec
        self._recommendations: list[tuple[float, int]] = []
        self._changes: list[tuple[float, int]] = []  # (time, replicas added; < 0 removed)

    def decide(self, time: float, state: GroupState, metrics: Metrics) -> int:
        """Ratio rule, then stabilisation, then rate limits and bounds."""
        current = state.current
        util = metrics.utilization(*self._window(time, self._spec.interval_s))
        if util is None or current == 0:
            return current  # no metrics of ready replicas (or scaled to 0): no change
        wanted = self.recommend(util, state)
        wanted = self._stabilize(time, wanted, current)
        wanted = self._limit(time, wanted, current, state)
        if wanted != current:
            self._changes.append((time, wanted - current))
        return wanted

    def recommend(self, util: float, state: GroupState) -> int:
        """The replica count of the ratio rule for a utilisation of the ready replicas."""
        spec = self._spec
        current = state.current
        ratio = util / spec.target_utilization
        if state.starting == 0 or ratio <= 1.0:
            if abs(1.0 - ratio) <= spec.tolerance:
                return current
            return math.ceil(ratio * state.ready - 1e-9)
        # Scaling up while replicas start: count them as idle, and keep the
        # count when that is within tolerance or reverses the direction.
        counted = state.ready + state.starting
        rebalanced = util * state.ready / counted / spec.target_utilization
        if abs(1.0 - rebalanced) <= spec.tolerance or rebalanced < 1.0:
            return current
        return math.ceil(rebalanced * counted - 1e-9)

    def _stabilize(self, time: float, wanted: int, current: int) -> int:
        """The most cautious recommendation of each direction's window."""
        up_cut = time - self._spec.scale_up.stabilization_window_s
        down_cut = time - self._spec.scale_down.stabilization_window_s
        up, down = wanted, wanted
        for at, recommendation in self._recommendations:
            if at > up_cut:
                up = min(up, recommendation)
            if at > down_cut:
                down = max(down, recommendation)
        oldest = min(up_cut, down_cut)
        self._recommendations = [r for r in self._recommendations if r[0] > oldest]
        self._recommendations.append((time, wanted))
        return min(max(current, up), down)

    def _limit(self, time: float, wanted: int, current: int, state: GroupState) -> int:
        """Bounds and the rate limits of the direction of the change."""
        if wanted > current:
            limit = max(current, self._rate_limit(time, current, self._spec.scale_up, 1))
            return min(wanted, limit, state.max_replicas)
        if wanted < current:
            limit = min(current, self._rate_limit(time, current, self._spec.scale_down, -1))
            return max(wanted, limit, state.min_replicas)
        return state.clamp(wanted)

    def _rate_limit(self, time: float, current: int, behavior: ScalingBehavior, sign: int) -> int:
        """The furthest replica count the rules allow in direction ``sign``."""
        if behavior.select_policy == "disabled":
            return current
        widest = behavior.select_policy == "max"
        best: int | None = None
        for rule in behavior.policies:
            added = sum(c for at, c in self._changes if at > time - rule.period_s and c > 0)
            removed = -sum(c for at, c in self._changes if at > time - rule.period_s and c < 0)
            start = current - added + removed  # replicas when the period began
            if rule.type == "pods":
                proposed = start + sign * int(rule.value)
            elif sign > 0:
                proposed = math.ceil(start * (1.0 + rule.value / 100.0))
            else:
                proposed = math.floor(start * (1.0 - rule.value / 100.0))
            if best is None:
                best = proposed
            elif (sign > 0) == widest:
                best = max(best, proposed)
            else:
                best = min(best, proposed)
        horizon = max(rule.period_s for rule in behavior.policies)
        self._changes = [c for c in self._changes if c[0] > time - 2 * horizon - 1.0]
        return current if best is None else best


class Knative(_Base):
    """Knative's autoscaler: stable and panic windows on concurrency."""

    def __init__(self, spec: KnativeScaler) -> None:
        super().__init__(spec.interval_s, spec.metric_lag_s, spec.stable_window_s)
        self._spec = spec
        self._panic_since: float | None = None
        self._panic_peak = 0

    @property
    def panicking(self) -> bool:
        """Whether the last decision was made in panic mode."""
        return self._panic_since is not None

    def decide(self, time: float, state: GroupState, metrics: Metrics) -> int:
        """The stable window's replicas, or in panic the panic window's (never fewer)."""
        spec = self._spec
        stable = metrics.concurrency(*self._window(time, spec.stable_window_s))
        panic = metrics.concurrency(
            *self._window(time, spec.stable_window_s * spec.panic_window_fraction)
        )
        if stable is None or panic is None:
            return state.current
        ready = max(state.ready, 1)
        most = math.ceil(spec.max_scale_up_rate * ready)
        least = math.floor(ready / spec.max_scale_down_rate)
        want_stable = min(most, max(least, math.ceil(stable / spec.target_concurrency - 1e-9)))
        want_panic = min(most, max(least, math.ceil(panic / spec.target_concurrency - 1e-9)))
        triggered = want_panic / ready >= spec.panic_threshold
        if triggered:
            self._panic_since = time  # entering, or a new trigger extending the panic
        elif self._panic_since is not None and time - self._panic_since >= spec.stable_window_s:
            self._panic_since = None
            self._panic_peak = 0
        if self._panic_since is not None:
            self._panic_peak = max(self._panic_peak, want_panic, state.current)
            return state.clamp(self._panic_peak)
        return state.clamp(want_stable)


def make_decider(spec: Autoscaler) -> Decider | None:
    """The run-time autoscaler of a scenario's ``autoscaler`` (None for static)."""
    from asyncflow.scenario import replicas as models

    if isinstance(spec, models.ThresholdScaler):
        return Threshold(spec)
    if isinstance(spec, models.TargetTrackingScaler):
        return TargetTracking(spec)
    if isinstance(spec, models.StepScaler):
        return StepScaling(spec)
    if isinstance(spec, models.HpaScaler):
        return Hpa(spec)
    if isinstance(spec, models.KnativeScaler):
        return Knative(spec)
    return None
