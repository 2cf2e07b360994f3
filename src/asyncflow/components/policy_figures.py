"""What the overload policies did in a run: the summary's ``policies`` section."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from asyncflow.components.admission import CallBulkhead
    from asyncflow.components.breakers import Breaker
    from asyncflow.components.retries import Retries
    from asyncflow.components.server import Server
    from asyncflow.components.timeouts import Timeouts


def policy_figures(
    servers: Mapping[str, Server],
    timeouts: Timeouts | None,
    bulkheads: Mapping[tuple[str, str], CallBulkhead] | None = None,
    retries: Retries | None = None,
    generated: int = 0,
    breakers: Mapping[tuple[str, str], Breaker] | None = None,
) -> dict[str, Any]:
    """Per server, the calls admitted and refused; the timeouts and the work wasted.

    Empty when the run has no policies, so a summary without them is unchanged.

    Args:
        servers: The run's servers, by id.
        timeouts: The run's timeouts, or None.
        bulkheads: The limits on calls out, by ``(caller, callee)``.
        retries: The places that retry, or None.
        generated: Requests generated in the run (attempts are per request).
        breakers: The circuit breakers, by ``(caller, callee)``.

    Returns:
        ``{"servers": {id: {admitted, rate_limited, shed, deadline_exceeded,
        wasted_cpu_s}}, "calls_out": {"caller->callee": {max_in_flight, shed}},
        "timed_out": n, "wasted_cpu_s": total, "attempts": {per_request,
        by_place}, "circuit_breakers": {"caller->callee": {opens, refused}}}``,
        parts that do not apply
        left out.
    """
    out: dict[str, Any] = {}
    by_server: dict[str, dict[str, float | int]] = {}
    for server_id, server in servers.items():
        admission = server.admission
        if admission is None:
            continue
        figures: dict[str, float | int] = {
            "admitted": admission.admitted,
            "rate_limited": admission.rate_limited,
            "shed": admission.shed,
            "deadline_exceeded": admission.late,
        }
        if timeouts is not None:
            figures["wasted_cpu_s"] = timeouts.wasted_cpu_s[server.index]
        by_server[server_id] = figures
    if by_server:
        out["servers"] = by_server
    if bulkheads:
        out["calls_out"] = {
            f"{caller}->{callee}": {"max_in_flight": b.cap, "shed": b.shed}
            for (caller, callee), b in bulkheads.items()
        }
    if timeouts is not None:
        out["timed_out"] = timeouts.timed_out
        out["wasted_cpu_s"] = float(sum(timeouts.wasted_cpu_s))
    if retries is not None:
        out["attempts"] = retries.figures(generated)
    if breakers:
        out["circuit_breakers"] = {
            f"{caller}->{callee}": b.figures() for (caller, callee), b in breakers.items()
        }
    return out
