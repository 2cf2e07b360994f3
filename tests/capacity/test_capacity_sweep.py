"""Sweeps and searches over real runs (short and inline), their parameters and gates."""

from __future__ import annotations

import csv
import math
import re
from pathlib import Path

import numpy as np
import pytest
from capacity_scenarios import queue

from asyncflow.errors import ExperimentError, ScenarioError
from asyncflow.experiment import Objective
from asyncflow.experiment.gates import check_ensemble, check_run, check_slo_confidence
from asyncflow.experiment.options import ReplicationOptions
from asyncflow.experiment.parameters import Parameter, parse_range
from asyncflow.experiment.search import SearchSpace, run_search
from asyncflow.experiment.sweep import build_points, sweep
from asyncflow.scenario.builder import cpu, exponential

USERS = "rqs_input.avg_active_users.mean"
CORES = "topology_graph.nodes.servers.srv-1.server_resources.cpu_cores"


@pytest.fixture(scope="module")
def base() -> object:
    return queue(50.0, cpu(exponential(0.01)), horizon_s=40.0, warm_up_s=4.0)


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("100,200,400", (100, 200, 400)),
        ("0.5, 1e-3", (0.5, 0.001)),
        ("round_robin,random", ("round_robin", "random")),
    ],
)
def test_values_are_read_as_yaml(text: str, values: tuple[object, ...]) -> None:
    assert Parameter.from_values("p", text).values == values


@pytest.mark.parametrize(
    ("text", "values"),
    [("1:4:1", (1, 2, 3, 4)), ("10:35:10", (10, 20, 30)), ("0.1:0.3:0.1", (0.1, 0.2, 0.3))],
)
def test_ranges_include_their_stop(text: str, values: tuple[object, ...]) -> None:
    got = Parameter.from_range("p", text).values
    assert got == pytest.approx(values)
    assert all(isinstance(v, int) for v in got) == all(isinstance(v, int) for v in values)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: Parameter.from_values("p", "1,,2"),
            "--values for p: expected values separated by commas (got '1,,2')",
        ),
        (
            lambda: Parameter.from_range("p", "1:5"),
            "--range for p: expected START:STOP:STEP (got '1:5')",
        ),
        (
            lambda: Parameter.from_range("p", "1:5:0"),
            "--range for p: STEP must be > 0 (got '1:5:0')",
        ),
        (
            lambda: Parameter.from_range("p", "5:1:1"),
            "--range for p: STOP must be >= START (got '5:1:1')",
        ),
        (
            lambda: Parameter.from_range("p", "a:b:c"),
            "--range for p: expected START:STOP:STEP (got 'a:b:c')",
        ),
        (
            lambda: Parameter.from_range("p", "0:1e6:1"),
            "--range for p: 1,000,001 values; at most 10,000 (got '0:1e6:1')",
        ),
        (
            lambda: parse_range("p", "1:2:3:4", step_required=False),
            "--range for p: expected START:STOP or START:STOP:STEP (got '1:2:3:4')",
        ),
    ],
)
def test_bad_values_and_ranges(call: object, message: str) -> None:
    with pytest.raises(ExperimentError, match=f"^{re.escape(message)}$"):
        call()  # type: ignore[operator]


def test_bad_points_are_refused_before_anything_runs(base: object) -> None:
    with pytest.raises(ScenarioError) as caught:
        build_points(base, [Parameter(CORES, (2, 0, -1))])  # type: ignore[arg-type]
    assert caught.value.problems == (
        f"at {CORES}=0: topology_graph.nodes.servers[0].server_resources.cpu_cores: "
        "must be >= 1 (got 0)",
        f"at {CORES}=-1: topology_graph.nodes.servers[0].server_resources.cpu_cores: "
        "must be >= 1 (got -1)",
    )
    with pytest.raises(ScenarioError) as caught:
        build_points(base, [Parameter(CORES + "x", (1, 2))])  # type: ignore[arg-type]
    assert len(caught.value.problems) == 1  # a wrong path is said once, not per point


