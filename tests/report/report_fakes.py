"""A small hand-made stand-in for Results, following docs/reference/results-api.md."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from asyncflow.analysis.datastores import Datastores
from asyncflow.metrics.phases import CPU, HOP_GENERATOR, HOP_REPLY, IO, RAM_WAIT, SLOTS
from asyncflow.results import CriticalPath


@dataclass(frozen=True)
class Level:
    t: np.ndarray
    mean: np.ndarray
    max: np.ndarray
    bin_s: float


@dataclass(frozen=True)
class Rates:
    t: np.ndarray
    completed: np.ndarray
    failed: dict[str, np.ndarray]
    bin_s: float


@dataclass(frozen=True)
class Percentiles:
    t: np.ndarray
    values: dict[int, np.ndarray]
    bin_s: float


@dataclass(frozen=True)
class Window:
    event_id: str
    kind: str
    target: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class FakeRequests:
    """The request columns the attribution reads: every request completed at server 0."""

    latency: np.ndarray
    kept: tuple[int, ...] = tuple(range(SLOTS))

    @property
    def generated_s(self) -> np.ndarray:
        return np.linspace(0.0, 95.0, self.latency.size)

    @property
    def finished_s(self) -> np.ndarray:
        return self.generated_s + self.latency

    @property
    def outcome(self) -> np.ndarray:
        return np.ones(self.latency.size, dtype=np.int8)

    @property
    def server(self) -> np.ndarray:
        return np.zeros(self.latency.size, dtype=np.int16)

    @property
    def endpoint(self) -> np.ndarray:
        return np.zeros(self.latency.size, dtype=np.int16)

    @property
    def workload(self) -> np.ndarray:
        return np.zeros(self.latency.size, dtype=np.int8)

    @property
    def slots(self) -> np.ndarray:
        """Phase slots: two 1 ms hops, the rest half RAM wait, a fifth CPU, the rest I/O."""
        slots = np.zeros((self.latency.size, SLOTS), dtype=np.float32)
        slots[:, HOP_GENERATOR] = slots[:, HOP_REPLY] = 0.001
        rest = self.latency - 0.002
        slots[:, RAM_WAIT], slots[:, CPU], slots[:, IO] = rest * 0.5, rest * 0.2, rest * 0.3
        return slots

    @property
    def hops_s(self) -> np.ndarray:
        return self.slots[:, :4]

    def __len__(self) -> int:
        return int(self.latency.size)

    def phases(self) -> dict[str, np.ndarray]:
        network = np.full(self.latency.size, 0.002)
        rest = self.latency - network
        return {"network": network, "ram_wait": rest * 0.5, "cpu": rest * 0.2, "io": rest * 0.3}


@dataclass
class FakeResults:
    """Follows docs/reference/results-api.md for what the report reads."""

    server_ids: tuple[str, ...] = ("srv-1",)
    fault_windows: tuple[Window, ...] = ()
    load_balancer_ids: tuple[str, ...] = ()
    edge_ids: tuple[str, ...] = ()
    refused: dict[str, int] = field(default_factory=dict)
    name: str = "fake"
    seed: int = 7
    end_s: float = 100.0
    warm_up_s: float = 10.0
    wall_s: float = 0.5
    bin_s: float = 5.0
    latency_sample: np.ndarray = field(
        default_factory=lambda: np.random.default_rng(1).exponential(0.02, 500)
    )
    workload_ids: tuple[str, ...] = ("w",)
    sites: tuple[Any, ...] = ()
    datastores: Datastores = field(default_factory=Datastores)

    @property
    def critical(self) -> CriticalPath:
        """No calls on any critical path (the fake has no call tree)."""
        empty = np.empty(0, dtype=np.int64)
        return CriticalPath(empty, empty, empty, empty, np.empty((0, SLOTS), np.float32))

    def _t(self, bin_s: float | None) -> tuple[np.ndarray, float]:
        width = bin_s or self.bin_s
        return np.arange(0.0, self.end_s, width), width

    @property
    def requests(self) -> FakeRequests:
        return FakeRequests(self.latency_sample)

    def latencies(self) -> np.ndarray:
        return self.latency_sample

    def level_metrics(self, node: str) -> tuple[str, ...]:
        if node not in self.server_ids:
            return ()
        return ("ready_queue", "ram_wait_queue", "busy_cores", "ram_in_use_mb")

    def series(self, metric: str, node: str) -> Level:
        if node not in self.server_ids:
            raise KeyError(node)
        t, width = self._t(None)
        mean = 1.0 + np.sin(t / 10.0) ** 2
        return Level(t, mean, mean + 1.0, width)

    def throughput(self, bin_s: float | None = None) -> Rates:
        t, width = self._t(bin_s)
        return Rates(t, np.full(t.size, 40.0), {"server_down": np.where(t > 50, 3.0, 0.0)}, width)

    def latency_over_time(
        self, bin_s: float | None = None, percentiles: tuple[int, ...] = (50, 95, 99)
    ) -> Percentiles:
        t, width = self._t(bin_s)
        values = {p: np.full(t.size, p / 1000.0) for p in percentiles}
        values[percentiles[0]][3] = np.nan
        return Percentiles(t, values, width)

    def summary(self) -> dict[str, Any]:
        lat = self.latency_sample
        return {
            "scenario": self.name,
            "seed": self.seed,
            "simulated_s": self.end_s,
            "warm_up_s": self.warm_up_s,
            "wall_s": self.wall_s,
            "requests": {
                "generated": 4000,
                "completed": 3900,
                "failed": 90,
                "in_flight": 10,
                "failed_by_reason": {"server_down": 60, "network_drop": 30},
            },
            "latency_s": {
                "mean": float(lat.mean()),
                "p50": float(np.percentile(lat, 50)),
                "p90": float(np.percentile(lat, 90)),
                "p95": float(np.percentile(lat, 95)),
                "p99": float(np.percentile(lat, 99)),
                "max": float(lat.max()),
            },
            "throughput_rps": {"mean": 39.0},
            "servers": {
                sid: {
                    "completed": 3900 // len(self.server_ids),
                    "cpu_utilization": 0.42,
                    "ready_queue_mean": 0.125,
                    "ram_in_use_mb_mean": 512.5,
                    "ram_in_use_mb_max": 1024.0,
                    "ram_wait_queue_mean": 0.0,
                    "service_s_mean": 0.0125,
                }
                for sid in self.server_ids
            },
            "latency_breakdown_s": {"network": 0.002, "ram_wait": 0.009, "io": 0.005},
            "latency_breakdown_tail_s": {
                "p95": {"network": 0.002, "ram_wait": 0.04, "io": 0.02},
                "p99": {"network": 0.002, "ram_wait": 0.07, "io": 0.03},
            },
            "bottleneck": {
                "node": "srv-1",
                "resource": "ram",
                "phase": "ram_wait",
                "share_of_p99": 0.68,
                "verdict": "p99 is dominated by waiting for RAM on srv-1 (68%).",
            },
        }


WINDOWS = (
    Window("ev-spike-1", "spike", "client-lb", 20.0, 30.0),
    Window("ev-srv1-down", "outage", "srv-1", 50.0, 70.0),
)
