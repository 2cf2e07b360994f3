"""When and why a run differs from the theory, one sentence each.

Each sentence comes with a rank: :data:`STRONG` for what changes the
figures a lot (overload, RAM admission, refusals), :data:`SCENARIO` for what
the models leave out of the scenario, :data:`WEAK` for what only adds noise
or a few percent (approximations, short runs, no warm-up). The first
sentence by rank is the one given as the reason of a difference.

:func:`scenario_notes` reads what the models leave out of the scenario
(faults, a load that changes over time, user counts drawn per window,
state-aware balancing, keep-alive pools, steps the theory does not model);
:func:`caveats_of` what holds for each node at this load (overload, RAM
admission, runs short next to the queue's relaxation time).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Final

from asyncflow.analysis import queueing
from asyncflow.analysis.theory import RAM_WAIT_LIMIT, _cpu_model, _ram_model, _ServerModel

if TYPE_CHECKING:
    from asyncflow.analysis.theory import QueueModel, _Network
    from asyncflow.scenario import Scenario

__all__ = ["SCENARIO", "STRONG", "WEAK", "Note", "caveats_of", "scenario_notes"]

STRONG: Final = 0
SCENARIO: Final = 1
WEAK: Final = 2

Note = tuple[int, str]
"""A sentence and its rank."""

RELAXATION_SPANS: Final = 100
"""A measured window shorter than this many relaxation times gets a note."""

_STATE_AWARE: Final = (
    "least_connection",
    "power_of_two_choices",
    "least_work_left",
    "shortest_expected_delay",
    "join_idle_queue",
)


def scenario_notes(scenario: Scenario) -> list[Note]:
    """What the models leave out of this scenario, one sentence each."""
    notes: list[str] = []
    if scenario.events:
        notes.append(_faults(scenario))
    for workload in scenario.workload_list:
        notes += _workload_notes(workload.id, scenario)
    for balancer in scenario.topology_graph.nodes.balancers:
        if balancer.algorithms in _STATE_AWARE:
            notes.append(
                f"{balancer.id}: {balancer.algorithms} sends requests to the less busy servers; "
                "the theory splits them at random, so it overestimates the waits."
            )
    notes += _node_notes(scenario)
    if scenario.policies:
        notes.append(
            "The theory leaves out the overload policies (rate limits, concurrency limits, "
            "timeouts): where they refuse or give up on requests, it overestimates the load "
            "and the waits."
        )
    return [(SCENARIO, note) for note in notes]


def _faults(scenario: Scenario) -> str:
    outages = sum(1 for e in scenario.events if e.is_outage)
    flushes = sum(1 for e in scenario.events if e.is_flush)
    spikes = len(scenario.events) - outages - flushes
    kinds = (
        (outages, "outage", "s"),
        (spikes, "latency spike", "s"),
        (flushes, "cache flush", "es"),
    )
    counted = [f"{n} {word}{plural if n > 1 else ''}" for n, word, plural in kinds if n]
    verb = "is" if outages + spikes + flushes == 1 else "are"
    return (
        "The theory describes the steady state without faults: the "
        f"{' and the '.join(counted)} of this scenario {verb} left out (requests fail or wait "
        "longer during them, and other servers carry more)."
    )


def _workload_notes(workload_id: str, scenario: Scenario) -> list[str]:
    workload = next(w for w in scenario.workload_list if w.id == workload_id)
    notes: list[str] = []
    if workload.users_profile:
        notes.append(
            f"{workload_id}: users_profile changes the load over time; the theory uses its mean "
            "rate over the measured window, and queues at the peaks are longer than it says."
        )
    if workload.bursty and workload.bursts is not None:
        notes.append(
            f"{workload_id}: arrivals come in bursts (a Markov-modulated Poisson process, "
            f"bursts at {workload.bursts.rate_ratio:g}x the quiet rate); the theory assumes "
            "Poisson arrivals at the mean rate, and queues are longer than it says."
        )
    users = workload.avg_active_users
    if users.distribution != "deterministic" and users.moments()[1] > 0:
        sd = math.sqrt(users.moments()[1])
        notes.append(
            f"{workload_id}: the number of users is drawn every "
            f"{workload.user_sampling_window:g} s ({users.distribution}, sd {sd:.3g}), so the "
            "rate changes from window to window; the theory uses the mean rate, and waits "
            "averaged over windows are longer, most at high load."
        )
    return notes


def _node_notes(scenario: Scenario) -> list[str]:
    notes: list[str] = []
    nodes = scenario.topology_graph.nodes
    pools = [nodes.client.connection_pool, *(b.connection_pool for b in nodes.balancers)]
    if any(pool is not None for pool in pools):
        notes.append(
            "Keep-alive pools and connection handshakes are not in the theory: socket limits "
            "are not modelled when pools keep idle connections open."
        )
    for server in nodes.servers:
        if server.tls is not None and server.tls.cpu_s is not None:
            notes.append(
                f"{server.id}: the CPU of TLS handshakes is not in the theory (it depends on "
                "how often connections are opened)."
            )
        if server.server_resources.connection_memory_kb > 0:
            notes.append(
                f"{server.id}: the memory of open connections also takes RAM; the RAM model "
                "counts the requests' reservations only."
            )
    return notes


def caveats_of(network: _Network) -> dict[str, list[Note]]:
    """Per node (``""`` for the whole run): what holds at this load, and where models stop."""
    settings = network.scenario.sim_settings
    window = float(settings.total_simulation_time) - float(settings.warm_up_s)
    found: dict[str, list[Note]] = {}
    for sid, model in network.servers.items():
        notes = [(STRONG, n) for n in (*_overload(model), *_ram_binding(model))]
        if model.cpu is not None and model.cpu.wait_s_mean is not None:
            notes += [(WEAK, n) for n in _short_run(sid, model.cpu, window)]
            if not model.cpu.exact:
                notes.append(
                    (
                        WEAK,
                        f"{sid}: {model.cpu.model} is an approximation (exact for M/M/c and "
                        "M/G/1): expect waits a few percent off, more with very variable CPU "
                        "times.",
                    )
                )
        found[sid] = notes
    for bid, lb in network.balancers.items():
        if lb.blocked > _NOTABLE:
            sentence = (
                f"{bid}: {lb.blocked:.1%} of connections are refused ({lb.model}): the servers "
                "behind it see that much less load."
            )
            found.setdefault(bid, []).append((STRONG, sentence))
    if float(settings.warm_up_s) == 0 and any(
        m.cpu is not None and m.cpu.utilization >= 0.7 for m in network.servers.values()
    ):
        sentence = (
            "No warm-up: runs start empty, so early requests wait less than in the steady state "
            "the theory describes; set sim_settings.warm_up_s (or --warm-up)."
        )
        found.setdefault("", []).append((WEAK, sentence))
    return found


_NOTABLE: Final = 0.01


def _overload(model: _ServerModel) -> list[str]:
    sid = model.server.id
    notes: list[str] = []
    cpu, ram = model.cpu, model.ram
    if cpu is not None and cpu.utilization >= 1.0:
        notes.append(
            f"{sid}: the offered CPU load is {cpu.utilization:.0%} of its {cpu.servers} "
            "core(s): the ready queue grows for the whole run and there is no steady state; "
            "simulated waits depend on the horizon and utilisation tends to 100%."
        )
    if ram is not None and ram.wait_s_mean is None:
        notes.append(
            f"{sid}: requests would need {ram.utilization:.0%} of its {ram.servers} RAM slots: "
            "the RAM wait queue grows for the whole run."
        )
    return notes


def _ram_binding(model: _ServerModel) -> list[str]:
    """The M/G/c/K sentence: RAM admission caps what the cores see; the load where that bites."""
    ram = model.ram
    if ram is None or ram.wait_s_mean is None or model.cpu is None:
        return []
    load = ram.arrival_rate_rps * ram.service_s_mean
    full = queueing.erlang_c(ram.servers, load) if load < ram.servers else 1.0
    if full < _NOTABLE and load < 0.5 * ram.servers:
        return []
    limit = _rate_at_ram_limit(model)
    cpu_mean = model.demand.cpu_mean
    cores = model.server.server_resources.cpu_cores
    where = f"{limit:.4g} req/s"
    if cpu_mean > 0:
        where = f"{limit * cpu_mean / cores:.0%} CPU load ({where})"
    return [
        f"{model.server.id}: RAM admits at most {ram.servers} requests at once, which makes the "
        f"server an M/G/c/K-like system: beyond that, requests wait for RAM and the cores never "
        f"see more. The core model holds while few arrivals find RAM full: below about {where}, "
        f"where under {RAM_WAIT_LIMIT:.0%} do; at this load {full:.1%} do."
    ]


def _rate_at_ram_limit(model: _ServerModel) -> float:
    """The arrival rate at which the share of arrivals finding RAM full reaches the limit."""

    def full(rate: float) -> float:
        trial = _ServerModel(model.server, model.demand, rate, model.arrival_scv)
        trial.cpu = _cpu_model(model.server, model.demand, rate, model.arrival_scv)
        trial.ram = _ram_model(trial)
        if trial.ram is None or trial.ram.wait_s_mean is None:
            return 1.0
        load = trial.ram.arrival_rate_rps * trial.ram.service_s_mean
        return queueing.erlang_c(trial.ram.servers, load) if load < trial.ram.servers else 1.0

    low, high = 0.0, max(model.admitted, 1e-9)
    while full(high) < RAM_WAIT_LIMIT and high < 1e12:
        low, high = high, 2.0 * high
    for _ in range(60):
        middle = 0.5 * (low + high)
        low, high = (middle, high) if full(middle) < RAM_WAIT_LIMIT else (low, middle)
    return low


def _short_run(sid: str, cpu: QueueModel, window: float) -> list[str]:
    rho = cpu.utilization
    if rho <= 0 or rho >= 1:
        return []
    relaxation = cpu.service_s_mean / (cpu.servers * (1.0 - math.sqrt(rho)) ** 2)
    spans = window / relaxation
    if spans >= RELAXATION_SPANS:
        return []
    return [
        f"{sid} runs at {rho:.0%} CPU load: its queue forgets its past in about "
        f"{relaxation:.3g} s (E[S] / (c (1 - √ρ)²)), and the {window:g} s measured span only "
        f"about {spans:.0f} of those: one run's waits are noisy (use --runs for an interval)."
    ]
