"""The workload generator: Poisson arrivals from active users, window by window.

At the start of each ``user_sampling_window`` the number of active users U is
drawn; during the window requests arrive as a Poisson process of rate
``U * rpm / 60`` (or, with a users profile, proportional to the profile,
linear between its points). A window's arrivals are drawn at once: the count
is Poisson with the window's expected number, and the times are independent
draws from the rate's shape, sorted — the same process as exponential gaps,
with no time lost at the window's end and no window skipped (AsyncFlow 0.1
lost both, which compressed arrivals at low rates).

With ``bursts`` (a two-state Markov-modulated Poisson process,
``scenario.arrivals``) the rate is further multiplied by the factor of the
hidden quiet or burst state; its switches, drawn from their own stream, cut
the window's pieces, so arrivals stay Poisson within each piece.

Arrivals are released in blocks: one kernel event creates a block of
requests (root calls) and sends each on the workload's edge at its own
generation time.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from asyncflow.components.calls import Call
from asyncflow.components.context import RunContext
from asyncflow.components.sites import CallSite

if TYPE_CHECKING:
    from asyncflow.scenario import Workload
    from asyncflow.scenario.arrivals import BurstProcess

BLOCK = 64


def linear_rate_arrivals(
    rng: np.random.Generator, a: float, b: float, rate_a: float, rate_b: float
) -> np.ndarray:
    """Sorted arrival times of a Poisson process on [a, b) whose rate is linear."""
    length = b - a
    expected = 0.5 * (rate_a + rate_b) * length
    if expected <= 0.0 or length <= 0.0:
        return np.empty(0)
    n = int(rng.poisson(expected))
    u = rng.random(n)
    if rate_a == rate_b:
        x = u * length
    else:
        # Invert the cumulative rate rate_a*x + slope*x²/2 = u * expected.
        slope = (rate_b - rate_a) / length
        x = 2.0 * u * expected / (rate_a + np.sqrt(rate_a * rate_a + 2.0 * slope * u * expected))
    times = a + np.minimum(x, length)
    times.sort()
    return np.asarray(times[times < b])


class Generator:
    """Creates requests and hands each to the first edge at its generation time."""

    def __init__(
        self,
        ctx: RunContext,
        workload: Workload,
        index: int,
        site: CallSite,
        send: Callable[[float, Call], None],
    ) -> None:
        self._ctx = ctx
        self._workload = workload
        self._index = index
        self._site = site
        self._send = send
        self._rng = ctx.streams.generator(f"generator:{workload.id}")
        self._window_s = workload.user_sampling_window
        self._rate_per_user = workload.requests_per_second_per_user
        users = workload.avg_active_users
        self._family = users.distribution
        self._sd = float(np.sqrt(users.moments()[1]))
        profile = workload.users_profile
        self._breakpoints = sorted({p.t_s for p in profile}) if profile else []
        self._bursts: Bursts | None = None
        if workload.bursts is not None:
            rng = ctx.streams.generator(f"bursts:{workload.id}")
            self._bursts = Bursts(rng, workload.bursts)

    def start(self) -> None:
        """Schedule the first window."""
        self._ctx.kernel.schedule(0.0, self._window, 0)

    def _draw_users(self, mean: float) -> float:
        if mean <= 0.0 or self._family == "deterministic":
            return max(mean, 0.0)
        if self._family == "poisson":
            return float(self._rng.poisson(mean))
        return max(0.0, float(self._rng.normal(mean, self._sd)))  # normal, clipped at 0

    def window_arrivals(self, start: float, end: float) -> np.ndarray:
        """Draw the users of the window [start, end) and its arrival times."""
        users_at = self._workload.mean_users_at
        cuts = [start, *(t for t in self._breakpoints if start < t < end), end]
        pieces = list(itertools.pairwise(cuts))
        # Mean users over the window (the profile is linear on each piece).
        area = sum((b - a) * 0.5 * (users_at(a) + users_at(np.nextafter(b, a))) for a, b in pieces)
        mean_users = area / (end - start)
        users = self._draw_users(mean_users)
        if users <= 0.0:
            return np.empty(0)
        scale = self._rate_per_user * users / mean_users
        if self._bursts is not None:
            return self._bursty(pieces, scale, users_at)
        out = [
            linear_rate_arrivals(
                self._rng, a, b, scale * users_at(a), scale * users_at(np.nextafter(b, a))
            )
            for a, b in pieces
        ]
        return np.concatenate(out) if len(out) > 1 else out[0]

    def _bursty(
        self, pieces: list[tuple[float, float]], scale: float, users_at: Callable[[float], float]
    ) -> np.ndarray:
        """Arrivals of the pieces, cut again where the burst state switches."""
        bursts = self._bursts
        assert bursts is not None
        out = []
        for a, b in pieces:
            for c, d, factor in bursts.segments(a, b):
                rate_c = scale * factor * users_at(c)
                rate_d = scale * factor * users_at(np.nextafter(d, c))
                out.append(linear_rate_arrivals(self._rng, c, d, rate_c, rate_d))
        return np.concatenate(out) if out else np.empty(0)

    def _window(self, now: float, index: int) -> None:
        end_s = self._ctx.end_s
        start = index * self._window_s
        end = min(start + self._window_s, end_s)
        times = self.window_arrivals(start, end)
        kernel = self._ctx.kernel
        for i in range(0, times.size, BLOCK):
            block = times[i : i + BLOCK]
            kernel.schedule(float(block[0]), self._release, block)
        if end < end_s:
            kernel.schedule(end, self._window, index + 1)

    def _release(self, now: float, times: np.ndarray) -> None:
        first = self._ctx.log.open_block(times, self._index)
        send = self._send
        site = self._site
        calls = self._ctx.calls
        for offset, generated in enumerate(times.tolist(), first):
            call = Call(offset, site, None, generated)
            if calls is not None:
                call.cid = calls.open(-1, offset, site.index, generated)
            send(generated, call)


class Bursts:
    """The hidden quiet/burst state of a two-state MMPP, drawn as time goes on."""

    __slots__ = ("_factors", "_means", "_rng", "_state", "_switch_at")

    def __init__(self, rng: np.random.Generator, spec: BurstProcess) -> None:
        self._rng = rng
        quiet, burst = spec.factors()
        self._factors = (quiet, burst)
        self._means = (float(spec.mean_quiet_s), float(spec.mean_burst_s))
        # The stationary state at 0: the mean rate is the workload's at every time.
        self._state = 1 if rng.random() < spec.burst_share else 0
        self._switch_at = float(rng.exponential(self._means[self._state]))

    def segments(self, a: float, b: float) -> list[tuple[float, float, float]]:
        """``[a, b)`` cut where the state switches: ``(start, end, rate factor)`` pieces.

        Windows must be asked in order (each starting where the last ended).
        """
        out = []
        start = a
        while self._switch_at < b:
            if self._switch_at > start:
                out.append((start, self._switch_at, self._factors[self._state]))
                start = self._switch_at
            self._state = 1 - self._state
            self._switch_at += float(self._rng.exponential(self._means[self._state]))
        out.append((start, b, self._factors[self._state]))
        return out
