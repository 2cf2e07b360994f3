"""Random streams and samplers.

Each component draws from its own ``numpy.random.Generator``, seeded from
``SeedSequence(seed, spawn_key=(crc32(name),))``. The key depends only on the
component's name and purpose, so the same component gets the same stream in
two variants of a scenario (common random numbers), and a run's numbers do not
depend on the order in which components are built.

Samplers hand out values drawn in blocks: a numpy scalar draw costs about
600 ns, a value taken from a block drawn at once about 50 ns.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator

import numpy as np

BLOCK = 4096

Sampler = Callable[[], float]


class RandomStreams:
    """Hands out one independent generator per named component stream."""

    __slots__ = ("_seed",)

    def __init__(self, seed: int) -> None:
        if seed < 0:
            raise ValueError(f"seed must be >= 0 (got {seed})")
        self._seed = seed

    @property
    def seed(self) -> int:
        """The run's seed."""
        return self._seed

    def generator(self, name: str) -> np.random.Generator:
        """Return the generator of stream ``name`` (same name, same numbers)."""
        key = zlib.crc32(name.encode("utf-8"))
        sequence = np.random.SeedSequence(self._seed, spawn_key=(key,))
        return np.random.Generator(np.random.PCG64(sequence))


def blocks(draw_block: Callable[[int], np.ndarray]) -> Sampler:
    """Turn a block-drawing function into a cheap per-value sampler."""

    def values() -> Iterator[float]:
        while True:
            yield from draw_block(BLOCK).tolist()

    return values().__next__
