"""The registry of phases: where the time of a request or a call goes.

Every call carries a small list of seconds, one slot per phase (``Call.ph``).
Components add to the slot of what the call is doing; the log, the tables,
the charts, the trace and the attribution all read the phases from here, so
a new phase is one entry in :data:`PHASES`. A retried call carries the
time of its failed attempts (``failed_attempt``) and of the waits between
them (``backoff``) into the attempt that follows, so a retried request's
phases still add up to its latency. The time a call
spends inside a database or a remote cache counts in ``db`` and ``cache``
(not in CPU), and the wait for a pooled connection in ``pool_wait``.

Network time has one slot per hop of a call's own path (from the generator,
out to its target, from a balancer to the server, the reply), plus one for
the network time of the calls it waited for; together they make the
``network`` phase. A call's slots add up to its time from being sent to its
reply (or its end), and a request's to its latency.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

# Slots of Call.ph (constants: hot paths index with them).
HOP_GENERATOR: Final = 0  # workload -> client (root calls only)
HOP_OUT: Final = 1  # caller -> target (client -> entry node, server -> callee)
HOP_BALANCER: Final = 2  # balancer -> server
HOP_REPLY: Final = 3  # server -> caller
CALLS_NETWORK: Final = 4  # network time of the calls waited for
HANDSHAKE: Final = 5
CONNECTION_WAIT: Final = 6
RAM_WAIT: Final = 7
CPU_WAIT: Final = 8
CPU: Final = 9
IO: Final = 10
POOL_WAIT: Final = 11  # waiting for a connection of a database pool (at the caller)
DB: Final = 12  # inside a database: waiting for a worker and running the query
CACHE: Final = 13  # inside a remote cache: waiting for its worker and the lookup
BACKOFF: Final = 14  # waiting between a failed attempt and the next (retries)
FAILED_ATTEMPT: Final = 15  # the whole time of attempts that failed and were retried
SLOTS: Final = 16

HOP_SLOTS: Final = (HOP_GENERATOR, HOP_OUT, HOP_BALANCER, HOP_REPLY)
NETWORK_SLOTS: Final = (*HOP_SLOTS, CALLS_NETWORK)

SLOT_NAMES: Final = (
    "hop_generator",
    "hop_out",
    "hop_balancer",
    "hop_reply",
    "calls_network",
    "handshake",
    "connection_wait",
    "ram_wait",
    "cpu_wait",
    "cpu",
    "io",
    "pool_wait",
    "db",
    "cache",
    "backoff",
    "failed_attempt",
)
"""The slots by name, in slot order (one name per slot constant above)."""

SLOT_NEEDS: Final[dict[str, str]] = {
    "hop_balancer": "balancers",
    "calls_network": "calls",
    "handshake": "connections",
    "connection_wait": "connections",
    "ram_wait": "ram",
    "cpu_wait": "cpu",
    "cpu": "cpu",
    "io": "io",
    "pool_wait": "datastores",
    "db": "datastores",
    "cache": "datastores",
    "backoff": "retries",
    "failed_attempt": "retries",
}
"""What a scenario must model for a slot to be filled; a slot not named here is always kept."""


def slots_for(modelled: frozenset[str]) -> tuple[int, ...]:
    """The slots a scenario modelling ``modelled`` can fill (the others stay zero).

    ``modelled`` holds names of :data:`SLOT_NEEDS` values: ``balancers``,
    ``calls``, ``connections``, ``ram``, ``cpu``, ``io``, ``datastores``,
    ``retries``.
    """
    return tuple(
        index
        for index, name in enumerate(SLOT_NAMES)
        if name not in SLOT_NEEDS or SLOT_NEEDS[name] in modelled
    )


@dataclass(frozen=True, slots=True)
class Phase:
    """One phase of a request's time.

    Attributes:
        name: Column stem (``cpu`` → ``cpu_s``).
        label: In plain words, for charts and verdicts.
        resource: The resource it uses or waits for.
        slots: The slots of ``Call.ph`` it sums.
        in_service: Whether it happens inside a server (after admission):
            the phases in service add up to a call's service time.
    """

    name: str
    label: str
    resource: str
    slots: tuple[int, ...]
    in_service: bool


PHASES: Final = (
    Phase("network", "the network", "network", NETWORK_SLOTS, in_service=False),
    Phase("handshake", "opening connections", "connections", (HANDSHAKE,), in_service=False),
    Phase(
        "connection_wait",
        "waiting in an accept backlog",
        "connections",
        (CONNECTION_WAIT,),
        in_service=False,
    ),
    Phase("ram_wait", "waiting for RAM", "ram", (RAM_WAIT,), in_service=True),
    Phase("cpu_wait", "waiting for a CPU core", "cpu", (CPU_WAIT,), in_service=True),
    Phase("cpu", "CPU work", "cpu", (CPU,), in_service=True),
    Phase("io", "I/O", "io", (IO,), in_service=True),
    Phase(
        "pool_wait",
        "waiting for a pooled database connection",
        "pool",
        (POOL_WAIT,),
        in_service=True,
    ),
    Phase("db", "database queries", "database", (DB,), in_service=True),
    Phase("cache", "cache lookups", "cache", (CACHE,), in_service=True),
    Phase("backoff", "waiting to retry", "retries", (BACKOFF,), in_service=False),
    Phase(
        "failed_attempt",
        "attempts that failed and were retried",
        "retries",
        (FAILED_ATTEMPT,),
        in_service=False,
    ),
)
"""Every phase, in the order of the tables."""

PHASE_NAMES: Final = tuple(p.name for p in PHASES)
_BY_NAME: Final = {p.name: p for p in PHASES}


def phase(name: str) -> Phase:
    """The phase called ``name``.

    Raises:
        KeyError: For an unknown phase.
    """
    return _BY_NAME[name]


def phase_label(name: str) -> str:
    """A phase in plain words ("ram_wait" → "waiting for RAM")."""
    found = _BY_NAME.get(name)
    return found.label if found is not None else name.replace("_", " ")


def phase_resource(name: str) -> str:
    """The resource a phase uses or waits for ("cpu_wait" → "cpu")."""
    found = _BY_NAME.get(name)
    return found.resource if found is not None else name.removesuffix("_wait")
