"""Searches and sweeps against queueing theory (long runs: marked slow).

1. M/M/1 (μ = 100/s): ``--find-max`` on the arrival rate for p95 < T = 0.2 s
   returns μ − ln(20)/T = 85.02 req/s within 5 %.
2. M/M/c: the fewest cores for a mean wait in queue under W matches Erlang C
   (4 cores at 250 req/s of 10 ms, W = 5 ms).
3. A sweep's utilisation of the busiest resource is linear in the offered
   load below the knee of the latency curve (the utilisation law), and stops
   being linear above it.

Every tolerance is derived from the run-to-run spread measured on these
very scenarios; each test's docstring gives the numbers. The false-alarm
probability of each test is below 1e-4.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from capacity_scenarios import HOP_S, queue
from scipy import stats

from asyncflow.analysis import queueing
from asyncflow.analysis.theory import theory_of
from asyncflow.experiment import Objective
from asyncflow.experiment.options import ReplicationOptions
from asyncflow.experiment.search import SearchSpace, run_search
from asyncflow.experiment.sweep import sweep
from asyncflow.scenario.builder import cpu, exponential, io, ram
from asyncflow.scenario.overrides import Override, with_overrides

pytestmark = pytest.mark.slow

USERS = "rqs_input.avg_active_users.mean"
CORES = "topology_graph.nodes.servers.srv-1.server_resources.cpu_cores"
FALSE_ALARM = 1e-4


def test_find_max_of_mm1_matches_mu_minus_ln20_over_t() -> None:
    """The most load at p95 < 0.2 s, searched over 10 runs of 800 s per value.

    Theory: p95 of M/M/1's time in system is ln(20)/(μ − λ), so the limit is
    λ* = μ − ln(20)/T = 85.02 req/s. A value passes when all 10 runs have a
    p95 under T (--slo-confidence 0.95), so the search stops a little below
    λ*, where p95 sits about 1.5 run-to-run standard deviations under T.
    Measured on 40 runs of 800 s: a run's p95 has sd 0.0098 s (5.6 %) at 83
    req/s and 0.0084 s at 80.8 req/s. So the expected answer is ≈ 83.5
    (−1.8 %); the 5 % bound (80.8 req/s, mean p95 0.157 s) is 5.1 sd below
    T: each run fails there with probability Φ(−5.1) ≈ 2e-7, and the search
    goes below the bound only if one of 10 does (< 1e-5). Above λ* + 5 %
    (89.3 req/s, p95 0.28 s) no run passes. The resolution (1 req/s, 1.2 %)
    is inside the bound. Observed: 83 req/s (−2.4 %).
    """
    mu, target = 100.0, 0.2
    theory = mu - math.log(20) / target
    scenario = queue(60.0, cpu(exponential(1 / mu)), horizon_s=880.0, warm_up_s=80.0)
    result = run_search(
        "mm1",
        scenario,
        SearchSpace(USERS, "max", low=70.0, high=100.0, step=1.0),
        ReplicationOptions(runs=10, jobs=2),
        [Objective.parse(f"latency_s.p95<{target}")],
        seed=2024,
    )
    found = result.found
    assert found is not None
    assert found.value is not None
    print(f"found {found.value:g} req/s, theory {theory:.2f} ({found.value / theory - 1:+.2%})")
    assert abs(found.value - theory) <= 0.05 * theory
    assert found.confidence is not None
    assert found.confidence >= 0.95
    assert found.next_value == found.value + 1.0
    # Theory's own p95 at the value found, beside the ensemble's mean there.
    point = next(p for p in result.points if p.values[USERS] == found.value)
    predicted = theory_of(point.ensemble.scenario).predictions
    p95 = next(p for p in predicted if p.figure == "latency_s.p95")
    assert p95.value == pytest.approx(math.log(20) / (mu - found.value) + 3 * HOP_S)


def test_fewest_cores_for_a_mean_wait_match_erlang_c() -> None:
    """250 req/s of exponential 10 ms CPU; the fewest cores with mean wait < 5 ms.

    Erlang C: W_q = 14.0 ms with 3 cores (ρ = 0.83), 2.13 ms with 4, 0.52 ms
    with 5; 1 and 2 cores are overloaded. So the answer is 4. Measured on 20
    runs of 200 s, a run's mean wait has sd 1.08 ms (7.6 %) at 3 cores and
    0.076 ms (3.6 %) at 4: 5 ms lies 8.5 sd below the first and 38 sd above
    the second, so every run falls on its side (false alarm < 1e-15). The
    simulated mean wait at 4 cores must also agree with Erlang C within the
    t quantile (R − 1 df, two-sided 1e-4) of its standard error, which must
    be under 5 % of the value.
    """
    rate, service, limit = 250.0, 0.01, 0.005
    scenario = queue(rate, cpu(exponential(service)), horizon_s=220.0, warm_up_s=20.0)
    expected = min(c for c in range(3, 9) if queueing.mmc_wait(c, rate, service) < limit)
    assert expected == 4
    by_theory = min(
        c
        for c in range(3, 9)
        if _predicted_wait(with_overrides(scenario, [Override(CORES, c)])) < limit
    )
    assert by_theory == 4
    runs = 10
    result = run_search(
        "mmc",
        scenario,
        SearchSpace(CORES, "min", low=1, high=8, integer=True),
        ReplicationOptions(runs=runs, jobs=2),
        [Objective.parse(f"servers.srv-1.cpu_wait_s_mean<{limit}")],
        seed=7,
    )
    assert result.found is not None
    assert result.found.value == expected
    assert result.found.next_value == expected - 1
    point = next(p for p in result.points if p.values[CORES] == expected)
    waits = point.ensemble.values("servers.srv-1.cpu_wait_s_mean")
    theory = queueing.mmc_wait(4, rate, service)
    se = float(waits.std(ddof=1) / math.sqrt(waits.size))
    quantile = float(stats.t.ppf(1 - FALSE_ALARM / 2, runs - 1))
    print(
        f"mean wait {waits.mean() * 1e3:.3f} ms ± {se * 1e3:.3f} (SE), Erlang C {theory * 1e3:.3f}"
    )
    assert se <= 0.05 * theory
    assert abs(waits.mean() - theory) <= quantile * se


def _predicted_wait(scenario: object) -> float:
    theory = theory_of(scenario)  # type: ignore[arg-type]
    entry = next(
        (p for p in theory.predictions if p.figure == "servers.srv-1.cpu_wait_s_mean"), None
    )
    return math.inf if entry is None else entry.value


def test_busiest_utilisation_is_linear_in_load_below_the_knee() -> None:
    """Two cores of exponential 10 ms CPU (capacity 200 req/s), I/O and RAM beside.

    The utilisation law says the cores are busy λ·E[S]/c = λ/200 of the
    time, whatever the waits, as long as the load is below capacity. Each
    point below the knee of the p95 curve must lie on that line within the
    t quantile (R − 1 df) of its standard error, Bonferroni-corrected over
    the points (family false alarm 1e-4); the weighted least-squares slope
    must match E[S]/c within 4 of its standard errors. Above capacity (105 %
    and 120 %) the cores saturate: utilisation stays below the line, the
    check that linearity is not trivially true.
    """
    loads = [20, 50, 80, 110, 140, 170, 190, 210, 240]
    scenario = queue(
        100.0,
        cpu(exponential(0.01)),
        ram(64),
        io(exponential(0.02)),
        cores=2,
        ram_mb=4096,
        horizon_s=220.0,
        warm_up_s=20.0,
    )
    runs = 5
    result = sweep(scenario, {USERS: loads}, runs=runs, jobs=2, seed=11)
    knees = result.knees()
    assert len(knees) == 1
    knee = knees[0].value
    assert 140 <= knee <= 210
    below = [p for p in result.points if p.values[USERS] < knee]
    assert len(below) >= 4
    quantile = float(stats.t.ppf(1 - FALSE_ALARM / (2 * len(below)), runs - 1))
    x, y, se = [], [], []
    for point in below:
        values = point.figure("bottleneck.busiest.utilization")
        assert point.ensemble.values("bottleneck.busiest.utilization").size == runs
        load = float(point.values[USERS])
        line = load * 0.01 / 2
        mean, error = float(values.mean()), float(values.std(ddof=1) / math.sqrt(runs))
        assert abs(mean - line) <= quantile * error + 1e-9, (load, mean, line, error)
        x.append(load)
        y.append(mean)
        se.append(max(error, 1e-6))
    weights = 1 / np.asarray(se) ** 2
    design = np.vstack([np.ones(len(x)), x]).T
    covariance = np.linalg.inv(design.T @ (design * weights[:, None]))
    intercept, slope = covariance @ design.T @ (weights * np.asarray(y))
    slope_se = math.sqrt(covariance[1, 1])
    print(f"slope {slope:.6f} ± {slope_se:.6f} (SE), theory {0.01 / 2}; knee at {knee}")
    assert abs(slope - 0.005) <= 4 * slope_se
    assert abs(intercept) <= 4 * math.sqrt(covariance[0, 0])
    for point in result.points:
        load = float(point.values[USERS])
        if load > 200:
            used = float(point.figure("bottleneck.busiest.utilization").mean())
            assert used < load * 0.005 - 0.03, (load, used)


@pytest.mark.parametrize(("backlog", "model"), [(0, "Erlang B"), (5, "M/M/10/15")])
def test_socket_limits_refuse_what_erlang_b_and_mmck_say(backlog: int, model: str) -> None:
    """20 req/s holding a socket for an exponential 0.5 s, 10 sockets (10 erlangs).

    Erlang B: 21.5 % of connections are refused without a backlog (exact for
    Poisson arrivals whatever the holding time); M/M/10/15: 10.4 % with a
    backlog of 5. The share refused over 8 runs of 2,000 s must match within
    the t quantile (7 df, two-sided 1e-4) of its standard error, itself
    under 2 % of the share.
    """
    changes = [Override(f"{CORES.rsplit('.', 1)[0]}.max_connections", 10)]
    if backlog:
        changes.append(Override(f"{CORES.rsplit('.', 1)[0]}.listen_backlog", backlog))
    scenario = with_overrides(
        queue(20.0, io(exponential(0.5)), horizon_s=2000.0, warm_up_s=100.0), changes
    )
    theory = next(q for q in theory_of(scenario).queues if q.resource == "connections")
    assert theory.model.startswith(model)
    expected = queueing.finite_queue(10, backlog, 10.0)[0]
    assert theory.blocked == pytest.approx(expected)
    runs = 8
    result = sweep(scenario, {USERS: [20.0]}, runs=runs, jobs=2, seed=5)
    point = result.points[0]
    refused = point.ensemble.values("servers.srv-1.refused")
    generated = point.ensemble.values("requests.generated")
    share = refused / generated
    se = float(share.std(ddof=1) / math.sqrt(runs))
    quantile = float(stats.t.ppf(1 - FALSE_ALARM / 2, runs - 1))
    print(f"{model}: refused {share.mean():.4f} ± {se:.4f} (SE), theory {expected:.4f}")
    assert se <= 0.02 * expected
    assert abs(share.mean() - expected) <= quantile * se
