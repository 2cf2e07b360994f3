"""Closed forms and standard approximations of queueing theory.

Plain functions of rates and moments, each checked in the tests against
worked values from the literature:

- :func:`erlang_b`: probability that an arrival finds all ``c`` servers busy
  in a loss system (M/G/c/c; insensitive to the holding-time distribution).
- :func:`erlang_c`: probability that an arrival waits in M/M/c.
- :func:`mmc_wait`: mean wait in queue of M/M/c (M/M/1 when ``c = 1``).
- :func:`mg1_wait`: mean wait of M/G/1, by Pollaczek–Khinchine.
- :func:`allen_cunneen_wait`: the Allen–Cunneen approximation of G/G/c,
  M/M/c's wait scaled by ``(ca² + cs²) / 2`` (exact for M/M/c and M/G/1).
- :func:`mmc_sojourn_tail` and :func:`mmc_sojourn_quantile`: the
  distribution of time in system (wait + service) of M/M/c under FIFO.
- :func:`finite_queue`: M/M/c/K (``c`` servers, room for ``K`` in all):
  blocking probability and mean wait of those admitted.

Rates are per second, times in seconds; ``a = λ · E[S]`` is the offered
load in erlangs. Every function expects a stable system where it needs one
(``a < c``) and raises ``ValueError`` otherwise.
"""

from __future__ import annotations

import math

__all__ = [
    "allen_cunneen_wait",
    "erlang_b",
    "erlang_c",
    "finite_queue",
    "mg1_wait",
    "mixture_quantile",
    "mmc_sojourn_quantile",
    "mmc_sojourn_tail",
    "mmc_wait",
]


def erlang_b(c: int, a: float) -> float:
    """Erlang B: the share of arrivals that find all ``c`` servers busy (and are lost).

    Computed by the stable recursion ``B(k) = a B(k-1) / (k + a B(k-1))``.

    Args:
        c: Servers (sockets, slots), >= 0.
        a: Offered load in erlangs (arrival rate times mean holding time), >= 0.
    """
    if c < 0 or a < 0:
        raise ValueError(f"erlang_b needs c >= 0 and a >= 0 (got c={c}, a={a})")
    if _far_above(c, a):  # B is the Poisson tail's last term, too small to matter
        return math.exp(c * math.log(a) - a - math.lgamma(c + 1)) if a > 0 else 0.0
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    return b


def erlang_c(c: int, a: float) -> float:
    """Erlang C: the probability that an arrival waits in M/M/c (``a < c``)."""
    _stable(c, a)
    b = erlang_b(c, a)
    return c * b / (c - a * (1.0 - b))


def mmc_wait(c: int, lam: float, mean_s: float) -> float:
    """Mean wait in queue of M/M/c: ``C(c, a) · E[S] / (c - a)``."""
    a = lam * mean_s
    return erlang_c(c, a) * mean_s / (c - a)


def mg1_wait(lam: float, mean_s: float, scv: float) -> float:
    """Mean wait in queue of M/G/1 (Pollaczek–Khinchine): ``ρ E[S] (1 + cs²) / (2 (1 - ρ))``.

    Args:
        lam: Arrival rate.
        mean_s: Mean service time.
        scv: Squared coefficient of variation of the service time (variance / mean²).
    """
    rho = lam * mean_s
    _stable(1, rho)
    return rho * mean_s * (1.0 + scv) / (2.0 * (1.0 - rho))


def allen_cunneen_wait(c: int, lam: float, mean_s: float, ca2: float, cs2: float) -> float:
    """Allen–Cunneen's mean wait of G/G/c: M/M/c's, times ``(ca² + cs²) / 2``.

    Args:
        c: Servers.
        lam: Arrival rate.
        mean_s: Mean service time.
        ca2: Squared coefficient of variation of the time between arrivals (1: Poisson).
        cs2: Squared coefficient of variation of the service time (1: exponential).
    """
    return mmc_wait(c, lam, mean_s) * (ca2 + cs2) / 2.0


