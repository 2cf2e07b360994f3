"""Which model each scenario gets, what it predicts, and what it says about itself."""

from __future__ import annotations

import math

import pytest
from capacity_scenarios import HOP_S, queue, web

from asyncflow.analysis import queueing
from asyncflow.analysis.theory import Prediction, Theory, theory_of
from asyncflow.analysis.theory_compare import agrees, theory_block, value_in
from asyncflow.scenario import Scenario
from asyncflow.scenario.builder import cpu, deterministic, exponential, gamma, io, ram
from asyncflow.scenario.overrides import Override, with_overrides

HOPS = 3 * HOP_S


def predicted(theory: Theory) -> dict[str, Prediction]:
    return {p.figure: p for p in theory.predictions}


def model_of(theory: Theory, node: str, resource: str = "cpu") -> str:
    return next(q.model for q in theory.queues if (q.node, q.resource) == (node, resource))


def changed(scenario: Scenario, *texts: str) -> Scenario:
    return with_overrides(scenario, [Override.parse(t) for t in texts])


def test_mm1_predicts_waits_latency_and_its_percentiles() -> None:
    theory = theory_of(queue(80.0, cpu(exponential(0.01))))
    p = predicted(theory)
    assert model_of(theory, "srv-1") == "M/M/1"
    assert p["servers.srv-1.cpu_utilization"].value == pytest.approx(0.8)
    assert p["servers.srv-1.cpu_wait_s_mean"].value == pytest.approx(0.04)
    assert p["latency_s.mean"].value == pytest.approx(0.05 + HOPS)
    assert p["latency_s.p95"].value == pytest.approx(math.log(20) / 20.0 + HOPS)
    assert p["latency_s.p50"].value == pytest.approx(math.log(2) / 20.0 + HOPS)
    assert p["throughput_rps.mean"].value == pytest.approx(80.0)
    assert all(x.exact for x in theory.predictions)
    assert theory.notes == ()


def test_mmc_gets_erlang_c_and_its_percentiles() -> None:
    theory = theory_of(queue(3.2, cpu(exponential(1.0)), cores=4))
    p = predicted(theory)
    assert model_of(theory, "srv-1") == "M/M/4"
    assert p["servers.srv-1.cpu_wait_s_mean"].value == pytest.approx(0.745541, abs=1e-6)
    expected = queueing.mmc_sojourn_quantile(4, 3.2, 1.0, 0.99) + HOPS
    assert p["latency_s.p99"].value == pytest.approx(expected)


@pytest.mark.parametrize(
    ("cores", "name", "exact"),
    [(1, "M/G/1 (Pollaczek–Khinchine)", True), (3, "M/G/3 (Allen–Cunneen)", False)],
)
def test_general_cpu_times(cores: int, name: str, exact: bool) -> None:
    theory = theory_of(queue(0.7 * cores, cpu(gamma(1.0, 0.5)), cores=cores))
    p = predicted(theory)
    assert model_of(theory, "srv-1") == name
    wait = p["servers.srv-1.cpu_wait_s_mean"]
    assert wait.exact is exact
    assert wait.value == pytest.approx(queueing.allen_cunneen_wait(cores, 0.7 * cores, 1, 1, 0.5))
    assert "latency_s.p95" not in p  # no closed form for the distribution


def test_round_robin_feeds_each_server_every_nth_arrival() -> None:
    theory = theory_of(queue(1.6, cpu(exponential(1.0)), servers=2, algorithm="round_robin"))
    cpu_queue = next(q for q in theory.queues if q.node == "srv-1")
    assert cpu_queue.model == "G/G/1 (Allen–Cunneen)"
    assert cpu_queue.arrival_scv == pytest.approx(0.5)
    assert cpu_queue.arrival_rate_rps == pytest.approx(0.8)
    assert cpu_queue.wait_s_mean == pytest.approx(0.75 * 4.0)
    assert "latency_s.p95" not in predicted(theory)


def test_random_split_keeps_poisson_and_weights_split_the_load() -> None:
    theory = theory_of(queue(1.6, cpu(exponential(1.0)), servers=2, algorithm="random"))
    assert model_of(theory, "srv-2") == "M/M/1"
    assert predicted(theory)["latency_s.p95"].value == pytest.approx(math.log(20) / 0.2 + HOPS)
    weighted = changed(
        queue(1.2, cpu(exponential(1.0)), servers=2),
        "topology_graph.nodes.load_balancer.algorithms=weighted_round_robin",
        "topology_graph.nodes.load_balancer.weights={srv-1: 3, srv-2: 1}",
    )
    p = predicted(theory_of(weighted))
    assert p["servers.srv-1.cpu_utilization"].value == pytest.approx(0.9)
    assert p["servers.srv-2.cpu_utilization"].value == pytest.approx(0.3)


