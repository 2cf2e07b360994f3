"""The JSON Schema accepts what ``validate`` accepts and refuses what it can express."""

from __future__ import annotations

import copy
import json
import re
import types
import typing
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from pydantic import BaseModel
from scenario_helpers import edge, nodes, server

from asyncflow.errors import ScenarioError
from asyncflow.scenario import Scenario, ScenarioBuilder, parse_scenario, scenario_json_schema
from asyncflow.scenario._reading import parse_yaml

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path("/work/shared/scenarios/asyncflow-0.1")
EXAMPLES = sorted(ROOT.glob("examples/**/*.yml")) + sorted(SHARED.glob("*.yml"))
DOC = ROOT / "docs" / "reference" / "scenario.md"

Mutation = Callable[[dict[str, Any]], object]


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = scenario_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _schema_errors(validator: jsonschema.Draft202012Validator, data: Any) -> list[str]:
    return [error.message for error in validator.iter_errors(data)]


def test_schema_declares_its_draft_and_id() -> None:
    schema = scenario_json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == "urn:asyncflow:scenario:0.2"
    json.dumps(schema)  # serialisable


def test_the_bundled_examples_are_found() -> None:
    assert len([p for p in EXAMPLES if "asyncflow-0.1" in p.parts]) >= 5
    assert any(p.name == "lb_socket_exhaustion.yml" for p in EXAMPLES)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_bundled_example_validates_against_the_schema(
    validator: jsonschema.Draft202012Validator, path: Path
) -> None:
    data = parse_yaml(path, path.read_text(encoding="utf-8"))
    assert _schema_errors(validator, data) == []


