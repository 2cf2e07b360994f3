"""The attribution keys of the run summary."""

from __future__ import annotations

import numpy as np
import pytest

from asyncflow.metrics.phases import PHASE_NAMES
from asyncflow.results import Results


def test_breakdown_adds_up_to_the_mean_latency(ram_bound: Results) -> None:
    summary = ram_bound.summary()
    breakdown = summary["latency_breakdown_s"]

    assert set(breakdown) == set(PHASE_NAMES)
    assert sum(breakdown.values()) == pytest.approx(summary["latency_s"]["mean"], rel=1e-5)
    for tail in ("p95", "p99"):
        values = summary["latency_breakdown_tail_s"][tail]
        assert values["ram_wait"] > breakdown["ram_wait"]


def test_server_phase_means_and_service_time(ram_bound: Results) -> None:
    stats = ram_bound.summary()["servers"]["srv-1"]
    r = ram_bound.requests
    mask = (r.outcome == 1) & (r.generated_s >= ram_bound.warm_up_s)

    assert stats["ram_wait_s_mean"] == pytest.approx(float(r.ram_wait_s[mask].mean()))
    assert stats["cpu_wait_s_mean"] == pytest.approx(float(r.cpu_wait_s[mask].mean()))
    inside = ("ram_wait", "cpu_wait", "cpu", "io")
    assert stats["service_s_mean"] == pytest.approx(sum(stats[f"{p}_s_mean"] for p in inside))
    assert stats["ram_utilization"] == pytest.approx(stats["ram_in_use_mb_mean"] / 1000.0)
    assert stats["ram_wait_queue_max"] >= 1


def test_endpoint_latency_statistics(balanced_with_spike: Results) -> None:
    endpoints = balanced_with_spike.summary()["endpoints"]

    assert list(endpoints) == ["srv-1", "srv-2"]
    assert list(endpoints["srv-2"]) == ["/api", "/slow"]
    slow, fast = endpoints["srv-2"]["/slow"], endpoints["srv-2"]["/api"]
    assert slow["service_s_mean"] > fast["service_s_mean"]
    assert slow["latency_s"]["p50"] > fast["latency_s"]["p50"]
    completed = sum(e["completed"] for s in endpoints.values() for e in s.values())
    assert completed == balanced_with_spike.summary()["requests"]["completed"]


def test_bottleneck_entry(cpu_bound: Results) -> None:
    entry = cpu_bound.summary()["bottleneck"]

    assert {"node", "resource", "share_of_p99", "verdict"} <= set(entry)
    assert (entry["node"], entry["resource"]) == ("srv-1", "cpu")
    assert 0.5 < entry["share_of_p99"] <= 1.0
    assert entry["whole_run"]["share_of_p99"] == entry["share_of_p99"]


def test_edge_transit_time(balanced_with_spike: Results) -> None:
    edges = balanced_with_spike.summary()["edges"]

    assert all(np.isfinite(e["transit_s_mean"]) for e in edges.values())
    assert edges["lb-1->srv-2"]["transit_s_mean"] > edges["lb-1->srv-1"]["transit_s_mean"]
