"""Balancing policies against fake server views: ``choose(servers) -> index``."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import numpy as np
import pytest
from scipy import stats

from asyncflow.components.policies import (
    BalancingPolicy,
    LeastConnection,
    PowerOfTwoChoices,
    RandomChoice,
    RoundRobin,
    WeightedRoundRobin,
    make_policy,
)

from .doubles import FakeServerView

MakeViews = Callable[..., list[FakeServerView]]

FALSE_ALARM = 1e-3
"""Chance that a chi-square check fails on a policy that is right (the seeds are fixed,
so a given run either passes or fails for ever; this is the chance of picking a bad seed)."""


def rng(seed: int = 2024) -> np.random.Generator:
    return np.random.default_rng(seed)


def tally(policy: BalancingPolicy, servers: list[FakeServerView], n: int) -> Counter[int]:
    return Counter(policy.choose(servers) for _ in range(n))


def chi_square_uniform(counts: Counter[int], cells: list[int]) -> None:
    """Counts spread evenly over ``cells`` (and nowhere else), at ``FALSE_ALARM``."""
    assert set(counts) <= set(cells)
    observed = [counts[c] for c in cells]
    statistic = stats.chisquare(observed).statistic
    critical = stats.chi2.ppf(1 - FALSE_ALARM, df=len(cells) - 1)
    assert statistic < critical, (observed, statistic, critical)


# --------------------------------------------------------------------------- round robin


def test_round_robin_cycles_through_every_server(fake_servers: MakeViews) -> None:
    policy = RoundRobin()
    servers = fake_servers(0, 0, 0)
    assert [policy.choose(servers) for _ in range(7)] == [0, 1, 2, 0, 1, 2, 0]


def test_round_robin_skips_servers_that_are_down_and_takes_them_back(
    fake_servers: MakeViews,
) -> None:
    policy = RoundRobin()
    servers = fake_servers(0, 0, 0, 0)
    assert [policy.choose(servers) for _ in range(2)] == [0, 1]
    servers[2].up = False
    servers[3].up = False
    assert [policy.choose(servers) for _ in range(3)] == [0, 1, 0]
    servers[3].up = True
    assert [policy.choose(servers) for _ in range(4)] == [1, 3, 0, 1]


def test_round_robin_ignores_load(fake_servers: MakeViews) -> None:
    policy = RoundRobin()
    servers = fake_servers(100, 0)
    assert [policy.choose(servers) for _ in range(4)] == [0, 1, 0, 1]


# --------------------------------------------------------------------------- random


def test_random_is_uniform_over_all_servers_up(fake_servers: MakeViews) -> None:
    counts = tally(RandomChoice(rng()), fake_servers(5, 0, 9, 1), 8000)
    chi_square_uniform(counts, [0, 1, 2, 3])


def test_random_is_uniform_over_the_servers_up_only(fake_servers: MakeViews) -> None:
    # A first draw on a server that is down is drawn again among those up: the
    # second draw must not favour any of them.
    counts = tally(RandomChoice(rng()), fake_servers(0, 0, 0, 0, 0, down=(0, 3)), 9000)
    chi_square_uniform(counts, [1, 2, 4])


def test_random_same_seed_same_choices(fake_servers: MakeViews) -> None:
    servers = fake_servers(0, 0, 0, down=(1,))
    a, b, other = RandomChoice(rng(5)), RandomChoice(rng(5)), RandomChoice(rng(6))
    first = [a.choose(servers) for _ in range(200)]
    assert first == [b.choose(servers) for _ in range(200)]
    assert first != [other.choose(servers) for _ in range(200)]


# --------------------------------------------------------------------------- least connection


def test_least_connection_picks_the_minimum(fake_servers: MakeViews) -> None:
    policy = LeastConnection()
    assert policy.choose(fake_servers(3, 1, 2)) == 1
    assert policy.choose(fake_servers(3, 1, 0)) == 2
    assert policy.choose(fake_servers(0, 1, 2)) == 0


def test_least_connection_reads_connections_not_in_progress() -> None:
    servers = [FakeServerView(True, in_progress=0, connections=5), FakeServerView(True, 9, 1)]
    assert LeastConnection().choose(servers) == 1


def test_least_connection_rotates_ties(fake_servers: MakeViews) -> None:
    policy = LeastConnection()
    servers = fake_servers(0, 0, 4, 0)
    assert [policy.choose(servers) for _ in range(6)] == [0, 1, 3, 0, 1, 3]


def test_least_connection_skips_servers_down_even_when_idle(fake_servers: MakeViews) -> None:
    policy = LeastConnection()
    assert [policy.choose(fake_servers(0, 7, 3, down=(0,))) for _ in range(3)] == [2, 2, 2]


# --------------------------------------------------------------------------- power of two


def test_power_of_two_draws_two_distinct_servers(fake_servers: MakeViews) -> None:
    # With two servers the pair is always both of them: the less loaded always wins.
    policy = PowerOfTwoChoices(rng())
    assert set(tally(policy, fake_servers(1, 0), 500)) == {1}
    assert set(tally(policy, fake_servers(0, 1), 500)) == {0}


def test_power_of_two_picks_the_less_loaded_of_the_pair(fake_servers: MakeViews) -> None:
    # Loads 0 < 1 < 2: the pair {0,1} or {0,2} gives 0, {1,2} gives 1, each pair
    # equally likely; the most loaded server never wins.
    counts = tally(PowerOfTwoChoices(rng()), fake_servers(0, 1, 2), 9000)
    assert counts[2] == 0
    observed = [counts[0], counts[1]]
    statistic = stats.chisquare(observed, f_exp=[6000, 3000]).statistic
    assert statistic < stats.chi2.ppf(1 - FALSE_ALARM, df=1), observed


def test_power_of_two_compares_requests_in_progress() -> None:
    servers = [FakeServerView(True, in_progress=4, connections=0), FakeServerView(True, 1, 9)]
    assert set(tally(PowerOfTwoChoices(rng()), servers, 100)) == {1}


def test_power_of_two_on_equal_loads_is_uniform(fake_servers: MakeViews) -> None:
    chi_square_uniform(
        tally(PowerOfTwoChoices(rng()), fake_servers(2, 2, 2, 2), 8000), [0, 1, 2, 3]
    )


@pytest.mark.parametrize(
    ("loads", "down", "expected"),
    [
        ((0, 5, 3), (0,), {2}),  # the idle server is down: the better of the two up
        ((0, 5, 3, 1), (0, 3), {2}),
        ((9, 5, 3), (1, 2), {0}),  # one server up: always that one
        ((4,), (), {0}),  # a single server
    ],
)
def test_power_of_two_copes_with_servers_down(
    loads: tuple[int, ...], down: tuple[int, ...], expected: set[int], fake_servers: MakeViews
) -> None:
    assert set(tally(PowerOfTwoChoices(rng()), fake_servers(*loads, down=down), 300)) == expected


def test_power_of_two_with_servers_down_is_uniform_over_those_up(fake_servers: MakeViews) -> None:
    counts = tally(PowerOfTwoChoices(rng()), fake_servers(1, 1, 1, 1, 1, down=(1, 2)), 9000)
    chi_square_uniform(counts, [0, 3, 4])


# --------------------------------------------------------------------------- weighted round robin


def test_weighted_round_robin_interleaves_by_weight(fake_servers: MakeViews) -> None:
    # Smooth weighted round robin: 5:1:1 gives a a b a c a a, not a a a a a b c.
    policy = WeightedRoundRobin([5, 1, 1])
    servers = fake_servers(0, 0, 0)
    assert [policy.choose(servers) for _ in range(14)] == [0, 0, 1, 0, 2, 0, 0] * 2


@pytest.mark.parametrize("weights", [[3, 2, 1], [1, 1], [0.5, 2.0, 1.5], [7, 1, 1, 3]])
def test_weighted_round_robin_shares_equal_the_weights_over_a_cycle(
    weights: list[float], fake_servers: MakeViews
) -> None:
    policy = WeightedRoundRobin(weights)
    servers = fake_servers(*[0] * len(weights))
    scale = 2 if any(w != int(w) for w in weights) else 1  # 0.5-steps: a cycle of 2 x total
    cycle = int(sum(weights) * scale)
    for _ in range(3):
        counts = tally(policy, servers, cycle)
        assert [counts[i] for i in range(len(weights))] == [w * scale for w in weights]


def test_weighted_round_robin_with_equal_weights_is_round_robin(fake_servers: MakeViews) -> None:
    policy = WeightedRoundRobin([1, 1, 1])
    assert [policy.choose(fake_servers(0, 0, 0)) for _ in range(6)] == [0, 1, 2, 0, 1, 2]


def test_weighted_round_robin_shares_among_servers_up(fake_servers: MakeViews) -> None:
    policy = WeightedRoundRobin([2, 1, 1])
    servers = fake_servers(0, 0, 0, down=(0,))
    counts = tally(policy, servers, 10)
    assert counts == Counter({1: 5, 2: 5})


def test_make_policy_builds_weighted_round_robin_in_covered_order(fake_servers: MakeViews) -> None:
    policy = make_policy("weighted_round_robin", ["b", "a"], {"a": 1.0, "b": 3.0}, lambda _: rng())
    counts = tally(policy, fake_servers(0, 0), 8)
    assert counts == Counter({0: 6, 1: 2})


# --------------------------------------------------------------------------- every policy

POLICIES: dict[str, Callable[[int], BalancingPolicy]] = {
    "round_robin": lambda n: RoundRobin(),
    "random": lambda n: RandomChoice(rng()),
    "least_connection": lambda n: LeastConnection(),
    "power_of_two_choices": lambda n: PowerOfTwoChoices(rng()),
    "weighted_round_robin": lambda n: WeightedRoundRobin([1.0 + i for i in range(n)]),
}


@pytest.mark.parametrize("name", POLICIES)
@pytest.mark.parametrize("n", [1, 2, 5])
def test_every_policy_returns_minus_one_when_all_are_down(
    name: str, n: int, fake_servers: MakeViews
) -> None:
    policy = POLICIES[name](n)
    servers = fake_servers(*range(n), down=tuple(range(n)))
    assert [policy.choose(servers) for _ in range(20)] == [-1] * 20


@pytest.mark.parametrize("name", POLICIES)
def test_every_policy_never_picks_a_server_down(name: str, fake_servers: MakeViews) -> None:
    policy = POLICIES[name](6)
    servers = fake_servers(3, 0, 2, 0, 1, 5, down=(1, 3))
    chosen = tally(policy, servers, 600)
    assert set(chosen) <= {0, 2, 4, 5}
    assert sum(chosen.values()) == 600


@pytest.mark.parametrize("name", POLICIES)
def test_make_policy_builds_each_algorithm(name: str) -> None:
    weights = {"a": 1.0, "b": 2.0}
    policy = make_policy(name, ["a", "b"], weights, lambda _: rng())
    assert type(policy) is type(POLICIES[name](2))


@pytest.mark.parametrize(
    ("algorithm", "weights", "message"),
    [
        ("weighted_round_robin", None, "weighted_round_robin needs weights"),
        ("fastest", None, "unknown load-balancing algorithm 'fastest'"),
    ],
)
def test_make_policy_refuses(
    algorithm: str, weights: dict[str, float] | None, message: str
) -> None:
    with pytest.raises(ValueError, match=f"^{message}$"):
        make_policy(algorithm, ["a"], weights, lambda _: rng())
