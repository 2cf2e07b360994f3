"""Bursty arrivals: a two-state Markov-modulated Poisson process (workload key ``bursts``).

The workload's rate (its users times the rate per user, or its profile) is
the long-run mean. A hidden state switches between *quiet* and *burst*:
quiet periods last exponential times of mean ``mean_quiet_s``, bursts of
mean ``mean_burst_s``. In a burst requests arrive ``rate_ratio`` times as
fast as in a quiet period; within each period they stay Poisson. The run
starts in the stationary state (bursting with probability ``p``), so the
mean rate is the workload's rate at every time.

With ``λ`` the workload's rate, ``r`` the ratio,
``p = mean_burst_s / (mean_quiet_s + mean_burst_s)`` and
``s = 1 / mean_quiet_s + 1 / mean_burst_s``:

* quiet rate ``λ0 = λ / (1 - p + p r)``, burst rate ``λ1 = r λ0``;
* the counts ``N(T)`` in windows of ``T`` seconds have mean ``λ T`` and
  index of dispersion (variance over mean)
  ``IDC(T) = 1 + 2 (λ1 - λ0)² p (1 - p) / λ · (1/s - (1 - e^(-sT)) / (s² T))``,
  1 for Poisson, growing with ``T`` towards ``1 + 2 (λ1 - λ0)² p (1 - p) / (λ s)``.

(The variance is that of a Cox process whose rate has the two-state
Markov chain's exponential autocovariance; see Fischer and
Meier-Hellstern, "The Markov-modulated Poisson process (MMPP) cookbook",
1993.) Users drawn per window (a poisson or normal ``avg_active_users``)
and a profile add their own variation on top.
"""

from __future__ import annotations

import math

from pydantic import Field

from asyncflow.scenario._base import FrozenModel
from asyncflow.scenario._types import Number
from asyncflow.scenario.limits import MAX_HORIZON_S

__all__ = ["BurstProcess"]

MAX_RATE_RATIO = 1000.0


class BurstProcess(FrozenModel):
    """Quiet periods and bursts of exponential lengths around the workload's mean rate."""

    rate_ratio: Number = Field(
        ge=1,
        le=MAX_RATE_RATIO,
        description="Arrival rate in a burst over the rate in a quiet period, a ratio (no "
        "unit; 1: Poisson).",
    )
    mean_quiet_s: Number = Field(
        gt=0, le=MAX_HORIZON_S.value, description="Mean length of a quiet period, in seconds."
    )
    mean_burst_s: Number = Field(
        gt=0, le=MAX_HORIZON_S.value, description="Mean length of a burst, in seconds."
    )

    @property
    def burst_share(self) -> float:
        """Long-run share of the time spent in bursts (``p``)."""
        return self.mean_burst_s / (self.mean_quiet_s + self.mean_burst_s)

    def factors(self) -> tuple[float, float]:
        """The quiet and burst rates as multiples of the mean rate (``λ0/λ``, ``λ1/λ``)."""
        p = self.burst_share
        quiet = 1.0 / (1.0 - p + p * self.rate_ratio)
        return quiet, self.rate_ratio * quiet

    def dispersion(self, rate: float, window_s: float) -> float:
        """Index of dispersion of the counts in windows of ``window_s`` at mean rate ``rate``."""
        quiet, burst = self.factors()
        p = self.burst_share
        s = 1.0 / self.mean_quiet_s + 1.0 / self.mean_burst_s
        spread = (rate * (burst - quiet)) ** 2 * p * (1.0 - p)
        shape = 1.0 / s - (1.0 - math.exp(-s * window_s)) / (s * s * window_s)
        return 1.0 + 2.0 * spread / rate * shape
