"""The request log of a streaming run: a ring of rows folded into a stream as requests end.

Request ``i`` (its id is still its number in the run, so its random draws
are those of the same request in a full run, and the run is the same) lives
in row ``i & mask`` of a ring of rows. When the rows of new requests are
still taken, every request that has ended is folded into the run's
:class:`~asyncflow.metrics.stream.RequestStream` and its row freed; if the
rows are still held by requests in flight, the ring doubles. So the ring
holds the requests in flight and those ended since the last fold: its size
follows the concurrency of the system, not the horizon.

The log stays a plain :class:`~asyncflow.metrics.requests.RequestLog` (its
phase rows take row ``i`` at ``i & mask``); its columns become
:class:`RingColumn` arrays that components index by request id exactly as
they index the columns of a full log. (This module subclasses
``array.array``, so it stays plain Python.)
"""

from __future__ import annotations

from array import array
from typing import Any

import numpy as np

from asyncflow.metrics.requests import IN_FLIGHT, CriticalPathLog, RequestLog
from asyncflow.metrics.stream import Chunk, RequestStream, widen

FREE = -1
"""Outcome code of a free row."""

RING_ROWS = 1 << 16
"""Rows a ring starts with."""

FOLD_ROWS = 1 << 13
"""Rows folded into the stream at a time."""


class RingColumn(array):  # type: ignore[type-arg]
    """A column of the ring: request ``i`` is at row ``i & mask``."""

    mask: int = 0

    def __setitem__(self, i: Any, value: Any) -> None:
        array.__setitem__(self, i & self.mask, value)

    def __getitem__(self, i: Any) -> Any:
        return array.__getitem__(self, i & self.mask)

    def replace(self, values: np.ndarray, mask: int) -> None:
        """Hold ``values`` (the whole ring, re-laid for ``mask``)."""
        array.__delitem__(self, slice(None))
        self.frombytes(values.tobytes())
        self.mask = mask


_COLUMNS: tuple[tuple[str, str, str, float], ...] = (
    # attribute, array typecode, numpy dtype, value of a free row
    ("generated", "d", "<f8", 0.0),
    ("finished", "d", "<f8", np.nan),
    ("outcome", "b", "i1", FREE),
    ("server", "h", "<i2", -1),
    ("endpoint", "h", "<i2", -1),
    ("workload", "b", "i1", 0),
    ("failed_at", "h", "<i2", -1),
)


class StreamingRing:
    """The ring of a request log's rows: ended requests folded into a stream, rows reused.

    Built on a :class:`~asyncflow.metrics.requests.RequestLog`, it turns the
    log's columns into :class:`RingColumn` arrays and takes over its
    ``open_block`` (the log hands it on).
    """

    __slots__ = ("critical", "ids", "issued", "log", "stream")

    def __init__(
        self,
        log: RequestLog,
        stream: RequestStream,
        critical: CriticalPathLog,
        rows: int = RING_ROWS,
    ) -> None:
        self.log = log
        self.ids = RingColumn("q")  # each row's request id
        log.generated, log.finished = RingColumn("d"), RingColumn("d")
        log.outcome, log.workload = RingColumn("b"), RingColumn("b")
        log.server, log.endpoint, log.failed_at = RingColumn("h"), RingColumn("h"), RingColumn("h")
        self.stream = stream
        self.critical = critical
        self.issued = 0
        self._relay(max(1, 1 << (rows - 1).bit_length()))
        log.ring = self

    def open_block(self, times: np.ndarray, workload: int) -> int:
        """Rows for requests generated at ``times``; return the first new id."""
        n = int(times.size)
        first = self.issued
        ids = np.arange(first, first + n, dtype=np.int64)
        while not self._free(ids):
            self.fold(self._ended(float(times[0])))
            if not self._free(ids):
                self._relay(2 * (self.ids.mask + 1))
        rows = ids & self.ids.mask
        self._view("generated")[rows] = times
        self._view("finished")[rows] = np.nan
        self._view("outcome")[rows] = IN_FLIGHT
        for name in ("server", "endpoint", "failed_at"):
            self._view(name)[rows] = -1
        self._view("workload")[rows] = workload
        self._view("ids")[rows] = ids
        phases = self.log.phases
        if phases.kept:
            phases.view()[rows] = 0.0
        self.issued += n
        return first

    def _view(self, name: str) -> np.ndarray:
        if name == "ids":
            return np.frombuffer(self.ids, dtype="<i8")
        dtype = next(d for n, _, d, _ in _COLUMNS if n == name)
        return np.frombuffer(getattr(self.log, name), dtype=dtype)

    def _free(self, ids: np.ndarray) -> bool:
        rows = ids & self.ids.mask
        return bool(ids.size <= self.ids.mask + 1 and (self._view("outcome")[rows] == FREE).all())

    def _ended(self, now: float) -> np.ndarray:
        """Rows of the requests that ended by ``now``."""
        outcome, finished = self._view("outcome"), self._view("finished")
        return np.flatnonzero((outcome > IN_FLIGHT) & (finished <= now))

    def _relay(self, size: int) -> None:
        """Lay the ring out again with ``size`` rows (a power of two), rows held kept."""
        mask = size - 1
        held = np.flatnonzero(self._view("outcome") != FREE) if len(self.ids) else np.zeros(0, int)
        target = self._view("ids")[held] & mask if held.size else held
        for name, _, dtype, fill in (*_COLUMNS, ("ids", "q", "<i8", -1)):
            values = np.full(size, fill, dtype=dtype)
            values[target] = self._view(name)[held]
            column: RingColumn = self.ids if name == "ids" else getattr(self.log, name)
            column.replace(values, mask)
        phases = self.log.phases
        if phases.kept:
            laid = np.zeros((size, len(phases.kept)), dtype="<f4")
            laid[target] = phases.view()[held]
            phases.buffer[:] = laid.tobytes()
        phases.rows = size
        phases.mask = mask

    def fold(self, rows: np.ndarray) -> None:
        """Fold ``rows`` (and the calls on their critical paths) into the stream; free them.

        A part of :data:`FOLD_ROWS` rows at a time, so folding needs little
        memory beside the ring.
        """
        for start in range(0, rows.size, FOLD_ROWS):
            self._fold_part(rows[start : start + FOLD_ROWS])

    def _fold_part(self, rows: np.ndarray) -> None:
        crit = self.critical
        ids = self._view("ids")[rows]
        order = np.argsort(ids)
        roots = np.frombuffer(crit.root, dtype=np.int64)
        on_path = np.isin(roots, ids)
        picked = np.flatnonzero(on_path)
        chunk = Chunk(
            generated=self._view("generated")[rows],
            finished=self._view("finished")[rows],
            outcome=self._view("outcome")[rows],
            server=self._view("server")[rows],
            endpoint=self._view("endpoint")[rows],
            workload=self._view("workload")[rows],
            slots=widen(self.log.phases.view()[rows], self.log.phases.kept),
            crit_row=order[np.searchsorted(ids[order], roots[picked])],
            crit_site=np.frombuffer(crit.site, dtype=np.int16)[picked],
            crit_server=np.frombuffer(crit.server, dtype=np.int16)[picked],
            crit_slots=widen(crit.phases.view()[picked], crit.phases.kept),
        )
        self._view("outcome")[rows] = FREE
        del roots
        self.stream.fold(chunk)
        if picked.size:
            crit.keep_rows(np.flatnonzero(~on_path))

    def fold_all(self) -> None:
        """Fold every row still held (at the horizon: the requests in flight too)."""
        self.fold(np.flatnonzero(self._view("outcome") != FREE))
