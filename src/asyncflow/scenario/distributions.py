"""Random-variable descriptions: :class:`Distribution` and the duration type.

A distribution is given by the mean (and, where the family has one, the
variance) of the samples the engine draws. See ``docs/reference/scenario.md``
for how each family maps these moments to its own parameters.

A distribution that validates can be sampled: its moments are finite, the
spread of log-normal and gamma is bounded (wider ones overflow or collapse to
0), and a truncated normal stays where its parameters can be solved. Where a
duration is expected, its mean is also bounded by the clock
(:data:`~asyncflow.scenario.limits.MIN_DURATION_S` to
:data:`~asyncflow.scenario.limits.MAX_DURATION_S`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Final, Literal, Self

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from asyncflow.scenario._base import DEF_MARKER, NO_VALUE, FrozenModel, Problem, raise_problems
from asyncflow.scenario._types import Number
from asyncflow.scenario.limits import (
    MAX_DURATION_S,
    MAX_EMPIRICAL_VALUES,
    MAX_NORMAL_SPREAD,
    MAX_SPREAD,
    MIN_DURATION_S,
)
from asyncflow.scenario.quantiles import MAX_QUANTILE_POINTS, quantile_law

__all__ = [
    "DURATION_FAMILIES",
    "DURATION_RULE",
    "Distribution",
    "DistributionName",
    "Duration",
    "as_duration_input",
]

DistributionName = Literal[
    "deterministic",
    "exponential",
    "normal",
    "log_normal",
    "uniform",
    "gamma",
    "poisson",
    "empirical",
    "quantiles",
]

DURATION_FAMILIES: Final[tuple[str, ...]] = (
    "deterministic",
    "exponential",
    "normal",
    "log_normal",
    "uniform",
    "gamma",
    "empirical",
    "quantiles",
)
"""Families a duration may use (``poisson`` is read as ``exponential``)."""

_FIXED_VARIANCE: Final[dict[str, str]] = {
    "deterministic": "a deterministic value has variance 0",
    "exponential": "its variance is always mean**2",
    "poisson": "its variance always equals the mean",
    "empirical": "it is computed from values",
    "quantiles": "it is computed from the quantiles",
}
_POSITIVE_MEAN: Final = frozenset({"exponential", "log_normal", "gamma"})
_ROUNDING: Final = 1.0 + 1e-9  # a variance written as ratio * mean**2 may round up


class Distribution(FrozenModel):
    """A random variable given by the moments of the samples drawn from it."""

    distribution: DistributionName = Field(
        description="The family: deterministic, exponential, normal (truncated at 0), "
        "log_normal, uniform, gamma, poisson (counts; exponential on a duration), "
        "empirical (resampled values) or quantiles (a duration given by percentiles)."
    )
    mean: Number | None = Field(
        default=None,
        description="Mean of the samples, in the unit of the field (seconds for a "
        "duration, users for a user count, requests per minute for a rate). Required, "
        "except for empirical where it is computed from values.",
    )
    variance: Number | None = Field(
        default=None,
        description="Variance of the samples, in the unit of the field squared (s² for "
        "a duration), for normal, log_normal, uniform and gamma. Omitted: normal and "
        "log_normal take the mean (AsyncFlow 0.1's rule), uniform takes mean²/3 "
        "(uniform on [0, 2 × mean]); gamma requires it.",
    )
    values: Annotated[tuple[Number, ...], Field(max_length=int(MAX_EMPIRICAL_VALUES.value))] | (
        None
    ) = Field(
        default=None,
        description="The observed samples of an empirical distribution, in the unit of "
        "the field (seconds for a duration); drawn uniformly. Only for empirical.",
    )
    quantiles: Annotated[dict[str, Number], Field(max_length=MAX_QUANTILE_POINTS)] | None = Field(
        default=None,
        description="A duration's percentiles in seconds, keyed p<percent> (p50, p99.9), "
        "with optional min (default 0) and max; linear between points, an exponential "
        "tail above the highest percentile unless max is given. Only for quantiles.",
    )

    @field_validator("mean", "variance")
    @classmethod
    def _unsigned_zero(cls, value: float | None) -> float | None:
        """-0.0 is 0.0 (a negative zero would reach the samplers as a negative spread)."""
        return value + 0.0 if value is not None else None

    @model_validator(mode="before")
    @classmethod
    def _fill_default_variance(cls, data: Any) -> Any:
        if not isinstance(data, Mapping) or data.get("variance") is not None:
            return data
        mean = data.get("mean")
        if isinstance(mean, bool) or not isinstance(mean, int | float):
            return data
        family = data.get("distribution")
        if family not in ("normal", "log_normal", "uniform") or not _fits_a_float(mean):
            return data
        mean = float(mean)
        return {**data, "variance": mean if family != "uniform" else mean * mean / 3.0}

    @model_validator(mode="after")
    def _check_family(self) -> Self:
        problems = _family_problems(self)
        if problems:
            raise_problems(problems, "Distribution")
        return self

    def moments(self) -> tuple[float, float]:
        """Return the mean and variance of the samples the engine draws.

        Returns:
            ``(mean, variance)``; for ``empirical`` the population moments of
            ``values``.
        """
        if self.distribution == "empirical":
            return _empirical_moments(self.values or ())
        if self.distribution == "quantiles":
            law, _ = quantile_law(self.quantiles or {})
            return law.moments() if law is not None else (math.inf, math.inf)
        mean = self.mean if self.mean is not None else 0.0
        if self.distribution == "deterministic":
            return mean, 0.0
        if self.distribution == "exponential":
            return mean, mean * mean
        if self.distribution == "poisson":
            return mean, mean
        return mean, self.variance if self.variance is not None else 0.0


def _fits_a_float(value: float) -> bool:
    """Whether a number is a finite float (an integer may be too large for one)."""
    try:
        return math.isfinite(value) and abs(float(value)) < 1e154  # mean**2 stays finite
    except OverflowError:
        return False


def _empirical_moments(values: Sequence[float]) -> tuple[float, float]:
    """Population mean and variance, ``inf`` where they overflow (never raises)."""
    if not values:
        return 0.0, 0.0
    n = len(values)
    try:
        mean = math.fsum(values) / n
    except OverflowError:
        return math.inf, math.inf
    if not math.isfinite(mean):
        return mean, math.inf
    try:
        variance = math.fsum((x - mean) * (x - mean) for x in values) / n
    except OverflowError:
        variance = math.inf
    return mean, variance


def _family_problems(dist: Distribution) -> list[Problem]:
    family = dist.distribution
    if family == "empirical":
        return _empirical_problems(dist)
    if family == "quantiles":
        return _quantile_problems(dist)
    problems: list[Problem] = []
    if dist.quantiles is not None:
        problems.append((("quantiles",), "only allowed for quantiles", dict(dist.quantiles)))
    if dist.values is not None:
        problems.append((("values",), "only allowed for empirical", list(dist.values)))
    if dist.mean is None:
        problems.append((("mean",), f"required for {family}", NO_VALUE))
    elif family in _POSITIVE_MEAN and dist.mean <= 0:
        problems.append((("mean",), "must be > 0", dist.mean))
    elif dist.mean < 0:
        problems.append((("mean",), "must be >= 0", dist.mean))
    if dist.variance is None:
        if family == "gamma":
            problems.append((("variance",), "required for gamma", NO_VALUE))
        return problems
    if family in _FIXED_VARIANCE:
        reason = _FIXED_VARIANCE[family]
        problems.append((("variance",), f"not allowed for {family} ({reason})", dist.variance))
    elif dist.variance < 0:
        problems.append((("variance",), "must be >= 0", dist.variance))
    elif dist.mean is not None and dist.mean >= 0 and not problems:
        problems.extend(_shape_problems(family, dist.mean, dist.variance))
    return problems


def _spread(mean: float, variance: float) -> float:
    """``variance / mean**2`` without overflow or division by zero (``inf`` when huge)."""
    if mean <= 0.0:
        return math.inf if variance > 0.0 else 0.0
    ratio = variance / mean / mean
    return ratio if math.isfinite(ratio) else math.inf


def _shape_problems(family: str, mean: float, variance: float) -> list[Problem]:
    spread = _spread(mean, variance)
    if family == "normal" and variance > 0 and spread > MAX_NORMAL_SPREAD.value * _ROUNDING:
        rule = (
            f"must be <= {MAX_NORMAL_SPREAD.value:g} x mean**2 = "
            f"{MAX_NORMAL_SPREAD.value * mean * mean:g} for normal (an omitted variance "
            f"defaults to the mean): {MAX_NORMAL_SPREAD.reason}"
        )
        return [(("variance",), rule, variance)]
    if family == "uniform" and mean - math.sqrt(3.0 * variance) < -1e-12 * mean:
        rule = (
            f"must be <= mean**2 / 3 = {mean * mean / 3.0:g} for uniform "
            "(mean - sqrt(3 * variance) would be negative)"
        )
        return [(("variance",), rule, variance)]
    if family == "gamma" and variance == 0:
        return [(("variance",), "must be > 0 for gamma (use deterministic)", variance)]
    if family in ("gamma", "log_normal") and spread > MAX_SPREAD.value * _ROUNDING:
        default = " (an omitted variance defaults to the mean)" if family == "log_normal" else ""
        bound = f"{MAX_SPREAD.value:g} x mean**2"
        rule = f"must be <= {bound} for {family}{default}: {MAX_SPREAD.reason}"
        return [(("variance",), rule, variance)]
    return []


def _quantile_problems(dist: Distribution) -> list[Problem]:
    problems: list[Problem] = []
    for field, given in (("mean", dist.mean), ("variance", dist.variance)):
        if given is not None:
            rule = f"not allowed for quantiles ({_FIXED_VARIANCE['quantiles']})"
            problems.append(((field,), rule, given))
    if dist.values is not None:
        problems.append((("values",), "only allowed for empirical", list(dist.values)))
    if dist.quantiles is None:
        rule = "required for quantiles (e.g. {p50: 0.004, p99: 0.03})"
        return [*problems, (("quantiles",), rule, NO_VALUE)]
    return [*problems, *quantile_law(dist.quantiles)[1]]


def _empirical_problems(dist: Distribution) -> list[Problem]:
    problems: list[Problem] = []
    if dist.quantiles is not None:
        problems.append((("quantiles",), "only allowed for quantiles", dict(dist.quantiles)))
    if dist.mean is not None:
        rule = "not allowed for empirical (the mean is computed from values)"
        problems.append((("mean",), rule, dist.mean))
    if dist.variance is not None:
        rule = f"not allowed for empirical ({_FIXED_VARIANCE['empirical']})"
        problems.append((("variance",), rule, dist.variance))
    if not dist.values:
        problems.append((("values",), "required for empirical (a non-empty list)", NO_VALUE))
        return problems
    negative = [(("values", i), "must be >= 0", x) for i, x in enumerate(dist.values) if x < 0]
    problems.extend(negative)
    if not negative and not all(math.isfinite(m) for m in _empirical_moments(dist.values)):
        rule = "are too large: their mean or variance overflows a double"
        problems.append((("values",), rule, NO_VALUE))
    return problems


def as_duration_input(value: Any) -> Any:
    """Normalise what the user wrote for a duration before validation.

    A number becomes a deterministic distribution; a mapping without
    ``distribution`` becomes exponential; ``distribution: poisson`` (AsyncFlow
    0.1's default, which drew whole seconds) is read as exponential.

    Args:
        value: The raw input.

    Returns:
        The input to validate as a :class:`Distribution`.
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        return {"distribution": "deterministic", "mean": value}
    if isinstance(value, Mapping) and value.get("distribution", "poisson") == "poisson":
        return {**value, "distribution": "exponential"}
    return value


DURATION_RULE: Final = "must be a number of seconds or a distribution mapping"


def _duration_before(value: Any) -> Any:
    value = as_duration_input(value)
    if not isinstance(value, Mapping | Distribution):
        raise_problems([((), DURATION_RULE, value)])
    return value


def _check_duration(dist: Distribution) -> Distribution:
    mean, _ = dist.moments()
    computed = {"empirical": "values", "quantiles": "quantiles"}.get(dist.distribution)
    where, subject = ((computed,), "their mean ") if computed else (("mean",), "")
    if mean <= 0 and computed is not None:
        raise_problems([(where, "must have a positive mean for a duration", NO_VALUE)])
    if mean <= 0:
        raise_problems([(where, "must be > 0", mean)])
    if mean < MIN_DURATION_S.value:
        raise_problems([(where, subject + MIN_DURATION_S.rule(">="), mean)])
    if mean > MAX_DURATION_S.value:
        raise_problems([(where, subject + MAX_DURATION_S.rule("<="), mean)])
    return dist


Duration = Annotated[
    Distribution,
    BeforeValidator(_duration_before),
    AfterValidator(_check_duration),
    WithJsonSchema({DEF_MARKER: "Duration"}, mode="validation"),
]
"""A duration in seconds: a number (constant) or a distribution mapping.

Its JSON Schema is the ``Duration`` definition that
:func:`asyncflow.scenario.schema.scenario_json_schema` adds.
"""
