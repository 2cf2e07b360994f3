"""The rules about figures: kind, preferred direction, label and unit, selection."""

from __future__ import annotations

import pytest

from asyncflow.experiment.figures import describe, direction, kind_of, select

# (path, kind, direction with the same offered load, direction with different loads)
DIRECTIONS = [
    ("latency_s.p95", "time", -1, -1),
    ("latency_s.mean", "time", -1, -1),
    ("endpoints.srv-1./api.latency_s.p95", "time", -1, -1),
    ("endpoints.srv.1./v1.2.latency_s.max", "time", -1, -1),
    ("endpoints.srv-1./api.service_s_mean", "time", -1, -1),
    ("servers.srv-1.cpu_wait_s_mean", "time", -1, -1),
    ("servers.srv-1.connection_wait_s_mean", "time", -1, -1),
    ("servers.srv-1.service_s_mean", "time", -1, -1),
    ("edges.client-srv.transit_s_mean", "time", -1, -1),
    ("latency_breakdown_s.ram_wait", "time", -1, -1),
    ("latency_breakdown_tail_s.p99.cpu", "time", -1, -1),
    ("servers.srv-1.ready_queue_mean", "queue", -1, -1),
    ("servers.srv-1.ram_wait_queue_max", "queue", -1, -1),
    ("servers.srv-1.backlog_mean", "queue", -1, -1),
    ("load_balancers.lb-1.backlog_max", "queue", -1, -1),
    ("requests.failed", "failures", -1, 0),
    ("requests.in_flight", "failures", -1, 0),
    ("requests.failed_by_reason.server_down", "failures", -1, 0),
    ("servers.srv-1.refused", "failures", -1, 0),
    ("load_balancers.lb-1.refused", "failures", -1, 0),
    ("requests.generated", "work", 0, 0),
    ("requests.completed", "work", 0, 0),
    ("servers.srv-1.completed", "work", 0, 0),
    ("endpoints.srv-1./api.completed", "work", 0, 0),
    ("throughput_rps.mean", "work", 0, 0),
    ("servers.srv-1.cpu_utilization", "resource", 0, 0),
    ("servers.srv-1.ram_in_use_mb_max", "resource", 0, 0),
    ("servers.srv-1.io_waiting_mean", "resource", 0, 0),
    ("servers.srv-1.connections_max", "resource", 0, 0),
    ("edges.client-srv.in_transit_mean", "resource", 0, 0),
    ("edges.client-srv.spike_s_mean", "input", 0, 0),
    ("bottleneck.share_of_p99", "other", 0, 0),
    ("bottleneck.busiest.utilization", "other", 0, 0),
    ("something.new", "other", 0, 0),
]


@pytest.mark.parametrize(("path", "kind", "same", "different"), DIRECTIONS)
def test_every_figure_has_a_right_direction_or_none(
    path: str, kind: str, same: int, different: int
) -> None:
    assert kind_of(path) == kind
    assert direction(path, same_load=True) == same
    assert direction(path, same_load=False) == different


def test_the_same_figure_gets_the_same_words_at_every_level() -> None:
    """A run-wide figure and its per-node or per-endpoint twin share their direction."""
    twins = [
        ("latency_s.p95", "endpoints.srv-1./api.latency_s.p95"),
        ("requests.completed", "servers.srv-1.completed"),
        ("requests.completed", "endpoints.srv-1./api.completed"),
        ("latency_breakdown_s.cpu_wait", "servers.srv-1.cpu_wait_s_mean"),
        ("servers.srv-1.backlog_max", "load_balancers.lb-1.backlog_max"),
        ("requests.failed", "servers.srv-1.refused"),
    ]
    for run_wide, local in twins:
        for same_load in (True, False):
            assert direction(run_wide, same_load) == direction(local, same_load)


@pytest.mark.parametrize(
    ("path", "group", "label", "scale"),
    [
        ("latency_s.p95", "Latency", "p95 (ms)", 1000.0),
        (
            "requests.failed_by_reason.server_down",
            "Requests (whole run)",
            "  failed: server_down",
            1,
        ),
        ("throughput_rps.mean", "Requests (whole run)", "throughput (req/s)", 1.0),
        ("servers.srv-1.cpu_wait_s_mean", "Servers", "srv-1 cpu_wait mean (ms)", 1000.0),
        ("servers.srv-1.cpu_utilization", "Servers", "srv-1 cpu_utilization (%)", 100.0),
        ("servers.srv.1.ram_in_use_mb_max", "Servers", "srv.1 ram_in_use max (MB)", 1.0),
        ("edges.a-b.in_transit_mean", "Edges", "a-b in_transit mean", 1.0),
        ("endpoints.srv-1./api.latency_s.p99", "Endpoints", "srv-1 /api latency p99 (ms)", 1000),
        (
            "latency_breakdown_tail_s.p99.io",
            "Where the time goes (mean per request)",
            ">= p99 io (ms)",
            1000.0,
        ),
    ],
)
def test_labels_and_units_are_those_of_single_runs(
    path: str, group: str, label: str, scale: float
) -> None:
    figure = describe(path)
    assert (figure.group, figure.label, figure.scale) == (group, label, scale)


PATHS = [
    "latency_s.p95",
    "latency_s.p99",
    "servers.srv-1.cpu_utilization",
    "servers.srv-10.cpu_utilization",
    "servers.srv-1.ready_queue_mean",
]


@pytest.mark.parametrize(
    ("patterns", "chosen", "unmatched"),
    [
        ((), PATHS, []),
        (("latency_s",), PATHS[:2], []),
        (("latency_s.p95",), PATHS[:1], []),
        (("servers.srv-1",), [PATHS[2], PATHS[4]], []),
        (("*.cpu_utilization",), PATHS[2:4], []),
        (("latency_s.p9?", "nothing"), PATHS[:2], ["nothing"]),
    ],
)
def test_metric_patterns_select_figures(
    patterns: tuple[str, ...], chosen: list[str], unmatched: list[str]
) -> None:
    assert select(PATHS, patterns) == (chosen, unmatched)
