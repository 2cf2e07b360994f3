"""Endpoints compiled into flat programs of operations.

An endpoint's steps become a list of :class:`Op`: consecutive CPU steps
merge into one CPU operation (a core runs them without yielding the event
loop), consecutive I/O steps into one I/O operation; a call or parallel step
is one ``CALL`` operation, a ``db_query`` one ``CALL`` operation per
repetition; a ``cache_get`` is a ``CACHE`` operation (a call to a remote
cache, or a local lookup) followed by its ``on_miss`` operations and a
``FILL`` operation, a hit jumping past them; a branch becomes a ``BRANCH`` operation that
jumps to the first operation of the arm drawn, each arm ending with a
``JUMP`` past the others. RAM steps are not operations: their total is
reserved when the request is admitted.

The random durations and choices of a program are columns of a per-request
:class:`~asyncflow.engine.streams.WorkTable` (see ``sites.Plan``); constant
durations are kept in the operation and cost no draw.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from asyncflow.engine.sampling import block_drawer
from asyncflow.engine.streams import ColumnMaker, uniform_column

if TYPE_CHECKING:
    from asyncflow.scenario import Distribution, Step

CPU_OP: Final = 0
IO_OP: Final = 1
CALL_OP: Final = 2
END_OP: Final = 3
BRANCH_OP: Final = 4  # control operations come last: ``kind >= BRANCH_OP``
JUMP_OP: Final = 5
CACHE_OP: Final = 6  # a cache lookup: remote (a call) or local; a hit jumps to ``to``
FILL_OP: Final = 7  # the end of a cache miss's fallback: the key fills the cache

KIB: Final = 1024.0  # bytes in the KB of request_kb / response_kb


class Op:
    """One operation of a program.

    Attributes:
        kind: ``CPU_OP``, ``IO_OP``, ``CALL_OP``, ``BRANCH_OP``, ``JUMP_OP``, ``CACHE_OP``,
            ``FILL_OP`` or ``END_OP``.
        fixed: A CPU or I/O duration that is constant, else -1.
        column: The work-table column of a random duration or of a branch's
            uniform draw, else -1.
        calls: For ``CALL_OP``: the calls made, as ``(target, endpoint)``.
        need: For ``CALL_OP``: answers that finish the step.
        arms: For ``BRANCH_OP``: ``(cumulative probability, first op)`` per arm.
        to: For ``JUMP_OP``: the operation to go to; for ``CACHE_OP`` and
            ``FILL_OP``: the operation after the fill (where a hit goes on).
        cache: For ``CACHE_OP`` and ``FILL_OP``: the cache's id.
        local: For ``CACHE_OP``: whether the cache is in the server's process.
        store: For ``CACHE_OP`` and ``FILL_OP``: the cache's runtime model
            (set when the server is wired).
    """

    __slots__ = (
        "arms",
        "cache",
        "calls",
        "column",
        "fixed",
        "kind",
        "local",
        "need",
        "store",
        "to",
    )

    def __init__(self, kind: int) -> None:
        self.kind = kind
        self.fixed = -1.0
        self.column = -1
        self.calls: tuple[tuple[str, str | None], ...] = ()
        self.need = 0
        self.arms: tuple[tuple[float, int], ...] = ()
        self.to = -1
        self.cache = ""
        self.local = False
        self.store: Any = None

    def __repr__(self) -> str:
        names = ("cpu", "io", "call", "end", "branch", "jump", "cache", "fill")
        return f"Op({names[self.kind]}, fixed={self.fixed}, column={self.column})"


@dataclass(frozen=True, slots=True)
class Program:
    """An endpoint compiled: its operations and the columns of its per-request draws.

    Attributes:
        name: The endpoint's name.
        index: Its index among its server's endpoints.
        weight: Its selection weight when the caller names no endpoint.
        ram_mb: RAM reserved for the whole time a request is inside.
        ops: The operations, ending with ``END_OP``.
        columns: How to draw each work-table column.
        signature: Text identifying the draws, so that endpoints drawing the
            same way (replicas) share one table.
        request_bytes, response_bytes: Body sizes (links with a bandwidth).
    """

    name: str
    index: int
    weight: float
    ram_mb: float
    ops: tuple[Op, ...]
    columns: tuple[ColumnMaker, ...]
    signature: str
    request_bytes: float = 0.0
    response_bytes: float = 0.0


def shared_key(program: Program) -> tuple[Any, ...] | None:
    """What makes two programs run the same, or None when one must stay a server's own.

    Programs with the same key draw the same way (their ``signature``) and
    do the same operations, so a site can give every server that compiled
    such a program one plan. A program that makes calls or uses a cache is
    its server's own: its calls are that server's, its cache model is set
    on its operations.
    """
    if any(op.kind in (CALL_OP, CACHE_OP, FILL_OP) for op in program.ops):
        return None
    ops = tuple((op.kind, op.fixed, op.column, op.arms, op.to) for op in program.ops)
    return (
        program.name,
        program.index,
        program.weight,
        program.ram_mb,
        program.signature,
        program.request_bytes,
        program.response_bytes,
        ops,
    )


@dataclass(slots=True)
class _Builder:
    ops: list[Op] = field(default_factory=list)
    columns: list[ColumnMaker] = field(default_factory=list)
    signature: list[str] = field(default_factory=list)
    local: dict[str, float] = field(default_factory=dict)

    def duration(self, kind: int, steps: Sequence[Distribution]) -> None:
        op = Op(kind)
        if all(d.distribution == "deterministic" for d in steps):
            op.fixed = sum(d.moments()[0] for d in steps)
        else:
            op.column = len(self.columns)
            self.columns.append(_summed(steps))
            self.signature.append(repr([_described(d) for d in steps]))
        self.ops.append(op)


def _described(dist: Distribution) -> dict[str, Any]:
    """The distribution's fields, as the key of its random stream.

    Keys added to distributions later (``quantiles``) are left out while
    unset, so that every stream keeps the values it drew before they existed.
    """
    fields = dist.model_dump()
    if fields.get("quantiles") is None:
        fields.pop("quantiles", None)
    return fields


def _summed(steps: Sequence[Distribution]) -> ColumnMaker:
    """A column whose values are the sum of one draw of each step."""
    frozen = tuple(steps)

    def make(rng: np.random.Generator) -> Callable[[int], np.ndarray]:
        drawers = [block_drawer(d, rng) for d in frozen]

        def draw(n: int) -> np.ndarray:
            total = drawers[0](n)
            for drawer in drawers[1:]:
                total = total + drawer(n)
            return np.asarray(total, dtype=np.float64)

        return draw

    return make


def compile_steps(
    steps: Sequence[Step],
    prefix_cpu: Distribution | None = None,
    local_caches: Mapping[str, float] | None = None,
) -> tuple[tuple[Op, ...], tuple[ColumnMaker, ...], str]:
    """Compile steps into operations, their work columns and their signature.

    ``prefix_cpu`` is CPU work done before the steps (a TLS handshake);
    ``local_caches`` are the server's own caches: id → CPU seconds of a lookup.
    """
    builder = _Builder(local=dict(local_caches or {}))
    _emit(builder, steps, [prefix_cpu] if prefix_cpu is not None else [])
    builder.ops.append(Op(END_OP))
    return tuple(builder.ops), tuple(builder.columns), "|".join(builder.signature)


def _emit(builder: _Builder, steps: Sequence[Step], run: list[Distribution]) -> None:
    """Append the operations of ``steps``; ``run`` is CPU work to start with."""
    run_kind = CPU_OP
    for step in steps:
        category = step.category
        if category == "ram":
            continue
        if category in ("cpu", "io"):
            kind = CPU_OP if category == "cpu" else IO_OP
            if run and kind != run_kind:
                builder.duration(run_kind, run)
                run = []
            run_kind = kind
            run.append(step.duration)
            continue
        if run:
            builder.duration(run_kind, run)
            run = []
        if category == "call":
            op = Op(CALL_OP)
            op.calls = step.calls
            op.need = step.need
            builder.ops.append(op)
        elif category == "db":
            query = step.db_query
            for _ in range(query.repeat):
                op = Op(CALL_OP)
                op.calls = ((query.database, query.query),)
                op.need = 1
                builder.ops.append(op)
        elif category == "cache":
            _cache_get(builder, step)
        else:
            _branch(builder, step.arms)
    if run:
        builder.duration(run_kind, run)


def _cache_get(builder: _Builder, step: Step) -> None:
    """A ``CACHE_OP`` on a uniform draw, the miss's operations, a ``FILL_OP``."""
    spec = step.cache_get
    local = spec.cache in builder.local
    if local and builder.local[spec.cache] > 0.0:
        cpu = Op(CPU_OP)  # an in-process lookup costs CPU time
        cpu.fixed = builder.local[spec.cache]
        builder.ops.append(cpu)
    lookup = Op(CACHE_OP)
    lookup.cache = spec.cache
    lookup.local = local
    lookup.column = len(builder.columns)
    builder.columns.append(uniform_column)
    builder.signature.append(f"cache:{spec.cache}")
    if not local:
        lookup.calls = ((spec.cache, "get"),)
        lookup.need = 1
    builder.ops.append(lookup)
    _emit(builder, spec.on_miss, [])
    fill = Op(FILL_OP)
    fill.cache = spec.cache
    fill.column = lookup.column
    builder.ops.append(fill)
    lookup.to = fill.to = len(builder.ops)


