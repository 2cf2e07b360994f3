"""Databases and pools against Erlang C (see replication.py for the statistics).

* A database with c workers and exponential queries, queried by a server
  that does nothing else, is an M/M/c queue end to end: the request's time
  less its network hops is the time in the database (Erlang C's mean time
  in system), and its ``db`` phase is that same time.
* A pool of c connections in front of a database with many more workers
  than queries in progress: a query holds its connection for its whole
  exponential time (and two hops of 1 µs), so the pool is an M/M/c queue of
  its own: the mean ``pool_wait`` is Erlang C's mean wait, and the fraction
  of connections taken after a wait is the Erlang C probability of waiting.
"""

from __future__ import annotations

import pytest

import asyncflow
from asyncflow.scenario import Scenario, ScenarioBuilder
from asyncflow.scenario.builder import database_pool, db_query, endpoint, exponential

from .queues import HOP_S, erlang_b, mmc_time, sojourns, warm_up
from .replication import replicate

pytestmark = pytest.mark.slow

DRAIN_S = 60.0


def _erlang_c(c: int, lam: float, mu: float) -> float:
    a = lam / mu
    b = erlang_b(c, a)
    return b / (1 - a / c * (1 - b))


def _api_and_database(
    rate: float, workers: int, pool: int | None, horizon_s: float, warm_up_s: float
) -> Scenario:
    pools = [database_pool("db", size=pool)] if pool is not None else []
    return (
        ScenarioBuilder("api and database")
        .workload(
            users=rate, requests_per_minute=60, distribution="deterministic", sampling_window_s=60.0
        )
        .client()
        .server("api", endpoints=[endpoint("/q", db_query("db", "q"))], database_pools=pools)
        .database("db", workers=workers, queries={"q": exponential(1.0)})
        .wire(latency=HOP_S)
        .settings(horizon_s=horizon_s, warm_up_s=warm_up_s)
        .build()
    )


def test_a_database_with_c_workers_is_mmc_end_to_end() -> None:
    c, rate = 2, 1.4  # rho = 0.7
    scenario = _api_and_database(rate, c, None, 12_000, warm_up(rate / c, servers=c))
    estimate = replicate(scenario, lambda r: float(sojourns(r, DRAIN_S).mean()))
    estimate.check(mmc_time(c, rate, 1.0), detects=0.05)


def _db_phase(results: asyncflow.Results) -> float:
    r = results.requests
    measured = (r.outcome == 1) & (r.generated_s >= results.warm_up_s)
    return float(r.phases()["db"][measured].mean())


def test_the_db_phase_is_the_time_in_the_database() -> None:
    c, rate = 3, 2.4  # rho = 0.8
    scenario = _api_and_database(rate, c, None, 12_000, warm_up(rate / c, servers=c))
    estimate = replicate(scenario, _db_phase)
    estimate.check(mmc_time(c, rate, 1.0), detects=0.05)


def _pool_wait(results: asyncflow.Results) -> float:
    r = results.requests
    measured = (r.outcome == 1) & (r.generated_s >= results.warm_up_s)
    return float(r.phases()["pool_wait"][measured].mean())


def _waited(results: asyncflow.Results) -> float:
    pool = results.summary()["pools"]["api-db"]
    return float(pool["waited"] / pool["acquired"])


def test_a_pool_of_c_connections_is_mmc_on_the_pool() -> None:
    c, rate = 3, 2.1  # rho = 0.7 on the pool; 64 workers: the database never queues
    scenario = _api_and_database(rate, 64, c, 16_000, warm_up(rate / c, servers=c))
    runs = [asyncflow.run(scenario, seed=seed) for seed in range(1, 33)]
    wait = replicate(runs, _pool_wait)
    wait.check(mmc_time(c, rate, 1.0) - 1.0, detects=0.08)
    probability = replicate(runs, _waited)
    probability.check(_erlang_c(c, rate, 1.0), detects=0.04)
