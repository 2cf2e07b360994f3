"""Results of one run: the data the simulation recorded, and ways to read it.

:class:`Results` is data built by the simulation (``Simulation.run``): the
request table, the calls on requests' critical paths, the call table when it
was asked for, per-node call tallies and exact level series. The summary is
composed from it by :mod:`asyncflow.analysis.summary`.

Tallies and levels are different things: latencies are per-request tallies
(percentiles over requests); queue lengths, RAM and busy cores are levels
(time-weighted over ``[warm_up_s, end_s]``).
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from asyncflow.analysis.datastores import Datastores
from asyncflow.analysis.rows import latency_bins, path_order
from asyncflow.errors import AsyncFlowError
from asyncflow.metrics.phases import (
    CALLS_NETWORK,
    CONNECTION_WAIT,
    CPU,
    CPU_WAIT,
    HANDSHAKE,
    HOP_SLOTS,
    IO,
    PHASE_NAMES,
    RAM_WAIT,
    SLOTS,
    phase,
)
from asyncflow.metrics.requests import COMPLETED
from asyncflow.metrics.sketch import CallTally, QuantileSketch
from asyncflow.metrics.stream import LATENCY_ALPHA
from asyncflow.tabular import csv_text, import_pyarrow

if TYPE_CHECKING:
    import pandas as pd

    from asyncflow.metrics.stream import RequestStream
    from asyncflow.scenario import Scenario

PERCENTILES = (50, 90, 95, 99)
ALL_SLOTS = tuple(range(SLOTS))


class NotRecordedError(AsyncFlowError, LookupError):
    """What was asked for needs per-request rows, which a streaming run does not keep."""


def _rows_kept(results: Results, what: str) -> None:
    """Refuse ``what`` for a streaming run (its request rows were folded away)."""
    if results.stream is not None:
        raise NotRecordedError(
            f"{what} needs the per-request table, which a streaming run does not keep "
            "(run without --streaming, or with a shorter horizon)"
        )


@dataclass(frozen=True, slots=True)
class RequestTable:
    """One row per generated request (the root of its call tree), as numpy columns.

    Attributes:
        generated_s: Generation time.
        finished_s: Completion or failure time; NaN while in flight.
        outcome: 0 in flight, 1 completed, >= 2 failed (``reason_names[code]``).
        server: Index into ``Results.server_ids`` of the server that served
            it at its entry; -1 if it reached no server.
        endpoint: Index into that server's endpoints; -1 if none.
        workload: Index into ``Results.workload_ids`` (with one workload, a
            read-only view of zeros that takes no memory).
        failed_rows: The rows of failed requests, ascending.
        failed_places: Where each of them failed: index into
            ``Results.places`` (a node or edge id). ``failed_at`` gives the
            whole column.
        slots: Seconds per phase slot (``asyncflow.metrics.phases``), float32,
            one column per slot of ``kept``, shape (n, len(kept)); the named
            columns below read it (zeros for a slot not kept).
        reason_names: Names of the outcome codes (0 and 1 included).
        kept: The slots stored, in column order: those the scenario can
            fill (a phase it does not model is zero for every request), none
            when phases were not recorded.
    """

    generated_s: np.ndarray
    finished_s: np.ndarray
    outcome: np.ndarray
    server: np.ndarray
    endpoint: np.ndarray
    workload: np.ndarray
    failed_rows: np.ndarray
    failed_places: np.ndarray
    slots: np.ndarray
    reason_names: tuple[str, ...]
    kept: tuple[int, ...] = ALL_SLOTS

    @property
    def failed_at(self) -> np.ndarray:
        """Where each request failed: index into ``Results.places``; -1 if it did not fail.

        Made when read (int16; a read-only view of -1 taking no memory when
        nothing failed): the table keeps only the failed rows.
        """
        n = len(self)
        if self.failed_rows.size == 0:
            return np.broadcast_to(np.int16(-1), (n,))
        column = np.full(n, -1, dtype=np.int16)
        column[self.failed_rows] = self.failed_places
        return column

    def slot(self, index: int) -> np.ndarray:
        """Seconds of phase slot ``index`` of each request (float32; zeros if not kept)."""
        return slot_column(self.slots, self.kept, index)

    @property
    def hops_s(self) -> np.ndarray:
        """Seconds on each hop of the request's own path, shape (n, 4).

        The hops are: from its workload, out to its entry node, from a
        balancer to the server, and the reply (hops it does not take are 0).
        """
        first = self.kept.index(HOP_SLOTS[0]) if HOP_SLOTS[0] in self.kept else -1
        if first >= 0 and self.kept[first : first + len(HOP_SLOTS)] == HOP_SLOTS:
            view: np.ndarray = self.slots[:, first : first + len(HOP_SLOTS)]
            return view
        return np.stack([self.slot(s) for s in HOP_SLOTS], axis=1)

    @property
    def call_network_s(self) -> np.ndarray:
        """Seconds on the network of the calls it waited for."""
        return self.slot(CALLS_NETWORK)

    @property
    def handshake_s(self) -> np.ndarray:
        """Seconds opening connections (TCP and TLS round trips)."""
        return self.slot(HANDSHAKE)

    @property
    def connection_wait_s(self) -> np.ndarray:
        """Seconds waiting in accept backlogs."""
        return self.slot(CONNECTION_WAIT)

    @property
    def ram_wait_s(self) -> np.ndarray:
        """Seconds waiting for RAM (at every server on its critical path)."""
        return self.slot(RAM_WAIT)

    @property
    def cpu_wait_s(self) -> np.ndarray:
        """Seconds waiting for a core (in ready queues)."""
        return self.slot(CPU_WAIT)

    @property
    def cpu_s(self) -> np.ndarray:
        """Seconds on a core."""
        return self.slot(CPU)

    @property
    def io_s(self) -> np.ndarray:
        """Seconds in I/O."""
        return self.slot(IO)

    @property
    def records_phases(self) -> bool:
        """Whether phases were recorded (``settings.record_phases``)."""
        return bool(self.kept)

    def phase(self, name: str) -> np.ndarray:
        """Seconds each request spent in phase ``name``, summed in float64."""
        return phase_seconds(self.slots, name, self.kept)

    def phases(self) -> dict[str, np.ndarray]:
        """Seconds each request spent in each phase (float64).

        For a completed request they add up to its latency: ``network`` (all
        hops, the calls it waited for included), ``handshake``,
        ``connection_wait``, ``ram_wait``, ``cpu_wait``, ``cpu`` and ``io``.
        """
        return {name: self.phase(name) for name in PHASE_NAMES}

    def __len__(self) -> int:
        return int(self.generated_s.size)


def rebin(values: np.ndarray, factor: int, bins: int) -> np.ndarray:
    """Sums of ``factor`` consecutive values, ``bins`` of them (zeros past the end)."""
    padded = np.zeros(bins * factor, dtype=np.float64)
    n = min(values.size, padded.size)
    padded[:n] = values[:n]
    summed: np.ndarray = padded.reshape(bins, factor).sum(axis=1)
    return summed


def slot_column(slots: np.ndarray, kept: tuple[int, ...], index: int) -> np.ndarray:
    """Column ``index`` of a matrix holding the ``kept`` slots (zeros if not kept)."""
    if index in kept:
        column: np.ndarray = slots[:, kept.index(index)]
        return column
    return np.zeros(slots.shape[0], dtype=np.float32)


def phase_seconds(slots: np.ndarray, name: str, kept: tuple[int, ...] = ALL_SLOTS) -> np.ndarray:
    """One phase's seconds from a matrix of phase slots (rows: requests or calls)."""
    columns = [kept.index(s) for s in phase(name).slots if s in kept]
    if not columns:
        return np.zeros(slots.shape[0])
    if len(columns) == 1:
        return np.asarray(slots[:, columns[0]], dtype=np.float64)
    return np.asarray(slots[:, columns].sum(axis=1, dtype=np.float64))


