"""Latency attribution: breakdowns add up, nodes are the right ones, verdicts are right."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import asyncflow
from asyncflow.analysis.attribution import (
    breakdown,
    breakdowns_by_group,
    edge_transit_means,
    event_affected_mask,
    find_bottleneck,
    hop_edges,
    measured_mask,
    node_phase_seconds,
    phase_label,
    phase_resource,
)
from asyncflow.results import Results

HEAVY = (
    Path(__file__).resolve().parents[2]
    / "examples"
    / "asyncflow-0.1"
    / "heavy_inj_single_server.yml"
)


@pytest.fixture(scope="module")
def heavy() -> Results:
    return asyncflow.run(HEAVY, seed=1)


def test_breakdown_means_add_up_to_the_mean_latency(ram_bound: Results) -> None:
    for above in (None, 95, 99):
        item = breakdown(ram_bound, above=above)
        assert sum(item.phases_s.values()) == pytest.approx(item.latency_s, rel=1e-5)
        assert sum(item.shares().values()) == pytest.approx(1.0, rel=1e-5)


def test_tails_hold_the_slowest_share_of_requests(cpu_bound: Results) -> None:
    measured = int(np.count_nonzero(measured_mask(cpu_bound)))
    entry = breakdowns_by_group(cpu_bound)["all"]

    assert entry["all"].count == measured
    assert entry["p95"].count == pytest.approx(0.05 * measured, rel=0.1)
    assert entry["p99"].count == pytest.approx(0.01 * measured, rel=0.2)
    assert entry["p99"].latency_s > entry["p95"].latency_s > entry["all"].latency_s
    assert entry["all"].latency_s == pytest.approx(float(cpu_bound.latencies().mean()))


def test_groups_by_server_and_endpoint_partition_the_requests(
    balanced_with_spike: Results,
) -> None:
    total = breakdowns_by_group(balanced_with_spike)["all"]["all"].count
    servers = breakdowns_by_group(balanced_with_spike, "server")
    endpoints = breakdowns_by_group(balanced_with_spike, "endpoint")

    assert list(servers) == ["srv-1", "srv-2"]
    assert list(endpoints) == ["srv-1//api", "srv-2//api", "srv-2//slow"]
    assert sum(g["all"].count for g in servers.values()) == total
    assert sum(g["all"].count for g in endpoints.values()) == total
    slow, fast = endpoints["srv-2//slow"]["all"], endpoints["srv-2//api"]["all"]
    assert slow.phases_s["io"] == pytest.approx(0.05, rel=1e-5)
    assert fast.phases_s["io"] == pytest.approx(0.01, rel=1e-5)


def test_unknown_grouping_is_refused(cpu_bound: Results) -> None:
    with pytest.raises(ValueError, match="by must be 'overall', 'server' or 'endpoint'"):
        breakdowns_by_group(cpu_bound, "edge")


def test_hops_map_to_the_edges_of_each_path(balanced_with_spike: Results, heavy: Results) -> None:
    # By (workload, server): from the workload, out to the entry, from a balancer, the reply.
    assert hop_edges(balanced_with_spike) == {
        (0, 0): ("rqs-1->client-1", "client-1->lb-1", "lb-1->srv-1", "srv-1->client-1"),
        (0, 1): ("rqs-1->client-1", "client-1->lb-1", "lb-1->srv-2", "srv-2->client-1"),
    }
    assert hop_edges(heavy) == {
        (0, 0): ("gen-to-client", "client-to-server", None, "server-to-client")
    }


def test_node_seconds_add_up_to_the_latencies(balanced_with_spike: Results) -> None:
    mask = measured_mask(balanced_with_spike)
    totals = node_phase_seconds(balanced_with_spike, mask)

    assert sum(totals.values()) == pytest.approx(float(balanced_with_spike.latencies().sum()))
    nodes = {node for node, _ in totals}
    assert nodes <= {*balanced_with_spike.edge_ids, *balanced_with_spike.server_ids}
    assert totals[("srv-2", "io")] > totals[("srv-1", "io")]


def test_edge_transit_means_see_the_spike(balanced_with_spike: Results) -> None:
    means = edge_transit_means(balanced_with_spike)

    assert set(means) == set(balanced_with_spike.edge_ids)
    spiked, calm = means["lb-1->srv-2"], means["lb-1->srv-1"]
    assert spiked is not None
    assert calm is not None
    assert spiked > 0.05 > calm  # 0.5 s spike over a sixth of the run


def test_event_affected_requests_overlap_a_window(balanced_with_spike: Results) -> None:
    r = balanced_with_spike.requests
    affected = event_affected_mask(balanced_with_spike)

    assert affected.any()
    assert not affected.all()
    assert np.all(r.generated_s[affected] <= 30.0)
    assert np.all(r.finished_s[affected] >= 20.0)


def test_verdict_names_the_waiting_for_a_core(cpu_bound: Results) -> None:
    verdict = find_bottleneck(cpu_bound)

    assert verdict.scope == "all requests"
    assert verdict.tail is not None
    assert (verdict.tail.node, verdict.tail.phase, verdict.tail.resource) == (
        "srv-1",
        "cpu_wait",
        "cpu",
    )
    assert verdict.tail.share > 0.5
    assert verdict.busiest is not None
    assert verdict.busiest.resource == "cpu"
    assert verdict.verdict.startswith("p99 is dominated by waiting for a CPU core on srv-1 (")


def test_verdict_names_the_waiting_for_ram(ram_bound: Results) -> None:
    verdict = find_bottleneck(ram_bound).as_dict()

    assert (verdict["node"], verdict["resource"], verdict["phase"]) == ("srv-1", "ram", "ram_wait")
    assert verdict["share_of_p99"] > 0.5
    assert verdict["busiest"]["resource"] == "ram"
    assert verdict["busiest"]["utilization"] > 0.8
    assert "waiting for RAM on srv-1" in verdict["verdict"]


def test_heavy_example_ram_wait_is_the_bottleneck_beside_the_spike(heavy: Results) -> None:
    # The +3 s spike on client-to-server makes the whole run's p99 by itself;
    # judged outside the event window, the tail is the RAM wait queue (which
    # fills when the requests held back by the spike arrive together).
    verdict = find_bottleneck(heavy)
    data = verdict.as_dict()

    assert data["scope"] == "requests outside event windows"
    assert (data["node"], data["resource"], data["phase"]) == ("srv-1", "ram", "ram_wait")
    assert data["share_of_p99"] > 0.5
    whole = data["whole_run"]
    assert (whole["node"], whole["phase"], whole["event_ids"]) == (
        "client-to-server",
        "network",
        ["ev-spike-heavy"],
    )
    assert whole["share_of_p99"] > 0.5
    assert data["busiest"]["node"] == "srv-1"
    assert data["busiest"]["resource"] == "ram"
    assert heavy.level_max("ram_wait_queue", "srv-1") > 100
    assert verdict.verdict.startswith(
        "p99 outside event windows is dominated by waiting for RAM on srv-1 ("
    )
    assert "during ev-spike-heavy" in verdict.verdict


def test_no_completed_request_gives_no_verdict(cpu_bound: Results) -> None:
    empty = Results(
        scenario=cpu_bound.scenario,
        seed=0,
        end_s=cpu_bound.end_s,
        warm_up_s=cpu_bound.warm_up_s,
        wall_s=0.0,
        bin_s=cpu_bound.bin_s,
        requests=replace(cpu_bound.requests, outcome=np.zeros(len(cpu_bound.requests), np.int8)),
        levels=cpu_bound._levels,
    )
    verdict = find_bottleneck(empty)

    assert verdict.tail is None
    assert verdict.as_dict()["node"] is None
    assert verdict.verdict.startswith("No request completed after the warm-up")
    assert np.isnan(breakdown(empty).latency_s)


@pytest.mark.parametrize(
    ("phase", "label", "resource"),
    [
        ("ram_wait", "waiting for RAM", "ram"),
        ("cpu_wait", "waiting for a CPU core", "cpu"),
        ("network", "the network", "network"),
        ("connection_wait", "waiting in an accept backlog", "connections"),
        ("pool_wait", "waiting for a pooled connection", "pool"),
        ("queue_wait", "queue wait", "queue"),
    ],
)
def test_phase_words(phase: str, label: str, resource: str) -> None:
    assert phase_label(phase) == label
    assert phase_resource(phase) == resource


def test_a_phase_spread_over_nodes_names_the_main_one() -> None:
    from asyncflow.analysis.attribution import NodeShare

    alone = NodeShare("srv-1", "ram_wait", 0.71, (), 0.70)
    spread = NodeShare("srv-2", "io", 0.55, (), 0.28)

    assert alone.describe() == "waiting for RAM on srv-1 (71%)"
    assert spread.describe() == "I/O (55%), the largest share on srv-2 (28%)"
    assert spread.resource == "io"


def test_balanced_servers_do_not_split_the_verdict(balanced_with_spike: Results) -> None:
    verdict = find_bottleneck(balanced_with_spike)

    assert verdict.tail is not None
    totals = node_phase_seconds(balanced_with_spike, measured_mask(balanced_with_spike))
    assert verdict.tail.phase in {phase for _, phase in totals}
    assert verdict.tail.node_share is not None
    assert verdict.tail.node_share <= verdict.tail.share
