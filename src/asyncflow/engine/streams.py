"""Random streams, samplers and per-request draws.

Each component draws from its own ``numpy.random.Generator``, seeded from
``SeedSequence(seed, spawn_key=(crc32(name),))``. The key depends only on the
component's name and purpose, so the same component gets the same stream in
two variants of a scenario (common random numbers), and a run's numbers do not
depend on the order in which components are built.

Samplers hand out values drawn in blocks: a numpy scalar draw costs about
600 ns, a value taken from a block drawn at once about 50 ns. Blocks start
small and double up to ``BLOCK``: a model with thousands of edges and
servers would otherwise draw (and hold) thousands of values per sampler it
may barely use. numpy's generators give the same sequence whatever the sizes
of the draws it is split into (checked in the tests for every family), so
the values do not depend on the block sizes; a drawer whose values do (a
rejection step that draws ``2n`` and keeps what passes) keeps full blocks.

The work a request brings (its CPU and I/O times, its branch choices) is not
drawn from a stream per server, whose order depends on which requests that
server happened to get, but from a :class:`WorkTable` keyed by the request:
row ``i`` of the table is request ``i``'s, whichever server serves it and
whenever. Two variants that route, scale or retry differently give every
request the same demand, so their comparison is sharp.
"""

from __future__ import annotations

import math
import zlib
from array import array
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import ClassVar

import numpy as np

from asyncflow.errors import SimulationError

BLOCK = 4096
FIRST_BLOCK = 64

Sampler = Callable[[], float]
BlockDraw = Callable[[int], np.ndarray]
ColumnMaker = Callable[[np.random.Generator], BlockDraw]
"""Builds, for one generator, the function drawing ``n`` values of a column."""


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

    def generator(self, name: str, index: int | None = None) -> np.random.Generator:
        """Return the generator of stream ``name`` (same name, same numbers).

        ``index`` picks one of a family of independent streams under one name
        (the blocks of a :class:`WorkTable`).
        """
        key = zlib.crc32(name.encode("utf-8"))
        spawn_key = (key,) if index is None else (key, index)
        sequence = np.random.SeedSequence(self._seed, spawn_key=spawn_key)
        return np.random.Generator(np.random.PCG64(sequence))


def checked(values: np.ndarray, what: str) -> np.ndarray:
    """Refuse a block with values that are not finite or are negative.

    Raises:
        SimulationError: Naming ``what`` drew them.
    """
    # The least value is NaN when one is, and below 0 when one is or is -inf;
    # the greatest is inf when one is. Two reductions, no mask (a fleet's
    # samplers each draw a few small blocks: the checks were most of a draw).
    if values.size and not (values.min() >= 0.0 and values.max() < math.inf):
        bad = float(values[~np.isfinite(values) | (values < 0.0)][0])
        raise SimulationError(f"{what} produced the sample {bad!r}: durations must be finite >= 0")
    return values


def blocks(draw_block: BlockDraw, what: str = "a distribution", *, grow: bool = True) -> Sampler:
    """Turn a block-drawing function into a cheap per-value sampler.

    Args:
        draw_block: Draws ``n`` values.
        what: Named in the error when a value is negative or not finite.
        grow: Start with ``FIRST_BLOCK`` values and double up to ``BLOCK``;
            only for a ``draw_block`` whose ``n`` values are the next ``n`` of
            one sequence (otherwise every block has ``BLOCK`` values).
    """
    return BlockSampler(draw_block, what, FIRST_BLOCK if grow else BLOCK)


class BlockSampler:
    """Hands out the values of blocks drawn at once, one a call.

    One object with its current block and a position: a large fleet has
    thousands of samplers, and a call touches nothing else (a generator
    would touch its frame and a list iterator as well). The block is an
    ``array('d')``: a value read from it is one line of its buffer, where a
    list's was a line of pointers and the float object it points to (a
    fleet's samplers are cold in the cache: ``bench/cachesim.py``).
    """

    __slots__ = ("_draw", "_n", "_next", "_size", "_values", "_what")

    def __init__(self, draw_block: BlockDraw, what: str, first_size: int) -> None:
        self._draw = draw_block
        self._what = what
        self._size = first_size
        self._values: array[float] = array("d")
        self._next = 0
        self._n = 0

    def __call__(self) -> float:
        """The next value (a new block is drawn when the current one is used up)."""
        i = self._next
        if i >= self._n:
            self._refill()
            i = 0
        self._next = i + 1
        return self._values[i]

    def _refill(self) -> None:
        drawn = np.asarray(checked(self._draw(self._size), self._what), dtype=np.float64)
        self._values = array("d", drawn.tobytes())
        self._n = drawn.size
        self._next = 0
        self._size = min(2 * self._size, BLOCK)


class WorkTable:
    """Per-request draws: row ``i`` holds request ``i``'s values, one per column.

    Rows are drawn in blocks of ``block`` requests from the generator
    ``(name, block index)``, so any row can be drawn again, exactly, from its
    block alone. The blocks in use are kept (a few, least recently used
    first out); a request that comes back to the table much later than its
    neighbours gets its block drawn again.

    A block is one flat list, row after row (:meth:`values`, :meth:`start`):
    a list per row was two more objects a request to make, track and free,
    each on a line of its own, cold again when its request reached a server
    of a large fleet (``bench/cachesim.py``).
    """

    __slots__ = (
        "_block",
        "_cache",
        "_current",
        "_current_values",
        "_makers",
        "_mask",
        "_name",
        "_streams",
        "width",
    )

    KEEP: ClassVar[int] = 8  # blocks kept per table

    def __init__(
        self,
        streams: RandomStreams,
        name: str,
        makers: Sequence[ColumnMaker],
        block: int = 1024,
    ) -> None:
        if block <= 0 or block & (block - 1):
            raise ValueError(f"block must be a power of two (got {block})")
        self._streams = streams
        self._name = name
        self._makers = tuple(makers)
        self._block = block
        self._mask = block - 1
        self.width = len(self._makers)
        """Values per row."""
        self._cache: OrderedDict[int, list[float]] = OrderedDict()
        self._current = -1
        self._current_values: list[float] = []

    def values(self, i: int) -> list[float]:
        """The values of request ``i``'s block, row after row (its own from :meth:`start`)."""
        b = i // self._block
        if b != self._current:
            self._current_values = self._load(b)
            self._current = b
        return self._current_values

    def start(self, i: int) -> int:
        """Where request ``i``'s row starts in :meth:`values`."""
        return (i & self._mask) * self.width

    def row(self, i: int) -> list[float]:
        """Request ``i``'s values (a copy)."""
        at = self.start(i)
        return self.values(i)[at : at + self.width]

    def _load(self, b: int) -> list[float]:
        cache = self._cache
        values = cache.get(b)
        if values is not None:
            cache.move_to_end(b)
            return values
        rng = self._streams.generator(self._name, b)
        n = self._block
        columns = [checked(make(rng)(n), f"the work of {self._name}") for make in self._makers]
        values = np.column_stack(columns).ravel().tolist() if columns else []
        cache[b] = values
        if len(cache) > self.KEEP:
            cache.popitem(last=False)
        return values


def uniform_column(rng: np.random.Generator) -> BlockDraw:
    """A column of uniforms on [0, 1) (choices: endpoints, branches)."""
    return rng.random
