"""Bad values inside one part of a scenario: exact messages."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from scenario_helpers import edge, nodes, problems, server, step_op

from asyncflow.errors import ScenarioError
from asyncflow.scenario import parse_scenario

Mutation = Callable[[dict[str, Any]], object]

SRV0 = "topology_graph.nodes.servers[0]"
LB = "topology_graph.nodes.load_balancer"
STEP0 = f"{SRV0}.endpoints[0].steps[0].step_operation"


def _rename(mapping: dict[str, Any], old: str, new: str) -> None:
    mapping[new] = mapping.pop(old)


CASES: list[tuple[str, Mutation, list[str]]] = [
    # ---- misspelled keys, at several levels
    (
        "top-level key",
        lambda d: _rename(d, "sim_settings", "sim_setings"),
        ["sim_setings: unknown field (did you mean 'sim_settings'?)"],
    ),
    (
        "settings key",
        lambda d: _rename(d["sim_settings"], "total_simulation_time", "total_simulaton_time"),
        [
            "sim_settings.total_simulaton_time: unknown field "
            "(did you mean 'total_simulation_time'?)"
        ],
    ),
    (
        "resources key",
        lambda d: _rename(server(d)["server_resources"], "cpu_cores", "cpu_core"),
        [f"{SRV0}.server_resources.cpu_core: unknown field (did you mean 'cpu_cores'?)"],
    ),
    (
        "lb key",
        lambda d: _rename(nodes(d)["load_balancer"], "algorithms", "algorithm"),
        [f"{LB}.algorithm: unknown field (did you mean 'algorithms'?)"],
    ),
    (
        "latency key",
        lambda d: edge(d, 0)["latency"].update(varience=1e-6),
        ["topology_graph.edges[0].latency.varience: unknown field (did you mean 'variance'?)"],
    ),
    (
        "event marker key",
        lambda d: _rename(d["events"][0]["start"], "spike_s", "spike"),
        ["events[0].start.spike: unknown field (did you mean 'spike_s'?)"],
    ),
    (
        "unknown key without a close match",
        lambda d: nodes(d)["client"].update(colour="red"),
        [
            "topology_graph.nodes.client.colour: unknown field "
            "(expected one of: id, type, connection_pool)"
        ],
    ),
    (
        "misspelled enum value",
        lambda d: edge(d, 0)["latency"].update(distribution="exponental"),
        [
            "topology_graph.edges[0].latency.distribution: unknown value 'exponental' "
            "(did you mean 'exponential'?)"
        ],
    ),
    (
        "missing required field",
        lambda d: d["rqs_input"].pop("id"),
        ["rqs_input.id: required field missing"],
    ),
    (
        "wrong node type",
        lambda d: nodes(d)["client"].update(type="server"),
        ["topology_graph.nodes.client.type: must be 'client' (got 'server')"],
    ),
    (
        "not a number",
        lambda d: d["sim_settings"].update(total_simulation_time="long"),
        ["sim_settings.total_simulation_time: must be a number (got 'long')"],
    ),
    (
        "boolean for a number",
        lambda d: server(d)["server_resources"].update(cpu_cores=True),
        [f"{SRV0}.server_resources.cpu_cores: must be a number or text, not true/false (got True)"],
    ),
    (
        "boolean inside a list",
        lambda d: nodes(d)["load_balancer"].update(server_covered=["srv-1", False]),
        [f"{LB}.server_covered[1]: must be a number or text, not true/false (got False)"],
    ),
    # ---- negative or zero values
    (
        "cpu_cores 0",
        lambda d: server(d)["server_resources"].update(cpu_cores=0),
        [f"{SRV0}.server_resources.cpu_cores: must be >= 1 (got 0)"],
    ),
    (
        "ram_mb -1",
        lambda d: server(d)["server_resources"].update(ram_mb=-1),
        [f"{SRV0}.server_resources.ram_mb: must be > 0 (got -1)"],
    ),
    (
        "latency mean 0",
        lambda d: edge(d, 1)["latency"].update(mean=0),
        ["topology_graph.edges[1].latency.mean: must be > 0 (got 0.0)"],
    ),
    (
        "constant latency 0",
        lambda d: edge(d, 1).update(latency=0),
        ["topology_graph.edges[1].latency.mean: must be > 0 (got 0.0)"],
    ),
    (
        "dropout_rate 1.5",
        lambda d: edge(d, 2).update(dropout_rate=1.5),
        ["topology_graph.edges[2].dropout_rate: must be <= 1 (got 1.5)"],
    ),
    (
        "total_simulation_time 0",
        lambda d: d["sim_settings"].update(total_simulation_time=0),
        [
            "sim_settings.total_simulation_time: must be >= 0.001 s: a millisecond; "
            "the engine's periodic "
            "steps are fractions of the run (got 0)"
        ],
    ),
    (
        "negative ram step",
        lambda d: server(d)["endpoints"][0]["steps"][1]["step_operation"].update(necessary_ram=-5),
        [f"{SRV0}.endpoints[0].steps[1].step_operation.necessary_ram: must be > 0 (got -5)"],
    ),
    (
        "negative seed",
        lambda d: d["sim_settings"].update(seed=-1),
        ["sim_settings.seed: must be >= 0 (got -1)"],
    ),
    (
        "warm-up past the horizon",
        lambda d: d["sim_settings"].update(warm_up_s=600),
        ["sim_settings.warm_up_s: must be < total_simulation_time (600) (got 600.0)"],
    ),
    (
        "zero request rate",
        lambda d: d["rqs_input"]["avg_request_per_minute_per_user"].update(mean=0),
        ["rqs_input.avg_request_per_minute_per_user.mean: must be > 0 (got 0.0)"],
    ),
    # ---- distributions
    (
        "variance on exponential",
        lambda d: edge(d, 0)["latency"].update(variance=1e-6),
        [
            "topology_graph.edges[0].latency.variance: not allowed for exponential "
            "(its variance is always mean**2) (got 1e-06)"
        ],
    ),
    (
        "normal latency with the 0.1 default variance",
        lambda d: edge(d, 0)["latency"].update(distribution="normal"),
        [
            "topology_graph.edges[0].latency.variance: must be <= 0.99 x mean**2 = 8.91e-06 "
            "for normal (an omitted variance defaults to the mean): closer to mean**2 the "
            "normal truncated at 0 is practically an exponential and its parameters cannot "
            "be solved reliably; use exponential, gamma or log_normal (got 0.003)"
        ],
    ),
    (
        "family not allowed for users",
        lambda d: d["rqs_input"]["avg_active_users"].update(distribution="exponential"),
        [
            "rqs_input.avg_active_users.distribution: must be one of 'poisson', 'normal', "
            "'deterministic' (got 'exponential')"
        ],
    ),
    # ---- steps, endpoints, servers
    (
        "step key does not fit the kind",
        lambda d: server(d)["endpoints"][0]["steps"][0].update(
            step_operation={"io_waiting_time": 0.1}
        ),
        [
            f"{STEP0}.io_waiting_time: 'io_waiting_time' does not fit kind 'initial_parsing' "
            "(expected 'cpu_time')"
        ],
    ),
    (
        "two keys in a step",
        lambda d: step_op(d).update(io_waiting_time=0.1),
        [
            f"{STEP0}: must have exactly one key, 'cpu_time' for kind 'initial_parsing' "
            "(got {'cpu_time': 0.002, 'io_waiting_time': 0.1})"
        ],
    ),
    (
        "ram given as a distribution",
        lambda d: server(d)["endpoints"][0]["steps"][1]["step_operation"].update(
            necessary_ram={"mean": 10}
        ),
        [
            f"{SRV0}.endpoints[0].steps[1].step_operation.necessary_ram: must be a number of MB "
            "(got {'mean': 10})"
        ],
    ),
    (
        "empty endpoint list",
        lambda d: server(d).update(endpoints=[]),
        [f"{SRV0}.endpoints: must not be empty (got [])"],
    ),
    (
        "duplicate endpoint names (case-insensitive)",
        lambda d: server(d)["endpoints"].append({"endpoint_name": "/API", "steps": []}),
        [
            f"{SRV0}.endpoints[1].endpoint_name: duplicate endpoint name (also endpoints[0]) "
            "(got '/api')"
        ],
    ),
    (
        "ram step larger than the server",
        lambda d: server(d)["server_resources"].update(ram_mb=100),
        [
            f"{SRV0}.endpoints[0]: ram steps need 128 MB but server_resources.ram_mb is 100: "
            "a request could never be admitted"
        ],
    ),
    (
        "endpoint weight 0",
        lambda d: server(d)["endpoints"][0].update(probability=0),
        [f"{SRV0}.endpoints[0].probability: must be > 0 (got 0)"],
    ),
    # ---- load balancer
    (
        "duplicate covered server",
        lambda d: nodes(d)["load_balancer"]["server_covered"].append("srv-1"),
        [f"{LB}.server_covered[2]: duplicate server (got 'srv-1')"],
    ),
    (
        "weights without weighted_round_robin",
        lambda d: nodes(d)["load_balancer"].update(weights={"srv-1": 1, "srv-2": 2}),
        [
            f"{LB}.weights: only allowed with algorithms: "
            "weighted_round_robin (got {'srv-1': 1.0, 'srv-2': 2.0})"
        ],
    ),
    (
        "weighted_round_robin without weights",
        lambda d: nodes(d)["load_balancer"].update(algorithms="weighted_round_robin"),
        [f"{LB}.weights: required for weighted_round_robin"],
    ),
    (
        "weights incomplete and with a stranger",
        lambda d: nodes(d)["load_balancer"].update(
            algorithms="weighted_round_robin", weights={"srv-1": 2, "srv-9": 1}
        ),
        [
            f"{LB}.weights.srv-9: not a covered server",
            f"{LB}.weights: missing a weight for covered server 'srv-2'",
        ],
    ),
    # ---- events (inside one event)
    (
        "t_start >= t_end",
        lambda d: d["events"][1]["start"].update(t_start=240),
        ["events[1].end.t_end: must be > start.t_start (240) (got 240.0)"],
    ),
    (
        "mismatched start/end kinds",
        lambda d: d["events"][1]["end"].update(kind="network_spike_end"),
        [
            "events[1].end.kind: must be 'server_up' to close a 'server_down' "
            "(got 'network_spike_end')"
        ],
    ),
    (
        "spike_s on an outage",
        lambda d: d["events"][1]["start"].update(spike_s=0.1),
        ["events[1].start.spike_s: not allowed for server_down (got 0.1)"],
    ),
    # ---- several problems at once
    (
        "several problems reported together",
        lambda d: (
            server(d, 1)["server_resources"].update(cpu_cores=0),
            edge(d, 3).update(dropout_rate=-0.1),
            d["sim_settings"].update(sample_period_s=0),
        ),
        [
            "topology_graph.nodes.servers[1].server_resources.cpu_cores: must be >= 1 (got 0)",
            "topology_graph.edges[3].dropout_rate: must be >= 0 (got -0.1)",
            "sim_settings.sample_period_s: must be > 0 (got 0)",
        ],
    ),
]


@pytest.mark.parametrize(("mutate", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_field_problems(lb_data: dict[str, Any], mutate: Mutation, expected: list[str]) -> None:
    mutate(lb_data)
    assert problems(lb_data) == expected


def test_message_is_the_problem_lines(lb_data: dict[str, Any]) -> None:
    server(lb_data)["server_resources"]["cpu_cores"] = 0
    msg = f"{SRV0}.server_resources.cpu_cores: must be >= 1 (got 0)"
    with pytest.raises(ScenarioError, match=f"^{re.escape(msg)}$"):
        parse_scenario(lb_data)


def test_scenario_error_is_a_value_error(lb_data: dict[str, Any]) -> None:
    lb_data["sim_settings"]["total_simulation_time"] = -1
    with pytest.raises(ValueError, match=r"must be >= 0\.001 s"):
        parse_scenario(lb_data)


def test_not_a_mapping() -> None:
    with pytest.raises(ScenarioError, match=r"^<scenario>: must be a mapping \(got list\)$"):
        parse_scenario([])  # type: ignore[arg-type]


def test_long_values_are_shortened(lb_data: dict[str, Any]) -> None:
    nodes(lb_data)["client"] = ["x" * 100]
    (line,) = problems(lb_data)
    assert line.startswith("topology_graph.nodes.client: must be a mapping (got ['xxx")
    assert line.endswith("...)")
    assert len(line) < 120
