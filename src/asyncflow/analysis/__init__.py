"""Analysis of results: latency attribution by phase and the bottleneck verdict."""

from asyncflow.analysis.attribution import (
    Bottleneck,
    PhaseBreakdown,
    breakdown,
    breakdowns_by_group,
    find_bottleneck,
)

__all__ = [
    "Bottleneck",
    "PhaseBreakdown",
    "breakdown",
    "breakdowns_by_group",
    "find_bottleneck",
]
