"""WorkTable rows are a function of (seed, name, row) alone; samples are checked."""

from __future__ import annotations

import re

import numpy as np
import pytest
from scipy import stats

from asyncflow.engine.streams import RandomStreams, WorkTable, blocks, checked, uniform_column
from asyncflow.errors import SimulationError


def exponential_column(rng: np.random.Generator) -> object:
    return lambda n: rng.exponential(2.0, n)


def table(name: str = "site:/api", seed: int = 3, block: int = 16) -> WorkTable:
    return WorkTable(RandomStreams(seed), name, (uniform_column, exponential_column), block=block)


def test_a_row_is_the_same_whatever_order_rows_are_read_in() -> None:
    rows = range(0, 200, 3)
    forward = {i: table().row(i) for i in rows}
    backward_table = table()
    backward = {i: backward_table.row(i) for i in reversed(rows)}
    alone = {i: table().row(i) for i in (150, 6, 99)}
    assert forward == backward
    assert all(alone[i] == forward[i] for i in alone)


def test_a_row_is_the_same_after_its_block_was_evicted_and_drawn_again() -> None:
    t = table(block=16)
    first = [list(t.row(i)) for i in range(16)]
    for b in range(1, WorkTable.KEEP + 2):  # more blocks than are kept: block 0 goes
        t.row(16 * b)
    assert 0 not in t._cache  # evicted (least recently used first)
    assert [t.row(i) for i in range(16)] == first


def test_recently_used_blocks_are_kept() -> None:
    t = table(block=16)
    t.row(0)
    for b in range(1, WorkTable.KEEP):
        t.row(16 * b)
        t.row(0)  # block 0 stays the most recently used
    t.row(16 * WorkTable.KEEP)
    assert 0 in t._cache
    assert 1 not in t._cache  # the least recently used block went instead


def test_rows_have_one_value_per_column() -> None:
    t = table()
    assert t.width == 2
    u, x = t.row(5)
    assert 0.0 <= u < 1.0
    assert x >= 0.0


def test_same_seed_and_name_same_rows_other_seed_other_rows() -> None:
    assert table(seed=3).row(40) == table(seed=3).row(40)
    assert table(seed=3).row(40) != table(seed=4).row(40)


def test_different_names_give_independent_rows() -> None:
    # Pearson correlation of 4096 pairs: |r| * sqrt(n) is about N(0, 1) when independent;
    # the bound 3.29 is exceeded by chance once in a thousand seeds.
    n = 4096
    a, b = table("site:/a", block=1024), table("site:/b", block=1024)
    xs = np.array([a.row(i)[0] for i in range(n)])
    ys = np.array([b.row(i)[0] for i in range(n)])
    assert not np.array_equal(xs, ys)
    r = float(np.corrcoef(xs, ys)[0, 1])
    assert abs(r) * np.sqrt(n) < stats.norm.ppf(1 - 0.001 / 2)


def test_neighbouring_blocks_are_not_copies() -> None:
    t = table(block=16)
    assert [t.row(i) for i in range(16)] != [t.row(16 + i) for i in range(16)]


def test_a_block_is_its_rows_one_after_another_drawn_column_by_column() -> None:
    t = table(seed=5, block=16)
    values = t.values(37)  # block 2: requests 32..47
    assert all(t.values(i) is values for i in range(32, 48))
    assert [t.start(i) for i in (32, 33, 47)] == [0, 2, 30]
    rng = RandomStreams(5).generator("site:/api", 2)
    u, x = rng.random(16), rng.exponential(2.0, 16)
    assert values == [v for pair in zip(u.tolist(), x.tolist(), strict=True) for v in pair]
    assert t.row(37) == [u[5], x[5]]


def test_a_table_without_columns_has_empty_rows() -> None:
    t = WorkTable(RandomStreams(1), "none", ())
    assert (t.width, t.row(3)) == (0, [])


@pytest.mark.parametrize("block", [3, 1000, -4])
def test_block_must_be_a_power_of_two(block: int) -> None:
    with pytest.raises(ValueError, match=rf"^block must be a power of two \(got {block}\)$"):
        WorkTable(RandomStreams(1), "t", (uniform_column,), block=block)


def test_block_zero_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^block must be a power of two \(got 0\)$"):
        WorkTable(RandomStreams(1), "t", (uniform_column,), block=0)


# --------------------------------------------------------------------------- checked samples


BAD_SAMPLES = [
    ([1.0, float("nan"), 2.0], "nan"),
    ([3.0, 2.0, float("nan")], "nan"),
    ([float("inf"), 0.0, -0.0], "inf"),
    ([float("inf")], "inf"),
    ([0.5, -float("inf")], "-inf"),
    ([0.0, 3.0, -0.25], "-0.25"),
]


@pytest.mark.parametrize(("values", "shown"), BAD_SAMPLES)
def test_checked_refuses_samples_not_finite_or_negative(values: list[float], shown: str) -> None:
    with pytest.raises(
        SimulationError,
        match=r"^the cpu step produced the sample .+: "
        r"durations must be finite >= 0$",
    ) as raised:
        checked(np.array(values), "the cpu step")
    assert shown in str(raised.value)


@pytest.mark.parametrize(("values", "shown"), BAD_SAMPLES[-1:])
def test_checked_shows_the_sample_as_a_plain_number(values: list[float], shown: str) -> None:
    message = f"the cpu step produced the sample {shown}: durations must be finite >= 0"
    with pytest.raises(SimulationError, match=f"^{re.escape(message)}$"):
        checked(np.array(values), "the cpu step")


def test_checked_passes_finite_non_negative_samples() -> None:
    values = np.array([0.0, 1e-12, 5.0, -0.0])
    assert checked(values, "x") is values
    assert checked(np.empty(0), "x").size == 0


def test_a_work_table_refuses_a_negative_draw() -> None:
    def shifted(rng: np.random.Generator) -> object:
        return lambda n: rng.random(n) - 0.5

    t = WorkTable(RandomStreams(1), "site:/bad", (uniform_column, shifted))
    with pytest.raises(SimulationError, match=r"^the work of site:/bad produced the sample "):
        t.row(0)


def test_a_block_sampler_refuses_a_nan_draw() -> None:
    sample = blocks(lambda n: np.full(n, np.nan), "the latency of edge-1")
    with pytest.raises(SimulationError, match=r"^the latency of edge-1 produced the sample .*nan"):
        sample()
