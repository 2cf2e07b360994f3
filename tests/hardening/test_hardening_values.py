"""Values that validated but could not run (crashes, hangs, silent nonsense) are refused.

Each case changes one bundled example as a reported reproducer did and
expects the exact problem lines, the bound's reason included.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from asyncflow.errors import ScenarioError
from asyncflow.scenario import parse_scenario

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "asyncflow-0.1"
SRV0 = "topology_graph.nodes.servers[0]"
EDGE0 = "topology_graph.edges[0]"
ID_RULE = (
    "must be 1 to 100 characters among letters, digits and _ . - / : >, starting with a "
    "letter, a digit, _ or / (ids reach terminals, CSV files and HTML)"
)
USERS = "must be <= 1e+09 users: more than a billion active users; raise the rate per user instead"
HORIZON = (
    "must be <= 1e+07 s: about 116 days; beyond it the simulated clock (a double) can no "
    "longer tell nanoseconds apart"
)
SPREAD = "a standard deviation over 1000 times the mean makes samples overflow or collapse to 0"

Mutation = Callable[[dict[str, Any]], object]


@pytest.fixture(scope="module")
def single() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((EXAMPLES / "single_server.yml").read_text("utf-8"))
    return data


def _server(d: dict[str, Any]) -> dict[str, Any]:
    server: dict[str, Any] = d["topology_graph"]["nodes"]["servers"][0]
    return server


def _edge(d: dict[str, Any], i: int = 0) -> dict[str, Any]:
    edge: dict[str, Any] = d["topology_graph"]["edges"][i]
    return edge


def _latency(value: object) -> Mutation:
    return lambda d: _edge(d).update(latency=value)


def _workload(**changes: object) -> Mutation:
    return lambda d: d["rqs_input"].update(changes)


CASES: list[tuple[str, Mutation, list[str]]] = [
    # ---- crashes after "ok"
    (
        "users 1e300",
        _workload(avg_active_users={"mean": 1e300}),
        [f"rqs_input.avg_active_users.mean: {USERS} (got 1e+300)"],
    ),
    (
        "users 1e12",
        _workload(avg_active_users={"mean": 1e12}),
        [f"rqs_input.avg_active_users.mean: {USERS} (got 1000000000000.0)"],
    ),
    (
        "rate 1e300",
        _workload(avg_request_per_minute_per_user={"mean": 1e300}),
        [
            "rqs_input.avg_request_per_minute_per_user.mean: must be <= 1e+06 requests per "
            "minute: one user sending over 16,000 requests a second; model it as more users "
            "(got 1e+300)"
        ],
    ),
    (
        "profile point 1e308",
        _workload(users_profile=[[0, 1e308]]),
        [f"rqs_input.users_profile[0].users: {USERS} (got 1e+308)"],
    ),
    (
        "normal with variance just under mean squared",
        _latency({"distribution": "normal", "mean": 1.0, "variance": 0.9999999}),
        [
            f"{EDGE0}.latency.variance: must be <= 0.99 x mean**2 = 0.99 for normal (an "
            "omitted variance defaults to the mean): closer to mean**2 the normal truncated "
            "at 0 is practically an exponential and its parameters cannot be solved "
            "reliably; use exponential, gamma or log_normal (got 0.9999999)"
        ],
    ),
    (
        "log-normal with mean 1e-300",
        _latency({"distribution": "log_normal", "mean": 1e-300}),
        [
            f"{EDGE0}.latency.variance: must be <= 1e+06 x mean**2 for log_normal (an "
            f"omitted variance defaults to the mean): {SPREAD} (got 1e-300)"
        ],
    ),
    (
        "log-normal with mean 1e-300 and a small variance",
        _latency({"distribution": "log_normal", "mean": 1e-300, "variance": 1e-601}),
        [
            f"{EDGE0}.latency.mean: must be >= 1e-09 s: a nanosecond, the resolution of the "
            "clock over the longest run (got 1e-300)"
        ],
    ),
    (
        "empirical values of 1e308",
        _latency({"distribution": "empirical", "values": [1e308, 1e308]}),
        [f"{EDGE0}.latency.values: are too large: their mean or variance overflows a double"],
    ),
    (
        "401-digit cpu_cores",
        lambda d: _server(d)["server_resources"].update(cpu_cores=10**400),
        [
            f"{SRV0}.server_resources.cpu_cores: must be <= 1,024 cores: larger machines are "
            "modelled as several servers behind a load balancer (got <an integer of 401 digits>)"
        ],
    ),
    (
        "401-digit ram",
        lambda d: _server(d)["server_resources"].update(ram_mb=10**400),
        [
            f"{SRV0}.server_resources.ram_mb: is too large for a number (a double holds at "
            "most 1.8e308) (got <an integer of 401 digits>)"
        ],
    ),
    (
        "markup in an id",
        lambda d: _server(d).update(id="srv[/]"),
        [f"{SRV0}.id: {ID_RULE} (got 'srv[/]')"],
    ),
    (
        "a link in markup",
        _workload(id="[link=http://x]click[/link]"),
        [f"rqs_input.id: {ID_RULE} (got '[link=http://x]click[/link]')"],
    ),
    # ---- silent nonsense
    (
        "gamma with mean 1e-300 and variance 1e300",
        _latency({"distribution": "gamma", "mean": 1e-300, "variance": 1e300}),
        [f"{EDGE0}.latency.variance: must be <= 1e+06 x mean**2 for gamma: {SPREAD} (got 1e+300)"],
    ),
    ("empty id", lambda d: _server(d).update(id=""), [f"{SRV0}.id: {ID_RULE} (got '')"]),
    (
        "empty endpoint name",
        lambda d: _server(d)["endpoints"][0].update(endpoint_name=""),
        [f"{SRV0}.endpoints[0].endpoint_name: {ID_RULE} (got '')"],
    ),
    (
        "NUL in an id",
        lambda d: _server(d).update(id="srv\x00"),
        [f"{SRV0}.id: {ID_RULE} (got 'srv\\x00')"],
    ),
    (
        "right-to-left override in an id",
        lambda d: _server(d).update(id="srv\u202e1"),
        [f"{SRV0}.id: {ID_RULE} (got 'srv\\u202e1')"],
    ),
    (
        "ANSI escape in an edge id",
        lambda d: _edge(d).update(id="\x1b[31mred"),
        [f"{EDGE0}.id: {ID_RULE} (got '\\x1b[31mred')"],
    ),
    (
        "spreadsheet formula as an id",
        lambda d: _edge(d).update(id='=HYPERLINK("http://x")'),
        [f"{EDGE0}.id: {ID_RULE} (got '=HYPERLINK(\"http://x\")')"],
    ),
    (
        "a reference outside the character set",
        lambda d: _edge(d).update(target="@client"),
        [f"{EDGE0}.target: {ID_RULE} (got '@client')"],
    ),
    (
        "sample period 1.7e308",
        lambda d: d["sim_settings"].update(sample_period_s=1.7e308),
        [f"sim_settings.sample_period_s: {HORIZON} (got 1.7e+308)"],
    ),
    (
        "sample period longer than the run",
        lambda d: d["sim_settings"].update(sample_period_s=600.5),
        [
            "sim_settings.sample_period_s: must be <= total_simulation_time (500): a time "
            "series needs at least one bin inside the run (got 600.5)"
        ],
    ),
    (
        "sample period 1e-300",
        lambda d: d["sim_settings"].update(sample_period_s=1e-300),
        [
            "sim_settings.sample_period_s: gives 5e+302 periods over total_simulation_time "
            "(500 s), at most 1e+09 periods: time series have at most 1,000 bins, so a finer "
            "sample_period_s shows nothing more (got 1e-300)"
        ],
    ),
    (
        "deterministic users with a 1e308 profile point",
        _workload(
            avg_active_users={"mean": 1, "distribution": "deterministic"},
            users_profile=[[0, 1], [10, 1e308]],
        ),
        [f"rqs_input.users_profile[1].users: {USERS} (got 1e+308)"],
    ),
    (
        "a set of servers from Python",
        lambda d: _server(d).update(endpoints={"a", "b"}),
        [
            f"{SRV0}.endpoints: must be a list, not a set: a set's order changes from run to "
            "run, so results would not be reproducible"
        ],
    ),
    # ---- hangs and blow-ups
    (
        "user sampling window 1e-9",
        _workload(user_sampling_window=1e-9),
        [
            "rqs_input.user_sampling_window: gives 5e+11 windows over total_simulation_time "
            "(500 s), at most 1,000,000 windows: every user_sampling_window costs work even "
            "when no request arrives; raise user_sampling_window or shorten "
            "total_simulation_time (got 1e-09)"
        ],
    ),
    (
        "a billion TLS round trips",
        lambda d: _server(d).update(tls={"round_trips": 1_000_000_000}),
        [
            f"{SRV0}.tls.round_trips: must be <= 10 round trips: TLS 1.3 needs 1 and TLS 1.2 "
            "needs 2; each is drawn for every new connection (got 1000000000)"
        ],
    ),
    (
        "bandwidth 1e308",
        lambda d: _edge(d, 1).update(bandwidth_mbps=1e308),
        [
            "topology_graph.edges[1].bandwidth_mbps: must be <= 1e+06 Mbit/s: 1 Tbit/s, "
            "faster than any single link (use no bandwidth for unlimited) (got 1e+308)"
        ],
    ),
    (
        "horizon 1e308",
        lambda d: d["sim_settings"].update(total_simulation_time=1e308),
        [f"sim_settings.total_simulation_time: {HORIZON} (got 1e+308)"],
    ),
    (
        "a run of billions of requests",
        lambda d: (
            _workload(avg_active_users={"mean": 1e6})(d),
            d["sim_settings"].update(total_simulation_time=3600),
        ),
        [
            "rqs_input: the run would generate about 1.2e+09 requests (users x rate x "
            "total_simulation_time of 3600 s), at most 1e+08 requests: at about 150 bytes and "
            "7 microseconds per request a run of 1e8 requests needs about 15 GB of memory and "
            "15 minutes; shorten total_simulation_time or lower the load, and use "
            "replications for precision"
        ],
    ),
    (
        "normal users with a huge spread",
        _workload(avg_active_users={"distribution": "normal", "mean": 1e3, "variance": 9.9e5}),
        [],  # accepted: the spread is within the bounds and the run is small
    ),
]


@pytest.mark.parametrize(("mutate", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_reported_values_are_refused_with_their_reason(
    single: dict[str, Any], mutate: Mutation, expected: list[str]
) -> None:
    data = copy.deepcopy(single)
    mutate(data)
    if not expected:
        parse_scenario(data)
        return
    with pytest.raises(ScenarioError) as info:
        parse_scenario(data)
    assert list(info.value.problems) == expected


def test_the_documented_example_messages_are_real(single: dict[str, Any]) -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "reference" / "scenario.md").read_text(
        "utf-8"
    )
    section = text[text.index("## Limits") : text.index("## JSON Schema")]
    documented = re.findall(r"```\n(.*?)```", section, flags=re.S)[0].splitlines()
    heavy = copy.deepcopy(single)
    heavy["rqs_input"]["avg_active_users"] = {"mean": 1e6}
    heavy["rqs_input"]["avg_request_per_minute_per_user"] = {"mean": 60}
    heavy["sim_settings"]["total_simulation_time"] = 3600
    handshakes = copy.deepcopy(single)
    _server(handshakes)["tls"] = {"round_trips": 1_000_000_000}
    produced = []
    for data in (heavy, handshakes):
        with pytest.raises(ScenarioError) as info:
            parse_scenario(data)
        produced += info.value.problems
    assert produced == documented