@dataclass(frozen=True, slots=True)
class CallTable:
    """One row per call (requests included), kept when asked for.

    Attributes:
        parent: Row of the call that made it; -1 for a request.
        root: Row of its request in ``Results.requests``.
        site: Index into ``Results.sites``: where it was made.
        server: Index into ``Results.server_ids`` of the server that served
            it; -1 if it reached none.
        endpoint: Index into that server's endpoints; -1 if none.
        start_s: When it was sent.
        end_s: When its answer reached its caller, it failed or it was
            cancelled; NaN while in flight.
        outcome: 0 in flight, 1 completed, >= 2 failed or ``cancelled``
            (``reason_names[code]``).
        slots: Seconds per phase slot, the calls it waited for included (so
            they add up to ``end_s - start_s``).
        reason_names: Names of the outcome codes.
    """

    parent: np.ndarray
    root: np.ndarray
    site: np.ndarray
    server: np.ndarray
    endpoint: np.ndarray
    start_s: np.ndarray
    end_s: np.ndarray
    outcome: np.ndarray
    slots: np.ndarray
    reason_names: tuple[str, ...]

    def __len__(self) -> int:
        return int(self.root.size)


@dataclass(frozen=True, slots=True)
class CriticalPath:
    """The calls that completed requests waited for, with their own phases.

    A request's phases (``RequestTable.slots``) are its own plus those of
    the calls on its critical path; this table says where those calls ran.
    Rows are calls, columns as in :class:`CallTable` (``slots`` are the
    call's own phases, without the calls it waited for: those have rows too).
    """

    root: np.ndarray
    site: np.ndarray
    server: np.ndarray
    endpoint: np.ndarray
    slots: np.ndarray
    kept: tuple[int, ...] = ALL_SLOTS

    def __len__(self) -> int:
        return int(self.root.size)