def mmc_sojourn_tail(c: int, lam: float, mean_s: float, t: float) -> float:
    """``P(T > t)`` for the time in system ``T`` (wait + service) of M/M/c, FIFO.

    The wait is 0 with probability ``1 - C`` and exponential of rate
    ``cμ - λ`` otherwise; the service is exponential of rate ``μ``.
    """
    mu = 1.0 / mean_s
    theta = c * mu - lam
    waits = erlang_c(c, lam * mean_s)
    if t <= 0:
        return 1.0
    served = math.exp(-mu * t)
    if abs(theta - mu) < 1e-12 * mu:
        convolved = (1.0 + mu * t) * served
    else:
        convolved = (theta * served - mu * math.exp(-theta * t)) / (theta - mu)
    return (1.0 - waits) * served + waits * convolved


def mmc_sojourn_quantile(c: int, lam: float, mean_s: float, q: float) -> float:
    """The ``q`` quantile of M/M/c's time in system (wait + service), FIFO."""
    return mixture_quantile([(1.0, c, lam, mean_s, 0.0)], q)


def mixture_quantile(parts: list[tuple[float, int, float, float, float]], q: float) -> float:
    """The ``q`` quantile of a mixture of M/M/c times in system, each shifted by a constant.

    Args:
        parts: ``(weight, c, λ, E[S], offset)`` of each queue, ``offset`` a
            constant added to its times (network delays); weights add up to 1.
        q: The quantile, in (0, 1).
    """
    if not 0.0 < q < 1.0:
        raise ValueError(f"q must be in (0, 1) (got {q})")

    def tail(t: float) -> float:
        return sum(w * mmc_sojourn_tail(c, lam, m, t - shift) for w, c, lam, m, shift in parts)

    low = min(shift for *_, shift in parts)
    high = max(m + shift for _, _, _, m, shift in parts)
    while tail(high) > 1.0 - q:
        high += high - low
    for _ in range(200):  # bisection to machine precision
        middle = 0.5 * (low + high)
        if tail(middle) > 1.0 - q:
            low = middle
        else:
            high = middle
        if high - low <= 1e-13 * high:
            break
    return 0.5 * (low + high)


def finite_queue(c: int, room: int, a: float) -> tuple[float, float]:
    """M/M/c/K with ``K = c + room``: blocking probability and mean queue length.

    Args:
        c: Servers.
        room: Places to wait (0 gives Erlang B's loss system).
        a: Offered load in erlangs.

    Returns:
        ``(P(blocked), L_q)``; the mean wait of an admitted arrival is
        ``L_q / (λ (1 - P(blocked)))`` by Little's law.
    """
    if room == 0:
        return erlang_b(c, a), 0.0
    if a <= 0 or _far_above(c, a):
        return erlang_b(c, a), 0.0
    # log p_n (unnormalised) for n = 0..c+room, as a**n / n! then geometric in a / c.
    logs = [n * math.log(a) - math.lgamma(n + 1) for n in range(c + 1)]
    step = math.log(a / c)
    logs += [logs[c] + k * step for k in range(1, room + 1)]
    top = max(logs)
    weights = [math.exp(x - top) for x in logs]
    total = math.fsum(weights)
    blocked = weights[-1] / total
    queue = math.fsum(k * weights[c + k] for k in range(1, room + 1)) / total
    return blocked, queue


def _far_above(c: int, a: float) -> bool:
    """Whether ``c`` servers are so many for ``a`` erlangs that all busy is negligible.

    Beyond ``a + 40 √a + 40`` the Poisson tail is below 1e-300: Erlang B is
    its last term and the recursion (``c`` steps) is not needed.
    """
    return c > a + 40.0 * math.sqrt(a) + 40.0


def _stable(c: int, a: float) -> None:
    if not 0 <= a < c:
        raise ValueError(f"an unstable queue: offered load {a:g} erlangs on {c} servers")
