"""The state machines behind the overload policies, free of the engine.

Each guard answers one question at a simulated time and learns from what
it is told; none schedules anything, so the engine decides when to ask.

- :class:`TokenBucket`: admit a request if a token is left (rate, burst).
- :class:`CircuitBreaker`: closed, open, half-open over a sliding window of
  outcomes, with a minimum volume, an open duration and half-open probes.
- :class:`RetryBudget`: allow a retry while retries stay under a ratio of
  the requests seen recently plus a floor per second.
- :func:`backoff_delay`: exponential backoff with full, equal or
  decorrelated jitter.
- :class:`AimdLimit` and :class:`GradientLimit`: adaptive concurrency limits.
- :class:`CoDel`: the controlled-delay queue discipline's drop decision.

Times are seconds of simulated time; every guard assumes ``now`` never
goes back.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Final

__all__ = [
    "JITTERS",
    "AimdLimit",
    "CircuitBreaker",
    "CoDel",
    "GradientLimit",
    "RetryBudget",
    "TokenBucket",
    "backoff_delay",
]

#: How a backoff delay is spread: none, full, equal or decorrelated jitter.
JITTERS: Final = ("none", "full", "equal", "decorrelated")

CLOSED: Final = 0
OPEN: Final = 1
HALF_OPEN: Final = 2


class TokenBucket:
    """Tokens refill at ``rate_per_s`` up to ``burst``; a request takes one.

    The bucket starts full. Over any span ``T`` it admits at most
    ``burst + rate_per_s * T`` requests.
    """

    __slots__ = ("_burst", "_last", "_rate", "_tokens")

    def __init__(self, rate_per_s: float, burst: float) -> None:
        self._rate = rate_per_s
        self._burst = burst
        self._tokens = burst
        self._last = 0.0

    def take(self, now: float) -> bool:
        """Take a token at ``now`` if one is left."""
        tokens = min(self._burst, self._tokens + (now - self._last) * self._rate)
        self._last = now
        if tokens >= 1.0:
            self._tokens = tokens - 1.0
            return True
        self._tokens = tokens
        return False


class CircuitBreaker:
    """A breaker over the outcomes of the last ``window_s`` seconds.

    Closed: calls pass; once at least ``minimum_calls`` outcomes fell in the
    window and the share of failures reaches ``failure_ratio``, it opens.
    Open: calls fail fast for ``open_s``, then it turns half-open. Half-open:
    ``probes`` calls pass; if all succeed it closes (with an empty window), a
    failure re-opens it.
    """

    __slots__ = (
        "_failure_ratio",
        "_failures",
        "_minimum",
        "_open_s",
        "_opened_at",
        "_outcomes",
        "_passed",
        "_probes",
        "_succeeded",
        "_window_s",
        "state",
    )

    def __init__(
        self,
        *,
        failure_ratio: float,
        window_s: float,
        minimum_calls: int,
        open_s: float,
        probes: int = 1,
    ) -> None:
        self._failure_ratio = failure_ratio
        self._window_s = window_s
        self._minimum = minimum_calls
        self._open_s = open_s
        self._probes = probes
        self._outcomes: deque[tuple[float, bool]] = deque()
        self._failures = 0
        self._opened_at = 0.0
        self._passed = 0
        self._succeeded = 0
        self.state = CLOSED

    def allow(self, now: float) -> bool:
        """Whether a call may go out at ``now`` (a refused call fails fast)."""
        if self.state == OPEN:
            if now - self._opened_at < self._open_s:
                return False
            self.state = HALF_OPEN
            self._passed = self._succeeded = 0
        if self.state == HALF_OPEN:
            if self._passed >= self._probes:
                return False
            self._passed += 1
        return True

    def record(self, now: float, ok: bool) -> None:
        """Learn the outcome of a call that was allowed."""
        if self.state == HALF_OPEN:
            if not ok:
                self._open(now)
                return
            self._succeeded += 1
            if self._succeeded >= self._probes:
                self.state = CLOSED
            return
        if self.state == OPEN:
            return  # an answer to a call sent before the breaker opened
        outcomes = self._outcomes
        outcomes.append((now, ok))
        self._failures += not ok
        self._forget(now)
        count = len(outcomes)
        if count >= self._minimum and self._failures >= self._failure_ratio * count:
            self._open(now)

    def _forget(self, now: float) -> None:
        outcomes = self._outcomes
        while outcomes and outcomes[0][0] <= now - self._window_s:
            _, ok = outcomes.popleft()
            self._failures -= not ok

    def _open(self, now: float) -> None:
        self.state = OPEN
        self._opened_at = now
        self._outcomes.clear()
        self._failures = 0


class RetryBudget:
    """Retries allowed while under ``ratio`` x recent requests + ``min_per_s`` x window.

    Requests and retries are counted over the last ``window_s`` seconds (10 s
    by default), as retry budgets in service proxies do.
    """

    __slots__ = ("_min_per_s", "_ratio", "_requests", "_retries", "_window_s")

    def __init__(self, ratio: float, min_per_s: float, window_s: float = 10.0) -> None:
        self._ratio = ratio
        self._min_per_s = min_per_s
        self._window_s = window_s
        self._requests: deque[float] = deque()
        self._retries: deque[float] = deque()

    def request(self, now: float) -> None:
        """Count a first attempt."""
        self._requests.append(now)

    def try_retry(self, now: float) -> bool:
        """Whether a retry may go at ``now`` (counted if so)."""
        horizon = now - self._window_s
        for times in (self._requests, self._retries):
            while times and times[0] <= horizon:
                times.popleft()
        allowed = self._ratio * len(self._requests) + self._min_per_s * self._window_s
        if len(self._retries) + 1 > allowed:
            return False
        self._retries.append(now)
        return True


def backoff_delay(
    attempt: int,
    base_s: float,
    cap_s: float,
    jitter: str,
    u: float,
    previous_s: float,
    multiplier: float = 2.0,
) -> float:
    """The wait before retry number ``attempt`` (1 for the first retry).

    The ceiling is ``min(cap_s, base_s * multiplier ** (attempt - 1))``.
    ``none`` waits the ceiling; ``full`` a uniform share of it; ``equal`` half
    of it plus a uniform share of the other half; ``decorrelated`` a uniform
    value between ``base_s`` and three times the previous wait (``base_s``
    before the first retry), capped. ``u`` is the uniform draw in [0, 1) that
    spreads it; ``previous_s`` the previous wait (0 at first).
    """
    if multiplier == 1.0:
        ceiling = min(cap_s, base_s)
    else:
        # The exponent is capped below where the power overflows (past any cap anyway).
        exponent = min(attempt - 1, int(1000.0 / math.log2(multiplier)))
        ceiling = min(cap_s, base_s * math.pow(multiplier, exponent)) if base_s > 0 else 0.0
    if jitter == "none":
        return ceiling
    if jitter == "full":
        return u * ceiling
    if jitter == "equal":
        return ceiling / 2.0 + u * ceiling / 2.0
    if jitter == "decorrelated":
        high = max(base_s, 3.0 * max(previous_s, base_s))
        return min(cap_s, base_s + u * (high - base_s))
    raise ValueError(f"jitter: must be one of {', '.join(JITTERS)} (got {jitter!r})")


class AimdLimit:
    """Additive increase, multiplicative decrease of a concurrency limit.

    Each success within the limit's latency target raises the limit by
    ``1 / limit`` (one per limit's worth of successes); a failure or a
    latency above ``target_s`` multiplies it by ``decrease``.
    """

    __slots__ = ("_decrease", "_maximum", "_minimum", "_target_s", "limit")

    def __init__(
        self,
        initial: float,
        *,
        minimum: float = 1.0,
        maximum: float = 1000.0,
        target_s: float = math.inf,
        decrease: float = 0.9,
    ) -> None:
        self.limit = initial
        self._minimum = minimum
        self._maximum = maximum
        self._target_s = target_s
        self._decrease = decrease

    def record(self, latency_s: float, ok: bool) -> None:
        """Learn one finished request."""
        if ok and latency_s <= self._target_s:
            self.limit = min(self._maximum, self.limit + 1.0 / self.limit)
        else:
            self.limit = max(self._minimum, self.limit * self._decrease)


class GradientLimit:
    """A concurrency limit following the ratio of the best latency to the recent one.

    ``new = limit * min(1, best / recent) + sqrt(limit)``, smoothed by
    ``smoothing``: the limit grows by about its square root while latency
    stays at its best and shrinks in proportion when queueing lengthens it.
    ``best`` is the lowest latency seen; ``recent`` an exponential average.
    """

    __slots__ = ("_best", "_maximum", "_minimum", "_recent", "_smoothing", "limit")

    def __init__(
        self,
        initial: float,
        *,
        minimum: float = 1.0,
        maximum: float = 1000.0,
        smoothing: float = 0.2,
    ) -> None:
        self.limit = initial
        self._minimum = minimum
        self._maximum = maximum
        self._smoothing = smoothing
        self._best = math.inf
        self._recent = 0.0

    def record(self, latency_s: float, ok: bool) -> None:
        """Learn one finished request (a failure shrinks the limit as a slow one would)."""
        if not ok:
            self.limit = max(self._minimum, self.limit / 2.0)
            return
        self._best = min(self._best, latency_s)
        self._recent = latency_s if self._recent == 0.0 else 0.9 * self._recent + 0.1 * latency_s
        gradient = min(1.0, self._best / self._recent) if self._recent > 0.0 else 1.0
        target = self.limit * gradient + math.sqrt(self.limit)
        smoothed = (1.0 - self._smoothing) * self.limit + self._smoothing * target
        self.limit = min(self._maximum, max(self._minimum, smoothed))


class CoDel:
    """Controlled delay: drop from the head once waits stay above target for an interval.

    Ask :meth:`drop` for each request leaving the queue with its wait. While
    waits stay at or below ``target_s`` nothing is dropped. Once they have
    been above it for a whole ``interval_s``, the leaving request is dropped,
    and then one every ``interval_s / sqrt(drops)`` while waits stay high,
    counted from when each drop was due: asked at a dequeue long after the
    last drop, it drops every request until it has caught up.
    """

    __slots__ = ("_above_since", "_drops", "_interval_s", "_next_drop", "_target_s", "dropping")

    def __init__(self, target_s: float = 0.005, interval_s: float = 0.1) -> None:
        self._target_s = target_s
        self._interval_s = interval_s
        self._above_since = math.inf
        self._next_drop = math.inf
        self._drops = 0
        self.dropping = False

    def drop(self, now: float, waited_s: float) -> bool:
        """Whether the request leaving the queue at ``now`` after ``waited_s`` is dropped."""
        if waited_s <= self._target_s:
            self._above_since = math.inf
            self.dropping = False
            return False
        if self._above_since == math.inf:
            self._above_since = now
            return False
        if not self.dropping:
            if now - self._above_since < self._interval_s:
                return False
            self.dropping = True
            self._drops = 1
            self._next_drop = now + self._interval_s
            return True
        if now < self._next_drop:
            return False
        # The next drop is scheduled from the last one's due time, not from now
        # (RFC 8289's control law): a queue far behind is drained by several
        # drops at one dequeue instead of one per dequeue.
        self._drops += 1
        self._next_drop += self._interval_s / math.sqrt(self._drops)
        return True
