"""The JSON Schema of scenario files (``asyncflow schema``), for editors and checkers.

Pydantic writes the schema of the models; this module adds what the models
accept beyond their own shape, so that the schema accepts every file that
``asyncflow validate`` accepts and refuses what it can express of the rest:

* durations, user counts and request rates as a number or a distribution
  mapping whose ``distribution`` may be left out (exponential for durations,
  poisson for counts), with the families and keys each one allows;
* a step's ``step_operation`` key chosen by its ``kind``;
* ``events: null`` and users-profile points written as ``[t_s, users]``;
* the draft (2020-12) and an ``$id``.

Rules between several numbers (a variance against its mean, the expected
number of requests, the graph) are beyond JSON Schema: ``validate`` checks them.
"""

from __future__ import annotations

import copy
from typing import Any, Final

from asyncflow.scenario._base import DEF_MARKER
from asyncflow.scenario.distributions import DURATION_FAMILIES
from asyncflow.scenario.limits import (
    MAX_DURATION_S,
    MAX_EMPIRICAL_VALUES,
    MAX_RAM_MB,
    MAX_RATE_PER_USER,
    MAX_USERS,
    MIN_DURATION_S,
)
from asyncflow.scenario.models import Scenario
from asyncflow.scenario.quantiles import MAX_QUANTILE_POINTS

__all__ = ["SCHEMA_DIALECT", "SCHEMA_ID", "scenario_json_schema"]

SCHEMA_DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_ID: Final = "urn:asyncflow:scenario:0.2"

JsonSchema = dict[str, Any]

_CPU_KINDS: Final = ["initial_parsing", "cpu_bound_operation"]
_IO_KINDS: Final = ["io_task_spawn", "io_llm", "io_wait", "io_db", "io_cache"]
_FIXED_VARIANCE: Final = ["deterministic", "exponential", "poisson"]


def scenario_json_schema() -> JsonSchema:
    """Return the JSON Schema (draft 2020-12) of a scenario file.

    Returns:
        A JSON-serialisable dict; ``$defs`` hold the nested parts.
    """
    schema: JsonSchema = Scenario.model_json_schema(mode="validation")
    defs: dict[str, JsonSchema] = schema["$defs"]
    defs.pop("Distribution", None)
    defs["Duration"] = _duration()
    defs["UserCount"] = _count(
        "Active users (users): a number (a constant) or a distribution mapping; without "
        "distribution it is poisson.",
        families=["poisson", "normal", "deterministic"],
        minimum={"minimum": 0},
        maximum=MAX_USERS.value,
        variance=True,
    )
    defs["RequestRate"] = _count(
        "Requests per minute per user: a number (a constant) or a distribution mapping "
        "of which only the mean is used; without distribution it is poisson.",
        families=["poisson", "deterministic"],
        minimum={"exclusiveMinimum": 0},
        maximum=MAX_RATE_PER_USER.value,
        variance=False,
    )
    defs["Step"] = _step(defs["Step"])
    _add_pairings(defs)
    defs["ProfilePoint"] = _profile_point(defs["ProfilePoint"])
    events = schema["properties"]["events"]
    schema["properties"]["events"] = {
        "anyOf": [{key: v for key, v in events.items() if key != "description"}, {"type": "null"}],
        "default": [],
        "description": events["description"],
    }
    # One workload key or the other, not both; one balancer key or the other.
    schema["anyOf"] = [{"required": ["rqs_input"]}, {"required": ["workloads"]}]
    schema["not"] = {"required": ["rqs_input", "workloads"]}
    defs["Nodes"]["not"] = {"required": ["load_balancer", "load_balancers"]}
    schema = _resolve_markers(schema)
    return {
        "$schema": SCHEMA_DIALECT,
        "$id": SCHEMA_ID,
        "title": "AsyncFlow scenario",
        "description": "A scenario for the AsyncFlow simulator: workloads (rqs_input, or "
        "workloads for several request classes), topology (topology_graph), run settings "
        "(sim_settings) and injected faults (events). AsyncFlow 0.1 files are valid.",
        **{key: value for key, value in schema.items() if key not in ("title", "description")},
    }


