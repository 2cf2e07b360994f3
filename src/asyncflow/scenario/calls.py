"""Calls between nodes: what a ``call`` or ``parallel`` step sends.

A call step sends one call and awaits its answer; a parallel step sends
several at once and awaits all of them, the first, or ``k`` of them (like
``asyncio.gather`` and ``asyncio.wait``). Calls go to a server or a load
balancer; the endpoint may be left out where every server that can answer
has exactly one.
"""

from __future__ import annotations

from typing import Final, Literal, Self

from pydantic import Field, model_validator

from asyncflow.scenario._base import FrozenModel, raise_problems
from asyncflow.scenario._types import EndpointName, Identifier, Integer
from asyncflow.scenario.limits import ID_CHARACTERS, MAX_PARALLEL_CALLS

__all__ = ["CallTarget", "ParallelCalls"]

_ID_TEXT: Final = f"An id of {ID_CHARACTERS}."


class CallTarget(FrozenModel):
    """One call: the node called and the endpoint it runs there."""

    target: Identifier = Field(
        description="The node called: a server, or a load balancer that hands the call to "
        "one of its servers. " + _ID_TEXT
    )
    endpoint: EndpointName | None = Field(
        default=None,
        description="The endpoint run at the target (lower-cased); left out: the target's "
        "only endpoint (every server behind a balancer must then have exactly one).",
    )


class ParallelCalls(FrozenModel):
    """Calls sent at once, and how many answers finish the step."""

    calls: tuple[CallTarget, ...] = Field(
        min_length=1,
        max_length=int(MAX_PARALLEL_CALLS.value),
        description="The calls, sent together when the step starts.",
    )
    wait: Literal["all", "first"] | Integer = Field(
        default="all",
        description="Answers that finish the step, a count: all of them, the first, or a "
        "number k (1 to the number of calls). Calls no longer needed are cancelled; the "
        "step fails when too many calls fail for it to finish.",
    )

    @model_validator(mode="after")
    def _check_wait(self) -> Self:
        if isinstance(self.wait, int) and not 1 <= self.wait <= len(self.calls):
            rule = f"must be 'all', 'first' or a number from 1 to {len(self.calls)} (the calls)"
            raise_problems([(("wait",), rule, self.wait)], "ParallelCalls")
        return self

    @property
    def need(self) -> int:
        """The number of answers that finish the step."""
        if self.wait == "all":
            return len(self.calls)
        if self.wait == "first":
            return 1
        return int(self.wait)