def test_cpu_operations_split_by_io_queue_separately() -> None:
    scenario = queue(0.2, cpu(exponential(1.0)), io(deterministic(2.0)), cpu(exponential(1.0)))
    theory = theory_of(scenario)
    cpu_queue = next(q for q in theory.queues if q.resource == "cpu")
    assert cpu_queue.arrival_rate_rps == pytest.approx(0.4)
    assert (cpu_queue.model, cpu_queue.exact) == ("M/G/1 (Pollaczek–Khinchine)", False)
    p = predicted(theory)
    assert p["servers.srv-1.cpu_wait_s_mean"].value == pytest.approx(2 * 0.4 / 0.6)
    assert p["servers.srv-1.cpu_wait_s_mean"].exact is False
    assert p["servers.srv-1.service_s_mean"].value == pytest.approx(2 * 0.4 / 0.6 + 4.0)


def test_ram_slots_form_a_queue_and_the_note_says_where_cores_stop_holding() -> None:
    pure_io = queue(3.2, ram(100), io(exponential(1.0)), ram_mb=400)
    theory = theory_of(pure_io)
    assert model_of(theory, "srv-1", "ram") == "M/M/4 on RAM slots"
    p = predicted(theory)
    assert p["servers.srv-1.ram_wait_s_mean"].value == pytest.approx(0.745541, abs=1e-6)
    assert p["servers.srv-1.ram_wait_s_mean"].exact
    busy = queue(70.0, cpu(exponential(0.01)), ram(100), io(exponential(0.1)), ram_mb=1000)
    notes = theory_of(busy).notes
    assert any("RAM admits at most 10 requests at once" in n for n in notes)
    assert any("M/G/c/K-like" in n and "below about" in n and "CPU load" in n for n in notes)


def test_overload_has_no_waits_and_says_why() -> None:
    theory = theory_of(queue(120.0, cpu(exponential(0.01))))
    p = predicted(theory)
    assert p["servers.srv-1.cpu_utilization"].value == 1.0
    assert "servers.srv-1.cpu_wait_s_mean" not in p
    assert "latency_s.mean" not in p
    assert any("120%" in n and "no steady state" in n for n in theory.notes)


def test_socket_limits_are_erlang_b_without_backlog_and_mmck_with_one() -> None:
    base = queue(20.0, io(exponential(0.5)), horizon_s=200.0)
    lossy = theory_of(
        changed(base, "topology_graph.nodes.servers.srv-1.server_resources.max_connections=10")
    )
    conn = next(q for q in lossy.queues if q.resource == "connections")
    assert conn.model == "Erlang B (M/G/10/10)"
    assert conn.blocked == pytest.approx(queueing.erlang_b(10, 10.0))
    refused = predicted(lossy)["servers.srv-1.refused"]
    assert refused.value == pytest.approx(20.0 * conn.blocked * 200.0)
    completed = predicted(lossy)["throughput_rps.mean"].value
    assert completed == pytest.approx(20.0 * (1 - conn.blocked))
    waiting = theory_of(
        changed(
            base,
            "topology_graph.nodes.servers.srv-1.server_resources.max_connections=10",
            "topology_graph.nodes.servers.srv-1.server_resources.listen_backlog=5",
        )
    )
    conn = next(q for q in waiting.queues if q.resource == "connections")
    assert conn.model == "M/M/10/15 (sockets and backlog)"
    blocked, queued = queueing.finite_queue(10, 5, 10.0)
    assert conn.blocked == pytest.approx(blocked)
    wait = predicted(waiting)["servers.srv-1.connection_wait_s_mean"].value
    assert wait == pytest.approx(queued / (20.0 * (1 - blocked)))


def test_a_balancer_socket_limit_holds_connections_for_the_rest_of_the_path() -> None:
    scenario = changed(
        queue(20.0, io(exponential(0.5)), servers=2),
        "topology_graph.nodes.load_balancer.resources={max_connections: 12}",
    )
    theory = theory_of(scenario)
    lb = next(q for q in theory.queues if q.node == "lb-1")
    assert lb.service_s_mean == pytest.approx(0.5 + 2 * HOP_S)
    assert lb.blocked == pytest.approx(queueing.erlang_b(12, 20.0 * lb.service_s_mean))
    assert "load_balancers.lb-1.refused" in predicted(theory)


def test_bandwidth_is_processor_sharing_and_drops_lower_the_throughput() -> None:
    scenario = changed(
        queue(10.0, cpu(exponential(0.01))),
        "topology_graph.nodes.servers.srv-1.endpoints./job.response_kb=500",
        "topology_graph.edges.srv-1->client-1.bandwidth_mbps=80",
        "topology_graph.edges.client-1->srv-1.dropout_rate=0.1",
    )
    p = predicted(theory_of(scenario))
    transfer = 500 * 1024 / 10e6
    rho = 9.0 * transfer
    assert p["edges.srv-1->client-1.transit_s_mean"].value == pytest.approx(
        HOP_S + transfer / (1 - rho)
    )
    assert p["throughput_rps.mean"].value == pytest.approx(9.0)


