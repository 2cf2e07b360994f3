"""Analysis of results.

Latency attribution by phase and the bottleneck verdict (``attribution``);
statistics across runs: intervals, proportions, bands, MSER-5 warm-up (``stats``).
"""

from asyncflow.analysis.attribution import (
    Bottleneck,
    PhaseBreakdown,
    breakdown,
    breakdowns_by_group,
    find_bottleneck,
)
from asyncflow.analysis.stats import (
    Band,
    FigureStats,
    Proportion,
    band,
    bootstrap_interval,
    describe,
    mser,
    paired_difference,
    proportion_interval,
    t_interval,
)

__all__ = [
    "Band",
    "Bottleneck",
    "FigureStats",
    "PhaseBreakdown",
    "Proportion",
    "band",
    "bootstrap_interval",
    "breakdown",
    "breakdowns_by_group",
    "describe",
    "find_bottleneck",
    "mser",
    "paired_difference",
    "proportion_interval",
    "t_interval",
]
