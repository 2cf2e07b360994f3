"""Nothing vanishes with databases, pools and caches (Hypothesis).

Random API → cache → database scenarios: pool sizes and timeouts held per
query or per request, connection limits, a fixed ratio or a store with each
eviction, coalescing, local or remote caches, flushes, outages of the
database and the cache, FIFO or shared workers. On every run: every request
ends in one outcome, its phases add up to its age, and the pools' waits
equal the area under their queues (Little's law, exactly).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asyncflow.metrics.phases import POOL_WAIT
from asyncflow.scenario import parse_scenario
from asyncflow.simulation import Simulation
from tests.datastores.conftest import stores


def _cache(draw: Any) -> dict[str, Any]:
    if draw(st.booleans()):
        return {"hit_ratio": draw(st.floats(0.0, 1.0))}
    eviction = draw(st.sampled_from(["lru", "lfu", "fifo", "ttl"]))
    spec: dict[str, Any] = {
        "capacity_items": draw(st.integers(1, 50)),
        "eviction": eviction,
        "keys": {"count": draw(st.integers(1, 200))},
        "coalesce": draw(st.booleans()),
    }
    if eviction == "ttl":
        spec["ttl_s"] = draw(st.floats(0.05, 5.0))
    return spec


@st.composite
def datastore_scenarios(draw: Any) -> Any:
    data = stores()
    nodes = data["topology_graph"]["nodes"]
    server = nodes["servers"][0]
    horizon = draw(st.floats(5.0, 15.0))
    data["sim_settings"] = {"total_simulation_time": horizon, "sample_period_s": 0.5}
    data["rqs_input"]["avg_active_users"] = {"mean": draw(st.integers(5, 60))}
    db = nodes["databases"][0]
    db.update(
        workers=draw(st.integers(1, 3)),
        worker_model=draw(st.sampled_from(["fifo", "processor_sharing"])),
        max_connections=draw(st.sampled_from([None, 1, 3, 8])),
    )
    db["queries"][0]["latency"] = {
        "mean": draw(st.floats(0.001, 0.2)),
        "distribution": "exponential",
    }
    if db["max_connections"] is None:
        del db["max_connections"]
    if draw(st.booleans()):
        server["database_pools"] = [
            {
                "database": "db-1",
                "size": draw(st.integers(1, 4)),
                "acquire_timeout_s": draw(st.sampled_from([None, 0.01, 0.2])),
                "hold": draw(st.sampled_from(["query", "request"])),
            }
        ]
        if server["database_pools"][0]["acquire_timeout_s"] is None:
            del server["database_pools"][0]["acquire_timeout_s"]
    else:
        del server["database_pools"]
    steps = server["endpoints"][0]["steps"]
    miss = steps[2]["step_operation"]["cache_get"]["on_miss"]
    miss[0]["step_operation"]["db_query"]["repeat"] = draw(st.integers(1, 3))
    events: list[dict[str, Any]] = []
    cache = _cache(draw)
    if draw(st.booleans()):  # a local cache
        server["local_caches"] = [{"id": "near", **cache}]
        steps[2]["step_operation"]["cache_get"]["cache"] = "near"
        del nodes["caches"]
        data["topology_graph"]["edges"] = data["topology_graph"]["edges"][:5]
        cache_id = "near"
    else:
        nodes["caches"][0] = {"id": "cache-1", "hit_latency": 0.001, **cache}
        cache_id = "cache-1"
        if draw(st.booleans()):
            events.append(_outage("cache-down", "cache-1", draw, horizon))
    if "capacity_items" in cache and draw(st.booleans()):
        at = draw(st.floats(0.0, horizon))
        events.append(
            {
                "event_id": "f",
                "target_id": cache_id,
                "start": {"kind": "cache_flush", "t_start": at},
            }
        )
    if draw(st.booleans()):
        events.append(_outage("db-down", "db-1", draw, horizon))
    data["events"] = events
    return parse_scenario(data)


def _outage(event_id: str, target: str, draw: Any, horizon: float) -> dict[str, Any]:
    start = draw(st.floats(0.0, horizon - 1.0))
    return {
        "event_id": event_id,
        "target_id": target,
        "start": {"kind": "server_down", "t_start": start},
        "end": {"kind": "server_up", "t_end": draw(st.floats(start + 0.01, horizon))},
    }


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=datastore_scenarios(), seed=st.integers(0, 2**32))
def test_datastores_account_for_every_request_and_second(scenario: Any, seed: int) -> None:
    simulation = Simulation(scenario, seed, record_calls=True)
    results = simulation.run()
    r = results.requests
    completed = int(np.count_nonzero(r.outcome == 1))
    failed = int(np.count_nonzero(r.outcome >= 2))
    in_flight = int(np.count_nonzero(r.outcome == 0))
    assert completed + failed + in_flight == len(r)
    ended = np.where(np.isnan(r.finished_s), results.end_s, r.finished_s)
    np.testing.assert_allclose(
        sum(r.phases().values()), ended - r.generated_s, rtol=1e-5, atol=1e-5
    )
    calls = results.calls
    assert calls is not None
    waited = float(calls.slots[:, POOL_WAIT].astype(np.float64).sum())
    levels = simulation.ctx.levels
    queued = sum(float(lv.bin_area.sum()) for (_, m), lv in levels.items() if m == "waiting")
    assert waited == pytest.approx(queued, rel=1e-5, abs=1e-5 * max(1.0, len(calls) * 1e-3))
    summary = results.summary()
    assert set(summary["databases"]) == {"db-1"}


def test_a_transaction_ends_when_its_request_leaves_the_server() -> None:
    """``hold: request``: the connection is given back as the request leaves the server.

    A reply recorded ahead of time (the client's hop) once gave it back at
    the reply's arrival, after the horizon for the last requests, and the
    query waiting for it was granted it there: its wait ran past the end.
    """
    data = stores()
    nodes = data["topology_graph"]["nodes"]
    server = nodes["servers"][0]
    data["sim_settings"] = {"total_simulation_time": 7.779296875, "sample_period_s": 0.5}
    data["rqs_input"]["avg_active_users"] = {"mean": 55}
    nodes["databases"][0]["queries"][0]["latency"] = {"mean": 0.2, "distribution": "exponential"}
    server["database_pools"] = [
        {"database": "db-1", "size": 1, "acquire_timeout_s": 0.2, "hold": "request"}
    ]
    cache = nodes["caches"][0]
    for key in ("capacity_items", "eviction", "ttl_s", "keys", "coalesce"):
        cache.pop(key, None)
    cache["hit_ratio"] = 0.1875
    data["events"] = [
        {
            "event_id": "db-down",
            "target_id": "db-1",
            "start": {"kind": "server_down", "t_start": 0.0},
            "end": {"kind": "server_up", "t_end": 3.84375},
        }
    ]
    results = Simulation(parse_scenario(data), 294, record_calls=True).run()
    r = results.requests
    ended = np.where(np.isnan(r.finished_s), results.end_s, r.finished_s)
    np.testing.assert_allclose(
        sum(r.phases().values()), ended - r.generated_s, rtol=1e-5, atol=1e-5
    )
    assert np.count_nonzero(np.isnan(r.finished_s)) > 0  # requests were cut by the horizon
