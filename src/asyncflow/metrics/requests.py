"""Records of requests and calls, kept as compact columns.

:class:`RequestLog` holds one row per request (the root of its call tree):
generation and finish times, outcome, the server and endpoint that served
it at its entry, and the seconds of each phase slot (``metrics.phases``) as
float32, packed row by row. For a completed request the phases add up to
its latency, the calls it waited for included. Two columns cost nothing
where the scenario does not need them: the workload is stored only once a
second workload opens rows (before, every row is workload 0), and where a
failure happened is kept for failed requests only (:class:`SparseColumn`).

:class:`CriticalPathLog` holds, for requests that waited for calls, one row
per call on the critical path (the calls whose answers the request actually
waited for) with that call's own phases: the attribution of a request's
time to the nodes where it was spent.

:class:`CallLog`, kept only when asked for, holds one row per call (request
calls included): parent, node, endpoint, start, end, outcome and its own
phases (the time it waited for its calls is the rest of its duration).
"""

from __future__ import annotations

import struct
from array import array
from collections.abc import Sequence
from contextlib import suppress
from operator import itemgetter
from typing import Any

import numpy as np

from asyncflow.metrics.phases import SLOTS

IN_FLIGHT = 0
COMPLETED = 1
OUTCOME_NAMES = ("in_flight", "completed")
CANCELLED = "cancelled"


class Reasons:
    """Outcome codes: 0 in flight, 1 completed, then failure reasons as registered."""

    __slots__ = ("names",)

    def __init__(self) -> None:
        self.names: list[str] = list(OUTCOME_NAMES)

    def code(self, reason: str) -> int:
        """The code of ``reason`` (registered on first use)."""
        if reason not in self.names:
            self.names.append(reason)
        return self.names.index(reason)


def _take_none(ph: Sequence[float]) -> tuple[float, ...]:
    """No slot at all (phases not recorded)."""
    return ()


