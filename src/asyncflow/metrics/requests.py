"""Per-request records, kept as compact columns (about 61 bytes a request).

Besides its outcome, each request records where its time went, as float32
seconds: each network hop (``hops``, ``MAX_HOPS`` a request, in order),
connection handshakes, the wait in an accept backlog, the wait for RAM, the
wait for a core (ready queue), CPU time and I/O time. For a completed request
these phases add up to its latency.
"""

from __future__ import annotations

from array import array

import numpy as np

IN_FLIGHT = 0
COMPLETED = 1
OUTCOME_NAMES = ("in_flight", "completed")
MAX_HOPS = 4  # generator-client, client-balancer, balancer-server, server-client
PHASES = ("handshake", "connection_wait", "ram_wait", "cpu_wait", "cpu", "io")


class RequestLog:
    """Columns indexed by request id: one row per generated request.

    ``outcome`` is 0 (in flight), 1 (completed) or a failure code >= 2 whose
    reason is ``reasons[code]``. Components register the reasons they can
    produce with :meth:`reason_code`.
    """

    __slots__ = (
        "connection_wait",
        "cpu",
        "cpu_wait",
        "endpoint",
        "finished",
        "generated",
        "handshake",
        "hops",
        "io",
        "outcome",
        "ram_wait",
        "reasons",
        "server",
    )

    def __init__(self) -> None:
        self.generated = array("d")
        self.finished = array("d")
        self.outcome = array("b")
        self.server = array("h")
        self.endpoint = array("h")
        self.hops = array("f")  # MAX_HOPS values a request
        self.handshake = array("f")
        self.connection_wait = array("f")
        self.ram_wait = array("f")
        self.cpu_wait = array("f")
        self.cpu = array("f")
        self.io = array("f")
        self.reasons: list[str] = list(OUTCOME_NAMES)

    def __len__(self) -> int:
        return len(self.generated)

    def reason_code(self, reason: str) -> int:
        """The outcome code of failure ``reason`` (registered on first use)."""
        if reason not in self.reasons:
            self.reasons.append(reason)
        return self.reasons.index(reason)

    def open_block(self, times: np.ndarray) -> int:
        """Add rows for requests generated at ``times``; return the first new id."""
        first = len(self.generated)
        n = times.size
        self.generated.frombytes(times.astype(np.float64).tobytes())
        self.finished.frombytes(np.full(n, np.nan).tobytes())
        self.outcome.frombytes(bytes(n))
        self.server.frombytes(np.full(n, -1, dtype=np.int16).tobytes())
        self.endpoint.frombytes(np.full(n, -1, dtype=np.int16).tobytes())
        zeros = bytes(4 * n)
        self.hops.frombytes(zeros * MAX_HOPS)
        for column in (
            self.handshake,
            self.connection_wait,
            self.ram_wait,
            self.cpu_wait,
            self.cpu,
            self.io,
        ):
            column.frombytes(zeros)
        return first

    def columns(self, end_s: float) -> dict[str, np.ndarray]:
        """The columns as numpy arrays, as seen at time ``end_s`` (no copy).

        Outcomes decided ahead of time (a response already on its way back
        when the run ends) are set back to in flight. The arrays share memory
        with the log, which can no longer grow: call this once, at the end.
        """
        generated = np.frombuffer(self.generated, dtype=np.float64)
        finished = np.frombuffer(self.finished, dtype=np.float64)
        outcome = np.frombuffer(self.outcome, dtype=np.int8)
        late = finished > end_s
        outcome[late] = IN_FLIGHT
        finished[late] = np.nan
        columns: dict[str, np.ndarray] = {
            "generated_s": generated,
            "finished_s": finished,
            "outcome": outcome,
            "server": np.frombuffer(self.server, dtype=np.int16),
            "endpoint": np.frombuffer(self.endpoint, dtype=np.int16),
            "hops_s": np.frombuffer(self.hops, dtype=np.float32).reshape(-1, MAX_HOPS),
            "handshake_s": np.frombuffer(self.handshake, dtype=np.float32),
            "connection_wait_s": np.frombuffer(self.connection_wait, dtype=np.float32),
            "ram_wait_s": np.frombuffer(self.ram_wait, dtype=np.float32),
            "cpu_wait_s": np.frombuffer(self.cpu_wait, dtype=np.float32),
            "cpu_s": np.frombuffer(self.cpu, dtype=np.float32),
            "io_s": np.frombuffer(self.io, dtype=np.float32),
        }
        for column in columns.values():
            column.flags.writeable = False
        return columns
