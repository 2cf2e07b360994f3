"""Distribution rules, defaults and moments."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from scenario_helpers import problems

from asyncflow.scenario import Distribution, parse_scenario

LAT = "topology_graph.edges[1].latency"


def _with_latency(data: dict[str, Any], latency: object) -> dict[str, Any]:
    data["topology_graph"]["edges"][1]["latency"] = latency
    return data


@pytest.mark.parametrize(
    ("given_latency", "expected"),
    [
        (0.5, Distribution(distribution="deterministic", mean=0.5)),
        ({"mean": 0.5}, Distribution(distribution="exponential", mean=0.5)),
        (
            {"mean": 0.5, "distribution": "poisson"},
            Distribution(distribution="exponential", mean=0.5),
        ),
        (
            {"distribution": "normal", "mean": 2},
            Distribution(distribution="normal", mean=2, variance=2),
        ),
        (
            {"distribution": "log_normal", "mean": 0.5},
            Distribution(distribution="log_normal", mean=0.5, variance=0.5),
        ),
        (
            {"distribution": "uniform", "mean": 0.3},
            Distribution(distribution="uniform", mean=0.3, variance=0.03),
        ),
    ],
)
def test_duration_inputs(
    minimal_data: dict[str, Any], given_latency: object, expected: Distribution
) -> None:
    latency = (
        parse_scenario(_with_latency(minimal_data, given_latency)).topology_graph.edges[1].latency
    )
    assert latency.distribution == expected.distribution
    assert latency.moments() == pytest.approx(expected.moments())


@pytest.mark.parametrize(
    ("dist", "moments"),
    [
        (Distribution(distribution="deterministic", mean=2), (2, 0)),
        (Distribution(distribution="exponential", mean=2), (2, 4)),
        (Distribution(distribution="normal", mean=2, variance=1), (2, 1)),
        (Distribution(distribution="log_normal", mean=2, variance=9), (2, 9)),
        (Distribution(distribution="gamma", mean=2, variance=0.5), (2, 0.5)),
        (Distribution(distribution="uniform", mean=2), (2, 4 / 3)),
        (Distribution(distribution="uniform", mean=2, variance=1), (2, 1)),
        (Distribution(distribution="poisson", mean=7), (7, 7)),
        (Distribution(distribution="empirical", values=(1, 2, 3, 6)), (3, 3.5)),
    ],
)
def test_moments(dist: Distribution, moments: tuple[float, float]) -> None:
    assert dist.moments() == pytest.approx(moments)


BAD: list[tuple[str, object, str]] = [
    ("mean missing", {"distribution": "gamma", "variance": 1}, f"{LAT}.mean: required for gamma"),
    (
        "gamma without variance",
        {"distribution": "gamma", "mean": 1},
        f"{LAT}.variance: required for gamma",
    ),
    (
        "gamma variance 0",
        {"distribution": "gamma", "mean": 1, "variance": 0},
        f"{LAT}.variance: must be > 0 for gamma (use deterministic) (got 0.0)",
    ),
    (
        "negative variance",
        {"distribution": "log_normal", "mean": 1, "variance": -1},
        f"{LAT}.variance: must be >= 0 (got -1.0)",
    ),
    (
        "variance on deterministic",
        {"distribution": "deterministic", "mean": 1, "variance": 0},
        f"{LAT}.variance: not allowed for deterministic "
        "(a deterministic value has variance 0) (got 0.0)",
    ),
    (
        "normal too wide",
        {"distribution": "normal", "mean": 1, "variance": 1},
        f"{LAT}.variance: must be <= 0.99 x mean**2 = 0.99 for normal (an omitted variance "
        "defaults to the mean): closer to mean**2 the normal truncated at 0 is practically "
        "an exponential and its parameters cannot be solved reliably; use exponential, "
        "gamma or log_normal (got 1.0)",
    ),
    (
        "uniform too wide",
        {"distribution": "uniform", "mean": 1, "variance": 0.5},
        f"{LAT}.variance: must be <= mean**2 / 3 = 0.333333 for uniform "
        "(mean - sqrt(3 * variance) would be negative) (got 0.5)",
    ),
    (
        "negative mean",
        {"distribution": "exponential", "mean": -1},
        f"{LAT}.mean: must be > 0 (got -1.0)",
    ),
    (
        "empirical with a mean",
        {"distribution": "empirical", "values": [1], "mean": 1},
        f"{LAT}.mean: not allowed for empirical (the mean is computed from values) (got 1.0)",
    ),
    (
        "empirical without values",
        {"distribution": "empirical", "values": []},
        f"{LAT}.values: required for empirical (a non-empty list)",
    ),
    (
        "empirical negative value",
        {"distribution": "empirical", "values": [1, -2]},
        f"{LAT}.values[1]: must be >= 0 (got -2.0)",
    ),
    (
        "empirical all zero",
        {"distribution": "empirical", "values": [0, 0]},
        f"{LAT}.values: must have a positive mean for a duration",
    ),
    (
        "values on normal",
        {"distribution": "normal", "mean": 1, "variance": 0.1, "values": [1]},
        f"{LAT}.values: only allowed for empirical (got [1.0])",
    ),
    (
        "infinite mean",
        {"distribution": "exponential", "mean": float("inf")},
        f"{LAT}.mean: must be a finite number (got inf)",
    ),
    (
        "unknown family",
        {"distribution": "weibull", "mean": 1},
        f"{LAT}.distribution: must be one of 'deterministic', 'exponential', 'normal', "
        "'log_normal', 'uniform', 'gamma', 'poisson', 'empirical', 'quantiles' (got 'weibull')",
    ),
    (
        "a list",
        [1, 2],
        f"{LAT}: must be a number of seconds or a distribution mapping (got [1, 2])",
    ),
]


@pytest.mark.parametrize(("latency", "message"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_distributions(minimal_data: dict[str, Any], latency: object, message: str) -> None:
    assert problems(_with_latency(minimal_data, latency)) == [message]


def test_users_may_be_zero_but_requests_may_not(minimal_data: dict[str, Any]) -> None:
    minimal_data["rqs_input"]["avg_active_users"] = {"mean": 0}
    assert parse_scenario(minimal_data).rqs_input.avg_active_users.mean == 0
    minimal_data["rqs_input"]["avg_request_per_minute_per_user"] = {"mean": 0}
    assert problems(minimal_data) == [
        "rqs_input.avg_request_per_minute_per_user.mean: must be > 0 (got 0.0)"
    ]


def test_users_normal_gets_variance_equal_to_mean(minimal_data: dict[str, Any]) -> None:
    minimal_data["rqs_input"]["avg_active_users"] = {"mean": 100, "distribution": "normal"}
    users = parse_scenario(minimal_data).rqs_input.avg_active_users
    assert users.variance == 100


def test_direct_construction_raises_pydantic_error() -> None:
    with pytest.raises(ValidationError):
        Distribution(distribution="exponential", mean=1, variance=2)


finite = st.floats(min_value=1e-6, max_value=1e6, allow_nan=False)


@given(mean=finite, ratio=st.floats(min_value=0, max_value=0.99))
def test_normal_accepts_any_variance_up_to_its_bound(mean: float, ratio: float) -> None:
    dist = Distribution(distribution="normal", mean=mean, variance=ratio * mean * mean)
    assert dist.moments() == (mean, ratio * mean * mean)


@given(mean=finite, ratio=st.floats(min_value=0, max_value=1 / 3))
def test_uniform_bounds_stay_non_negative(mean: float, ratio: float) -> None:
    dist = Distribution(distribution="uniform", mean=mean, variance=ratio * mean * mean)
    _, variance = dist.moments()
    assert mean - math.sqrt(3 * variance) >= -1e-9 * mean


@given(values=st.lists(st.floats(min_value=0, max_value=1e6), min_size=1, max_size=50))
def test_empirical_moments_are_population_moments(values: list[float]) -> None:
    mean, variance = Distribution(distribution="empirical", values=tuple(values)).moments()
    assert mean == pytest.approx(sum(values) / len(values), rel=1e-9, abs=1e-9)
    assert variance >= 0


@given(
    family=st.sampled_from(
        ["deterministic", "exponential", "normal", "log_normal", "uniform", "gamma"]
    ),
    mean=finite,
)
def test_dump_and_validate_round_trip(family: str, mean: float) -> None:
    spec: dict[str, Any] = {"distribution": family, "mean": mean}
    if family in ("gamma", "normal"):
        spec["variance"] = mean * mean / 4
    dist = Distribution.model_validate(spec)
    assert Distribution.model_validate(dist.model_dump()) == dist
