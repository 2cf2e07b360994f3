"""The workload: the generator of requests (YAML key ``rqs_input``)."""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Mapping
from typing import Annotated, Any, Final, Literal, Self

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    WithJsonSchema,
    model_validator,
)

from asyncflow.scenario._base import DEF_MARKER, FrozenModel, Problem, raise_problems
from asyncflow.scenario._types import EndpointName, Identifier, Number
from asyncflow.scenario.arrivals import BurstProcess
from asyncflow.scenario.distributions import Distribution
from asyncflow.scenario.limits import (
    MAX_HORIZON_S,
    MAX_PROFILE_POINTS,
    MAX_RATE_PER_USER,
    MAX_USERS,
    Limit,
)

__all__ = ["ProfilePoint", "Workload"]


def _as_count_input(value: Any) -> Any:
    """A number is a constant; a mapping without ``distribution`` is poisson (0.1)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return {"distribution": "deterministic", "mean": value}
    if isinstance(value, Mapping) and "distribution" not in value:
        return {**value, "distribution": "poisson"}
    return value


def _families(*allowed: str, positive: bool, limit: Limit) -> AfterValidator:
    def check(dist: Distribution) -> Distribution:
        if dist.distribution not in allowed:
            names = ", ".join(repr(a) for a in allowed)
            raise_problems([(("distribution",), f"must be one of {names}", dist.distribution)])
        if positive and (dist.mean is None or dist.mean <= 0):
            raise_problems([(("mean",), "must be > 0", dist.mean)])
        mean, variance = dist.moments()
        if mean > limit.value:
            raise_problems([(("mean",), limit.rule("<="), mean)])
        if variance > limit.value**2:
            rule = f"must be <= ({limit.shown})**2: {limit.reason}"
            raise_problems([(("variance",), rule, variance)])
        return dist

    return AfterValidator(check)


UserCount = Annotated[
    Distribution,
    BeforeValidator(_as_count_input),
    _families("poisson", "normal", "deterministic", positive=False, limit=MAX_USERS),
    WithJsonSchema({DEF_MARKER: "UserCount"}, mode="validation"),
]
RequestRate = Annotated[
    Distribution,
    BeforeValidator(_as_count_input),
    _families("poisson", "deterministic", positive=True, limit=MAX_RATE_PER_USER),
    WithJsonSchema({DEF_MARKER: "RequestRate"}, mode="validation"),
]


class ProfilePoint(FrozenModel):
    """One point of a piecewise-linear users profile (also accepted as ``[t_s, users]``)."""

    t_s: Number = Field(
        ge=0,
        le=MAX_HORIZON_S.value,
        description="Time of the point, in seconds from the start of the run.",
    )
    users: Number = Field(
        ge=0,
        le=MAX_USERS.value,
        description="Mean number of active users at that time (users).",
    )

    @model_validator(mode="before")
    @classmethod
    def _from_pair(cls, data: Any) -> Any:
        if isinstance(data, list | tuple):
            if len(data) != 2:
                raise_problems([((), "must be [t_s, users] or {t_s: ..., users: ...}", data)])
            return {"t_s": data[0], "users": data[1]}
        return data


_PROFILE_POINTS: Final = int(MAX_PROFILE_POINTS.value)


class Workload(FrozenModel):
    """The request generator (YAML key ``rqs_input``).

    Every ``user_sampling_window`` seconds the number of active users is drawn
    from ``avg_active_users``; each user sends requests at
    ``avg_request_per_minute_per_user.mean`` per minute.
    """

    id: Identifier = Field(
        description="Id of the generator; the source of its one edge, to the client."
    )
    target: Identifier | None = Field(
        default=None,
        description="The entry node its requests go to from the client: a server or a "
        "load balancer; left out: the client's only outgoing edge decides.",
    )
    endpoint: EndpointName | None = Field(
        default=None,
        description="The endpoint its requests run at the entry node (lower-cased); left "
        "out: picked by the endpoints' probability at each server, as in AsyncFlow 0.1.",
    )
    type: Literal["generator"] = Field(default="generator", description="Always generator.")
    avg_active_users: UserCount = Field(
        description="Active users (users): a number (constant) or a poisson, normal or "
        "deterministic distribution; a mapping without distribution is poisson."
    )
    avg_request_per_minute_per_user: RequestRate = Field(
        description="Requests each active user sends, in requests per minute: a number "
        "or a poisson or deterministic distribution of which only the mean is used."
    )
    user_sampling_window: Number = Field(
        default=60.0,
        gt=0,
        le=MAX_HORIZON_S.value,
        description="Seconds between two draws of the number of active users.",
    )
    users_profile: Annotated[tuple[ProfilePoint, ...], Field(max_length=_PROFILE_POINTS)] | None = (
        Field(
            default=None,
            description="Mean active users over time: points {t_s, users} (or [t_s, users]), "
            "linear between points and constant after the last; replaces the mean of "
            "avg_active_users.",
        )
    )
    bursts: BurstProcess | None = Field(
        default=None,
        description="Bursty arrivals: quiet periods and bursts of exponential lengths "
        "(a two-state Markov-modulated Poisson process) around the workload's rate, which "
        "stays the mean; left out: Poisson arrivals.",
    )

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
    def bursty(self) -> bool:
        """Whether arrivals come in bursts (a burst process whose rates differ)."""
        return self.bursts is not None and self.bursts.rate_ratio != 1

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
        i = bisect.bisect_right(points, t_s, key=lambda p: p.t_s) - 1
        if i < 0:
            return points[0].users
        if i == len(points) - 1:
            return points[i].users
        a, b = points[i], points[i + 1]
        return a.users + (b.users - a.users) * (t_s - a.t_s) / (b.t_s - a.t_s)

    def expected_requests(self, horizon_s: float) -> float:
        """An upper estimate of the requests generated over ``horizon_s`` seconds.

        The rate per user times the integral of the mean users (the profile,
        or the mean of ``avg_active_users``), plus the users' standard
        deviation for a normal count (its draws are clipped at 0, which
        raises their mean by less than that).

        Args:
            horizon_s: Length of the run in seconds.

        Returns:
            The estimate (``inf`` if it overflows).
        """
        users = self.avg_active_users
        spread = math.sqrt(users.moments()[1]) if users.distribution == "normal" else 0.0
        user_seconds = (
            self._profile_area(horizon_s)
            if self.users_profile
            else (users.moments()[0] * horizon_s)
        ) + spread * horizon_s
        return user_seconds * self.requests_per_second_per_user

    def _profile_area(self, horizon_s: float) -> float:
        """Integral of the profile's users over ``[0, horizon_s]``, in user-seconds."""
        points = self.users_profile or ()
        area = 0.0
        for a, b in itertools.pairwise(points):
            if a.t_s >= horizon_s:
                break
            end = min(b.t_s, horizon_s)
            if end > a.t_s:
                users_end = self.mean_users_at(end) if end < b.t_s else b.users
                area += (end - a.t_s) * 0.5 * (a.users + users_end)
        last = points[-1]
        if last.t_s < horizon_s:
            area += (horizon_s - last.t_s) * last.users
        return area
