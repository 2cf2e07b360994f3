"""Endpoints and their steps: what a request does on a server, in order.

A step is one operation (CPU, I/O, RAM, a call, calls in parallel, a
branch, a database query, a cache lookup), told apart by its ``kind``; an
endpoint is a named list of steps. Re-exported by :mod:`asyncflow.scenario.models`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Annotated, Any, Final, Literal, Self

from pydantic import (
    Discriminator,
    Field,
    Tag,
    ValidationError,
    model_validator,
)

from asyncflow.scenario._base import (
    NO_VALUE,
    FrozenModel,
    Loc,
    Problem,
    raise_problems,
    relocate,
)
from asyncflow.scenario._types import EndpointName, Identifier, Number
from asyncflow.scenario.calls import CallTarget, ParallelCalls
from asyncflow.scenario.datastores import (
    DbQuery,
)
from asyncflow.scenario.distributions import (
    DURATION_RULE,
    Distribution,
    Duration,
    as_duration_input,
)
from asyncflow.scenario.limits import (
    ID_CHARACTERS,
    MAX_BODY_KB,
    MAX_RAM_MB,
    MAX_WEIGHT,
)

__all__ = ["BranchArm", "CacheGet", "Endpoint", "Step"]

# --------------------------------------------------------------------------- endpoints

StepKind = Literal[
    "initial_parsing",
    "cpu_bound_operation",
    "io_task_spawn",
    "io_llm",
    "io_wait",
    "io_db",
    "io_cache",
    "ram",
    "call",
    "parallel",
    "branch",
    "db_query",
    "cache_get",
]
StepOperationName = Literal[
    "cpu_time",
    "io_waiting_time",
    "necessary_ram",
    "call",
    "parallel",
    "branch",
    "db_query",
    "cache_get",
]

_CPU_KINDS: Final = frozenset({"initial_parsing", "cpu_bound_operation"})
_OPERATION_OF: Final[dict[str, str]] = {
    "initial_parsing": "cpu_time",
    "cpu_bound_operation": "cpu_time",
    "io_task_spawn": "io_waiting_time",
    "io_llm": "io_waiting_time",
    "io_wait": "io_waiting_time",
    "io_db": "io_waiting_time",
    "io_cache": "io_waiting_time",
    "ram": "necessary_ram",
    "call": "call",
    "parallel": "parallel",
    "branch": "branch",
    "db_query": "db_query",
    "cache_get": "cache_get",
}
_STRUCTURED: Final = frozenset({"call", "parallel", "branch", "db_query", "cache_get"})
_ID_TEXT: Final = f"An id of {ID_CHARACTERS}."
DURATION_TAG: Final = "<duration>"
NUMBER_TAG: Final = "<number>"
CALL_TAG: Final = "<call>"
PARALLEL_TAG: Final = "<parallel>"
BRANCH_TAG: Final = "<branch>"
DB_QUERY_TAG: Final = "<db_query>"
CACHE_GET_TAG: Final = "<cache_get>"


def _step_value_tag(value: Any) -> str:
    # Calls, parallel calls and branches arrive as models: Step._check_operation
    # validated them by their kind, so that their errors name their own keys.
    if isinstance(value, CallTarget):
        return CALL_TAG
    if isinstance(value, ParallelCalls):
        return PARALLEL_TAG
    if isinstance(value, DbQuery):
        return DB_QUERY_TAG
    if isinstance(value, CacheGet):
        return CACHE_GET_TAG
    if isinstance(value, tuple | list):
        return BRANCH_TAG
    return DURATION_TAG if isinstance(value, Mapping | Distribution) else NUMBER_TAG


StepValue = Annotated[
    Annotated[Duration, Tag(DURATION_TAG)]
    | Annotated[Number, Field(gt=0, le=MAX_RAM_MB.value), Tag(NUMBER_TAG)]
    | Annotated[CallTarget, Tag(CALL_TAG)]
    | Annotated[ParallelCalls, Tag(PARALLEL_TAG)]
    | Annotated[tuple["BranchArm", ...], Tag(BRANCH_TAG)]
    | Annotated[DbQuery, Tag(DB_QUERY_TAG)]
    | Annotated["CacheGet", Tag(CACHE_GET_TAG)],
    Discriminator(_step_value_tag),
]


class Step(FrozenModel):
    """One step of an endpoint: CPU work, an I/O wait, a RAM reservation, calls or a branch."""

    kind: StepKind = Field(
        description="What the step does: initial_parsing and cpu_bound_operation hold a "
        "core; io_task_spawn, io_llm, io_wait, io_db and io_cache release it and wait; "
        "ram reserves memory while the request is in the server; call sends a call to "
        "another node and awaits its answer (holding RAM, not a core); parallel sends "
        "several calls at once; branch runs one of several lists of steps at random; "
        "db_query runs a query of a database (over the network, through the server's pool "
        "to it when it has one); cache_get looks a key up in a cache and runs its on_miss "
        "steps when it misses."
    )
    step_operation: dict[StepOperationName, StepValue] = Field(
        description="Exactly one key, the one of the kind: cpu_time (seconds of CPU, a "
        "duration), io_waiting_time (seconds of waiting, a duration), necessary_ram (MB, "
        "a number), call ({target, endpoint}), parallel ({calls, wait}), branch (a "
        "list of {probability, steps}), db_query ({database, query, repeat}) or cache_get "
        "({cache, on_miss})."
    )

    @model_validator(mode="before")
    @classmethod
    def _check_operation(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        kind, operation = data.get("kind"), data.get("step_operation")
        expected = _OPERATION_OF.get(kind) if isinstance(kind, str) else None
        if expected is None or not isinstance(operation, Mapping):
            return data
        if len(operation) != 1:
            rule = f"must have exactly one key, {expected!r} for kind {kind!r}"
            raise_problems([(("step_operation",), rule, dict(operation))], "Step")
        key, value = next(iter(operation.items()))
        if key != expected:
            rule = f"{key!r} does not fit kind {kind!r} (expected {expected!r})"
            raise_problems([(("step_operation", str(key)), rule, NO_VALUE)], "Step")
        if key == "necessary_ram":
            if isinstance(value, Mapping | list | tuple):
                rule = "must be a number of MB"
                shown = dict(value) if isinstance(value, Mapping) else value
                raise_problems([(("step_operation", key), rule, shown)], "Step")
            return data
        if key in _STRUCTURED:
            return {**data, "step_operation": {key: _structured(key, value)}}
        value = as_duration_input(value)
        if not isinstance(value, Mapping | Distribution):
            raise_problems([(("step_operation", key), DURATION_RULE, value)], "Step")
        return {**data, "step_operation": {key: value}}

    @property
    def category(self) -> Literal["cpu", "io", "ram", "call", "branch", "db", "cache"]:
        """``cpu``, ``io``, ``ram``, ``call`` (call, parallel), ``branch``, ``db`` or ``cache``."""
        if self.kind == "ram":
            return "ram"
        if self.kind == "db_query":
            return "db"
        if self.kind == "cache_get":
            return "cache"
        if self.kind in ("call", "parallel"):
            return "call"
        if self.kind == "branch":
            return "branch"
        return "cpu" if self.kind in _CPU_KINDS else "io"

    @property
    def calls(self) -> tuple[tuple[str, str | None], ...]:
        """The ``(target, endpoint)`` of each call a call or parallel step sends."""
        value = next(iter(self.step_operation.values()))
        if isinstance(value, CallTarget):
            return ((value.target, value.endpoint),)
        if isinstance(value, ParallelCalls):
            return tuple((c.target, c.endpoint) for c in value.calls)
        return ()

    @property
    def need(self) -> int:
        """Answers that finish a call or parallel step (0 for other steps)."""
        value = next(iter(self.step_operation.values()))
        if isinstance(value, CallTarget):
            return 1
        if isinstance(value, ParallelCalls):
            return value.need
        return 0

    @property
    def arms(self) -> tuple[tuple[float, tuple[Step, ...]], ...]:
        """The ``(probability, steps)`` of each arm of a branch step."""
        value = next(iter(self.step_operation.values()))
        if isinstance(value, tuple) and value and isinstance(value[0], BranchArm):
            return tuple((arm.probability, arm.steps) for arm in value)
        return ()

    @property
    def db_query(self) -> DbQuery:
        """What a db_query step runs.

        Raises:
            TypeError: For another step.
        """
        value = next(iter(self.step_operation.values()))
        if not isinstance(value, DbQuery):
            raise TypeError(f"a {self.kind!r} step runs no query")
        return value

    @property
    def cache_get(self) -> CacheGet:
        """What a cache_get step looks up.

        Raises:
            TypeError: For another step.
        """
        value = next(iter(self.step_operation.values()))
        if not isinstance(value, CacheGet):
            raise TypeError(f"a {self.kind!r} step looks nothing up")
        return value

    @property
    def duration(self) -> Distribution:
        """The CPU time or I/O wait of a cpu or io step.

        Raises:
            TypeError: For a ram step.
        """
        value = next(iter(self.step_operation.values()))
        if not isinstance(value, Distribution):
            raise TypeError(f"a {self.kind!r} step has no duration")
        return value

    @property
    def ram_mb(self) -> float:
        """The MB reserved by a ram step.

        Raises:
            TypeError: For a cpu or io step.
        """
        value = next(iter(self.step_operation.values()))
        if not isinstance(value, int | float):
            raise TypeError(f"a {self.kind!r} step reserves no RAM")
        return float(value)


class BranchArm(FrozenModel):
    """One arm of a branch: the steps run with its probability."""

    probability: Number = Field(
        gt=0,
        description="Probability (0 to 1) that a request runs this arm; the arms' "
        "probabilities add up to 1.",
    )
    steps: tuple[Step, ...] = Field(
        default=(),
        description="The steps of the arm, run in order (no ram step: RAM is reserved "
        "when a request is admitted, before any branch is drawn).",
    )

    @model_validator(mode="after")
    def _check_arm(self) -> Self:
        problems: list[Problem] = []
        if self.probability > 1:
            problems.append((("probability",), "must be <= 1 (a probability)", self.probability))
        for i, step in enumerate(self.steps):
            if step.category == "ram":
                rule = "a ram step cannot be in a branch: RAM is reserved before any branch"
                problems.append((("steps", i, "kind"), rule, step.kind))
        if problems:
            raise_problems(problems, "BranchArm")
        return self


_ARMS_SUM_TOLERANCE: Final = 1e-9


def _structured(key: str, value: Any) -> Any:
    """Validate the value of a structured step by its kind, errors in place."""
    if key == "call":
        return _within(("step_operation", key), CallTarget, value)
    if key == "db_query":
        return _within(("step_operation", key), DbQuery, value)
    if key == "cache_get":
        return _within(("step_operation", key), CacheGet, value)
    if key == "parallel":
        return _within(("step_operation", key), ParallelCalls, value)
    if not isinstance(value, list | tuple) or not value:
        rule = "must be a list of arms {probability, steps} (at least one)"
        raise_problems([(("step_operation", key), rule, value)], "Step")
    arms = tuple(_within(("step_operation", key, i), BranchArm, arm) for i, arm in enumerate(value))
    total = math.fsum(arm.probability for arm in arms)
    if abs(total - 1.0) > _ARMS_SUM_TOLERANCE:
        rule = f"the arms' probabilities must add up to 1 (they add up to {total:.12g})"
        raise_problems([(("step_operation", key), rule, NO_VALUE)], "Step")
    return arms


def _within(loc: Loc, model: type[FrozenModel], value: Any) -> Any:
    """``model`` validated from ``value``, its errors located under ``loc``."""
    try:
        return model.model_validate(value)
    except ValidationError as error:
        relocate(error, loc, "Step")


class CacheGet(FrozenModel):
    """What a ``cache_get`` step looks up, and what runs on a miss."""

    cache: Identifier = Field(
        description="The cache: a remote cache node, or a local cache of this server. " + _ID_TEXT
    )
    on_miss: tuple[Step, ...] = Field(
        default=(),
        description="Steps run when the lookup misses (typically a db_query): cpu, io and "
        "db_query steps only; when they are done the key fills the cache.",
    )

    @model_validator(mode="after")
    def _check_miss_steps(self) -> Self:
        problems: list[Problem] = []
        for i, step in enumerate(self.on_miss):
            if step.category not in ("cpu", "io", "db"):
                rule = "on_miss holds cpu, io and db_query steps only"
                problems.append((("on_miss", i, "kind"), rule, step.kind))
        if problems:
            raise_problems(problems, "CacheGet")
        return self


Step.model_rebuild()


class Endpoint(FrozenModel):
    """An endpoint of a server: a named pipeline of steps."""

    endpoint_name: EndpointName = Field(
        description="Name of the endpoint (such as /api), lower-cased; unique within "
        "the server. " + _ID_TEXT
    )
    probability: Number | None = Field(
        default=None,
        gt=0,
        le=MAX_WEIGHT.value,
        description="Selection weight (no unit) relative to the server's other "
        "endpoints; unset: 1.",
    )
    steps: tuple[Step, ...] = Field(default=(), description="The steps, run in order.")
    request_kb: Number = Field(
        default=0.0,
        ge=0,
        le=MAX_BODY_KB.value,
        description="Size of the request body, in KB, sent through the bandwidth of "
        "the edge into the server.",
    )
    response_kb: Number = Field(
        default=0.0,
        ge=0,
        le=MAX_BODY_KB.value,
        description="Size of the response body, in KB, sent through the bandwidth of "
        "the edge out of the server.",
    )

    @property
    def weight(self) -> float:
        """The selection weight (``probability``, or 1 when not given)."""
        return 1.0 if self.probability is None else self.probability

    @property
    def ram_mb(self) -> float:
        """Total MB reserved by this endpoint's ram steps."""
        return sum(step.ram_mb for step in self.steps if step.category == "ram")
