"""Mutations of the bundled examples, and the check every mutant must pass.

Each bundled example is shortened (horizon 20 s, event times scaled with it)
so that a mutant that validates runs in a few tens of milliseconds. From each
one, every key is deleted in turn and every leaf is replaced in turn by each
value of :data:`REPLACEMENTS`. A mutant must either be refused with
``path: rule`` lines, one of them under the part that was changed, or run to
its horizon with every generated request accounted for. Anything else (a
traceback, a run that stops early, a hang past the time limit) is a failure.
"""

from __future__ import annotations

import copy
import math
import re
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

import asyncflow
from asyncflow.errors import ScenarioError
from asyncflow.scenario import parse_scenario

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(ROOT.glob("examples/**/*.yml"))
HORIZON_S = 20.0
RUN_LIMIT_S = 20.0  # wall-clock limit of one mutant (validation and run)
RUN_BUDGET = 50_000  # mutants expected to generate more requests are validated, not run

REPLACEMENTS: tuple[tuple[str, Any], ...] = (
    ("text", "fast"),
    ("-1", -1),
    ("0", 0),
    ("nan", math.nan),
    ("inf", math.inf),
    ("-inf", -math.inf),
    ("1e308", 1e308),
    ("1e40", 1e40),
    ("[]", []),
    ("null", None),
    ("true", True),
    ("false", False),
    ("400 digits", 10**400),
    ("markup", "srv[/]"),
)

BOUNDARY_REPLACEMENTS: tuple[tuple[str, Any], ...] = tuple(
    (repr(value), value) for value in (1e-9, 1e-6, 1e-3, 0.99, 1, 2, 10, 1024, 1e6, 1e7, 1e9, 2**63)
)
"""Values at or near the bounds: many are valid and run at the extremes."""

MORE_REPLACEMENTS: tuple[tuple[str, Any], ...] = (
    ("1e-300", 1e-300),
    ("5e-324", 5e-324),
    ("-0.0", -0.0),
    ("2**64", 2**64),
    ("numeric text", "1e3"),
    ("long text", "x" * 1000),
    ("empty text", ""),
    ("mapping", {"a": 1}),
    ("empty mapping", {}),
    ("nested list", [[]]),
    ("pair", [1, 2]),
    ("formula", "=1+1"),
    ("escape", "\x1b[31m"),
)

_RENAMES = frozenset({"text", "numeric text", "long text"})
Loc = tuple[str | int, ...]
_PATH = re.compile(r"^(<scenario>|[A-Za-z_][\w-]*(\[\d+\]|\['.*?'\]|\.[^\s:]+)*)(\.\.\.)?: \S")


@dataclass(frozen=True)
class Mutant:
    """One mutated example."""

    example: str
    loc: Loc
    change: str  # "delete" or the name of the replacement
    data: dict[str, Any]

    @property
    def label(self) -> str:
        where = ".".join(str(p) for p in self.loc)
        return f"{self.example}: {where} <- {self.change}"


def shortened(path: Path) -> dict[str, Any]:
    """An example with a horizon of :data:`HORIZON_S`, its events scaled to fit."""
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    settings = data["sim_settings"]
    factor = HORIZON_S / float(settings["total_simulation_time"])
    settings["total_simulation_time"] = HORIZON_S
    if "warm_up_s" in settings:
        settings["warm_up_s"] *= factor
    for event in data.get("events") or ():
        event["start"]["t_start"] *= factor
        if "end" in event:  # a cache flush has none
            event["end"]["t_end"] *= factor
    workloads = [data["rqs_input"]] if "rqs_input" in data else data["workloads"]
    for workload in workloads:
        for point in workload.get("users_profile") or ():
            point["t_s"] *= factor
        if "user_sampling_window" in workload:
            workload["user_sampling_window"] = min(workload["user_sampling_window"], HORIZON_S / 2)
    return data


