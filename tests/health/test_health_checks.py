"""Active health checks: a dead server is noticed by probes, not at once."""

from __future__ import annotations

import numpy as np
import pytest

import asyncflow
from asyncflow.scenario.builder import health_check

from .conftest import changes, failed_at, fleet

OUTAGE = (20.3, 40.1)


@pytest.mark.parametrize(
    ("interval_s", "timeout_s", "unhealthy", "healthy"),
    [(2.0, 1.0, 3, 2), (1.0, 0.25, 1, 1), (0.7, 0.7, 4, 3), (5.0, 0.5, 2, 3)],
)
def test_a_dead_server_leaves_rotation_within_the_probe_window(
    interval_s: float, timeout_s: float, unhealthy: int, healthy: int
) -> None:
    policy = health_check(
        "lb-1",
        interval_s=interval_s,
        timeout_s=timeout_s,
        healthy_threshold=healthy,
        unhealthy_threshold=unhealthy,
    )
    results = asyncflow.run(fleet([policy], outage=OUTAGE), seed=3)
    (removed,) = changes(results, "removed")
    (restored,) = changes(results, "restored")
    noticed = removed - OUTAGE[0]
    assert (unhealthy - 1) * interval_s <= noticed <= unhealthy * interval_s + timeout_s
    back = restored - OUTAGE[1]
    # A probe sent just before the server came back still fails after its timeout.
    assert (healthy - 1) * interval_s <= back <= healthy * interval_s + timeout_s
    figures = results.policies["balancers"]["lb-1"]
    assert (figures["health_check_removals"], figures["health_check_returns"]) == (1, 1)


def test_requests_fail_at_the_dead_server_until_it_is_removed_and_not_after() -> None:
    results = asyncflow.run(fleet([health_check("lb-1")], outage=OUTAGE), seed=1)
    (removed,) = changes(results, "removed")
    (restored,) = changes(results, "restored")
    dead = failed_at(results, "server_down", "srv-1")
    generated = results.requests.generated_s[dead]
    # About a third of the requests of the window go to the dead server.
    assert dead.sum() > 0.2 * 40.0 * (removed - OUTAGE[0])
    assert generated.min() >= OUTAGE[0] - 1.0
    assert generated.max() < removed
    r = results.requests
    served_by_1 = r.server == results.server_ids.index("srv-1")
    after = served_by_1 & (r.generated_s > restored + 0.1)
    assert after.sum() > 0  # back in rotation, it serves again
    assert not (served_by_1 & (r.generated_s > removed + 0.1) & (r.generated_s < OUTAGE[1])).any()


def test_without_health_checks_the_balancer_knows_at_once() -> None:
    results = asyncflow.run(fleet(outage=OUTAGE), seed=1)
    dead = failed_at(results, "server_down", "srv-1")
    # Only calls inside at the crash can fail; none arrives later.
    assert (results.requests.generated_s[dead] <= OUTAGE[0]).all()
    assert "policies" not in results.summary()


def test_probe_times_do_not_depend_on_the_traffic() -> None:
    removals = [
        changes(asyncflow.run(fleet([health_check("lb-1")], rate=rate), seed=2), "removed")
        for rate in (5.0, 80.0)
    ]
    assert removals[0] == removals[1] == [25.0]


def test_probes_are_counted_and_the_rotation_is_a_level() -> None:
    results = asyncflow.run(fleet([health_check("lb-1")], outage=(20.0, 40.0)), seed=1)
    figures = results.policies["balancers"]["lb-1"]
    assert figures["probes"] == 3 * 30  # every 2 s from 2 s to 60 s, 3 servers
    assert figures["failed_probes"] == 10  # srv-1 probed down at 20, 22, ..., 38
    # Out from 25 s (3 failed probes noticed) to 42 s (2 good ones): 17 s of 60 with 2 of 3.
    stats = results.summary()["load_balancers"]["lb-1"]
    assert stats["servers_in_rotation_mean"] == pytest.approx((3 * 60 - 17) / 60)


def test_all_servers_dead_fail_at_the_balancer_once_removed() -> None:
    results = asyncflow.run(
        fleet([health_check("lb-1", interval_s=1.0)], servers=("srv-1",), outage=OUTAGE), seed=4
    )
    (removed,) = changes(results, "removed")
    at_balancer = failed_at(results, "server_down", "lb-1")
    at_server = failed_at(results, "server_down", "srv-1")
    generated = results.requests.generated_s
    assert at_server.any()
    assert at_balancer.any()
    assert generated[at_server].max() < removed < generated[at_balancer].min()


def test_same_seed_same_rotation() -> None:
    runs = [asyncflow.run(fleet([health_check("lb-1")]), seed=9) for _ in range(2)]
    assert runs[0].policies == runs[1].policies
    assert np.array_equal(runs[0].requests.outcome, runs[1].requests.outcome)


@pytest.mark.parametrize(
    "algorithm",
    [
        "round_robin",
        "random",
        "least_connection",
        "power_of_two_choices",
        "least_work_left",
        "shortest_expected_delay",
        "join_idle_queue",
    ],
)
def test_every_algorithm_reads_the_rotation_not_the_server(algorithm: str) -> None:
    data = fleet([health_check("lb-1", interval_s=1.0)], outage=OUTAGE).model_dump(mode="json")
    data["topology_graph"]["nodes"]["load_balancer"]["algorithms"] = algorithm
    results = asyncflow.run(data, seed=6)
    (removed,) = changes(results, "removed")
    dead = failed_at(results, "server_down", "srv-1")
    generated = results.requests.generated_s[dead]
    assert dead.sum() > 0
    assert generated.max() < removed
    r = results.requests
    served = (r.server == results.server_ids.index("srv-1")) & (r.generated_s > OUTAGE[1] + 3.0)
    assert served.any()