def _resolve_markers(value: Any) -> Any:
    """Turn ``{DEF_MARKER: name}`` placeholders into ``$ref``; close id-keyed mappings."""
    if isinstance(value, dict):
        resolved = {key: _resolve_markers(item) for key, item in value.items()}
        if "patternProperties" in resolved:  # keys must match too (mappings keyed by id)
            resolved.setdefault("additionalProperties", False)
        name = resolved.pop(DEF_MARKER, None)
        return {"$ref": f"#/$defs/{name}", **resolved} if name is not None else resolved
    if isinstance(value, list):
        return [_resolve_markers(item) for item in value]
    return value


def _number(
    description: str, bounds: dict[str, float] | None = None, *, nullable: bool = False
) -> JsonSchema:
    kind: str | list[str] = ["number", "null"] if nullable else "number"
    return {"type": kind, **(bounds or {}), "description": description}


def _is(kind: str, *keys: str) -> JsonSchema:
    """Each of ``keys`` is absent or of JSON type ``kind`` (``null``: absent or null)."""
    return {"properties": {key: {"type": kind} for key in keys}}


def _given(*keys: str) -> JsonSchema:
    """Each of ``keys`` is present and not null."""
    not_null = {key: {"not": {"type": "null"}} for key in keys}
    return {"required": list(keys), "properties": not_null}


def _duration() -> JsonSchema:
    mean_bounds = {"minimum": MIN_DURATION_S.value, "maximum": MAX_DURATION_S.value}
    mapping: JsonSchema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "distribution": {
                "enum": [*DURATION_FAMILIES, "poisson"],
                "default": "exponential",
                "description": "The family; poisson is read as exponential. Left out: exponential.",
            },
            "mean": _number("Mean of the samples, in seconds.", mean_bounds, nullable=True),
            "variance": _number(
                "Variance of the samples, in s² (normal, log_normal, uniform, gamma).",
                {"minimum": 0},
                nullable=True,
            ),
            "values": {
                "type": ["array", "null"],
                "items": {"type": "number", "minimum": 0},
                "minItems": 1,
                "maxItems": MAX_EMPIRICAL_VALUES.value,
                "description": "Observed durations in seconds, resampled (empirical only).",
            },
            "quantiles": {
                "type": ["object", "null"],
                "propertyNames": {"pattern": _QUANTILE_KEY},
                "additionalProperties": {"type": "number", "minimum": 0},
                "minProperties": 1,
                "maxProperties": MAX_QUANTILE_POINTS,
                "description": "Percentiles of the duration in seconds, keyed p<percent> "
                "(p50, p99.9), with optional min and max (quantiles only); linear between "
                "points, an exponential tail above the highest percentile unless max is given.",
            },
        },
        "allOf": [
            {
                "if": _family_is(["empirical"]),
                "then": {
                    "allOf": [_given("values"), _is("null", "mean", "variance", "quantiles")]
                },
                "else": {
                    "if": _family_is(["quantiles"]),
                    "then": {
                        "allOf": [_given("quantiles"), _is("null", "mean", "variance", "values")]
                    },
                    "else": {"allOf": [_given("mean"), _is("null", "values", "quantiles")]},
                },
            },
            {"if": _family_is(["gamma"]), "then": _given("variance")},
            {
                "if": {"properties": {"distribution": {"enum": _FIXED_VARIANCE}}},
                "then": _is("null", "variance"),
            },
        ],
        "description": "A distribution of durations given by the mean (and variance) of "
        "its samples, in seconds.",
    }
    return {
        "anyOf": [_number("A constant duration, in seconds.", mean_bounds), mapping],
        "description": "A duration in seconds: a number (a constant) or a distribution "
        "mapping (without distribution: exponential).",
    }


_QUANTILE_KEY = r"^(min|max|p(?=[0-9.]*[1-9])[0-9]{1,2}(\.[0-9]+)?)$"
"""Keys of a quantile law: min, max, or p<percent> with 0 < percent < 100."""


def _family_is(families: list[str]) -> JsonSchema:
    return {"required": ["distribution"], "properties": {"distribution": {"enum": families}}}


