"""Results of one run: request table, level series, summary.

Tallies and levels are different things: latencies are per-request tallies
(percentiles over requests); queue lengths, RAM and busy cores are levels
(time-weighted over ``[warm_up_s, end_s]``).
"""

from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from asyncflow.analysis import attribution
from asyncflow.metrics.phases import (
    CALLS_NETWORK,
    CONNECTION_WAIT,
    CPU,
    CPU_WAIT,
    HANDSHAKE,
    HOP_SLOTS,
    IO,
    RAM_WAIT,
)
from asyncflow.metrics.requests import COMPLETED, IN_FLIGHT, RequestLog
from asyncflow.tabular import csv_text, import_pyarrow

if TYPE_CHECKING:
    import pandas as pd

    from asyncflow.metrics.levels import Level
    from asyncflow.scenario import Scenario
    from asyncflow.simulation import Simulation

PERCENTILES = (50, 90, 95, 99)


@dataclass(frozen=True, slots=True)
class RequestTable:
    """One row per generated request, as numpy columns.

    Attributes:
        generated_s: Generation time.
        finished_s: Completion or failure time; NaN while in flight.
        outcome: 0 in flight, 1 completed, >= 2 failed (``reason_names[code]``).
        server: Index into ``Results.server_ids``; -1 if it reached no server.
        endpoint: Index into that server's endpoints; -1 if none.
        workload: Index into ``Results.workload_ids``.
        failed_at: Where a failed request failed: index into
            ``Results.places`` (a node or edge id); -1 otherwise.
        hops_s: Seconds on each hop of the request's own path, shape (n, 4):
            from its workload, out to its entry node, from a balancer to the
            server, and the reply (hops it does not take are 0).
        call_network_s: Seconds on the network of the calls it waited for.
        handshake_s: Seconds opening connections (TCP and TLS round trips).
        connection_wait_s: Seconds waiting in accept backlogs.
        ram_wait_s: Seconds waiting for RAM at the server.
        cpu_wait_s: Seconds waiting for a core (in the ready queue).
        cpu_s: Seconds on a core.
        io_s: Seconds in I/O.
        reason_names: Names of the outcome codes (0 and 1 included).
    """

    generated_s: np.ndarray
    finished_s: np.ndarray
    outcome: np.ndarray
    server: np.ndarray
    endpoint: np.ndarray
    workload: np.ndarray
    failed_at: np.ndarray
    hops_s: np.ndarray
    call_network_s: np.ndarray
    handshake_s: np.ndarray
    connection_wait_s: np.ndarray
    ram_wait_s: np.ndarray
    cpu_wait_s: np.ndarray
    cpu_s: np.ndarray
    io_s: np.ndarray
    reason_names: tuple[str, ...]

    def phases(self) -> dict[str, np.ndarray]:
        """Seconds each request spent in each phase (float64 copies).

        For a completed request they add up to its latency: ``network`` (all
        hops), ``handshake``, ``connection_wait``, ``ram_wait``, ``cpu_wait``,
        ``cpu`` and ``io``.
        """
        return {
            "network": self.hops_s.sum(axis=1, dtype=np.float64) + self.call_network_s,
            "handshake": self.handshake_s.astype(np.float64),
            "connection_wait": self.connection_wait_s.astype(np.float64),
            "ram_wait": self.ram_wait_s.astype(np.float64),
            "cpu_wait": self.cpu_wait_s.astype(np.float64),
            "cpu": self.cpu_s.astype(np.float64),
            "io": self.io_s.astype(np.float64),
        }

    def __len__(self) -> int:
        return int(self.generated_s.size)


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
            "outage" if e.is_outage else "spike",
            e.target_id,
            e.start.t_start,
            e.end.t_end,
        )
        for e in scenario.events
    )


@dataclass(frozen=True, slots=True)
class _LevelStats:
    area: float
    peak: float
    bin_area: np.ndarray
    bin_max: np.ndarray


