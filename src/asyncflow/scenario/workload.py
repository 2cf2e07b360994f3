"""The workload: the generator of requests (YAML key ``rqs_input``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Final, Literal, Self

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from asyncflow.scenario._base import FrozenModel, Problem, raise_problems
from asyncflow.scenario.distributions import Distribution

__all__ = ["ProfilePoint", "Workload"]


def _as_count_input(value: Any) -> Any:
    """A number is a constant; a mapping without ``distribution`` is poisson (0.1)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return {"distribution": "deterministic", "mean": value}
    if isinstance(value, Mapping) and "distribution" not in value:
        return {**value, "distribution": "poisson"}
    return value


def _families(*allowed: str, positive: bool) -> AfterValidator:
    def check(dist: Distribution) -> Distribution:
        if dist.distribution not in allowed:
            names = ", ".join(repr(a) for a in allowed)
            raise_problems([(("distribution",), f"must be one of {names}", dist.distribution)])
        if positive and (dist.mean is None or dist.mean <= 0):
            raise_problems([(("mean",), "must be > 0", dist.mean)])
        return dist

    return AfterValidator(check)


_COUNT_INPUT: Final = BeforeValidator(_as_count_input, json_schema_input_type=float | Distribution)


class ProfilePoint(FrozenModel):
    """One point of a piecewise-linear users profile (also accepted as ``[t_s, users]``).

    Attributes:
        t_s: Time in seconds from the start of the run.
        users: Mean number of active users at that time.
    """

    t_s: float = Field(ge=0)
    users: float = Field(ge=0)

    @model_validator(mode="before")
    @classmethod
    def _from_pair(cls, data: Any) -> Any:
        if isinstance(data, list | tuple):
            if len(data) != 2:
                raise_problems([((), "must be [t_s, users] or {t_s: ..., users: ...}", data)])
            return {"t_s": data[0], "users": data[1]}
        return data


class Workload(FrozenModel):
    """The request generator (YAML key ``rqs_input``).

    Every ``user_sampling_window`` seconds the number of active users is drawn
    from ``avg_active_users``; each user sends requests at
    ``avg_request_per_minute_per_user.mean`` per minute.

    Attributes:
        id: Id of the generator; it is the source of the edge to the client.
        type: Always ``generator``.
        avg_active_users: Active users; poisson, normal or deterministic.
            A mapping without ``distribution`` is poisson (0.1's default).
        avg_request_per_minute_per_user: Requests per minute per user; poisson
            or deterministic; only the mean is used.
        user_sampling_window: Seconds between two draws of the user count.
        users_profile: Optional mean users over time (piecewise linear,
            constant after the last point); replaces ``avg_active_users.mean``.
    """

    id: str
    type: Literal["generator"] = "generator"
    avg_active_users: Annotated[
        Distribution, _COUNT_INPUT, _families("poisson", "normal", "deterministic", positive=False)
    ]
    avg_request_per_minute_per_user: Annotated[
        Distribution, _COUNT_INPUT, _families("poisson", "deterministic", positive=True)
    ]
    user_sampling_window: float = Field(default=60.0, gt=0)
    users_profile: tuple[ProfilePoint, ...] | None = None

    @model_validator(mode="after")
    def _check_profile(self) -> Self:
        points = self.users_profile
        if points is None:
            return self
        problems: list[Problem] = []
        if not points:
            problems.append((("users_profile",), "must have at least one point", []))
        elif points[0].t_s != 0:
            problems.append(
                (("users_profile", 0, "t_s"), "the first point must be at 0", points[0].t_s)
            )
        for i in range(1, len(points)):
            if points[i].t_s < points[i - 1].t_s:
                rule = f"times must not decrease (previous point is at {points[i - 1].t_s:g})"
                problems.append((("users_profile", i, "t_s"), rule, points[i].t_s))
            elif i >= 2 and points[i].t_s == points[i - 2].t_s:
                rule = "at most two points may share a time (a step)"
                problems.append((("users_profile", i, "t_s"), rule, points[i].t_s))
        if problems:
            raise_problems(problems, "Workload")
        return self

    @property
    def requests_per_second_per_user(self) -> float:
        """Rate of one user in requests per second."""
        mean = self.avg_request_per_minute_per_user.mean
        return (mean if mean is not None else 0.0) / 60.0

    def mean_users_at(self, t_s: float) -> float:
        """Return the mean number of active users at time ``t_s``.

        Args:
            t_s: Time in seconds.

        Returns:
            The profile interpolated linearly (right-continuous at steps), or
            ``avg_active_users.mean`` when there is no profile.
        """
        points = self.users_profile
        if not points:
            return self.avg_active_users.moments()[0]
        for i in range(len(points) - 1, -1, -1):
            if points[i].t_s <= t_s:
                if i == len(points) - 1:
                    return points[i].users
                a, b = points[i], points[i + 1]
                return a.users + (b.users - a.users) * (t_s - a.t_s) / (b.t_s - a.t_s)
        return points[0].users
