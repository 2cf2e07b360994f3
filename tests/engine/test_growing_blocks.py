"""Samplers draw blocks that start small and grow, without changing the values drawn."""

from __future__ import annotations

import numpy as np
import pytest

from asyncflow.engine.sampling import block_drawer, make_sampler
from asyncflow.engine.streams import BLOCK, FIRST_BLOCK, RandomStreams, blocks
from asyncflow.scenario import Distribution

TAKE = 3 * BLOCK + 17  # past a few full blocks, ending inside one


def _dist(**spec: object) -> Distribution:
    return Distribution.model_validate(spec)


GROWING = [
    _dist(distribution="exponential", mean=0.01),
    _dist(distribution="poisson", mean=0.01),
    _dist(distribution="log_normal", mean=0.02, variance=0.0009),
    _dist(distribution="uniform", mean=0.5, variance=0.02),
    _dist(distribution="gamma", mean=2.0, variance=8.0),  # shape 0.5: the other rejection loop
    _dist(distribution="gamma", mean=2.0, variance=0.5),
    _dist(distribution="empirical", values=(0.1, 0.2, 0.2, 0.9)),
]


def _take(sampler: object, n: int = TAKE) -> list[float]:
    assert callable(sampler)
    return [sampler() for _ in range(n)]


def _generator(seed: int = 11) -> np.random.Generator:
    return RandomStreams(seed).generator("blocks")


@pytest.mark.parametrize("dist", GROWING, ids=lambda d: d.distribution)
def test_growing_blocks_give_the_values_of_full_blocks(dist: Distribution) -> None:
    growing = blocks(block_drawer(dist, _generator()), grow=True)
    full = blocks(block_drawer(dist, _generator()), grow=False)
    assert _take(growing) == _take(full)


def test_uniforms_of_policies_and_edges_do_not_depend_on_block_sizes() -> None:
    assert _take(blocks(_generator().random)) == _take(blocks(_generator().random, grow=False))


@pytest.mark.parametrize("variance", [0.04, 0.64, 0.99])
def test_the_truncated_normal_keeps_full_blocks(variance: float) -> None:
    # Its rejection step draws 2n parent values to keep n: its values depend on n.
    dist = _dist(distribution="normal", mean=1.0, variance=variance)
    full = blocks(block_drawer(dist, _generator()), grow=False)
    assert _take(make_sampler(dist, _generator())) == _take(full)


def test_blocks_double_from_the_first_size_to_the_full_one() -> None:
    sizes: list[int] = []

    def draw(n: int) -> np.ndarray:
        sizes.append(n)
        return np.zeros(n)

    sampler = blocks(draw)
    _take(sampler, 2 * BLOCK + 1)
    doubling = [FIRST_BLOCK << k for k in range((BLOCK // FIRST_BLOCK).bit_length())]
    assert sizes[: len(doubling)] == doubling
    assert doubling[-1] == BLOCK
    assert set(sizes[len(doubling) :]) == {BLOCK}
    assert sum(sizes) >= 2 * BLOCK + 1 > sum(sizes[:-1])
