"""What every component of one run shares: the clock's heap, the records."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from asyncflow.engine.kernel import Kernel
from asyncflow.engine.streams import RandomStreams
from asyncflow.metrics.levels import Level
from asyncflow.metrics.requests import RequestLog


class Request:
    """The small mutable state a request carries through the system.

    Attributes:
        id: Row of the request in the :class:`RequestLog`.
        hop: Network hops taken so far.
        endpoint: The endpoint it runs at the server (set on arrival there).
        step: Index of the endpoint segment it is in (set with ``endpoint``).
        mark: When it started waiting in its current queue (set on entry).
        conn: The connection it travels on to the next node (None: a new one).
        pool: The pool that connection belongs to (None: closed after use).
        held: Connections it holds, released when it ends (connection mode).
    """

    __slots__ = ("conn", "endpoint", "held", "hop", "id", "mark", "pool", "step")

    endpoint: Any
    step: int
    mark: float

    def __init__(self, id: int) -> None:
        # ``endpoint``, ``step`` and ``mark`` are always set before they are read
        # (a request is created per arrival: every attribute set here costs).
        self.id = id
        self.hop = 0
        self.conn: Any = None
        self.pool: Any = None
        self.held: list[Any] | None = None


@dataclass(slots=True)
class RunContext:
    """Shared state of one run, handed to every component when it is built."""

    kernel: Kernel
    streams: RandomStreams
    log: RequestLog
    end_s: float
    bin_s: float
    warm_up_s: float
    levels: dict[tuple[str, str], Level] = field(default_factory=dict)

    @property
    def n_bins(self) -> int:
        """Number of time bins of the run's series."""
        return max(1, math.ceil(self.end_s / self.bin_s - 1e-9))

    def level(self, node: str, metric: str) -> Level:
        """Create and register the level ``metric`` of ``node``."""
        level = Level(f"{node}.{metric}", self.n_bins, self.bin_s, self.warm_up_s)
        self.levels[(node, metric)] = level
        return level

    def failer(self, reason: str) -> Callable[[float, Request], None]:
        """A function that records ``request`` as failed with ``reason`` at a time."""
        code = self.log.reason_code(reason)
        finished = self.log.finished
        outcome = self.log.outcome

        def fail(time: float, request: Request) -> None:
            finished[request.id] = time
            outcome[request.id] = code
            held = request.held
            if held:
                request.held = []
                for connection in held:
                    connection.release(time)

        return fail