def _branch(builder: _Builder, arms: Sequence[tuple[float, Sequence[Step]]]) -> None:
    """A ``BRANCH_OP`` on a uniform draw, each arm's operations, jumps past the others."""
    branch = Op(BRANCH_OP)
    branch.column = len(builder.columns)
    builder.columns.append(uniform_column)
    builder.signature.append("branch")
    builder.ops.append(branch)
    starts: list[int] = []
    jumps: list[Op] = []
    for _, arm in arms:
        starts.append(len(builder.ops))
        _emit(builder, arm, [])
        jump = Op(JUMP_OP)
        jumps.append(jump)
        builder.ops.append(jump)
    end = len(builder.ops)
    for jump in jumps:
        jump.to = end
    total = sum(p for p, _ in arms)
    cumulative = 0.0
    limits = []
    for p, _ in arms:
        cumulative += p / total
        limits.append(cumulative)
    limits[-1] = 1.0  # rounding must never leave a draw without an arm
    branch.arms = tuple(zip(limits, starts, strict=True))


def compile_endpoint(
    index: int,
    spec: Any,
    prefix_cpu: Distribution | None = None,
    local_caches: Mapping[str, float] | None = None,
) -> Program:
    """Compile one endpoint of a server (``local_caches``: its own caches' lookup CPU)."""
    ops, columns, signature = compile_steps(spec.steps, prefix_cpu, local_caches)
    return Program(
        name=spec.endpoint_name,
        index=index,
        weight=spec.weight,
        ram_mb=float(spec.ram_mb),
        ops=ops,
        columns=columns,
        signature=signature,
        request_bytes=spec.request_kb * KIB,
        response_bytes=spec.response_kb * KIB,
    )


def uniform_columns(count: int) -> tuple[ColumnMaker, ...]:
    """``count`` columns of uniform draws."""
    return (uniform_column,) * count