def test_the_stations_add_up_to_the_latency() -> None:
    theory = theory_of(web())
    latency = predicted(theory)["latency_s.mean"].value
    assert sum(s.residence_s or 0.0 for s in theory.stations) == pytest.approx(latency)
    names = {s.name: s for s in theory.stations}
    assert names["srv-1 io"].kind == "delay"
    assert names["srv-1 cpu"].utilization == pytest.approx(50 * 0.004)


def test_what_the_models_leave_out_is_said() -> None:
    scenario = changed(
        queue(5.0, cpu(exponential(0.01)), servers=2, algorithm="least_connection"),
        "rqs_input.avg_active_users.distribution=poisson",
        "events=[{event_id: down, target_id: srv-1, start: {kind: server_down, t_start: 20},"
        " end: {kind: server_up, t_end: 30}}]",
    )
    notes = " ".join(theory_of(scenario).notes)
    assert "the 1 outage of this scenario is left out" in notes
    assert "least_connection sends requests to the less busy servers" in notes
    assert "the number of users is drawn every 60 s (poisson" in notes


def test_the_block_sets_theory_beside_the_run() -> None:
    theory = theory_of(queue(80.0, cpu(exponential(0.01))))
    summary = {"latency_s": {"mean": 0.0505, "p95": None}, "servers": {"srv-1": {}}}
    block = theory_block(theory, lambda path: value_in(summary, path))
    mean = block["predictions"]["latency_s.mean"]
    assert mean["simulated"] == 0.0505
    assert mean["relative_error"] == pytest.approx((0.0505 - 0.05 - HOPS) / (0.05 + HOPS))
    assert mean["agrees"] is True
    assert block["predictions"]["latency_s.p95"]["agrees"] is None
    assert block["queues"]["srv-1"]["cpu"]["model"] == "M/M/1"
    assert block["differences"] == []
    far = {"latency_s": {"mean": 0.08}}
    block = theory_block(theory, lambda path: value_in(far, path))
    assert block["differences"][0].startswith(
        "latency_s.mean: simulated +60.0% off the theory (open network, mean value analysis)."
    )


def test_agreement_uses_the_interval_and_the_floors() -> None:
    wait = Prediction(("servers", "s", "cpu_wait_s_mean"), 1e-5, "M/M/1", True)
    assert agrees(wait, 3e-5, None, latency=0.01)  # 20 µs off: under 1% of the latency
    assert not agrees(wait, 3e-4, None, latency=0.01)
    mean = Prediction(("latency_s", "mean"), 1.0, "MVA", True)
    assert agrees(mean, 1.09, None, None)
    assert not agrees(mean, 1.09, (1.07, 1.11), None)
    assert agrees(mean, 1.09, (0.95, 1.11), None)
    refused = Prediction(("servers", "s", "refused"), 100.0, "Erlang B", True)
    assert agrees(refused, 125.0, None, None)  # within 3 Poisson sd + 1
    assert value_in({"a": {"b": True}}, ("a", "b")) is None
    assert value_in({"a": {"b": float("nan")}}, ("a", "b")) is None


def test_a_backlog_that_never_fills_is_erlang_c() -> None:
    scenario = changed(
        queue(20.0, io(exponential(0.5))),
        "topology_graph.nodes.servers.srv-1.server_resources.max_connections=14",
        "topology_graph.nodes.servers.srv-1.server_resources.listen_backlog=500",
    )
    theory = theory_of(scenario)
    conn = next(q for q in theory.queues if q.resource == "connections")
    assert conn.model == "M/M/14 (Erlang C; the backlog of 500 never fills)"
    assert conn.exact
    wait = predicted(theory)["servers.srv-1.connection_wait_s_mean"].value
    assert wait == pytest.approx(queueing.mmc_wait(14, 20.0, 0.5))


def test_steps_the_models_do_not_know_stop_every_prediction(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A call step changes what other servers see: say so, and predict nothing."""
    from dataclasses import replace

    from asyncflow.analysis import theory as module

    real = module.demand_of
    monkeypatch.setattr(
        module, "demand_of", lambda server: replace(real(server), unmodelled=("call",))
    )
    theory = theory_of(web())
    assert (theory.predictions, theory.queues, theory.stations) == ((), (), ())
    assert theory.notes[0] == (
        "srv-1: steps of kind call are not in the theory yet, and they change what the other "
        "servers see: no figure is predicted."
    )
    block = theory_block(theory, lambda path: None)
    assert block["predictions"] == {}


def test_bursty_arrivals_are_said_and_stop_the_percentiles() -> None:
    steady = theory_of(queue(80.0, cpu(exponential(0.01))))
    bursty = theory_of(
        changed(
            queue(80.0, cpu(exponential(0.01))),
            "rqs_input.bursts={rate_ratio: 5, mean_quiet_s: 20, mean_burst_s: 5}",
        )
    )
    assert "latency_s.p95" in predicted(steady)
    assert "latency_s.p95" not in predicted(bursty)
    assert "arrivals come in bursts" in " ".join(bursty.notes)
    assert steady.notes == ()
