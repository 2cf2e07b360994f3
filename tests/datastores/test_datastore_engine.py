"""Databases, pools and caches at run time: accounting, refusals, timeouts, flushes, coalescing."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import asyncflow
from asyncflow.analysis.datastores import hit_ratio_series
from asyncflow.metrics.requests import COMPLETED, IN_FLIGHT
from asyncflow.scenario import parse_scenario
from tests.datastores.conftest import stores


def _run(data: dict[str, Any], seed: int = 1) -> asyncflow.Results:
    return asyncflow.run(parse_scenario(data), seed=seed)


def _server(d: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = d["topology_graph"]["nodes"]["servers"][0]
    return found


def _cache(d: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = d["topology_graph"]["nodes"]["caches"][0]
    return found


def _db(d: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = d["topology_graph"]["nodes"]["databases"][0]
    return found


def _assert_accounted(results: asyncflow.Results) -> None:
    """Every request has one outcome and its phases add up to the time it lived."""
    r = results.requests
    ended = r.outcome != IN_FLIGHT
    age = np.where(ended, r.finished_s, results.end_s) - r.generated_s
    assert np.all(np.isin(r.outcome, list(range(len(r.reason_names)))))
    np.testing.assert_allclose(r.slots.sum(axis=1, dtype=np.float64), age, atol=1e-5)


def test_phases_add_up_and_datastore_time_has_phases_of_its_own() -> None:
    results = _run(stores())
    _assert_accounted(results)
    phases = results.requests.phases()
    done = results.requests.outcome == COMPLETED
    assert phases["db"][done].sum() > 0
    assert phases["cache"][done].min() == pytest.approx(0.0005, rel=1e-3)  # every request looks up
    summary = results.summary()
    breakdown = summary["latency_breakdown_s"]
    assert 0.0005 <= breakdown["cache"] < 0.0006  # the lookup, and rare waits for the worker
    assert summary["caches"]["cache-1"]["misses"] == summary["pools"]["srv-1-db-1"]["acquired"]


def test_a_small_pool_with_a_short_timeout_fails_requests_with_pool_timeout() -> None:
    data = stores()
    _server(data)["database_pools"][0].update(size=1, acquire_timeout_s=0.002)
    _db(data)["queries"][0]["latency"] = {"mean": 0.02, "distribution": "exponential"}
    results = _run(data)
    _assert_accounted(results)
    summary = results.summary()
    pool = summary["pools"]["srv-1-db-1"]
    assert pool["timeouts"] > 0
    assert pool["in_use_max"] == 1.0
    failed = results.failed_by_reason()
    assert failed["pool_timeout"] >= pool["timeouts"]
    assert summary["latency_breakdown_s"]["pool_wait"] > 0


def test_replicas_whose_pools_exceed_max_connections_see_refusals() -> None:
    data = stores()
    nodes = data["topology_graph"]["nodes"]
    second = {**_server(data), "id": "srv-2"}
    nodes["servers"].append(second)
    nodes["load_balancer"] = {"id": "lb-1", "server_covered": ["srv-1", "srv-2"]}
    edges = data["topology_graph"]["edges"]
    edges[1] = {"id": "client-lb", "source": "client-1", "target": "lb-1", "latency": 0.001}
    edges += [
        {"id": "lb-srv-1", "source": "lb-1", "target": "srv-1", "latency": 0.001},
        {"id": "lb-srv-2", "source": "lb-1", "target": "srv-2", "latency": 0.001},
        {"id": "srv-2-client", "source": "srv-2", "target": "client-1", "latency": 0.002},
        {"id": "srv-2-db", "source": "srv-2", "target": "db-1", "latency": 0.0005},
        {"id": "db-srv-2", "source": "db-1", "target": "srv-2", "latency": 0.0005},
        {"id": "srv-2-cache", "source": "srv-2", "target": "cache-1", "latency": 0.0003},
        {"id": "cache-srv-2", "source": "cache-1", "target": "srv-2", "latency": 0.0003},
    ]
    _db(data)["max_connections"] = 6  # two pools of 4: the last two connections are refused
    _db(data)["queries"][0]["latency"] = {"mean": 0.05, "distribution": "exponential"}
    results = _run(data)
    _assert_accounted(results)
    summary = results.summary()
    assert summary["databases"]["db-1"]["connections_max"] == 6.0
    opened = sum(p["opened"] for p in summary["pools"].values())
    assert opened == 6
    assert results.failed_by_reason()["connection_refused"] > 0


def test_unpooled_queries_open_a_connection_each_and_are_refused_beyond_the_limit() -> None:
    data = stores()
    _server(data).pop("database_pools")
    _db(data)["max_connections"] = 2
    _db(data)["queries"][0]["latency"] = {"mean": 0.05, "distribution": "exponential"}
    results = _run(data)
    _assert_accounted(results)
    db = results.summary()["databases"]["db-1"]
    assert db["connections_max"] == 2.0
    assert db["refused"] > 0
    assert results.failed_by_reason()["connection_refused"] >= db["refused"]


def test_the_cold_start_climbs_and_a_flush_empties_the_cache() -> None:
    data = stores()
    data["sim_settings"]["total_simulation_time"] = 240
    data["events"][0]["start"]["t_start"] = 120
    _cache(data)["keys"]["count"] = 2000
    results = _run(data)
    t, ratio = hit_ratio_series(results, "cache-1")
    first, before, after = ratio[0], ratio[110:119].mean(), ratio[120]
    assert first < 0.5 * before  # cold: the cache fills over the first seconds
    assert after < 0.5 * before  # the flush sends every lookup to the database again
    assert t[120] == pytest.approx(120.0)
    stats = results.summary()["caches"]["cache-1"]
    assert stats["flushes"] == 1
    assert 0 < stats["size"] <= 1000


def test_a_fixed_hit_ratio_hits_at_that_rate() -> None:
    data = stores()
    data["topology_graph"]["nodes"]["caches"][0] = {
        "id": "cache-1",
        "hit_ratio": 0.8,
        "hit_latency": 0.0005,
    }
    data.pop("events")
    stats = _run(data).summary()["caches"]["cache-1"]
    # ~2,400 lookups: the binomial standard error is 0.008, the bound is 5 of them
    assert stats["hit_ratio"] == pytest.approx(0.8, abs=0.04)
    assert stats["size"] == 0


def _one_hot_key(coalesce: bool) -> dict[str, Any]:
    """Every request asks for the same key; the cache is flushed every 10 s."""
    data = stores()
    cache = _cache(data)
    cache.update(capacity_items=1, coalesce=coalesce)
    cache["keys"] = {"count": 1}
    _db(data)["queries"][0]["latency"] = 0.2  # a slow fallback: misses pile up behind it
    data["events"] = [
        {
            "event_id": f"f{t}",
            "target_id": "cache-1",
            "start": {"kind": "cache_flush", "t_start": t},
        }
        for t in range(10, 120, 10)
    ]
    data["sim_settings"]["warm_up_s"] = 0
    return data


def test_single_flight_runs_one_fallback_per_key_per_miss_window() -> None:
    flushes = 11
    coalesced = _run(_one_hot_key(coalesce=True)).summary()
    stampede = _run(_one_hot_key(coalesce=False)).summary()
    # One fallback for the cold start and one after each flush, however many missed.
    assert coalesced["pools"]["srv-1-db-1"]["acquired"] == 1 + flushes
    cache = coalesced["caches"]["cache-1"]
    assert cache["misses"] - cache["coalesced"] == 1 + flushes
    assert cache["coalesced"] > 20  # about 20 requests a second miss during each 0.2 s
    # Without it, every request missing during the 0.2 s fallback queries the database.
    assert stampede["pools"]["srv-1-db-1"]["acquired"] > 3 * (1 + flushes)
    assert coalesced["requests"]["failed"] == 0


def test_a_database_outage_fails_queries_with_server_down() -> None:
    data = stores()
    data["events"].append(
        {
            "event_id": "db-out",
            "target_id": "db-1",
            "start": {"kind": "server_down", "t_start": 30},
            "end": {"kind": "server_up", "t_end": 40},
        }
    )
    results = _run(data)
    _assert_accounted(results)
    assert results.failed_by_reason()["server_down"] > 0
    verdict = results.summary()["bottleneck"]["whole_run"]
    assert verdict["event_ids"] == [] or "db-out" in verdict["event_ids"]


def test_the_same_seed_gives_the_same_run_bit_for_bit() -> None:
    a, b = _run(stores(), seed=7), _run(stores(), seed=7)
    np.testing.assert_array_equal(a.requests.finished_s, b.requests.finished_s)
    assert a.summary()["caches"] == b.summary()["caches"]


def test_a_local_cache_decides_in_process() -> None:
    data = stores()
    _server(data)["local_caches"] = [
        {"id": "near", "capacity_items": 500, "keys": {"count": 5000}, "hit_latency": 0.0001}
    ]
    _server(data)["endpoints"][0]["steps"][2]["step_operation"]["cache_get"]["cache"] = "near"
    data["topology_graph"]["nodes"].pop("caches")
    data["topology_graph"]["edges"] = data["topology_graph"]["edges"][:5]
    data["events"][0]["target_id"] = "near"
    results = _run(data)
    _assert_accounted(results)
    stats = results.summary()["caches"]["near"]
    assert stats["where"] == "srv-1"
    assert 0.0 < stats["hit_ratio"] < 1.0
    assert results.requests.phases()["cache"].max() == 0.0  # no remote lookup


def _sharing(worker_model: str, latency: Any) -> dict[str, Any]:
    """One query per request on a single-worker database at 80 % load, no cache."""
    data = stores()
    server = _server(data)
    server["endpoints"][0]["steps"] = [
        {
            "kind": "db_query",
            "step_operation": {"db_query": {"database": "db-1", "query": "get_user"}},
        }
    ]
    server.pop("database_pools")
    data["topology_graph"]["nodes"].pop("caches")
    data["topology_graph"]["edges"] = data["topology_graph"]["edges"][:5]
    data.pop("events")
    db = _db(data)
    db.update(workers=1, worker_model=worker_model)
    db["queries"][0]["latency"] = latency
    data["rqs_input"]["avg_active_users"] = {"mean": 8, "distribution": "deterministic"}
    data["sim_settings"].update(total_simulation_time=4000, warm_up_s=100)
    return data


def test_processor_sharing_stretches_every_query_instead_of_queueing() -> None:
    # M/D/1 at rho = 0.8: FIFO waits S rho / (2 (1 - rho)) = 2 S on average, so the mean time
    # is 3 S; under processor sharing the mean is S / (1 - rho) = 5 S (insensitive to the law).
    service = 0.1
    fifo = _run(_sharing("fifo", service)).summary()["databases"]["db-1"]
    shared = _run(_sharing("processor_sharing", service)).summary()["databases"]["db-1"]
    fifo_mean = fifo["queries"]["get_user"]["mean_s"]
    shared_mean = shared["queries"]["get_user"]["mean_s"]
    # one run of ~30,000 queries: these means are within 10 % of theory (SE about 3 %)
    assert fifo_mean == pytest.approx(3 * service, rel=0.1)
    assert shared_mean == pytest.approx(5 * service, rel=0.15)
    assert shared["queue_mean"] > 0  # queries beyond the worker, sharing it
    assert shared["utilization"] == pytest.approx(fifo["utilization"], rel=0.05)
    assert shared["queries"]["get_user"]["p50_s"] > 2 * service  # nobody runs at full speed


def test_processor_sharing_survives_an_outage_and_accounts_every_request() -> None:
    data = _sharing("processor_sharing", {"mean": 0.1, "distribution": "exponential"})
    data["sim_settings"].update(total_simulation_time=300, warm_up_s=0)
    data["events"] = [
        {
            "event_id": "down",
            "target_id": "db-1",
            "start": {"kind": "server_down", "t_start": 100},
            "end": {"kind": "server_up", "t_end": 110},
        }
    ]
    results = _run(data)
    _assert_accounted(results)
    assert results.failed_by_reason()["server_down"] > 0
    assert results.summary()["requests"]["completed"] > 1500


def test_a_query_latency_given_by_its_quantiles_is_served_as_given() -> None:
    data = stores()
    quantiles = {"p50": 0.003, "p90": 0.008, "p99": 0.03}
    _db(data)["queries"][0]["latency"] = {"distribution": "quantiles", "quantiles": quantiles}
    data["topology_graph"]["nodes"]["caches"][0] = {
        "id": "cache-1",
        "hit_ratio": 0.0,  # every request queries the database
        "hit_latency": 0.0005,
    }
    data.pop("events")
    data["sim_settings"]["total_simulation_time"] = 600
    query = _run(data).summary()["databases"]["db-1"]["queries"]["get_user"]
    # 4 workers at 2 % load: the time inside is the query alone. ~12,000 queries: the
    # sample p50 is within 3 % of the true median (binomial SE of the rank about 0.5 %).
    assert query["p50_s"] == pytest.approx(0.003, rel=0.03)
    assert query["p99_s"] == pytest.approx(0.03, rel=0.1)


def test_the_trace_draws_pool_waits_database_and_cache_time_on_their_nodes() -> None:
    from asyncflow.report.trace import trace_events
    from asyncflow.simulation import Simulation

    data = stores()
    _server(data)["database_pools"][0].update(size=1, acquire_timeout_s=None)
    _db(data)["queries"][0]["latency"] = {"mean": 0.02, "distribution": "exponential"}
    results = Simulation(parse_scenario(data), 1, record_calls=True).run()
    trace = trace_events(results, sample_rate=0.2)
    pids = {
        e["args"]["name"]: e["pid"] for e in trace["traceEvents"] if e["name"] == "process_name"
    }
    phases = {(e["pid"], e["name"]) for e in trace["traceEvents"] if e.get("cat") == "phase"}
    assert (pids["db-1"], "db") in phases
    assert (pids["cache-1"], "cache") in phases
    assert (pids["srv-1-db-1"], "pool_wait") in phases