def _nodes(value: Any, loc: Loc = ()) -> Iterator[tuple[Loc, Any]]:
    yield loc, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _nodes(item, (*loc, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _nodes(item, (*loc, i))


def _set(data: Any, loc: Loc, value: Any) -> None:
    for part in loc[:-1]:
        data = data[part]
    data[loc[-1]] = value


def _delete(data: Any, loc: Loc) -> None:
    for part in loc[:-1]:
        data = data[part]
    del data[loc[-1]]


VALUE_SETS: dict[str, tuple[tuple[str, Any], ...]] = {
    "junk": REPLACEMENTS,
    "more": REPLACEMENTS + MORE_REPLACEMENTS,
    "bounds": BOUNDARY_REPLACEMENTS,
}


@cache
def mutants(values: str = "junk", *, short: bool = True) -> tuple[Mutant, ...]:
    """Every mutant of every bundled example, in a fixed order.

    Args:
        values: Which of :data:`VALUE_SETS` replaces every leaf, in turn.
        short: Mutate the shortened examples (else the files as they are).
    """
    replacements = VALUE_SETS[values]
    found: list[Mutant] = []
    for path in EXAMPLES:
        base = shortened(path) if short else yaml.safe_load(path.read_text(encoding="utf-8"))
        name = path.name
        for loc, value in _nodes(base):
            if not loc:
                continue
            if isinstance(loc[-1], str):
                data = copy.deepcopy(base)
                _delete(data, loc)
                found.append(Mutant(name, loc, "delete", data))
            if isinstance(value, dict | list):
                continue
            for label, replacement in replacements:
                data = copy.deepcopy(base)
                _set(data, loc, replacement)
                found.append(Mutant(name, loc, label, data))
    return tuple(found)


class _TimeLimitError(Exception):
    """Raised by the time limit."""


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`_TimeLimitError` in the main thread after ``seconds`` (Unix; else no limit)."""
    if not hasattr(signal, "setitimer"):  # pragma: no cover - not on this platform
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise _TimeLimitError

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def check(mutant: Mutant, *, related: bool = True) -> str | None:
    """Validate and, if valid, run a mutant; return what went wrong, or ``None``.

    Args:
        mutant: The mutant.
        related: Also require a problem line under the part that was changed
            (right for junk values; a valid value elsewhere can break a rule
            between parts, such as an event ending after a shorter horizon).
    """
    try:
        with time_limit(RUN_LIMIT_S):
            return _check(mutant, related)
    except _TimeLimitError:
        return f"{mutant.label}: still running after {RUN_LIMIT_S:g} s"
    except Exception as exc:  # every other exception is a finding
        return f"{mutant.label}: {type(exc).__name__}: {str(exc)[:300]}"


def _check(mutant: Mutant, related: bool) -> str | None:
    try:
        scenario = parse_scenario(mutant.data, name=mutant.example)
    except ScenarioError as error:
        return _refusal_problem(mutant, error.problems, related)
    horizon = scenario.sim_settings.total_simulation_time
    expected = sum(workload.expected_requests(horizon) for workload in scenario.workload_list)
    if expected > RUN_BUDGET:
        return None  # valid, but too long a run for a test (the size of runs is bounded)
    summary = asyncflow.run(scenario, seed=1).summary()
    counts = summary["requests"]
    accounted = counts["completed"] + counts["failed"] + counts["in_flight"]
    if counts["generated"] != accounted:
        return f"{mutant.label}: generated {counts['generated']} != accounted {accounted}"
    if summary["simulated_s"] != horizon:
        return f"{mutant.label}: the run stopped at {summary['simulated_s']} of {horizon} s"
    return None


def _refusal_problem(mutant: Mutant, problems: tuple[str, ...], related: bool) -> str | None:
    if not problems:
        return f"{mutant.label}: refused without any problem line"
    unnamed = [line for line in problems if not _PATH.match(line)]
    if unnamed:
        return f"{mutant.label}: a problem line without a path: {unnamed[0]!r}"
    top = str(mutant.loc[0])
    if top == "workloads" and len(mutant.loc) == 1:
        top = "rqs_input"  # with neither, the problem is named as in 0.1
    if mutant.change in _RENAMES or not related:
        return None  # a valid new id: the problems are at the references to the old one
    if not any(line.startswith((top, "<scenario>")) for line in problems):
        return f"{mutant.label}: no problem under {top!r}: {problems[0]!r}"
    return None
