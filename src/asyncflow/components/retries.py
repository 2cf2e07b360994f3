"""Retries: callers that try a failed call again after a backoff.

A :class:`Retrier` serves one place that retries: a workload's client (its
requests) or a server's calls to one node (every call site from that server
to that node shares it, as one client library would). Its caller asks it
:meth:`Retrier.again` once a failure has been *noticed* (a timeout fired, an
error crossed back): if the reason is retried, attempts are left and the
budget allows, it makes the next attempt, a new :class:`Call` of the same
request that waits its backoff at the caller (``BACKING_OFF``, its time in
the ``backoff`` phase) and is then sent as the first was. The new attempt
carries the time of the failed ones (``failed_attempt``) and of the waits,
so the phases of the request (or of the call, on its caller's critical path)
still add up to its time. The request keeps one outcome, its last attempt's.

Backoff jitter draws from the stream ``retry:<place>:backoff``: the other
streams of a run do not move when retries are added.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from asyncflow.components.calls import AWAITING, BACKING_OFF, DONE, SENDING, Call, settle
from asyncflow.components.client import Client
from asyncflow.components.context import RunContext
from asyncflow.components.guards import RetryBudget, backoff_delay
from asyncflow.engine.streams import blocks
from asyncflow.metrics.phases import BACKOFF, FAILED_ATTEMPT

if TYPE_CHECKING:
    from asyncflow.components.sites import CallSite
    from asyncflow.scenario import Scenario
    from asyncflow.scenario.policies_retry import Retry

Send = Callable[[float, Call], None]


class Retrier:
    """The retry policy of one place, and what it did.

    Attributes:
        label: The place: a workload id, or ``caller->callee``.
        requests: First attempts made here.
        retries: Retries sent (attempts beyond the first).
        denied: Retries the budget refused.
        exhausted: Calls that failed with a retried reason on their last attempt.
    """

    __slots__ = (
        "_base_s",
        "_budget",
        "_cancelled",
        "_codes",
        "_ctx",
        "_jitter",
        "_max_attempts",
        "_max_s",
        "_multiplier",
        "_sends",
        "_u",
        "denied",
        "exhausted",
        "label",
        "requests",
        "retries",
    )

    def __init__(self, ctx: RunContext, spec: Retry, label: str) -> None:
        self._ctx = ctx
        self.label = label
        self._max_attempts = spec.max_attempts
        self._codes = {ctx.code(reason) for reason in spec.retry_on}
        backoff = spec.backoff
        self._base_s = backoff.base_s
        self._max_s = backoff.max_s
        self._multiplier = backoff.multiplier
        self._jitter = backoff.jitter
        self._u = blocks(ctx.streams.generator(f"retry:{label}:backoff").random)
        budget = spec.budget
        self._budget: RetryBudget | None = None
        if budget is not None:
            self._budget = RetryBudget(budget.ratio, budget.min_per_s, budget.window_s)
        self._cancelled = ctx.code("cancelled")
        self._sends: dict[int, Send] = {}
        self.requests = 0
        self.retries = 0
        self.denied = 0
        self.exhausted = 0

    def watching(self, site: CallSite, resend: Send) -> Send:
        """``site.send`` for first attempts (counted); its retries go out through ``resend``."""
        self._sends[site.index] = resend
        send = site.send
        budget = self._budget

        def first(time: float, call: Call) -> None:
            call.attempt = 1
            call.waited = 0.0
            self.requests += 1
            if budget is not None:
                budget.request(time)
            send(time, call)

        return first

    def again(self, time: float, call: Call, code: int) -> bool:
        """A failure of ``call`` (reason ``code``) is noticed at ``time``: whether a retry follows.

        On a retry the next attempt is made and waits its backoff; the failed
        attempt is left to its caller (whose step goes on waiting).
        """
        if code not in self._codes:
            return False
        try:
            attempt = call.attempt
        except AttributeError:
            return False  # lost before its caller sent it (on the way from its workload)
        if attempt >= self._max_attempts:
            self.exhausted += 1
            return False
        parent = call.parent
        if parent is not None and (parent.state != AWAITING or parent.cancelled):
            return False  # its step is over: nobody waits for a retry
        budget = self._budget
        if budget is not None and not budget.try_retry(time):
            self.denied += 1
            return False
        u = self._u()
        delay = backoff_delay(
            attempt, self._base_s, self._max_s, self._jitter, u, call.waited, self._multiplier
        )
        self._next(time, call, attempt + 1, delay)
        return True

    def _next(self, time: float, failed: Call, attempt: int, delay: float) -> None:
        """Make attempt number ``attempt`` of ``failed``'s call; send it after ``delay``."""
        retry = Call(failed.root, failed.site, failed.parent, time)
        retry.attempt = attempt
        retry.waited = delay
        retry.ph[FAILED_ATTEMPT] = failed.ph[FAILED_ATTEMPT] + (time - failed.sent)
        retry.ph[BACKOFF] = failed.ph[BACKOFF]
        retry.state = BACKING_OFF
        retry.mark = time
        calls = self._ctx.calls
        parent = failed.parent
        if calls is not None:
            above = parent.cid if parent is not None else -1
            retry.cid = calls.open(above, failed.root, failed.site.index, time)
        if parent is not None:
            kids = parent.kids
            kids[kids.index(failed)] = retry
        self._ctx.kernel.push(time + delay, self._resend, retry)

    def _resend(self, time: float, call: Call) -> None:
        """The backoff is over: send the attempt (unless its caller withdrew it)."""
        settle(call, time)
        if call.cancelled:
            call.state = DONE
            self._ctx.close_call(time, call, self._cancelled)
            return
        call.sent = time
        call.state = SENDING
        self.retries += 1
        self._sends[call.site.index](time, call)

    def figures(self) -> dict[str, int]:
        """What it did: first attempts, retries, refused by the budget, exhausted."""
        return {
            "requests": self.requests,
            "retries": self.retries,
            "budget_denied": self.denied,
            "exhausted": self.exhausted,
        }


class Retries:
    """Every retrier of a run, by place."""

    __slots__ = ("by_place",)

    def __init__(self, ctx: RunContext, scenario: Scenario) -> None:
        self.by_place: dict[tuple[str, str | None], Retrier] = {}
        for policy in scenario.policies:
            if policy.type == "retry":
                label = (
                    policy.target
                    if policy.calls_to is None
                    else f"{policy.target}->{policy.calls_to}"
                )
                self.by_place[(policy.target, policy.calls_to)] = Retrier(ctx, policy, label)

    def place(self, site: CallSite, workload_id: str) -> Retrier | None:
        """The retrier of a site: its workload's (a request), or its caller's to its target."""
        if isinstance(site.caller, Client):
            return self.by_place.get((workload_id, None))
        return self.by_place.get((site.caller.id, site.target_id))

    def figures(self, generated: int) -> dict[str, Any]:
        """Attempts per request at each place that retries, and overall.

        ``per_request`` divides the attempts made at a place by the requests
        generated (every workload's): attempts per root request, so that
        retries at several layers show their product.
        """
        by_place: dict[str, Any] = {}
        client_retries = 0
        for (_, calls_to), retrier in self.by_place.items():
            figures: dict[str, Any] = dict(retrier.figures())
            attempts = retrier.requests + retrier.retries
            figures["attempts"] = attempts
            figures["per_request"] = attempts / generated if generated else None
            by_place[retrier.label] = figures
            if calls_to is None:
                client_retries += retrier.retries
        per_request = (generated + client_retries) / generated if generated else None
        return {"per_request": per_request, "by_place": by_place}