def test_a_grid_runs_every_point_with_the_same_seeds(base: object, tmp_path: Path) -> None:
    result = sweep(
        base,  # type: ignore[arg-type]
        {USERS: [20, 60], CORES: [1, 2]},
        runs=2,
        jobs=1,
        seed=4,
        slo=["latency_s.p95<0.05"],
    )
    assert [p.values for p in result.points] == [
        {USERS: 20, CORES: 1},
        {USERS: 20, CORES: 2},
        {USERS: 60, CORES: 1},
        {USERS: 60, CORES: 2},
    ]
    seeds = {p.ensemble.seeds for p in result.points}
    assert len(seeds) == 1  # common random numbers
    low, high = result.points[0], result.points[2]
    assert (
        high.headline(0.95)["throughput_rps.mean"]["mean"]
        > low.headline(0.95)["throughput_rps.mean"]["mean"]
    )
    assert result.points[2].passed is False  # 60 req/s on 1 core: p95 = ln 20 / 40 = 75 ms
    assert result.points[3].passed is True
    assert result.missed == [
        f"at {USERS}=60, {CORES}=1: latency_s.p95<0.05: met in 0 of 2 runs (0%), 95% needed"
    ]
    lines = result.lines()
    assert [others for others, _ in lines] == [{CORES: 1}, {CORES: 2}]
    summary = result.summary()
    assert summary["params"] == [USERS, CORES]
    point = summary["points"][0]
    assert set(point) == {"values", "warm_up_s", "figures", "slo", "passed", "ensemble", "theory"}
    assert set(point["figures"]) >= {"latency_s.p95", "requests.failed_share"}
    assert "found" not in summary
    path = tmp_path / "p.csv"
    result.write_csv(path)
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 4
    assert rows[0][USERS] == "20"
    assert float(rows[0]["latency_s.p95.mean"]) == pytest.approx(
        point["figures"]["latency_s.p95"]["mean"]
    )
    theory = float(rows[0]["theory.latency_s.p95"])
    assert theory == pytest.approx(math.log(20) / 80.0 + 3e-6)


def test_a_search_finds_the_mm1_limit_of_a_short_run(base: object) -> None:
    """p95 < 0.1 s at μ = 100/s: theory's limit is 100 − ln 20 / 0.1 ≈ 70.0 req/s."""
    result = run_search(
        "q",
        base,
        SearchSpace(USERS, "max", low=10.0, high=100.0, step=5.0),
        ReplicationOptions(runs=3, jobs=1),
        [Objective.parse("latency_s.p95<0.1")],
        seed=1,
    )
    found = result.found
    assert found is not None
    assert found.value is not None
    assert found.next_value == found.value + 5.0
    assert 55.0 <= found.value <= 70.0
    assert found.as_dict() == {"param": USERS, "value": found.value, "confidence": 1.0}
    values = [p.values[USERS] for p in result.points]
    assert values == sorted(values)
    assert result.summary()["search"]["evaluations"] == len(values)


def test_gates_on_runs_and_ensembles(base: object) -> None:
    figures = {"latency_s.p95": 0.15, "requests.failed": 0.0}
    gates = check_run(
        figures,
        [
            Objective.parse("latency_s.p95<0.2"),
            Objective.parse("requests.failed_by_reason.timeout<=0"),
        ],
    )
    assert [g.passed for g in gates] == [True, True]
    assert gates[0].as_dict() == {"value": 0.15, "passed": True}
    with pytest.raises(ExperimentError, match=r"^unknown figure 'latency_s\.p59' \(did you mean"):
        check_run(figures, [Objective.parse("latency_s.p59<1")])
    nan = check_run({"latency_s.p95": math.nan}, [Objective.parse("latency_s.p95<1")])[0]
    assert (nan.passed, nan.as_dict()["value"]) == (False, None)
    assert nan.sentence() == "latency_s.p95<1: latency_s.p95 = no value"
    result = sweep(base, {USERS: [50]}, runs=4, jobs=1)  # type: ignore[arg-type]
    ensemble = result.points[0].ensemble
    p95 = ensemble.values("latency_s.p95")
    middle = float(np.sort(p95)[1])
    goal = Objective.parse(f"latency_s.p95<={middle!r}")  # met by exactly 2 runs of 4
    assert check_ensemble(ensemble, [goal], 0.5)[0].passed
    assert not check_ensemble(ensemble, [goal], 0.51)[0].passed
    for bad in (0.0, 1.5):
        with pytest.raises(ExperimentError, match=r"slo_confidence: expected a number in \(0, 1\]"):
            check_slo_confidence(bad)


def test_find_limit_is_the_python_face_of_a_search(base: object) -> None:
    from asyncflow.experiment import find_limit

    result = find_limit(
        base, CORES, direction="min", slo=["latency_s.p95<0.05"], runs=2, jobs=1
    )  # 50 req/s: one core gives p95 = ln 20 / 50 = 60 ms, two cores about 31 ms
    assert result.found is not None
    assert (result.found.value, result.found.next_value) == (2.0, 1.0)
    assert [p.values[CORES] for p in result.points] == [1, 2]
    with pytest.raises(ExperimentError, match=r"^a search needs an objective: add --slo"):
        find_limit(base, USERS, direction="max", slo=[], runs=2, jobs=1)
    with pytest.raises(ExperimentError, match=r"^low, high: expected both, with low <= high"):
        find_limit(base, USERS, direction="max", slo=["latency_s.p95<1"], low=5.0, runs=2)
    with pytest.raises(ExperimentError, match=r"^direction: expected 'max' or 'min'"):
        find_limit(base, USERS, direction="up", slo=["latency_s.p95<1"])  # type: ignore[arg-type]
