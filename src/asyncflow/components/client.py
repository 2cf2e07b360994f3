"""The client: forwards new requests and records responses as completed."""

from __future__ import annotations

from collections.abc import Callable

from asyncflow.components.context import Request, RunContext
from asyncflow.metrics.requests import COMPLETED


class Client:
    """Sends each new request on its one outgoing edge; completes responses.

    Latency runs from generation to the response's arrival here (as in 0.1).
    """

    __slots__ = ("_finished", "_outcome", "forward_to", "id")

    def __init__(self, ctx: RunContext, node_id: str) -> None:
        self.id = node_id
        self._finished = ctx.log.finished
        self._outcome = ctx.log.outcome
        self.forward_to: Callable[[float, Request], None] | None = None

    def forward(self, time: float, request: Request) -> None:
        """A new request from the generator arrives: send it on."""
        if self.forward_to is None:
            raise RuntimeError(f"client {self.id!r} has no outgoing edge")
        self.forward_to(time, request)

    def complete(self, time: float, request: Request) -> None:
        """A response arrives: the request is completed at ``time``."""
        self._finished[request.id] = time
        self._outcome[request.id] = COMPLETED

    def complete_connected(self, time: float, request: Request) -> None:
        """Complete, then release the connections still held (connection mode)."""
        self.complete(time, request)
        held = request.held
        if held:
            request.held = []
            for connection in held:
                connection.release(time)
