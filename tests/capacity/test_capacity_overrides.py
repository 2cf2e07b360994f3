"""--set PATH=VALUE and --duration: overrides by dotted path, items by id."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from asyncflow.errors import ScenarioError, ScenarioFileError
from asyncflow.scenario import load_scenario
from asyncflow.scenario.overrides import (
    DURATION_PATH,
    Override,
    apply_overrides,
    duration_override,
    load_with_overrides,
    read_scenario_data,
    scenario_data,
    with_overrides,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "asyncflow-0.1"
TWO = EXAMPLES / "two_servers_lb.yml"
SRV = "topology_graph.nodes.servers"


def set_one(text: str) -> dict[str, Any]:
    return apply_overrides(read_scenario_data(TWO), [Override.parse(text)])


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("a=4", 4),
        ("a=0.5", 0.5),
        ("a=1e3", 1000.0),
        ("a=-2", -2),
        ("a=round_robin", "round_robin"),
        ("a=true", True),
        ("a={mean: 2, distribution: exponential}", {"mean": 2, "distribution": "exponential"}),
        ("a=[srv-1, srv-2]", ["srv-1", "srv-2"]),
        ("a=", None),
        (" a.b = 7 ", 7),
    ],
)
def test_values_are_read_as_yaml_numbers_included(text: str, value: Any) -> None:
    override = Override.parse(text)
    assert override.value == value
    assert type(override.value) is type(value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("cpu_cores", "--set: expected PATH=VALUE (got 'cpu_cores')"),
        ("=4", "--set: expected PATH=VALUE (got '=4')"),
        (
            "a={x",
            "a: the value is not valid YAML: expected ',' or '}', "
            "but got '<stream end>' (got '{x')",
        ),
    ],
)
def test_malformed_overrides_are_refused(text: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=f"^{re.escape(message)}$"):
        Override.parse(text)


def test_items_are_addressed_by_id_and_the_file_is_untouched() -> None:
    data = read_scenario_data(TWO)
    before = repr(data)
    result = apply_overrides(
        data,
        [
            Override.parse(f"{SRV}.srv-2.server_resources.cpu_cores=4"),
            Override.parse("topology_graph.edges.lb-srv1.latency.mean=0.01"),
            Override.parse("topology_graph.nodes.load_balancer.algorithms=random"),
            Override.parse("rqs_input.avg_active_users.mean=250"),
        ],
    )
    assert repr(data) == before
    scenario = with_overrides(result, [])
    nodes = scenario.topology_graph.nodes
    assert nodes.server("srv-2").server_resources.cpu_cores == 4
    assert nodes.server("srv-1").server_resources.cpu_cores == 1
    edge = next(e for e in scenario.topology_graph.edges if e.id == "lb-srv1")
    assert edge.latency.mean == 0.01
    assert nodes.balancers[0].algorithms == "random"
    assert scenario.rqs_input.avg_active_users.mean == 250
    assert scenario.name == "two_servers_lb"


def test_positions_address_items_without_ids_and_bare_numbers_open_up() -> None:
    path = f"{SRV}.srv-1.endpoints./api.steps.0.step_operation.cpu_time"
    scenario = with_overrides(set_one(f"{path}.mean=0.003"), [])  # the file has 0.002
    step = scenario.topology_graph.nodes.server("srv-1").endpoints[0].steps[0]
    assert (step.duration.distribution, step.duration.mean) == ("deterministic", 0.003)
    family = Override.parse(f"{path}={{distribution: exponential, mean: 0.002}}")
    data = apply_overrides(read_scenario_data(TWO), [family])
    data = apply_overrides(data, [Override.parse(f"{path}.mean=0.005")])
    step = with_overrides(data, []).topology_graph.nodes.server("srv-1").endpoints[0].steps[0]
    assert (step.duration.distribution, step.duration.mean) == ("exponential", 0.005)


def test_keys_the_file_leaves_out_are_added() -> None:
    scenario = with_overrides(
        set_one("sim_settings.seed=9"), [Override.parse("cost.per_core_hour=0.04")]
    )
    assert scenario.sim_settings.seed == 9
    assert scenario.cost is not None
    assert scenario.cost.per_core_hour == 0.04


def test_ids_with_dots_are_found_whole(tmp_path: Path) -> None:
    text = TWO.read_text(encoding="utf-8").replace("srv-1", "srv.v1")
    path = tmp_path / "dotted.yml"
    path.write_text(text, encoding="utf-8")
    chosen = Override.parse(f"{SRV}.srv.v1.server_resources.cpu_cores=3")
    scenario = load_with_overrides(path, [chosen])
    assert scenario.topology_graph.nodes.server("srv.v1").server_resources.cpu_cores == 3


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            f"{SRV}.srv-1.server_resources.cpu_core=4",
            f"{SRV}.srv-1.server_resources.cpu_core: unknown key 'cpu_core' "
            f"(did you mean '{SRV}.srv-1.server_resources.cpu_cores'?)",
        ),
        (
            f"{SRV}.srv-3.server_resources.cpu_cores=4",
            f"{SRV}.srv-3.server_resources.cpu_cores: no item with id 'srv-3' in "
            f"'{SRV}' (did you mean '{SRV}.srv-2.server_resources.cpu_cores'?)",
        ),
        (
            f"{SRV}.web.server_resources.cpu_cores=4",
            f"{SRV}.web.server_resources.cpu_cores: no item with id 'web' in '{SRV}' "
            "(ids: srv-1, srv-2)",
        ),
        (
            "sim_setings.seed=3",
            "sim_setings.seed: unknown key 'sim_setings' (did you mean 'sim_settings.seed'?)",
        ),
        (
            "speed=3",
            "speed: unknown key 'speed' in the scenario (expected one of: rqs_input, workloads, "
            "topology_graph, sim_settings, events, name, cost, policies)",
        ),
        (
            "rqs_input.avg_active_users.mean.x=1",
            "rqs_input.avg_active_users.mean.x: 'rqs_input.avg_active_users.mean' is a value "
            "(400.0), not a section: set rqs_input.avg_active_users.mean=VALUE instead",
        ),
        (
            "events.ev-1.start.t_start=1",
            "events.ev-1.start.t_start: 'events' is not in the scenario: add it to the file first",
        ),
        (
            f"{SRV}.srv-1.endpoints./api.steps.7.kind=io_wait",
            f"{SRV}.srv-1.endpoints./api.steps.7.kind: no item '7' in "
            f"'{SRV}.srv-1.endpoints./api.steps': give a position from 0 to 2",
        ),
        (
            "sim_settings..seed=1",
            "sim_settings..seed: empty segment in the path (two dots, or a dot at an end)",
        ),
    ],
)
def test_a_wrong_path_names_the_closest_valid_one(text: str, message: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        set_one(text)
    assert caught.value.problems == (message,)


def test_every_wrong_path_is_listed_and_values_break_the_files_rules() -> None:
    data = read_scenario_data(TWO)
    wrong = [Override.parse("a.b=1"), Override.parse("c=2")]
    with pytest.raises(ScenarioError) as caught:
        apply_overrides(data, wrong)
    assert len(caught.value.problems) == 2
    zero = Override.parse(f"{SRV}.srv-1.server_resources.cpu_cores=0")
    with pytest.raises(ScenarioError) as caught:
        with_overrides(data, [zero])
    assert caught.value.problems == (
        "topology_graph.nodes.servers[0].server_resources.cpu_cores: must be >= 1 (got 0)",
    )


def test_a_missing_section_with_required_fields_is_not_invented() -> None:
    data = read_scenario_data(EXAMPLES / "single_server.yml")
    with pytest.raises(ScenarioError) as caught:
        apply_overrides(data, [Override.parse("topology_graph.nodes.load_balancer.id=lb")])
    assert caught.value.problems == (
        "topology_graph.nodes.load_balancer.id: 'topology_graph.nodes.load_balancer' is not "
        "in the scenario: add it to the file first",
    )


def test_duration_sets_the_horizon_and_is_checked_against_events() -> None:
    scenario = load_with_overrides(TWO, [duration_override(30)])
    assert scenario.sim_settings.total_simulation_time == 30
    assert DURATION_PATH == "sim_settings.total_simulation_time"
    with pytest.raises(ScenarioError) as caught:
        load_with_overrides(EXAMPLES / "event_inj_lb.yml", [duration_override(100)])
    assert any("must be <= total_simulation_time (100)" in p for p in caught.value.problems)


def test_a_validated_scenario_round_trips_through_its_data() -> None:
    for path in sorted(EXAMPLES.glob("*.yml")):
        scenario = load_scenario(path)
        assert with_overrides(scenario_data(scenario), []) == scenario
        assert with_overrides(scenario, []) is scenario


def test_reading_refuses_what_loading_refuses(tmp_path: Path) -> None:
    with pytest.raises(ScenarioFileError, match="file not found"):
        read_scenario_data(tmp_path / "none.yml")
    odd = tmp_path / "s.txt"
    odd.write_text("x", encoding="utf-8")
    with pytest.raises(ScenarioFileError, match="unsupported file type"):
        read_scenario_data(odd)
    listed = tmp_path / "l.json"
    listed.write_text("[1]", encoding="utf-8")
    with pytest.raises(ScenarioFileError, match="the top level must be a mapping"):
        read_scenario_data(listed)


STORM = Path(__file__).resolve().parents[2] / "examples" / "retry_storm.yml"


@pytest.mark.parametrize(
    ("text", "outcome"),
    [
        ("policies.1.max_attempts=2", 2),
        ("policies.1.backoff.jitter=equal", "equal"),
        (
            "policies.1.max_attemps=2",
            "policies.1.max_attemps: unknown key 'max_attemps' "
            "(did you mean 'policies.1.max_attempts'?)",
        ),
        (
            "policies.0.max_attempts=2",
            "policies.0.max_attempts: unknown key 'max_attempts' in policies.0 (expected one "
            "of: type, target, timeout_s, calls_to, cancel, propagate_deadline)",
        ),
    ],
)
def test_a_policy_is_walked_as_the_model_its_type_names(text: str, outcome: Any) -> None:
    scenario = load_scenario(STORM)
    if isinstance(outcome, str) and " " in outcome:
        with pytest.raises(ScenarioError) as caught:
            with_overrides(scenario, [Override.parse(text)])
        assert str(caught.value) == outcome
        return
    changed = with_overrides(scenario, [Override.parse(text)])
    retry = changed.policies[1]
    assert (retry.max_attempts if "max" in text else retry.backoff.jitter) == outcome