def _count(
    description: str,
    *,
    families: list[str],
    minimum: dict[str, float],
    maximum: float,
    variance: bool,
) -> JsonSchema:
    unit = "users" if variance else "requests per minute"
    unused = "Not used by this count: only null is accepted."
    properties: JsonSchema = {
        "distribution": {
            "enum": families,
            "default": "poisson",
            "description": "The family; left out: poisson.",
        },
        "mean": _number(f"Mean, in {unit}.", {**minimum, "maximum": maximum}),
        "variance": {"type": "null", "description": unused},
        "values": {"type": "null", "description": unused},
    }
    mapping: JsonSchema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["mean"],
        "properties": properties,
        "description": f"A distribution of {unit} given by its mean.",
    }
    if variance:
        properties["variance"] = _number(
            f"Variance, in {unit}² (normal only; left out: the mean).",
            {"minimum": 0, "maximum": maximum * maximum},
            nullable=True,
        )
        mapping["if"] = {"properties": {"distribution": {"enum": ["poisson", "deterministic"]}}}
        mapping["then"] = _is("null", "variance")
    return {
        "anyOf": [_number(f"A constant, in {unit}.", {**minimum, "maximum": maximum}), mapping],
        "description": description,
    }


def _when(key: str, values: list[Any], then: JsonSchema) -> JsonSchema:
    return {"if": {"required": [key], "properties": {key: {"enum": values}}}, "then": then}


def _add_pairings(defs: dict[str, JsonSchema]) -> None:
    """Rules between the keys of one mapping that JSON Schema can say."""
    defs["EventStart"]["allOf"] = [
        _when("kind", ["network_spike_start"], _given("spike_s")),
        _when("kind", ["server_down"], _is("null", "spike_s")),
    ]
    defs["Event"]["allOf"] = [
        {
            "if": {"properties": {"start": {"properties": {"kind": {"const": start}}}}},
            "then": {"properties": {"end": {"properties": {"kind": {"const": end}}}}},
        }
        for start, end in (
            ("server_down", "server_up"),
            ("network_spike_start", "network_spike_end"),
        )
    ]
    backlog = {
        "if": {"required": ["listen_backlog"], "properties": {"listen_backlog": {"minimum": 1}}},
        "then": _given("max_connections"),
    }
    defs["ServerResources"]["allOf"] = [backlog]
    defs["LoadBalancerResources"]["allOf"] = [backlog]
    defs["LoadBalancer"]["allOf"] = [
        {
            "if": {
                "properties": {"algorithms": {"const": "weighted_round_robin"}},
                "required": ["algorithms"],
            },
            "then": _given("weights"),
            "else": _is("null", "weights"),
        },
        {"properties": {"tls": {"anyOf": [{"type": "null"}, _is("null", "cpu_s")]}}},
    ]


def _step(generated: JsonSchema) -> JsonSchema:
    """A step whose ``step_operation`` key is the one of its ``kind``."""
    properties = generated["properties"]
    ram = _number(
        "RAM reserved while the request is in the server, in MB.",
        {"exclusiveMinimum": 0, "maximum": MAX_RAM_MB.value},
    )
    arms = {
        "type": "array",
        "minItems": 1,
        "items": {"$ref": "#/$defs/BranchArm"},
        "description": "The arms: {probability, steps}; the probabilities add up to 1.",
    }
    branches = [
        (_CPU_KINDS, "cpu_time", {"$ref": "#/$defs/Duration"}),
        (_IO_KINDS, "io_waiting_time", {"$ref": "#/$defs/Duration"}),
        (["ram"], "necessary_ram", ram),
        (["call"], "call", {"$ref": "#/$defs/CallTarget"}),
        (["parallel"], "parallel", {"$ref": "#/$defs/ParallelCalls"}),
        (["branch"], "branch", arms),
    ]
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["kind", "step_operation"],
        "properties": {
            "kind": properties["kind"],
            "step_operation": {
                "type": "object",
                "description": properties["step_operation"]["description"],
            },
        },
        "anyOf": [
            {
                "properties": {
                    "kind": {"enum": kinds},
                    "step_operation": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": [key],
                        "properties": {key: value},
                    },
                }
            }
            for kinds, key, value in branches
        ],
        "description": generated.get("description", ""),
    }


def _profile_point(generated: JsonSchema) -> JsonSchema:
    """A profile point as a mapping or as a ``[t_s, users]`` pair."""
    properties = generated["properties"]
    pair = {
        "type": "array",
        "prefixItems": [copy.deepcopy(properties["t_s"]), copy.deepcopy(properties["users"])],
        "minItems": 2,
        "maxItems": 2,
        "description": "[t_s, users]: seconds from the start, mean active users.",
    }
    mapping = {key: value for key, value in generated.items() if key != "description"}
    return {"anyOf": [mapping, pair], "description": generated.get("description", "")}