@dataclass(frozen=True, slots=True)
class SiteInfo:
    """One call site: where calls of a kind are made.

    Attributes:
        key: Its path from the workload (``workload:w>/api@2.0``).
        caller: The node making the calls (the client for requests).
        target: The node called (a server or a load balancer).
        workload: Index of the workload whose requests make these calls.
        edges: For each server (by index) reachable from here, the edge ids
            of the call's hops by slot: ``(None, out, balancer, reply)``
            (the first is the workload's hop, for requests only).
    """

    key: str
    caller: str
    target: str
    workload: int
    edges: dict[int, tuple[str | None, str | None, str | None, str | None]]


@dataclass(frozen=True, slots=True)
class LevelSeries:
    """Exact per-bin time-weighted mean and maximum of a level."""

    t: np.ndarray
    mean: np.ndarray
    max: np.ndarray
    bin_s: float


@dataclass(frozen=True, slots=True)
class RateSeries:
    """Completions and failures per second, by finish time."""

    t: np.ndarray
    completed: np.ndarray
    failed: dict[str, np.ndarray]
    bin_s: float


@dataclass(frozen=True, slots=True)
class PercentileSeries:
    """Latency percentiles of the requests completed in each bin (NaN when none)."""

    t: np.ndarray
    values: dict[int, np.ndarray]
    bin_s: float


@dataclass(frozen=True, slots=True)
class FaultWindow:
    """An injected event's window."""

    event_id: str
    kind: str
    target: str
    start_s: float
    end_s: float


def fault_windows_of(scenario: Scenario) -> tuple[FaultWindow, ...]:
    """The injected events of a scenario as windows, in scenario order."""
    return tuple(
        FaultWindow(
            e.event_id,
            "outage" if e.is_outage else "flush" if e.is_flush else "spike",
            e.target_id,
            e.start.t_start,
            e.t_end,
        )
        for e in scenario.events
    )


@dataclass(frozen=True, slots=True)
class LevelStats:
    """A level's exact integrals: area and peak after the warm-up, per-bin area and max."""

    area: float
    peak: float
    bin_area: np.ndarray
    bin_max: np.ndarray


@dataclass(frozen=True, slots=True)
class NodeCalls:
    """Calls a server served, by how they ended there.

    Attributes:
        served: Its endpoint ran to the end (an answer was sent).
        failed: Failed there (the server went down, or a call it needed failed).
        cancelled: Withdrawn by their caller while there.
    """

    served: int = 0
    failed: int = 0
    cancelled: int = 0


