"""Random-variable descriptions: :class:`Distribution` and the duration type.

A distribution is given by the mean (and, where the family has one, the
variance) of the samples the engine draws. See ``docs/reference/scenario.md``
for how each family maps these moments to its own parameters.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Annotated, Any, Final, Literal, Self

from pydantic import AfterValidator, BeforeValidator, model_validator

from asyncflow.scenario._base import NO_VALUE, FrozenModel, Problem, raise_problems

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
]

DURATION_FAMILIES: Final[tuple[str, ...]] = (
    "deterministic",
    "exponential",
    "normal",
    "log_normal",
    "uniform",
    "gamma",
    "empirical",
)
"""Families a duration may use (``poisson`` is read as ``exponential``)."""

_FIXED_VARIANCE: Final[dict[str, str]] = {
    "deterministic": "a deterministic value has variance 0",
    "exponential": "its variance is always mean**2",
    "poisson": "its variance always equals the mean",
    "empirical": "it is computed from values",
}
_POSITIVE_MEAN: Final = frozenset({"exponential", "log_normal", "gamma"})


class Distribution(FrozenModel):
    """A random variable given by the moments of the samples drawn from it.

    Attributes:
        distribution: The family.
        mean: Mean of the samples. ``None`` only for ``empirical`` (computed).
        variance: Variance of the samples, for families that have a free one
            (normal, log_normal, uniform, gamma). Filled in when omitted:
            normal and log_normal take ``variance = mean`` (AsyncFlow 0.1's
            rule), uniform takes ``mean**2 / 3`` (uniform on ``[0, 2*mean]``).
        values: The samples of an ``empirical`` distribution, drawn uniformly.
    """

    distribution: DistributionName
    mean: float | None = None
    variance: float | None = None
    values: tuple[float, ...] | None = None

    @model_validator(mode="before")
    @classmethod
    def _fill_default_variance(cls, data: Any) -> Any:
        if not isinstance(data, Mapping) or data.get("variance") is not None:
            return data
        mean = data.get("mean")
        if isinstance(mean, bool) or not isinstance(mean, int | float):
            return data
        family = data.get("distribution")
        if family in ("normal", "log_normal"):
            return {**data, "variance": float(mean)}
        if family == "uniform":
            return {**data, "variance": float(mean) ** 2 / 3.0}
        return data

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
            values = self.values or ()
            mean = math.fsum(values) / len(values)
            return mean, math.fsum((x - mean) ** 2 for x in values) / len(values)
        mean = self.mean if self.mean is not None else 0.0
        if self.distribution == "deterministic":
            return mean, 0.0
        if self.distribution == "exponential":
            return mean, mean * mean
        if self.distribution == "poisson":
            return mean, mean
        return mean, self.variance if self.variance is not None else 0.0


def _family_problems(dist: Distribution) -> list[Problem]:
    family = dist.distribution
    if family == "empirical":
        return _empirical_problems(dist)
    problems: list[Problem] = []
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
    elif dist.mean is not None and dist.mean >= 0:
        problems.extend(_shape_problems(family, dist.mean, dist.variance))
    return problems


def _shape_problems(family: str, mean: float, variance: float) -> list[Problem]:
    if family == "normal" and variance > 0 and variance >= mean * mean:
        rule = (
            f"must be < mean**2 = {mean * mean:g} for normal: a normal truncated at 0 "
            "cannot keep this mean and variance (an omitted variance defaults to the "
            "mean); use gamma or log_normal"
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
    return []


def _empirical_problems(dist: Distribution) -> list[Problem]:
    problems: list[Problem] = []
    if dist.mean is not None:
        rule = "not allowed for empirical (the mean is computed from values)"
        problems.append((("mean",), rule, dist.mean))
    if dist.variance is not None:
        rule = f"not allowed for empirical ({_FIXED_VARIANCE['empirical']})"
        problems.append((("variance",), rule, dist.variance))
    if not dist.values:
        problems.append((("values",), "required for empirical (a non-empty list)", NO_VALUE))
        return problems
    problems.extend((("values", i), "must be >= 0", x) for i, x in enumerate(dist.values) if x < 0)
    return problems


def as_duration_input(value: Any) -> Any:
    """Normalise what the user wrote for a duration before validation.

    A number (or a numeric string such as YAML's ``1e-3``) becomes a
    deterministic distribution; a mapping without ``distribution`` becomes
    exponential; ``distribution: poisson`` (AsyncFlow 0.1's default, which
    drew whole seconds) is read as exponential.

    Args:
        value: The raw input.

    Returns:
        The input to validate as a :class:`Distribution`.
    """
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return value
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
    if mean <= 0 and dist.distribution == "empirical":
        raise_problems([(("values",), "must have a positive mean for a duration", NO_VALUE)])
    if mean <= 0:
        raise_problems([(("mean",), "must be > 0", mean)])
    return dist


Duration = Annotated[
    Distribution,
    BeforeValidator(_duration_before, json_schema_input_type=float | Distribution),
    AfterValidator(_check_duration),
]
"""A duration in seconds: a number (constant) or a distribution mapping."""