class PhaseRows:
    """Phase slots of many rows as one float32 buffer (only the slots kept).

    ``kept`` may be empty (phases not recorded: rows take no memory), else
    it holds at least two slots. Row ``i`` is stored at ``i & mask`` (-1:
    at ``i``; a streaming run's ring of rows sets it).
    """

    __slots__ = ("_pack", "_take", "buffer", "kept", "mask", "rows")

    def __init__(self, kept: Sequence[int]) -> None:
        self.kept = tuple(kept)
        if len(self.kept) == 1:
            raise ValueError("keep no phase slot or at least two")
        self._take: Any = itemgetter(*self.kept) if self.kept else _take_none
        self._pack = struct.Struct(f"<{len(self.kept)}f").pack_into
        self.buffer = bytearray()
        self.rows = 0
        self.mask = -1

    def grow(self, rows: int) -> None:
        """Add ``rows`` rows of zeros.

        The buffer may hold more rows than there are (zeros, never read), as
        reserved (:meth:`reserve`).
        """
        self.rows += rows
        self.reserve(self.rows)

    def reserve(self, rows: int) -> None:
        """Room for ``rows`` rows in all (zeros)."""
        if self.kept:
            short = 4 * len(self.kept) * rows - len(self.buffer)
            if short > 0:
                self.buffer.extend(bytes(short))

    def trim(self) -> None:
        """Hold exactly the rows there are (kept as it is while a view of it is held)."""
        with suppress(BufferError):
            del self.buffer[4 * len(self.kept) * self.rows :]

    def write(self, row: int, ph: Sequence[float]) -> None:
        """Store a call's slots in ``row``."""
        self._pack(self.buffer, 4 * len(self.kept) * (row & self.mask), *self._take(ph))

    def writer(self) -> tuple[Any, Any, int]:
        """``(pack_into, take, stride)``: ``pack_into(buffer, stride * row, *take(ph))``."""
        if self.mask == -1:
            return self._pack, self._take, 4 * len(self.kept)
        return self._ring_pack, self._take, 4 * len(self.kept)

    def _ring_pack(self, buffer: bytearray, offset: int, *values: float) -> None:
        """``pack_into`` with the row of ``offset`` taken round the ring."""
        stride = 4 * len(self.kept)
        if stride:
            self._pack(buffer, stride * ((offset // stride) & self.mask), *values)

    def read(self, row: int) -> list[float]:
        """The slots of ``row`` (all :data:`SLOTS`, zeros for slots not kept)."""
        width = len(self.kept)
        values = struct.unpack_from(f"<{width}f", self.buffer, 4 * width * row)
        ph = [0.0] * SLOTS
        for slot, value in zip(self.kept, values, strict=True):
            ph[slot] = value
        return ph

    def matrix(self) -> np.ndarray:
        """Every row's slots, shape ``(rows, SLOTS)``; slots not kept are zero.

        A view of the buffer when every slot is kept, else a copy.
        """
        packed = self.view()
        if self.kept == tuple(range(SLOTS)):
            return packed
        full = np.zeros((packed.shape[0], SLOTS), dtype=np.float32)
        full[:, list(self.kept)] = packed
        return full

    def view(self) -> np.ndarray:
        """The kept slots without a copy, shape ``(rows, len(kept))``."""
        if not self.kept:
            return np.zeros((self.rows, 0), dtype=np.float32)
        width = len(self.kept)
        return np.frombuffer(self.buffer, dtype="<f4", count=width * self.rows).reshape(-1, width)


class SparseColumn:
    """A column of small integers that is ``fill`` in most rows, kept as (row, value) pairs.

    Written like an array (``column[row] = value``; a later write to a row
    wins); :meth:`dense` gives the whole column.
    """

    __slots__ = ("fill", "rows", "values")

    def __init__(self, fill: int = -1) -> None:
        self.fill = fill
        self.rows = array("q")
        self.values = array("h")

    def __len__(self) -> int:
        return len(self.rows)

    def __setitem__(self, row: int, value: int) -> None:
        self.rows.append(row)
        self.values.append(value)

    def pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """The rows written (ascending, each once) and their last values."""
        rows = np.frombuffer(self.rows, dtype=np.int64)
        values = np.frombuffer(self.values, dtype=np.int16)
        if rows.size == 0:
            return rows.copy(), values.copy()
        last = rows.size - 1 - np.unique(rows[::-1], return_index=True)[1]
        return rows[last], values[last]

    def dense(self, n: int) -> np.ndarray:
        """The first ``n`` rows as an int16 column (``fill`` where nothing was written)."""
        column = np.full(n, self.fill, dtype=np.int16)
        rows, values = self.pairs()
        inside = rows < n
        column[rows[inside]] = values[inside]
        return column


class RequestLog:
    """One row per request (the root call of its tree).

    ``outcome`` is 0 (in flight), 1 (completed) or a failure code >= 2 whose
    reason is ``reasons.names[code]``; ``failed_at`` holds, for failed
    requests only, the index into ``places`` of the node or edge where the
    failure happened (a :class:`SparseColumn`; a streaming ring replaces it
    with a column of its own). ``workload`` is empty while every row belongs
    to workload 0.

    A run reserves the rows it expects (:meth:`reserve`): the columns are
    longer than the rows opened (the rows ahead hold a free row's values)
    and need not grow. Grown by each block of arrivals, every column was
    moved and copied every sixteenth of growth (the allocation policy of
    ``array``), the largest source of memory traffic of a 1,000-server run
    (``bench/cachesim.py``). Past the reserve they grow that way again, by
    each block: rows reserved ahead and not used are memory the command
    holds at its peak, and a margin cost more than the copies it saved.
    ``len(log)`` is the rows opened; :meth:`trim` (at the end of a run)
    cuts the columns to it.
    """

    __slots__ = (
        "endpoint",
        "failed_at",
        "finished",
        "generated",
        "outcome",
        "phases",
        "place_codes",
        "places",
        "reasons",
        "ring",
        "server",
        "workload",
    )

    def __init__(self, reasons: Reasons, kept_slots: Sequence[int]) -> None:
        self.reasons = reasons
        self.generated = array("d")
        self.finished = array("d")
        self.outcome = array("b")
        self.server = array("h")
        self.endpoint = array("h")
        self.workload = array("b")
        self.failed_at: Any = SparseColumn()
        self.places: list[str] = []
        self.place_codes: dict[str, int] = {}  # a fleet registers thousands of places
        self.phases = PhaseRows(kept_slots)
        self.ring: Any = None  # a streaming run's ring of rows (asyncflow.streaming)

    @property
    def rows(self) -> int:
        """Rows opened (the columns may be longer): the phase rows count them."""
        return self.phases.rows

    def __len__(self) -> int:
        if self.ring is not None:
            issued: int = self.ring.issued
            return issued
        return self.rows

    def place_code(self, place: str) -> int:
        """The code of a node or edge id in ``failed_at`` (registered on first use)."""
        code = self.place_codes.get(place)
        if code is None:
            code = self.place_codes[place] = len(self.places)
            self.places.append(place)
        return code

    def open_block(self, times: np.ndarray, workload: int) -> int:
        """Add rows for requests generated at ``times``; return the first new id."""
        if self.ring is not None:
            ring_first: int = self.ring.open_block(times, workload)
            return ring_first
        first = self.rows
        n = times.size
        self.phases.grow(n)
        short = first + n - len(self.generated)
        if short > 0:
            self._extend(short)
        np.frombuffer(self.generated, dtype=np.float64)[first : first + n] = times
        if workload or len(self.workload):
            if not len(self.workload):
                self.workload.frombytes(bytes(first))  # the rows before: workload 0
            self.workload.frombytes(np.full(n, workload, dtype=np.int8).tobytes())
        return first

    def reserve(self, rows: int) -> None:
        """Room for ``rows`` rows in all, before they are opened (not in a streaming ring)."""
        if self.ring is None and rows > len(self.generated):
            self._extend(rows - len(self.generated))
            self.phases.reserve(rows)

    def _extend(self, rows: int) -> None:
        """``rows`` more rows in every column, each holding a free row's values."""
        self.generated.frombytes(bytes(8 * rows))
        self.finished.frombytes(np.full(rows, np.nan).tobytes())
        self.outcome.frombytes(bytes(rows))
        minus_one = np.full(rows, -1, dtype=np.int16).tobytes()
        self.server.frombytes(minus_one)
        self.endpoint.frombytes(minus_one)

    def trim(self) -> None:
        """Cut the columns to the rows opened (kept as they are while a view of them is held)."""
        if self.ring is None:
            for column in (self.generated, self.finished, self.outcome, self.server, self.endpoint):
                with suppress(BufferError):
                    del column[self.rows :]
        self.phases.trim()

    def columns(self) -> dict[str, Any]:
        """The columns as numpy arrays sharing memory with the log (call once, at the end).

        ``workload`` is a read-only view of zeros taking no memory while every
        row is workload 0. Where failures happened is not among them (see
        :meth:`failures`).
        """
        n = self.rows if self.ring is None else len(self.generated)
        workload = np.frombuffer(self.workload, dtype=np.int8)
        return {
            "generated_s": np.frombuffer(self.generated, dtype=np.float64)[:n],
            "finished_s": np.frombuffer(self.finished, dtype=np.float64)[:n],
            "outcome": np.frombuffer(self.outcome, dtype=np.int8)[:n],
            "server": np.frombuffer(self.server, dtype=np.int16)[:n],
            "endpoint": np.frombuffer(self.endpoint, dtype=np.int16)[:n],
            "workload": workload if workload.size else np.broadcast_to(np.int8(0), (n,)),
        }

    def failures(self) -> tuple[np.ndarray, np.ndarray]:
        """The rows of failed requests (ascending) and where each failed (indices into places)."""
        pairs: tuple[np.ndarray, np.ndarray] = self.failed_at.pairs()
        return pairs


class CriticalPathLog:
    """Calls on the critical path of completed requests, with their own phases."""

    __slots__ = ("endpoint", "phases", "root", "server", "site")

    def __init__(self, kept_slots: Sequence[int]) -> None:
        self.root = array("q")
        self.site = array("h")
        self.server = array("h")
        self.endpoint = array("h")
        self.phases = PhaseRows(kept_slots)

    def __len__(self) -> int:
        return len(self.root)

    def add(self, root: int, site: int, server: int, endpoint: int, ph: Sequence[float]) -> None:
        """Record one call of ``root``'s critical path."""
        row = len(self.root)
        self.root.append(root)
        self.site.append(site)
        self.server.append(server)
        self.endpoint.append(endpoint)
        self.phases.grow(1)
        self.phases.write(row, ph)

    def keep_rows(self, rows: np.ndarray) -> None:
        """Keep only ``rows`` (the others were folded away), in order."""
        self.root = array("q", np.frombuffer(self.root, dtype=np.int64)[rows].tobytes())
        self.site = array("h", np.frombuffer(self.site, dtype=np.int16)[rows].tobytes())
        self.server = array("h", np.frombuffer(self.server, dtype=np.int16)[rows].tobytes())
        self.endpoint = array("h", np.frombuffer(self.endpoint, dtype=np.int16)[rows].tobytes())
        phases = PhaseRows(self.phases.kept)
        phases.grow(rows.size)
        if phases.kept:
            phases.buffer[:] = self.phases.view()[rows].tobytes()
        self.phases = phases


class CallLog:
    """One row per call, request calls included (kept when asked for)."""

    __slots__ = (
        "end",
        "endpoint",
        "outcome",
        "parent",
        "phases",
        "root",
        "server",
        "site",
        "start",
    )

    def __init__(self, kept_slots: Sequence[int]) -> None:
        self.parent = array("q")
        self.root = array("q")
        self.site = array("h")
        self.server = array("h")
        self.endpoint = array("h")
        self.start = array("d")
        self.end = array("d")
        self.outcome = array("b")
        self.phases = PhaseRows(kept_slots)

    def __len__(self) -> int:
        return len(self.root)

    def open(self, parent: int, root: int, site: int, start: float) -> int:
        """Add a call sent at ``start``; return its id."""
        cid = len(self.root)
        self.parent.append(parent)
        self.root.append(root)
        self.site.append(site)
        self.server.append(-1)
        self.endpoint.append(-1)
        self.start.append(start)
        self.end.append(float("nan"))
        self.outcome.append(IN_FLIGHT)
        self.phases.grow(1)
        return cid

    def close(
        self, cid: int, end: float, outcome: int, server: int, endpoint: int, ph: Sequence[float]
    ) -> None:
        """Record how call ``cid`` ended."""
        self.end[cid] = end
        self.outcome[cid] = outcome
        self.server[cid] = server
        self.endpoint[cid] = endpoint
        self.phases.write(cid, ph)
