"""Columns made when a part of them is read, so that no whole column is held.

The summary groups requests by codes (server, endpoint, workload) under
masks (measured, completed): each a column as long as the request table.
A :class:`LazyColumn` makes the part asked for (``column[start:stop]`` or
``column[rows]``) from the table's own columns, so the grouped sums of
:mod:`asyncflow.analysis.groups`, which read a chunk of rows at a time,
never need the whole column.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["CHUNK_ROWS", "LazyColumn", "count_rows"]

CHUNK_ROWS = 1 << 16
"""Rows made at a time where a whole column is walked."""


class LazyColumn:
    """A column of ``rows`` values, made by ``make(index)`` for the rows asked for.

    ``index`` is a slice or an array of row numbers; ``make`` must give the
    values of exactly those rows.
    """

    __slots__ = ("_make", "shape")

    def __init__(self, rows: int, make: Callable[[Any], np.ndarray]) -> None:
        self.shape = (rows,)
        self._make = make

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, index: slice | np.ndarray) -> np.ndarray:
        if isinstance(index, slice) or index.size <= CHUNK_ROWS:
            return self._make(index)
        # Many rows picked (the requests of the calls on critical paths): made a
        # chunk at a time, so that the temporaries of ``make`` stay small.
        parts = [self._make(index[at : at + CHUNK_ROWS]) for at in range(0, index.size, CHUNK_ROWS)]
        return np.concatenate(parts)


def count_rows(rows: int, test: Callable[[slice], np.ndarray]) -> int:
    """How many rows pass ``test`` (a boolean array of the rows of a slice), a chunk at a time."""
    return sum(
        int(np.count_nonzero(test(slice(start, start + CHUNK_ROWS))))
        for start in range(0, rows, CHUNK_ROWS)
    )
