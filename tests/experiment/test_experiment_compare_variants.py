"""Variants of a scenario: merge-patch overlays, multiple-comparison corrections, CRN."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from experiment_scenarios import small

from asyncflow.errors import ScenarioError, ScenarioFileError
from asyncflow.experiment import ReplicationOptions
from asyncflow.experiment.comparison_figures import compared_figures, figure_values
from asyncflow.experiment.comparison_stats import adjust, interval_level, paired_test
from asyncflow.experiment.comparison_variants import VariantTask, run_variants, simulate_variant
from asyncflow.experiment.overlay import is_overlay, merge_patch, read_mapping, variant
from asyncflow.experiment.record import RunRecord, RunTask

# --------------------------------------------------------------- merge patch

RFC_7386_EXAMPLES: list[tuple[Any, Any, Any]] = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]


@pytest.mark.parametrize(("target", "patch", "expected"), RFC_7386_EXAMPLES)
def test_merge_patch_follows_the_examples_of_rfc_7386(
    target: Any, patch: Any, expected: Any
) -> None:
    before = json.dumps(target)
    assert merge_patch(target, patch) == expected
    assert json.dumps(target) == before  # the target is not changed


def base_mapping(cpu_s: float = 0.004) -> dict[str, Any]:
    """``small()`` as the mapping of a scenario file."""
    scenario = small("base", cpu_s=cpu_s)
    data: dict[str, Any] = json.loads(scenario.model_dump_json(exclude_none=True))
    data.pop("name")
    return data


def write(path: Path, data: Any) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def test_an_overlay_changes_only_what_it_names(tmp_path: Path) -> None:
    overlay = {"policies": [{"type": "concurrency_limit", "target": "srv-1", "max_in_flight": 3}]}
    read = variant(base_mapping(), write(tmp_path / "capped.yml", overlay))
    assert (read.name, read.overlay) == ("capped", True)
    assert read.scenario.name == "capped"
    assert len(read.scenario.policies) == 1
    assert read.scenario.topology_graph == small("base").topology_graph


def test_a_null_in_an_overlay_deletes_the_key(tmp_path: Path) -> None:
    base = base_mapping()
    assert base["events"]  # the outage of small()
    read = variant(base, write(tmp_path / "calm.yml", {"events": None}), "calm")
    assert read.scenario.events == ()
    assert small("base").events != ()


def test_a_full_scenario_file_is_not_an_overlay(tmp_path: Path) -> None:
    data = base_mapping()
    data["sim_settings"]["total_simulation_time"] = 30
    read = variant({"unrelated": 1}, write(tmp_path / "full.yml", data))
    assert read.overlay is False
    assert read.scenario.sim_settings.total_simulation_time == 30
    assert is_overlay({"topology_graph": {}})
    assert not is_overlay(data)


BAD_OVERLAYS: list[tuple[str, str, type[Exception], list[str]]] = [
    ("list.yml", "- policies\n", ScenarioFileError,
     ["{path}: the top level of an overlay or scenario must be a mapping (got list)"]),
    ("text.json", '"policies"', ScenarioFileError,
     ["{path}: the top level of an overlay or scenario must be a mapping (got str)"]),
    ("empty.yml", "", ScenarioFileError,
     ["{path}: the top level of an overlay or scenario must be a mapping (got null)"]),
    ("overlay.toml", "a = 1", ScenarioFileError,
     ["{path}: unsupported file type '.toml' (use .yml, .yaml or .json)"]),
    ("unknown.yml", "sim_settings: { total_simulation_time: 20, colour: blue }\n", ScenarioError,
     ["sim_settings.colour: unknown field (expected one of: total_simulation_time, "
      "sample_period_s, seed, warm_up_s)"]),
    ("policy.yml", "policies: [{ type: concurrency_limit, target: srv-9, max_in_flight: 2 }]\n",
     ScenarioError, None),
]  # fmt: skip


@pytest.mark.parametrize(("name", "text", "error", "problems"), BAD_OVERLAYS)
def test_bad_overlays_are_refused_with_the_path_named(
    tmp_path: Path, name: str, text: str, error: type[Exception], problems: list[str] | None
) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(error) as raised:
        variant(base_mapping(), path)
    found = list(raised.value.problems)  # type: ignore[attr-defined]
    if problems is None:  # an unknown target: the scenario's own message names the field
        assert len(found) == 1
        assert re.match(r"^policies\[0\]\.target: .*'srv-9'", found[0]), found
    else:
        assert found == [p.format(path=path) for p in problems]


def test_read_mapping_reads_json_and_yaml(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text('{"policies": null}', encoding="utf-8")
    assert read_mapping(tmp_path / "a.json") == {"policies": None}


# ------------------------------------------------------ tests and corrections


def test_holm_adjusts_as_its_definition_says() -> None:
    """p = (0.01, 0.04, 0.03, 0.005), m = 4, sorted 0.005, 0.01, 0.03, 0.04.

    Holm: 4 x 0.005 = 0.02; max(0.02, 3 x 0.01 = 0.03) = 0.03;
    max(0.03, 2 x 0.03 = 0.06) = 0.06; max(0.06, 1 x 0.04) = 0.06.
    """
    p = [0.01, 0.04, 0.03, 0.005]
    assert adjust(p, "holm") == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert adjust(p, "bonferroni") == pytest.approx([0.04, 0.16, 0.12, 0.02])
    assert adjust(p, "none") == p
    # Holm is more powerful: (0.01, 0.02, 0.04) -> 0.03, 0.04, 0.04, all below 0.05,
    # where Bonferroni (0.03, 0.06, 0.12) keeps only the first
    assert adjust([0.01, 0.02, 0.04], "holm") == pytest.approx([0.03, 0.04, 0.04])
    assert adjust([0.01, 0.02, 0.04], "bonferroni") == pytest.approx([0.03, 0.06, 0.12])
    # and steps down only while it rejects: 2 x 0.026 = 0.052 keeps the first,
    # so the second is kept too although 1 x 0.04 < 0.05
    assert adjust([0.026, 0.04], "holm") == pytest.approx([0.052, 0.052])
    # NaN (a test that could not be made) is neither counted nor adjusted
    assert adjust([0.02, math.nan, 0.04], "holm") == pytest.approx([0.04, math.nan, 0.04],
                                                                    nan_ok=True)  # fmt: skip
    assert adjust([0.6, 0.9], "holm") == pytest.approx([1.0, 1.0])
    with pytest.raises(ValueError, match=r"^correction: expected one of holm, bonferroni, none"):
        adjust(p, "sidak")


def test_paired_test_matches_scipy() -> None:
    from scipy import stats

    base = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    other = base + np.array([0.3, 0.1, 0.4, 0.2, 0.6])
    test = paired_test(base, other, 0.95)
    reference = stats.ttest_rel(other, base)
    assert test.p_value == pytest.approx(float(reference.pvalue))
    low, high = reference.confidence_interval(0.95)
    assert (test.ci_low, test.ci_high) == pytest.approx((float(low), float(high)))
    assert test.n == 5
    same = paired_test(base, base, 0.95)
    assert (same.mean, same.ci_low, same.ci_high, same.p_value) == (0.0, 0.0, 0.0, 1.0)
    assert interval_level(0.95, 10, "holm") == pytest.approx(0.995)
    assert interval_level(0.95, 10, "none") == 0.95


# ------------------------------------------------------------ figures


def record(figures: dict[str, float], index: int = 0) -> RunRecord:
    return RunRecord(index, index, figures, {}, 1.0, 0.0)


def test_the_figures_follow_what_the_summaries_hold() -> None:
    """Attempts and wasted work appear once some scenario has them, with their neutral value."""
    plain = [record({"requests.generated": 100.0, "requests.failed": 0.0,
                     "latency_s.p99": 0.2})]  # fmt: skip
    retrying = [record({"requests.generated": 100.0, "requests.failed": 5.0,
                        "requests.failed_by_reason.timeout": 5.0, "latency_s.p99": 0.3,
                        "attempts.per_request": 1.4, "policies.wasted_cpu_s": 2.5})]  # fmt: skip
    alone = [f.path for f in compared_figures([plain], None)]
    assert alone == ["latency_s.p99", "error_rate"]
    both = compared_figures([plain, retrying], 0.5)
    assert [f.path for f in both] == [
        "goodput_rps", "goodput_share", "latency_s.p99", "error_rate", "error_rate.timeout",
        "wasted_cpu_s", "attempts_per_request",
    ]  # fmt: skip
    assert [f.direction for f in both] == [1, 1, -1, -1, -1, -1, -1]
    expected = {
        "error_rate": (0.0, 0.05),
        "error_rate.timeout": (0.0, 0.05),
        "wasted_cpu_s": (0.0, 2.5),
        "attempts_per_request": (1.0, 1.4),
        "latency_s.p99": (0.2, 0.3),
    }
    for path, values in expected.items():
        found = (figure_values(plain, path)[0], figure_values(retrying, path)[0])
        assert found == pytest.approx(values), path
    assert np.isnan(figure_values([record({})], "error_rate")[0])  # nothing generated


def test_goodput_counts_the_answers_within_the_threshold() -> None:
    from asyncflow.simulation import run

    scenario = small("base")
    task = RunTask(scenario, 0, 7, 1)
    results = run(scenario, seed=7)
    latencies = results.latencies()
    measured = int(np.count_nonzero(results.requests.generated_s >= results.warm_up_s))
    for within in (0.005, 0.02, 1e9):
        figures = simulate_variant(VariantTask(task, within)).figures
        good = int(np.count_nonzero(latencies <= within))
        assert figures["goodput_rps"] == pytest.approx(good / results.measured_s)
        assert figures["goodput_share"] == pytest.approx(good / measured)
    assert "goodput_rps" not in simulate_variant(VariantTask(task, None)).figures


# ------------------------------------------------------------ whole comparisons


def test_a_variant_identical_to_the_base_differs_by_exactly_nothing(tmp_path: Path) -> None:
    """Common random numbers: every figure of every run is the same."""
    same = variant(base_mapping(), write(tmp_path / "same.yml", {"policies": None}))
    faster = small("faster", cpu_s=0.002)
    comparison = run_variants(
        small("base"),
        [same.scenario, faster],
        ReplicationOptions(runs=3, jobs=1),
        goodput_within_s=0.05,
    )
    paths = [f.path for f in comparison.figures]
    assert paths[:4] == ["goodput_rps", "goodput_share", "latency_s.p99", "error_rate"]
    assert "error_rate.server_down" in paths  # the outage of small()
    for judged in (j for j in comparison.judged if j.variant == "same"):
        assert judged.mean == 0.0, judged.figure.path
        assert judged.verdict == "no significant difference"
        assert judged.p_adjusted == 1.0
    # pairs that are all equal cannot be significant: they are left out of the family
    assert 0 < comparison.family <= len(comparison.figures)
    p99 = next(j for j in comparison.judged if j.variant == "faster" and "p99" in j.figure.path)
    assert p99.mean < 0.0
    summary = comparison.summary()
    assert summary["correction"]["method"] == "holm"
    assert summary["correction"]["family"] == comparison.family
    assert "Holm–Bonferroni" in summary["correction"]["statement"]
    assert set(summary["differences"]) == {"same", "faster"}


def test_verdicts_follow_each_figures_direction(tmp_path: Path) -> None:
    """A cap that sheds raises the error rate (worse) and lowers the p99 (better)."""
    cap = {"type": "concurrency_limit", "target": "srv-1", "max_in_flight": 1}
    capped = variant(base_mapping(0.03), write(tmp_path / "capped.yml", {"policies": [cap]}))
    comparison = run_variants(
        small("base", cpu_s=0.03),
        [capped.scenario],
        ReplicationOptions(runs=8, seed=3, jobs=1),
        correction="bonferroni",
    )
    verdicts = {j.figure.path: j.verdict for j in comparison.judged}
    assert verdicts["error_rate.shed"] == "worse"
    assert verdicts["latency_s.p99"] == "better"
    shed = next(j for j in comparison.judged if j.figure.path == "error_rate.shed")
    assert shed.p_adjusted == pytest.approx(min(1.0, comparison.family * shed.p_value))
