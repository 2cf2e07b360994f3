"""Paired comparisons with common random numbers."""

from __future__ import annotations

import numpy as np
import pytest
from experiment_scenarios import small

from asyncflow.experiment import Comparison, ExperimentError, compare, replicate


def test_a_design_against_itself_differs_by_exactly_nothing() -> None:
    """Common random numbers: the same design run twice is the same, run by run."""
    comparison = compare(small("a"), small("b"), runs=3, jobs=1)
    for path, difference in comparison.differences().items():
        assert difference.mean == 0.0, path
        assert difference.verdict == "no significant difference"


def test_a_faster_server_is_better_and_pairing_narrows_the_interval() -> None:
    base, fast = small("base", cpu_s=0.012), small("fast", cpu_s=0.006)
    comparison = compare(base, fast, runs=6, seed=4, jobs=1)
    latency = comparison.difference("latency_s.mean")
    assert latency.verdict == "better"
    assert latency.ci_high < 0.0
    assert latency.relative < 0.0
    utilisation = comparison.difference("servers.srv-1.cpu_utilization")
    assert utilisation.verdict == "lower"
    generated = comparison.difference("requests.generated")
    assert generated.mean == 0.0  # same workload stream in both designs
    # An unpaired comparison (independent seeds for B) is much less sharp.
    independent = replicate(fast, runs=6, seed=5, jobs=1).values("latency_s.mean")
    unpaired = np.std(comparison.a.values("latency_s.mean") - independent, ddof=1)
    paired = np.std(
        comparison.b.values("latency_s.mean") - comparison.a.values("latency_s.mean"), ddof=1
    )
    assert paired < unpaired
    reverse = compare(fast, base, runs=6, seed=4, jobs=1).difference("latency_s.mean")
    assert reverse.verdict == "worse"
    assert reverse.mean == pytest.approx(-latency.mean)


def test_summary_has_differences_and_both_ensembles() -> None:
    comparison = compare(small("a"), small("b", cpu_s=0.008), runs=2, jobs=1)
    summary = comparison.summary()
    assert summary["scenarios"] == {"a": "a", "b": "b"}
    assert summary["runs"] == 2
    entry = summary["differences"]["latency_s.p95"]
    assert set(entry) == {"mean", "ci_low", "ci_high", "n", "relative", "verdict"}
    assert summary["a"]["latency_s.p95"]["n"] == 2
    assert set(summary["differences"]) == set(comparison.figures)


def test_comparison_needs_paired_seeds() -> None:
    a = replicate(small(), runs=2, seed=1, jobs=1)
    b = replicate(small(), runs=2, seed=2, jobs=1)
    with pytest.raises(ExperimentError, match=r"^a comparison pairs runs by seed"):
        Comparison(a, b)


def test_auto_warm_up_applies_the_later_cut_to_both() -> None:
    comparison = compare(small("a"), small("b", cpu_s=0.008), runs=2, jobs=1, warm_up="auto")
    assert comparison.a.warm_up_s == comparison.b.warm_up_s
    assert comparison.a.warm_up.method == "mser-5"