def test_the_documented_examples_validate(validator: jsonschema.Draft202012Validator) -> None:
    blocks = re.findall(r"```yaml\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    full = yaml.safe_load(blocks[0])
    assert _schema_errors(validator, full) == []
    built = (
        ScenarioBuilder("b")
        .workload(users=10, requests_per_minute=6, users_profile=[(0, 10), (5, 20)])
        .client()
        .server("srv-1", endpoints=[{"endpoint_name": "/a", "steps": []}])
        .wire(latency={"mean": 0.001})
        .settings(horizon_s=10, seed=1)
    )
    assert _schema_errors(validator, built.to_dict()) == []


# --------------------------------------------------------------------------- valid variants

VALID: list[tuple[str, Mutation]] = [
    ("latency as a number", lambda d: edge(d, 0).update(latency=0.002)),
    ("latency without distribution", lambda d: edge(d, 0).update(latency={"mean": 0.002})),
    (
        "latency poisson",
        lambda d: edge(d, 0).update(latency={"mean": 1, "distribution": "poisson"}),
    ),
    (
        "empirical latency",
        lambda d: edge(d, 0).update(latency={"distribution": "empirical", "values": [0.1, 0.2]}),
    ),
    (
        "gamma latency",
        lambda d: edge(d, 0).update(latency={"distribution": "gamma", "mean": 1, "variance": 2}),
    ),
    ("users as a number", lambda d: d["rqs_input"].update(avg_active_users=5)),
    (
        "normal users",
        lambda d: d["rqs_input"].update(
            avg_active_users={"distribution": "normal", "mean": 100, "variance": 25}
        ),
    ),
    ("profile as pairs", lambda d: d["rqs_input"].update(users_profile=[[0, 5], [10, 20]])),
    ("events null", lambda d: d.update(events=None)),
    ("cores as a whole decimal", lambda d: server(d)["server_resources"].update(cpu_cores=2.0)),
    (
        "ram step",
        lambda d: server(d)["endpoints"][0]["steps"].append(
            {"kind": "ram", "step_operation": {"necessary_ram": 64}}
        ),
    ),
    ("bandwidth", lambda d: edge(d, 2).update(bandwidth_mbps=100)),
    ("explicit nulls", lambda d: edge(d, 0).update(latency={"mean": 1, "variance": None})),
    (
        "empirical with a null mean",
        lambda d: edge(d, 0).update(
            latency={"distribution": "empirical", "values": [0.1], "mean": None}
        ),
    ),
    (
        "counts with nulls",
        lambda d: d["rqs_input"].update(
            avg_active_users={"mean": 5, "variance": None},
            avg_request_per_minute_per_user={"mean": 5, "values": None},
        ),
    ),
    (
        "a backlog with a socket limit",
        lambda d: server(d)["server_resources"].update(max_connections=10, listen_backlog=5),
    ),
    (
        "latency from quantiles",
        lambda d: edge(d, 0).update(
            latency={"distribution": "quantiles", "quantiles": {"p50": 0.004, "p99.9": 0.05}}
        ),
    ),
]


@pytest.mark.parametrize("mutate", [v[1] for v in VALID], ids=[v[0] for v in VALID])
def test_valid_variants_pass_both(
    validator: jsonschema.Draft202012Validator, single_data: dict[str, Any], mutate: Mutation
) -> None:
    mutate(single_data)
    parse_scenario(copy.deepcopy(single_data))
    assert _schema_errors(validator, single_data) == []


# --------------------------------------------------------------------------- broken files

STEP0 = lambda d: server(d)["endpoints"][0]["steps"][0]  # noqa: E731

BROKEN: list[tuple[str, Mutation]] = [
    ("missing workload", lambda d: d.pop("rqs_input")),
    ("unknown top-level key", lambda d: d.update(colour="red")),
    ("negative latency mean", lambda d: edge(d, 0).update(latency={"mean": -5})),
    ("negative constant latency", lambda d: edge(d, 0).update(latency=-5)),
    ("misspelled family", lambda d: edge(d, 0).update(latency={"mean": 1, "distribution": "x"})),
    (
        "exponential with a variance",
        lambda d: edge(d, 0).update(latency={"mean": 1, "variance": 2}),
    ),
    (
        "gamma without variance",
        lambda d: edge(d, 0).update(latency={"distribution": "gamma", "mean": 1}),
    ),
    (
        "empirical with a mean",
        lambda d: edge(d, 0).update(
            latency={"distribution": "empirical", "values": [1], "mean": 1}
        ),
    ),
    (
        "empirical without values",
        lambda d: edge(d, 0).update(latency={"distribution": "empirical"}),
    ),
    ("latency as text", lambda d: edge(d, 0).update(latency="fast")),
    (
        "quantiles with a mean",
        lambda d: edge(d, 0).update(
            latency={"distribution": "quantiles", "quantiles": {"p50": 1}, "mean": 1}
        ),
    ),
    (
        "quantiles keyed p100",
        lambda d: edge(d, 0).update(
            latency={"distribution": "quantiles", "quantiles": {"p100": 1}}
        ),
    ),
    (
        "quantiles keyed p0",
        lambda d: edge(d, 0).update(latency={"distribution": "quantiles", "quantiles": {"p0": 1}}),
    ),
    (
        "quantiles on an exponential",
        lambda d: edge(d, 0).update(latency={"mean": 1, "quantiles": {"p50": 1}}),
    ),
    ("latency of 1e308 s", lambda d: edge(d, 0).update(latency=1e308)),
    (
        "users of another family",
        lambda d: d["rqs_input"].update(
            avg_active_users={"mean": 1, "distribution": "gamma", "variance": 1}
        ),
    ),
    (
        "zero request rate",
        lambda d: d["rqs_input"].update(avg_request_per_minute_per_user={"mean": 0}),
    ),
    (
        "variance on a rate",
        lambda d: d["rqs_input"]["avg_request_per_minute_per_user"].update(variance=1),
    ),
    ("zero cores", lambda d: server(d)["server_resources"].update(cpu_cores=0)),
    ("fractional cores", lambda d: server(d)["server_resources"].update(cpu_cores=2.5)),
    ("cores as text", lambda d: server(d)["server_resources"].update(cpu_cores="2")),
    ("cores as a boolean", lambda d: server(d)["server_resources"].update(cpu_cores=True)),
    ("too many cores", lambda d: server(d)["server_resources"].update(cpu_cores=10**6)),
    ("horizon of 1e308 s", lambda d: d["sim_settings"].update(total_simulation_time=1e308)),
    ("horizon as text", lambda d: d["sim_settings"].update(total_simulation_time="600")),
    ("negative seed", lambda d: d["sim_settings"].update(seed=-1)),
    ("io key on a cpu step", lambda d: STEP0(d).update(step_operation={"io_waiting_time": 1})),
    (
        "two keys in a step",
        lambda d: STEP0(d).update(step_operation={"cpu_time": 0.1, "io_waiting_time": 0.1}),
    ),
    ("unknown step kind", lambda d: STEP0(d).update(kind="sleep")),
    ("empty id", lambda d: nodes(d)["client"].update(id="")),
    ("formula id", lambda d: nodes(d)["client"].update(id="=HYPERLINK(1)")),
    ("markup id", lambda d: server(d).update(id="srv[/]")),
    (
        "endpoint name with a NUL",
        lambda d: server(d)["endpoints"][0].update(endpoint_name="/a\x00"),
    ),
    ("drop rate above 1", lambda d: edge(d, 0).update(dropout_rate=1.5)),
    ("bandwidth of 1e308", lambda d: edge(d, 2).update(bandwidth_mbps=1e308)),
    ("a billion TLS round trips", lambda d: server(d).update(tls={"round_trips": 10**9})),
    ("events as text", lambda d: d.update(events="none")),
    ("profile point of three numbers", lambda d: d["rqs_input"].update(users_profile=[[0, 1, 2]])),
    ("no servers", lambda d: nodes(d).update(servers=[])),
    ("a null mean", lambda d: edge(d, 0).update(latency={"mean": None})),
    (
        "a backlog without a socket limit",
        lambda d: server(d)["server_resources"].update(listen_backlog=5),
    ),
    (
        "a spike without spike_s",
        lambda d: d.update(
            events=[
                {
                    "event_id": "e",
                    "target_id": "gen-client",
                    "start": {"kind": "network_spike_start", "t_start": 1},
                    "end": {"kind": "network_spike_end", "t_end": 2},
                }
            ]
        ),
    ),
    (
        "an outage closed by a spike end",
        lambda d: d.update(
            events=[
                {
                    "event_id": "e",
                    "target_id": "srv-1",
                    "start": {"kind": "server_down", "t_start": 1},
                    "end": {"kind": "network_spike_end", "t_end": 2},
                }
            ]
        ),
    ),
]


@pytest.mark.parametrize("mutate", [b[1] for b in BROKEN], ids=[b[0] for b in BROKEN])
def test_broken_files_fail_both(
    validator: jsonschema.Draft202012Validator, single_data: dict[str, Any], mutate: Mutation
) -> None:
    mutate(single_data)
    assert _schema_errors(validator, single_data) != []
    with pytest.raises(ScenarioError):
        parse_scenario(copy.deepcopy(single_data))


def test_balancer_rules_in_the_schema(
    validator: jsonschema.Draft202012Validator, lb_data: dict[str, Any]
) -> None:
    lb = nodes(lb_data)["load_balancer"]
    lb.update(algorithms="weighted_round_robin")
    assert _schema_errors(validator, lb_data) != []  # weights required
    lb.update(weights={"srv-1": 1, "srv-2": 2})
    assert _schema_errors(validator, lb_data) == []
    lb.update(algorithms="round_robin")
    assert _schema_errors(validator, lb_data) != []  # weights only with weighted_round_robin
    lb.pop("weights")
    lb.update(tls={"round_trips": 1, "cpu_s": 0.001})
    assert _schema_errors(validator, lb_data) != []  # no CPU model on a balancer
    for data in (lb_data,):
        with pytest.raises(ScenarioError):
            parse_scenario(copy.deepcopy(data))


def test_weights_keyed_by_a_bad_id_fail_the_schema(
    validator: jsonschema.Draft202012Validator, lb_data: dict[str, Any]
) -> None:
    lb = nodes(lb_data)["load_balancer"]
    lb.update(algorithms="weighted_round_robin", weights={"srv-1": 1, "srv-2": 1, "+x": 1})
    assert _schema_errors(validator, lb_data) != []
    lb["weights"].pop("+x")
    assert _schema_errors(validator, lb_data) == []


# --------------------------------------------------------------------------- descriptions


def _properties(schema: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every property schema in the document, with a readable path."""
    if isinstance(schema, dict):
        for name, prop in schema.get("properties", {}).items():
            yield f"{path}.{name}", prop
        for key, value in schema.items():
            yield from _properties(value, f"{path}/{key}")
    elif isinstance(schema, list):
        for i, item in enumerate(schema):
            yield from _properties(item, f"{path}[{i}]")


def test_every_schema_property_has_a_description() -> None:
    schema = scenario_json_schema()
    found = list(_properties(schema))
    assert len(found) > 80
    missing = [path for path, prop in found if not prop.get("description") and "$ref" not in prop]
    # a property that only narrows a branch (kind/step_operation of a step) may go bare
    missing = [path for path in missing if "/anyOf" not in path and "/allOf" not in path]
    assert missing == []


def _models(root: type[BaseModel]) -> list[type[BaseModel]]:
    seen: list[type[BaseModel]] = []
    todo = [root]
    while todo:
        model = todo.pop()
        if model in seen:
            continue
        seen.append(model)
        for field in model.model_fields.values():
            todo.extend(_nested_models(field.annotation))
    return seen


def _nested_models(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _nested_models(arg)]


def _is_numeric(annotation: Any) -> bool:
    if annotation in (int, float):
        return True
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _is_numeric(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return any(_is_numeric(arg) for arg in typing.get_args(annotation))
    return False


UNITS = (
    "seconds",
    "s²",
    " MB",
    " KB",
    "Mbit/s",
    "users",
    "requests per minute",
    "connections",
    "cores",
    "round trips",
    "Probability",
    "no unit",
    "a count",
    "64-bit",
    "currency per",
    "per second",
)


def test_every_model_field_has_a_description_and_numbers_a_unit() -> None:
    models = _models(Scenario)
    assert len(models) >= 19
    undocumented, unitless = [], []
    for model in models:
        for name, field in model.model_fields.items():
            text = field.description or ""
            if len(text) < 10:
                undocumented.append(f"{model.__name__}.{name}")
            elif _is_numeric(field.annotation) and not any(u in text for u in UNITS):
                unitless.append(f"{model.__name__}.{name}: {text}")
    assert undocumented == []
    assert unitless == []