class Results:
    """Everything one run measured (built by ``Simulation.run``).

    Attributes:
        scenario, name, seed: What was run.
        end_s, warm_up_s, wall_s, bin_s: Horizon, warm-up, wall seconds of
            the run, width of the series' bins.
        requests: One row per request.
        critical: The calls on completed requests' critical paths.
        calls: One row per call, when recorded (``run(..., record_calls=True)``).
        sites: The call sites, by index (``critical.site``, ``calls.site``).
        call_tallies: Calls made by servers and answered, per ``(server id,
            endpoint name)`` (requests generated after the warm-up only).
        node_calls: Calls each server served, by how they ended.
        refused: Connections refused per node (nodes that model connections).
        server_ids, load_balancer_ids, edge_ids, workload_ids: The run's ids,
            in the order the tables' indices use.
        places: Where failures happen (``requests.failed_at`` indexes it).
        fault_windows: The injected events' windows.
        stream: In streaming mode, the requests folded into sums and
            sketches (``requests`` is then empty, and what needs its rows
            raises :class:`NotRecordedError`); None otherwise.
        datastores: Counters of the databases, pools and caches (empty
            without them; their levels are levels like the others).
        policies: What the overload policies did (empty without policies; the
            summary's ``policies`` section).
    """

    def __init__(
        self,
        *,
        scenario: Scenario,
        seed: int,
        end_s: float,
        warm_up_s: float,
        wall_s: float,
        bin_s: float,
        requests: RequestTable,
        levels: dict[tuple[str, str], LevelStats],
        refused: dict[str, int] | None = None,
        critical: CriticalPath | None = None,
        calls: CallTable | None = None,
        sites: tuple[SiteInfo, ...] = (),
        call_tallies: dict[tuple[str, str], CallTally] | None = None,
        node_calls: dict[str, NodeCalls] | None = None,
        places: tuple[str, ...] = (),
        summarize: Callable[[Results], dict[str, Any]] | None = None,
        stream: RequestStream | None = None,
        datastores: Datastores | None = None,
        policies: dict[str, Any] | None = None,
    ) -> None:
        self.scenario = scenario
        self.name = scenario.name
        self.seed = seed
        self.end_s = end_s
        self.warm_up_s = warm_up_s
        self.wall_s = wall_s
        self.bin_s = bin_s
        self.requests = requests
        self._levels = levels
        self.refused: dict[str, int] = dict(refused or {})
        empty = np.empty(0, dtype=np.int64)
        self.critical = critical or CriticalPath(
            empty,
            empty,
            empty,
            empty,
            np.empty((0, requests.slots.shape[1]), np.float32),
            requests.kept,
        )
        self.calls = calls
        self.sites = sites
        self.call_tallies = dict(call_tallies or {})
        self.node_calls = dict(node_calls or {})
        self.places = places
        self.datastores = datastores if datastores is not None else Datastores()
        self.policies: dict[str, Any] = dict(policies or {})
        nodes = scenario.topology_graph.nodes
        self.server_ids: tuple[str, ...] = tuple(s.id for s in nodes.servers)
        self.edge_ids: tuple[str, ...] = tuple(e.id for e in scenario.topology_graph.edges)
        self.load_balancer_ids: tuple[str, ...] = tuple(b.id for b in nodes.balancers)
        self.workload_ids: tuple[str, ...] = tuple(w.id for w in scenario.workload_list)
        self.endpoint_names: dict[int, tuple[str, ...]] = {
            i: tuple(e.endpoint_name for e in s.endpoints) for i, s in enumerate(nodes.servers)
        }
        self.fault_windows = fault_windows_of(scenario)
        self.stream = stream
        self._summarize = summarize
        self._summary: dict[str, Any] | None = None
        self._paths: tuple[np.ndarray, np.ndarray] | None = None
        self._metrics: dict[str, tuple[str, ...]] | None = None

    @property
    def load_balancer_id(self) -> str | None:
        """The load balancer's id when there is exactly one (else None)."""
        return self.load_balancer_ids[0] if len(self.load_balancer_ids) == 1 else None

    # ------------------------------------------------------------------ tallies

    @property
    def measured_s(self) -> float:
        """Length of the measured window ``[warm_up_s, end_s]``."""
        return self.end_s - self.warm_up_s

    def _completed_mask(self) -> np.ndarray:
        r = self.requests
        mask: np.ndarray = (r.outcome == COMPLETED) & (r.generated_s >= self.warm_up_s)
        return mask

    def latencies(self) -> np.ndarray:
        """Latencies (s) of completed requests generated at or after the warm-up."""
        _rows_kept(self, "the latencies of each request")
        r = self.requests
        mask = self._completed_mask()
        return np.asarray(r.finished_s[mask] - r.generated_s[mask])

    def failed_by_reason(self) -> dict[str, int]:
        """Failed requests of the whole run, by reason."""
        names = self.requests.reason_names
        if self.stream is not None:
            totals = self.stream.by_code.sum(axis=0)
            return {names[c]: int(totals[c]) for c in range(COMPLETED + 1, len(names)) if totals[c]}
        codes, counts = np.unique(self.requests.outcome, return_counts=True)
        return {names[c]: int(n) for c, n in zip(codes, counts, strict=True) if c > COMPLETED}

    def path_rows(self, workload: int, server: int) -> np.ndarray:
        """Rows of the measured requests of ``workload`` served at ``server`` (entry), in order.

        One counting sort of the measured requests by (workload, server),
        kept (32-bit row numbers below 2**31 rows): reading every path costs
        O(requests), whatever the number of servers.
        """
        if self._paths is None:
            _rows_kept(self, "the requests of each path")
            self._paths = path_order(self)
        order, bounds = self._paths
        g = workload * max(1, len(self.server_ids)) + server
        return order[bounds[g] : bounds[g + 1]]

    # ------------------------------------------------------------------ levels

    def level_metrics(self, node: str) -> tuple[str, ...]:
        """The level metrics recorded for ``node`` (in the order they were recorded)."""
        if self._metrics is None:  # indexed once: a fleet has thousands of nodes and levels
            by_node: dict[str, list[str]] = {}
            for n, metric in self._levels:
                by_node.setdefault(n, []).append(metric)
            self._metrics = {n: tuple(metrics) for n, metrics in by_node.items()}
        return self._metrics.get(node, ())

    def _level(self, metric: str, node: str) -> LevelStats:
        try:
            return self._levels[(node, metric)]
        except KeyError:
            known = sorted({f"{m} of {n}" for n, m in self._levels})
            raise KeyError(f"no level {metric!r} for {node!r}; recorded: {known}") from None

    def level_mean(self, metric: str, node: str) -> float:
        """Time-weighted mean of a level over ``[warm_up_s, end_s]``."""
        return self._level(metric, node).area / self.measured_s

    def level_max(self, metric: str, node: str) -> float:
        """Maximum of a level over ``[warm_up_s, end_s]``."""
        return self._level(metric, node).peak

    def series(self, metric: str, node: str) -> LevelSeries:
        """Per-bin exact time-weighted mean and maximum of a level."""
        stats = self._level(metric, node)
        t = self._bin_starts()
        widths = np.minimum(t + self.bin_s, self.end_s) - t
        return LevelSeries(t, stats.bin_area / widths, stats.bin_max.copy(), self.bin_s)

    def _bin_starts(self, bin_s: float | None = None) -> np.ndarray:
        width = self.bin_s if bin_s is None else bin_s
        return np.arange(max(1, math.ceil(self.end_s / width - 1e-9))) * width

    # ------------------------------------------------------------------ over time

    def throughput(self, bin_s: float | None = None) -> RateSeries:
        """Completed and failed requests per second in each bin, by finish time."""
        width = self.bin_s if bin_s is None else bin_s
        t = self._bin_starts(width)
        edges = np.append(t, self.end_s)
        widths = np.diff(edges)
        if self.stream is not None:
            return self._stream_throughput(self.stream, t, widths, width)
        r = self.requests

        def rate(code: int) -> np.ndarray:
            counts = np.zeros(t.size, dtype=np.int64)
            for start in range(0, len(r), SERIES_CHUNK_ROWS):
                rows = slice(start, start + SERIES_CHUNK_ROWS)
                counts += np.histogram(r.finished_s[rows][r.outcome[rows] == code], bins=edges)[0]
            rates: np.ndarray = counts / widths
            return rates

        failed = {
            name: rate(code) for code, name in enumerate(r.reason_names) if code > COMPLETED
        }
        return RateSeries(t, rate(COMPLETED), failed, width)

    def latency_over_time(
        self, bin_s: float | None = None, percentiles: tuple[int, ...] = (50, 95, 99)
    ) -> PercentileSeries:
        """Latency percentiles of completed requests in each bin, by finish time."""
        width = self.bin_s if bin_s is None else bin_s
        t = self._bin_starts(width)
        if self.stream is not None:
            return self._stream_percentiles(self.stream, t, width, percentiles)
        values = {p: np.full(t.size, np.nan) for p in percentiles}
        for j, chunk in latency_bins(self, np.append(t, self.end_s + 1e-9)):
            qs = np.percentile(chunk, percentiles)
            for p, q in zip(percentiles, qs, strict=True):
                values[p][j] = q
        return PercentileSeries(t, values, width)

    def stream_factor(self, width: float) -> int:
        """How many of the run's bins make one bin of ``width`` (streaming runs keep no finer)."""
        factor = round(width / self.bin_s)
        if factor < 1 or not math.isclose(factor * self.bin_s, width, rel_tol=1e-9):
            raise NotRecordedError(
                f"a streaming run keeps its series in bins of {self.bin_s:g} s: "
                f"ask for a multiple of it (got {width:g})"
            )
        return factor

    def _stream_throughput(
        self, stream: RequestStream, t: np.ndarray, widths: np.ndarray, width: float
    ) -> RateSeries:
        factor = self.stream_factor(width)
        names = self.requests.reason_names
        zeros = np.zeros(stream.completed_bins.size, dtype=np.int64)
        failed = {
            name: rebin(stream.failed_bins.get(code, zeros), factor, t.size) / widths
            for code, name in enumerate(names)
            if code > COMPLETED
        }
        completed = rebin(stream.completed_bins, factor, t.size) / widths
        return RateSeries(t, completed, failed, width)

    def _stream_percentiles(
        self, stream: RequestStream, t: np.ndarray, width: float, percentiles: tuple[int, ...]
    ) -> PercentileSeries:
        factor = self.stream_factor(width)
        values = {p: np.full(t.size, np.nan) for p in percentiles}
        for j in range(t.size):
            merged = QuantileSketch(LATENCY_ALPHA)
            for k in range(j * factor, (j + 1) * factor):
                part = stream.bin_latency.get(k)
                if part is not None:
                    merged.merge(part)
            if merged.count:
                for p in percentiles:
                    values[p][j] = merged.quantile(p / 100, interpolate=True)
        return PercentileSeries(t, values, width)

    # ------------------------------------------------------------------ summary

    def summary(self) -> dict[str, Any]:
        """The summary as a JSON-ready dict (see docs/reference/summary.md).

        Composed once by the summarizer the results were built with (the
        simulation passes :func:`asyncflow.analysis.summary.summarize`); later
        calls return the same dictionary.

        Raises:
            TypeError: For results built by hand without a summarizer.
        """
        if self._summary is None:
            if self._summarize is None:
                raise TypeError(
                    "these results were built without a summarizer: pass "
                    "summarize=asyncflow.analysis.summary.summarize to Results"
                )
            self._summary = self._summarize(self)
        return self._summary

    # ------------------------------------------------------------------ tables

    def _table_rows(self, start: int = 0, stop: int | None = None) -> dict[str, list[Any]]:
        """The request table's rows ``start:stop`` as columns of Python values."""
        r = self.requests
        rows = slice(start, len(r) if stop is None else stop)
        names = r.reason_names
        outcome_name = ["in_flight", "completed"] + ["failed"] * (len(names) - 2)
        reason = [None, None, *names[2:]]
        servers = [*self.server_ids, None]  # index -1 → None
        endpoint_names = self.endpoint_names
        slots = r.slots[rows]
        # Phases are float32: shown at that precision, so 0.005 reads 0.005.
        phases = {
            f"{name}_s": phase_seconds(slots, name, r.kept)
            .astype(np.float32)
            .astype(str)
            .astype(np.float64)
            .tolist()
            for name in PHASE_NAMES
        }
        generated, finished = r.generated_s[rows], r.finished_s[rows]
        outcome, server = r.outcome[rows].tolist(), r.server[rows].tolist()
        return {
            "request_id": list(range(rows.start, rows.start + len(outcome))),
            "generated_s": generated.tolist(),
            "finished_s": finished.tolist(),
            "latency_s": (finished - generated).tolist(),
            "outcome": [outcome_name[c] for c in outcome],
            "reason": [reason[c] for c in outcome],
            "server": [servers[s] for s in server],
            "endpoint": [
                endpoint_names[s][e] if s >= 0 and e >= 0 else None
                for s, e in zip(server, r.endpoint[rows].tolist(), strict=True)
            ],
            **phases,
        }

    def to_pandas(self) -> pd.DataFrame:
        """The request table as a DataFrame (needs the ``pandas`` extra)."""
        _rows_kept(self, "the request table")
        try:
            import pandas as pd
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("to_pandas needs pandas: pip install 'asyncflow[pandas]'") from exc
        frame = pd.DataFrame(self._table_rows())
        for column in _TEXT_COLUMNS:
            frame[column] = frame[column].astype("category")
        return frame

    def write_parquet(self, path: str | os.PathLike[str]) -> None:
        """Write the request table as Parquet (needs the ``parquet`` extra).

        Same columns as :meth:`write_csv`; text columns are dictionary-encoded
        and missing values are nulls.
        """
        _rows_kept(self, "the request table")
        pa, pq = import_pyarrow()
        r = self.requests
        n = len(r)
        reasons = r.reason_names
        outcome_code = np.minimum(r.outcome, 2).astype(np.int32)
        reason_code = r.outcome.astype(np.int32) - 2
        server = r.server.astype(np.int32)
        # one code per (server, endpoint) pair, into a dictionary of endpoint names
        offsets = np.cumsum(
            [0, *(len(self.endpoint_names[i]) for i in range(len(self.server_ids)))]
        )
        endpoint_code = np.where(server >= 0, offsets[np.maximum(server, 0)] + r.endpoint, -1)
        endpoint_names = [
            name for i in range(len(self.server_ids)) for name in self.endpoint_names[i]
        ]

        def text(codes: np.ndarray, dictionary: list[str]) -> Any:
            return pa.DictionaryArray.from_arrays(
                pa.array(codes, mask=codes < 0, type=pa.int32()), pa.array(dictionary, pa.string())
            )

        columns: dict[str, Any] = {
            "request_id": np.arange(n, dtype=np.int64),
            "generated_s": r.generated_s,
            "finished_s": pa.array(r.finished_s, from_pandas=True),
            "latency_s": pa.array(r.finished_s - r.generated_s, from_pandas=True),
            "outcome": text(outcome_code, ["in_flight", "completed", "failed"]),
            "reason": text(reason_code, list(reasons[2:])),
            "server": text(server, list(self.server_ids)),
            "endpoint": text(np.where(r.endpoint >= 0, endpoint_code, -1), endpoint_names),
        }
        columns.update({f"{name}_s": values for name, values in r.phases().items()})
        pq.write_table(pa.table(columns), path)

    def write_csv(self, path: str | os.PathLike[str]) -> None:
        """Write the request table as CSV (empty cells for missing values).

        Text cells that a spreadsheet would run as a formula are neutralised
        (``asyncflow.tabular.csv_text``); numbers are written as they are.
        """
        _rows_kept(self, "the request table")
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(self._table_rows(0, 0).keys())
            for start in range(0, len(self.requests), CSV_CHUNK_ROWS):
                rows = self._table_rows(start, start + CSV_CHUNK_ROWS)
                writer.writerows(zip(*_csv_columns(rows), strict=True))


SERIES_CHUNK_ROWS = 1 << 16
"""Rows counted at a time for the series over time."""

CSV_CHUNK_ROWS = 1 << 12
"""Rows of the request table turned into text at a time (bounds the memory of the CSV)."""


def _csv_columns(rows: dict[str, list[Any]]) -> list[list[Any]]:
    """Cells of each column: None and NaN empty, text cells neutralised."""
    # Column by column: None and NaN (the only value unequal to itself) become "".
    columns = [["" if v is None or v != v else v for v in values] for values in rows.values()]
    for index, name in enumerate(rows):
        if name in _TEXT_COLUMNS:  # few distinct names: neutralise each once
            safe = {v: csv_text(v) for v in set(columns[index])}
            columns[index] = [safe[v] for v in columns[index]]
    return columns


_TEXT_COLUMNS = ("outcome", "reason", "server", "endpoint")
