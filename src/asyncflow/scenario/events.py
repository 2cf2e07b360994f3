"""Injected faults: server outages and network latency spikes."""

from __future__ import annotations

from typing import Final, Literal, Self

from pydantic import Field, model_validator

from asyncflow.scenario._base import NO_VALUE, FrozenModel, Problem, raise_problems

__all__ = ["Event", "EventEnd", "EventStart"]


_END_OF: Final[dict[str, str]] = {
    "server_down": "server_up",
    "network_spike_start": "network_spike_end",
}


class EventStart(FrozenModel):
    """Start of an injected event.

    Attributes:
        kind: ``server_down`` or ``network_spike_start``.
        t_start: Start time in seconds.
        spike_s: Latency added to the edge, in seconds (spikes only).
    """

    kind: Literal["server_down", "network_spike_start"]
    t_start: float = Field(ge=0)
    spike_s: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _check_spike(self) -> Self:
        if self.kind == "network_spike_start" and self.spike_s is None:
            raise_problems([(("spike_s",), "required for network_spike_start", NO_VALUE)])
        if self.kind == "server_down" and self.spike_s is not None:
            raise_problems([(("spike_s",), "not allowed for server_down", self.spike_s)])
        return self


class EventEnd(FrozenModel):
    """End of an injected event.

    Attributes:
        kind: ``server_up`` or ``network_spike_end``.
        t_end: End time in seconds.
    """

    kind: Literal["server_up", "network_spike_end"]
    t_end: float


class Event(FrozenModel):
    """A fault injected for a time window: a server outage or a latency spike.

    Attributes:
        event_id: Event id, unique among events.
        target_id: A server (outage) or an edge (spike).
        start: Start marker.
        end: End marker; its kind must pair with the start's.
    """

    event_id: str
    target_id: str
    start: EventStart
    end: EventEnd

    @model_validator(mode="after")
    def _check_pairing(self) -> Self:
        problems: list[Problem] = []
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
        """True for a server outage, False for a latency spike."""
        return self.start.kind == "server_down"
