"""Injected faults: outages of servers, databases and caches, latency spikes, cache flushes."""

from __future__ import annotations

from typing import Final, Literal, Self

from pydantic import Field, model_validator

from asyncflow.scenario._base import NO_VALUE, FrozenModel, Problem, raise_problems
from asyncflow.scenario._types import Identifier, Number
from asyncflow.scenario.limits import MAX_DURATION_S, MAX_HORIZON_S

__all__ = ["Event", "EventEnd", "EventStart"]


_END_OF: Final[dict[str, str]] = {
    "server_down": "server_up",
    "network_spike_start": "network_spike_end",
}


class EventStart(FrozenModel):
    """Start of an injected event."""

    kind: Literal["server_down", "network_spike_start", "cache_flush"] = Field(
        description="server_down (an outage of a server, a database or a cache), "
        "network_spike_start (a latency spike) or cache_flush (a cache loses every item "
        "at t_start; it has no end)."
    )
    t_start: Number = Field(
        ge=0, le=MAX_HORIZON_S.value, description="Start time, in seconds from the start."
    )
    spike_s: Number | None = Field(
        default=None,
        gt=0,
        le=MAX_DURATION_S.value,
        description="Latency added to the edge, in seconds; required for "
        "network_spike_start, not allowed for server_down.",
    )

    @model_validator(mode="after")
    def _check_spike(self) -> Self:
        if self.kind == "network_spike_start" and self.spike_s is None:
            raise_problems([(("spike_s",), "required for network_spike_start", NO_VALUE)])
        if self.kind != "network_spike_start" and self.spike_s is not None:
            rule = f"not allowed for {self.kind}"
            raise_problems([(("spike_s",), rule, self.spike_s)])
        return self


class EventEnd(FrozenModel):
    """End of an injected event."""

    kind: Literal["server_up", "network_spike_end"] = Field(
        description="server_up after server_down, network_spike_end after network_spike_start."
    )
    t_end: Number = Field(
        le=MAX_HORIZON_S.value,
        description="End time, in seconds from the start: after t_start, at most "
        "total_simulation_time.",
    )


class Event(FrozenModel):
    """A fault injected for a window (an outage, a latency spike) or at an instant (a flush)."""

    event_id: Identifier = Field(description="Id of the event, unique among events.")
    target_id: Identifier = Field(
        description="The server, database or cache id of an outage, the edge id of a "
        "latency spike, the cache id (remote or local) of a flush."
    )
    start: EventStart = Field(description="When and how the event starts.")
    end: EventEnd | None = Field(
        default=None,
        description="When it ends; its kind pairs with the start's. Required, except for "
        "cache_flush, which has none.",
    )

    @model_validator(mode="after")
    def _check_pairing(self) -> Self:
        problems: list[Problem] = []
        if self.end is None or self.start.kind == "cache_flush":
            if self.end is None and self.start.kind != "cache_flush":
                problems.append((("end",), "required field missing", NO_VALUE))
            elif self.end is not None:
                rule = "not allowed for cache_flush (a flush happens at one instant)"
                problems.append((("end",), rule, NO_VALUE))
            if problems:
                raise_problems(problems, "Event")
            return self
        expected = _END_OF[self.start.kind]
        if self.end.kind != expected:
            rule = f"must be {expected!r} to close a {self.start.kind!r}"
            problems.append((("end", "kind"), rule, self.end.kind))
        if self.end.t_end <= self.start.t_start:
            rule = f"must be > start.t_start ({self.start.t_start:g})"
            problems.append((("end", "t_end"), rule, self.end.t_end))
        if problems:
            raise_problems(problems, "Event")
        return self

    @property
    def is_outage(self) -> bool:
        """True for an outage (of a server, a database or a cache)."""
        return self.start.kind == "server_down"

    @property
    def is_flush(self) -> bool:
        """True for a cache flush."""
        return self.start.kind == "cache_flush"

    @property
    def t_end(self) -> float:
        """When it ends (a flush ends when it starts)."""
        return self.end.t_end if self.end is not None else self.start.t_start