class Results:
    """Everything one run measured."""

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
        levels: dict[tuple[str, str], _LevelStats],
        refused: dict[str, int] | None = None,
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
        """Connections refused per node (nodes that model connections)."""
        nodes = scenario.topology_graph.nodes
        self.server_ids: tuple[str, ...] = tuple(s.id for s in nodes.servers)
        self.edge_ids: tuple[str, ...] = tuple(e.id for e in scenario.topology_graph.edges)
        self.load_balancer_id: str | None = (
            nodes.load_balancer.id if nodes.load_balancer is not None else None
        )
        self._endpoint_names = {
            i: tuple(e.endpoint_name for e in s.endpoints) for i, s in enumerate(nodes.servers)
        }
        self.fault_windows = fault_windows_of(scenario)

    @classmethod
    def from_simulation(cls, simulation: Simulation, wall_s: float) -> Results:
        """Collect a finished simulation's records."""
        ctx = simulation.ctx
        table = _request_table(ctx.log)
        levels = {key: _stats(level) for key, level in ctx.levels.items()}
        listeners = [s.listener for s in simulation.servers.values()]
        listeners += [b.listener for b in simulation.balancers.values()]
        refused = {lst.node_id: lst.refused for lst in listeners if lst is not None}
        return cls(
            scenario=simulation.scenario,
            seed=simulation.seed,
            end_s=simulation.end_s,
            warm_up_s=ctx.warm_up_s,
            wall_s=wall_s,
            bin_s=ctx.bin_s,
            requests=table,
            levels=levels,
            refused=refused,
        )

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
        r = self.requests
        mask = self._completed_mask()
        return np.asarray(r.finished_s[mask] - r.generated_s[mask])

    def failed_by_reason(self) -> dict[str, int]:
        """Failed requests of the whole run, by reason."""
        codes, counts = np.unique(self.requests.outcome, return_counts=True)
        names = self.requests.reason_names
        return {names[c]: int(n) for c, n in zip(codes, counts, strict=True) if c > COMPLETED}

    # ------------------------------------------------------------------ levels

    def level_metrics(self, node: str) -> tuple[str, ...]:
        """The level metrics recorded for ``node``."""
        return tuple(metric for (n, metric) in self._levels if n == node)

    def _level(self, metric: str, node: str) -> _LevelStats:
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
        r = self.requests
        finished = r.finished_s

        def rate(mask: np.ndarray) -> np.ndarray:
            counts, _ = np.histogram(finished[mask], bins=edges)
            rates: np.ndarray = counts / widths
            return rates

        failed = {
            name: rate(r.outcome == code)
            for code, name in enumerate(r.reason_names)
            if code > COMPLETED
        }
        return RateSeries(t, rate(r.outcome == COMPLETED), failed, width)

    def latency_over_time(
        self, bin_s: float | None = None, percentiles: tuple[int, ...] = (50, 95, 99)
    ) -> PercentileSeries:
        """Latency percentiles of completed requests in each bin, by finish time."""
        width = self.bin_s if bin_s is None else bin_s
        t = self._bin_starts(width)
        r = self.requests
        mask = r.outcome == COMPLETED
        finished = r.finished_s[mask]
        latency = finished - r.generated_s[mask]
        order = np.argsort(finished, kind="stable")
        finished, latency = finished[order], latency[order]
        bounds = np.searchsorted(finished, np.append(t, self.end_s + 1e-9), side="left")
        values = {p: np.full(t.size, np.nan) for p in percentiles}
        for j in range(t.size):
            chunk = latency[bounds[j] : bounds[j + 1]]
            if chunk.size:
                qs = np.percentile(chunk, percentiles)
                for p, q in zip(percentiles, qs, strict=True):
                    values[p][j] = q
        return PercentileSeries(t, values, width)

    # ------------------------------------------------------------------ summary

    def summary(self) -> dict[str, Any]:
        """The summary as a JSON-ready dict (see docs/reference/summary.md)."""
        r = self.requests
        outcome = r.outcome
        completed = int(np.count_nonzero(outcome == COMPLETED))
        in_flight = int(np.count_nonzero(outcome == IN_FLIGHT))
        latencies = self.latencies()
        finished_ok = r.finished_s[outcome == COMPLETED]
        measured = np.count_nonzero(finished_ok >= self.warm_up_s)
        servers = {sid: self._server_summary(i, sid) for i, sid in enumerate(self.server_ids)}
        transit = attribution.edge_transit_means(self)
        edges = {
            eid: {
                "in_transit_mean": self.level_mean("in_transit", eid),
                "in_transit_max": self.level_max("in_transit", eid),
                "transit_s_mean": transit[eid],
                **self._extra_levels(eid, ("in_transit",)),
            }
            for eid in self.edge_ids
        }
        overall = attribution.breakdowns_by_group(self)["all"]
        return {
            "scenario": self.name,
            "seed": self.seed,
            "simulated_s": self.end_s,
            "warm_up_s": self.warm_up_s,
            "wall_s": self.wall_s,
            "requests": {
                "generated": len(r),
                "completed": completed,
                "failed": len(r) - completed - in_flight,
                "in_flight": in_flight,
                "failed_by_reason": self.failed_by_reason(),
            },
            "latency_s": _latency_stats(latencies),
            "throughput_rps": {"mean": float(measured) / self.measured_s},
            "servers": servers,
            "load_balancers": self._balancer_summary(),
            "edges": edges,
            "endpoints": self._endpoint_summary(),
            "latency_breakdown_s": _none_if_nan(overall["all"].phases_s),
            "latency_breakdown_tail_s": {
                f"p{p}": _none_if_nan(overall[f"p{p}"].phases_s) for p in attribution.TAILS
            },
            "bottleneck": attribution.find_bottleneck(self).as_dict(),
        }

    def _server_summary(self, index: int, sid: str) -> dict[str, Any]:
        """Counts, levels and per-request phase means of one server."""
        r = self.requests
        resources = self.scenario.topology_graph.nodes.servers[index].server_resources
        at_server = self._completed_mask() & (r.server == index)
        stats: dict[str, Any] = {
            "completed": int(np.count_nonzero((r.outcome == COMPLETED) & (r.server == index))),
            "cpu_utilization": self.level_mean("busy_cores", sid) / resources.cpu_cores,
            "ready_queue_mean": self.level_mean("ready_queue", sid),
            "ready_queue_max": self.level_max("ready_queue", sid),
            "io_waiting_mean": self.level_mean("io_waiting", sid),
            "ram_in_use_mb_mean": self.level_mean("ram_in_use_mb", sid),
            "ram_in_use_mb_max": self.level_max("ram_in_use_mb", sid),
            "ram_utilization": self.level_mean("ram_in_use_mb", sid) / resources.ram_mb,
            "ram_wait_queue_mean": self.level_mean("ram_wait_queue", sid),
            "ram_wait_queue_max": self.level_max("ram_wait_queue", sid),
        }
        stats.update(self._extra_levels(sid, _SERVER_LEVELS))
        stats.update(_phase_means(r.phases(), at_server))
        stats["refused"] = self.refused.get(sid, 0)
        return stats

    def _balancer_summary(self) -> dict[str, dict[str, Any]]:
        """Connection levels, limits and refusals of the load balancer, when there is one."""
        lb = self.load_balancer_id
        balancer = self.scenario.topology_graph.nodes.load_balancer
        if lb is None or balancer is None:
            return {}
        stats: dict[str, Any] = {**self._extra_levels(lb, ()), "refused": self.refused.get(lb, 0)}
        limits = balancer.resources
        if limits is not None and limits.max_connections is not None:
            stats["max_connections"] = limits.max_connections
            stats["listen_backlog"] = limits.listen_backlog or 0
            stats["ram_mb"] = limits.ram_mb
            if "connections" in self.level_metrics(lb):
                mean = self.level_mean("connections", lb)
                stats["connection_utilization"] = mean / limits.max_connections
        return {lb: stats}

    def _extra_levels(self, node: str, known: tuple[str, ...]) -> dict[str, float]:
        """Mean and max of every level of ``node`` not among ``known``."""
        extra: dict[str, float] = {}
        for metric in self.level_metrics(node):
            if metric not in known:
                extra[f"{metric}_mean"] = self.level_mean(metric, node)
                extra[f"{metric}_max"] = self.level_max(metric, node)
        return extra

    def _endpoint_summary(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Per server and endpoint: completions, latency statistics, service time."""
        r = self.requests
        completed = r.outcome == COMPLETED
        measured = self._completed_mask()
        latency = r.finished_s - r.generated_s
        phases = r.phases()
        out: dict[str, dict[str, dict[str, Any]]] = {}
        for i, sid in enumerate(self.server_ids):
            at_server = r.server == i
            entries: dict[str, dict[str, Any]] = {}
            for j, name in enumerate(self._endpoint_names[i]):
                here = at_server & (r.endpoint == j)
                mine = measured & here
                means = _phase_means(phases, mine)
                entries[name] = {
                    "completed": int(np.count_nonzero(completed & here)),
                    "latency_s": _latency_stats(latency[mine]),
                    "service_s_mean": means["service_s_mean"],
                }
            out[sid] = entries
        return out

    # ------------------------------------------------------------------ tables

    def _table_rows(self) -> dict[str, list[Any]]:
        r = self.requests
        names = r.reason_names
        outcome_name = ["in_flight", "completed"] + ["failed"] * (len(names) - 2)
        reason = [None, None, *names[2:]]
        servers = [*self.server_ids, None]  # index -1 → None
        endpoint_names = self._endpoint_names
        # Phases are float32: shown at that precision, so 0.005 reads 0.005.
        phases = {
            f"{name}_s": v.astype(np.float32).astype(str).astype(np.float64).tolist()
            for name, v in r.phases().items()
        }
        return {
            "request_id": list(range(len(r))),
            "generated_s": r.generated_s.tolist(),
            "finished_s": r.finished_s.tolist(),
            "latency_s": (r.finished_s - r.generated_s).tolist(),
            "outcome": [outcome_name[c] for c in r.outcome.tolist()],
            "reason": [reason[c] for c in r.outcome.tolist()],
            "server": [servers[s] for s in r.server.tolist()],
            "endpoint": [
                endpoint_names[s][e] if s >= 0 and e >= 0 else None
                for s, e in zip(r.server.tolist(), r.endpoint.tolist(), strict=True)
            ],
            **phases,
        }

    def to_pandas(self) -> pd.DataFrame:
        """The request table as a DataFrame (needs the ``pandas`` extra)."""
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
        pa, pq = import_pyarrow()
        r = self.requests
        n = len(r)
        reasons = r.reason_names
        outcome_code = np.minimum(r.outcome, 2).astype(np.int32)
        reason_code = r.outcome.astype(np.int32) - 2
        server = r.server.astype(np.int32)
        # one code per (server, endpoint) pair, into a dictionary of endpoint names
        offsets = np.cumsum(
            [0, *(len(self._endpoint_names[i]) for i in range(len(self.server_ids)))]
        )
        endpoint_code = np.where(server >= 0, offsets[np.maximum(server, 0)] + r.endpoint, -1)
        endpoint_names = [
            name for i in range(len(self.server_ids)) for name in self._endpoint_names[i]
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
        rows = self._table_rows()
        # Column by column: None and NaN (the only value unequal to itself) become "".
        columns = [["" if v is None or v != v else v for v in values] for values in rows.values()]
        for index, name in enumerate(rows):
            if name in _TEXT_COLUMNS:  # few distinct names: neutralise each once
                safe = {v: csv_text(v) for v in set(columns[index])}
                columns[index] = [safe[v] for v in columns[index]]
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(rows.keys())
            writer.writerows(zip(*columns, strict=True))


_BEFORE_ADMISSION = frozenset({"handshake", "connection_wait"})
_SERVER_LEVELS = ("ready_queue", "busy_cores", "io_waiting", "ram_in_use_mb", "ram_wait_queue")
_TEXT_COLUMNS = ("outcome", "reason", "server", "endpoint")


def _phase_means(phases: dict[str, np.ndarray], mask: np.ndarray) -> dict[str, float | None]:
    """Mean seconds of each server phase over ``mask``, and their sum as service time.

    The phases after admission (all but the network, handshakes and the
    accept backlog) add up to the service time: from the request's arrival
    in the server to its leaving.
    """
    n = int(np.count_nonzero(mask))
    means: dict[str, float | None] = {}
    service = 0.0
    for name, values in phases.items():
        if name == "network":
            continue
        mean = float(values[mask].mean()) if n else None
        means[f"{name}_s_mean"] = mean
        if name not in _BEFORE_ADMISSION:
            service += mean or 0.0
    means["service_s_mean"] = service if n else None
    return means


def _none_if_nan(values: dict[str, float]) -> dict[str, float | None]:
    return {k: None if math.isnan(v) else v for k, v in values.items()}


def _latency_stats(latencies: np.ndarray) -> dict[str, float | None]:
    if latencies.size == 0:
        return {"mean": None, "p50": None, "p90": None, "p95": None, "p99": None, "max": None}
    qs = np.percentile(latencies, PERCENTILES)
    stats: dict[str, float | None] = {"mean": float(latencies.mean())}
    stats.update({f"p{p}": float(q) for p, q in zip(PERCENTILES, qs, strict=True)})
    stats["max"] = float(latencies.max())
    return stats


def _request_table(log: RequestLog) -> RequestTable:
    """The request log's columns as a table (views, no copies)."""
    columns = log.columns()
    for column in columns.values():
        column.flags.writeable = False
    view = log.phases.view()
    kept = log.phases.kept
    n = view.shape[0]

    def slot(k: int) -> np.ndarray:
        if k in kept:
            column: np.ndarray = view[:, kept.index(k)]
        else:
            column = np.zeros(n, dtype=np.float32)
        column.flags.writeable = False
        return column

    hops = view[:, [kept.index(k) for k in HOP_SLOTS]]
    return RequestTable(
        **columns,
        hops_s=hops,
        call_network_s=slot(CALLS_NETWORK),
        handshake_s=slot(HANDSHAKE),
        connection_wait_s=slot(CONNECTION_WAIT),
        ram_wait_s=slot(RAM_WAIT),
        cpu_wait_s=slot(CPU_WAIT),
        cpu_s=slot(CPU),
        io_s=slot(IO),
        reason_names=tuple(log.reasons.names),
    )


def _stats(level: Level) -> _LevelStats:
    return _LevelStats(
        area=level.area_after_warm_up,
        peak=level.max_after_warm_up,
        bin_area=level.bin_area.copy(),
        bin_max=level.bin_max.copy(),
    )
