"""Wrong calls of the Python API get a TypeError or ScenarioError that says what was wrong."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

import asyncflow
from asyncflow.errors import ScenarioError
from asyncflow.scenario import (
    Scenario,
    ScenarioBuilder,
    connection_pool,
    cpu,
    empirical,
    endpoint,
    load_scenario,
    tls,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "asyncflow-0.1" / "single_server.yml"
KINDS = "a Scenario, a mapping of the scenario's keys, or the path of a .yml, .yaml or .json file"
SEEDS = "an integer from 0 to 18,446,744,073,709,551,615 or None"


@pytest.fixture(scope="module")
def short() -> Scenario:
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    data["sim_settings"]["total_simulation_time"] = 5
    return asyncflow.parse_scenario(data)


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (None, "None"),
        (42, "int 42"),
        (2.5, "float 2.5"),
        (b"scenario.yml", "bytes b'scenario.yml'"),
        ([1, 2], "list [1, 2]"),
        (ScenarioBuilder("x"), "an unbuilt ScenarioBuilder; call .build() first"),
    ],
    ids=["None", "int", "float", "bytes", "list", "builder"],
)
def test_run_refuses_what_is_not_a_scenario(value: object, shown: str) -> None:
    message = f"scenario: expected {KINDS} (got {shown})"
    with pytest.raises(TypeError, match=f"^{re.escape(message)}$"):
        asyncflow.run(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("seed", "error", "message"),
    [
        (-1, ScenarioError, f"seed: must be {SEEDS}: seeds are 64-bit unsigned integers (got -1)"),
        (
            2**64,
            ScenarioError,
            f"seed: must be {SEEDS}: seeds are 64-bit unsigned integers (got 18446744073709551616)",
        ),
        ("1", TypeError, f"seed: expected {SEEDS} (got str '1')"),
        (1.5, TypeError, f"seed: expected {SEEDS} (got float 1.5)"),
        (1.0, TypeError, f"seed: expected {SEEDS} (got float 1.0)"),
        (math.nan, TypeError, f"seed: expected {SEEDS} (got float nan, not a number)"),
        (True, TypeError, f"seed: expected {SEEDS} (got bool True)"),
    ],
    ids=["negative", "too large", "text", "fraction", "whole float", "nan", "bool"],
)
def test_run_refuses_bad_seeds(
    short: Scenario, seed: object, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=f"^{re.escape(message)}$"):
        asyncflow.run(short, seed=seed)  # type: ignore[arg-type]


def test_a_numpy_integer_seed_is_the_same_seed(short: Scenario) -> None:
    a = asyncflow.run(short, seed=np.int64(7)).summary()["requests"]
    b = asyncflow.run(short, seed=7).summary()["requests"]
    assert a == b


def test_run_accepts_a_plain_mapping_like_the_file(short: Scenario) -> None:
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    data["sim_settings"]["total_simulation_time"] = 5
    data["name"] = short.name
    from_mapping = asyncflow.run(data, seed=3).summary()
    from_model = asyncflow.run(short, seed=3).summary()
    assert from_mapping["requests"] == from_model["requests"]
    assert from_mapping["requests"]["generated"] > 0


def test_run_validates_a_mapping(short: Scenario) -> None:
    data: dict[str, Any] = short.model_dump()
    data["sim_settings"]["total_simulation_time"] = -1
    with pytest.raises(ScenarioError, match=r"^sim_settings\.total_simulation_time: must be >="):
        asyncflow.run(data)


def test_a_model_copy_is_validated_again_before_running(short: Scenario) -> None:
    settings = short.sim_settings.model_copy(update={"total_simulation_time": 1e308})
    broken = short.model_copy(update={"sim_settings": settings})
    with pytest.raises(ScenarioError, match=r"^sim_settings\.total_simulation_time: must be <="):
        asyncflow.run(broken)
    unnamed = short.model_copy(update={"name": ""})
    with pytest.raises(ScenarioError, match=r"^name: must not be empty"):
        asyncflow.run(unnamed)


def test_validating_again_keeps_every_example_equal() -> None:
    for path in sorted(EXAMPLE.parents[1].glob("**/*.yml")):
        scenario = load_scenario(path)
        assert Scenario.model_validate(scenario.model_dump()) == scenario


# --------------------------------------------------------------------------- builder


def _builder() -> ScenarioBuilder:
    return ScenarioBuilder("b").workload(users=5, requests_per_minute=6).client()


BUILDER_CASES: list[tuple[str, Any, str]] = [
    (
        "servers as one string",
        lambda: _builder().load_balancer(servers="srv-1"),
        "load_balancer(): servers: expected a list of server ids (got str 'srv-1'; "
        "write ['srv-1'])",
    ),
    (
        "servers as a number",
        lambda: _builder().load_balancer(servers=3),
        "load_balancer(): servers: expected a list of server ids (got int 3)",
    ),
    (
        "one endpoint not in a list",
        lambda: _builder().server("srv-1", endpoints=endpoint("/a")),
        "server(): endpoints: expected a list of endpoints (from endpoint()) "
        "(got dict {'endpoint_name': '/a', 'steps': []}; put a single one in a list)",
    ),
    (
        "an endpoint that is text",
        lambda: _builder().server("srv-1", endpoints=["/a"]),
        "server(): endpoints[0]: expected a mapping (got str '/a')",
    ),
    (
        "tls as a number",
        lambda: _builder().server("srv-1", endpoints=[endpoint("/a")], tls=1),
        "server(): tls: expected a mapping (from tls()) (got int 1)",
    ),
    (
        "pool as text",
        lambda: _builder().client(connection_pool="keep-alive"),
        "client(): connection_pool: expected a mapping (from connection_pool()) "
        "(got str 'keep-alive')",
    ),
    (
        "weights as a list",
        lambda: _builder().load_balancer(servers=["a"], weights=[1]),
        "load_balancer(): weights: expected a mapping of server id to weight (got list [1])",
    ),
    (
        "profile points that are not pairs",
        lambda: _builder().workload(users_profile=[(0, 1, 2)]),
        "workload(): users_profile[0]: expected a pair (t_s, users) (got tuple (0, 1, 2))",
    ),
    (
        "profile as a number",
        lambda: _builder().workload(users_profile=5),
        "workload(): users_profile: expected a list of (t_s, users) pairs (got int 5)",
    ),
    (
        "a step that is text",
        lambda: endpoint("/a", "cpu"),
        "endpoint(): steps[0]: expected a mapping (got str 'cpu')",
    ),
    (
        "empirical values as text",
        lambda: empirical("0.1"),
        "empirical(): values: expected a list of numbers (got str '0.1')",
    ),
]


@pytest.mark.parametrize(
    ("call", "message"), [c[1:] for c in BUILDER_CASES], ids=[c[0] for c in BUILDER_CASES]
)
def test_builder_refuses_wrong_kinds_at_the_call(call: Any, message: str) -> None:
    with pytest.raises(TypeError, match=f"^{re.escape(message)}$"):
        call()


def test_builder_values_of_the_wrong_type_are_scenario_errors_at_build() -> None:
    builder = (
        _builder()
        .server("srv-1", endpoints=[endpoint("/a", cpu("fast"))], cpu_cores="2", tls=tls())
        .wire(latency=0.001)
        .settings(horizon_s=10)
    )
    with pytest.raises(ScenarioError) as info:
        builder.build()
    assert info.value.problems == (
        "topology_graph.nodes.servers[0].server_resources.cpu_cores: must be an integer (got '2')",
        "topology_graph.nodes.servers[0].endpoints[0].steps[0].step_operation.cpu_time: "
        "must be a number of seconds or a distribution mapping (got 'fast')",
    )


def test_builder_with_a_pool_and_lists_still_builds() -> None:
    scenario = (
        _builder()
        .client(connection_pool=connection_pool())
        .server("srv-1", endpoints=(endpoint("/a", cpu(0.001)),))
        .server("srv-2", endpoints=[endpoint("/a")])
        .load_balancer(servers=("srv-1", "srv-2"))
        .wire(latency=0.001)
        .settings(horizon_s=10)
        .build()
    )
    assert scenario.topology_graph.nodes.load_balancer is not None
    assert scenario.topology_graph.nodes.load_balancer.server_covered == ("srv-1", "srv-2")


@pytest.mark.parametrize(("path", "kind"), [(None, "None"), (b"a.yml", "bytes"), (3, "int")])
def test_load_scenario_refuses_what_is_not_a_path(path: object, kind: str) -> None:
    message = f"path: expected a str or os.PathLike path of a scenario file (got {kind})"
    with pytest.raises(TypeError, match=f"^{re.escape(message)}$"):
        load_scenario(path)  # type: ignore[arg-type]
