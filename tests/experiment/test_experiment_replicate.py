"""Replications: seeds, executors, figures, objectives, stopping and warm-up."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from experiment_scenarios import mm1, small

import asyncflow
from asyncflow.experiment import (
    Ensemble,
    ExperimentError,
    Objective,
    replicate,
    replication_seed,
    replication_seeds,
)
from asyncflow.experiment.record import MAX_BAND_BINS, flatten_summary
from asyncflow.scenario import Scenario


def assert_same(a: Ensemble, b: Ensemble) -> None:
    assert a.seeds == b.seeds
    assert a.figures == b.figures
    for path in a.figures:
        np.testing.assert_array_equal(a.values(path), b.values(path))
    for name in a.series_names:
        np.testing.assert_array_equal(a.series(name), b.series(name))


# ---------------------------------------------------------------------- seeds


def test_seeds_are_those_of_seed_sequence_spawn() -> None:
    children = np.random.SeedSequence(11).spawn(6)
    expected = [int(c.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1)) for c in children]
    assert list(replication_seeds(11, 6)) == expected
    assert replication_seeds(11, 3) == replication_seeds(11, 6)[:3]
    assert len(set(replication_seeds(0, 200))) == 200
    assert all(0 <= s < 2**63 for s in replication_seeds(5, 50))
    with pytest.raises(ValueError, match=r"^seed: expected an integer >= 0 \(got -1\)$"):
        replication_seed(-1, 0)


# ---------------------------------------------------------------------- executors


@pytest.fixture(scope="module")
def inline() -> Ensemble:
    return replicate(small(), runs=4, seed=3, jobs=1)


def test_the_ensemble_is_the_same_on_any_executor(inline: Ensemble) -> None:
    with ThreadPoolExecutor(max_workers=3) as pool:
        threaded = replicate(small(), runs=4, seed=3, executor=pool)
    assert_same(inline, threaded)


def test_local_processes_give_the_same_ensemble(inline: Ensemble) -> None:
    assert_same(inline, replicate(small(), runs=4, seed=3, jobs=2))


def test_each_run_is_the_single_run_of_its_seed(inline: Ensemble) -> None:
    record = inline.records[2]
    single = asyncflow.run(small(), seed=inline.seeds[2]).summary()
    expected = flatten_summary(single)
    assert record.figures.keys() == expected.keys()
    np.testing.assert_array_equal(
        np.array(list(record.figures.values())), np.array(list(expected.values()))
    )


def test_seed_defaults_to_the_scenario_then_zero() -> None:
    assert replicate(small(), runs=1, jobs=1).seed == 0
    seeded = small().model_copy(
        update={"sim_settings": small().sim_settings.model_copy(update={"seed": 9})}
    )
    assert replicate(seeded, runs=1, jobs=1).seeds == replication_seeds(9, 1)


def test_a_path_is_accepted(tmp_path: Path, examples_dir: Path) -> None:
    ensemble = replicate(examples_dir / "single_server.yml", runs=1, jobs=1)
    assert ensemble.name == "single_server"


# ---------------------------------------------------------------------- figures


def test_figures_cover_the_summary_by_dotted_path(inline: Ensemble) -> None:
    for path in ("latency_s.p95", "servers.srv-1.cpu_utilization", "requests.generated"):
        assert path in inline.figures
    assert not {"seed", "wall_s", "scenario", "simulated_s", "warm_up_s"} & set(inline.figures)
    values = inline.values("latency_s.p95")
    s = inline.stats("latency_s.p95")
    assert s.n == 4
    assert s.mean == pytest.approx(values.mean())
    assert s.std == pytest.approx(values.std(ddof=1))
    assert s.ci_low < s.mean < s.ci_high
    assert inline.stats("latency_s.p95", confidence=0.5).half_width < s.half_width


def test_unknown_figures_suggest_close_names(inline: Ensemble) -> None:
    message = "unknown figure 'latency_s.p59' (did you mean 'latency_s.p99', 'latency_s.p95', "
    with pytest.raises(ExperimentError, match=f"^{re.escape(message)}"):
        inline.values("latency_s.p59")


def test_a_failure_reason_absent_from_a_run_counts_zero(inline: Ensemble) -> None:
    assert inline.values("requests.failed_by_reason.network_drop").tolist() == [0.0] * 4
    down = inline.values("requests.failed_by_reason.server_down")
    assert down.tolist() == inline.values("requests.failed").tolist()


def test_missing_latency_is_left_out_and_misses_every_objective() -> None:
    """A server down for the whole run: nothing completes, latencies are None."""
    dead = (
        asyncflow.ScenarioBuilder("dead")
        .workload(users=5, requests_per_minute=60)
        .client()
        .server("srv-1", endpoints=[{"endpoint_name": "/x", "steps": []}])
        .wire(latency=0.001)
        .outage("srv-1", start=0.0, end=5.0)
        .settings(horizon_s=5.0)
        .build()
    )
    ensemble = replicate(dead, runs=3, jobs=1)
    assert ensemble.stats("latency_s.p95").n == 0
    assert ensemble.summary()["ensemble"]["latency_s.p95"]["mean"] is None
    assert ensemble.probability("latency_s.p95<100").p == 0.0
    assert np.isnan(ensemble.band("latency_s.p95").mean).all()


def test_records_hold_figures_and_few_bins_not_requests(inline: Ensemble) -> None:
    record = inline.records[0]
    assert not hasattr(record, "requests")
    assert all(v.dtype == np.float32 for v in record.series.values())
    assert all(v.size <= MAX_BAND_BINS for v in record.series.values())
    assert inline.t.size == record.series["throughput_rps"].size
    assert inline.bin_s * inline.t.size == pytest.approx(inline.end_s)


def test_bands_have_one_value_per_bin(inline: Ensemble) -> None:
    band = inline.band("throughput_rps")
    assert band.t.size == band.mean.size == band.ci_low.size == band.high.size
    assert (band.n == 4).all()
    ok = np.isfinite(band.ci_low)
    assert (band.ci_low[ok] <= band.mean[ok]).all()
    assert (band.mean[ok] <= band.ci_high[ok]).all()
    assert (band.low <= band.high).all()
    with pytest.raises(ExperimentError, match=r"^unknown series 'throughput'"):
        inline.band("throughput")


def test_fault_windows_come_with_the_ensemble(inline: Ensemble) -> None:
    (window,) = inline.fault_windows
    assert (window.event_id, window.kind, window.start_s, window.end_s) == ("down", "outage", 8, 10)


def test_runs_csv_has_one_row_per_run(inline: Ensemble, tmp_path: Path) -> None:
    inline.write_csv(tmp_path / "runs.csv")
    lines = (tmp_path / "runs.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("run,seed,requests.generated,")
    assert len(lines) == 5
    assert lines[3].startswith(f"2,{inline.seeds[2]},")


# ---------------------------------------------------------------------- objectives


def test_probability_counts_runs_meeting_the_objective(inline: Ensemble) -> None:
    values = inline.values("latency_s.p95")
    threshold = float(np.median(values))
    p = inline.probability(f"latency_s.p95 <= {threshold!r}")
    assert p.successes == int((values <= threshold).sum())
    assert p.n == 4
    assert p.ci_low <= p.p <= p.ci_high
    slo = inline.summary([Objective.parse("latency_s.p95<1")])["slo"]
    assert slo == {
        "latency_s.p95<1": {
            "p": 1.0,
            "ci_low": pytest.approx(0.5101, abs=1e-4),
            "ci_high": 1.0,
            "met": 4,
            "n": 4,
            "required": 0.95,
            "passed": True,
        }
    }


@pytest.mark.parametrize(
    ("text", "path", "op", "threshold"),
    [
        ("latency_s.p95<0.2", "latency_s.p95", "<", 0.2),
        (" servers.srv-1.cpu_utilization >= 0.5 ", "servers.srv-1.cpu_utilization", ">=", 0.5),
        ("requests.failed<=1e3", "requests.failed", "<=", 1000.0),
        ("throughput_rps.mean>-1", "throughput_rps.mean", ">", -1.0),
    ],
)
def test_objectives_parse(text: str, path: str, op: str, threshold: float) -> None:
    assert Objective.parse(text) == Objective(path, op, threshold)


@pytest.mark.parametrize(
    "text", ["latency_s.p95", "latency_s.p95<", "<0.2", "latency_s.p95=0.2", "p95<fast", "a<nan"]
)
def test_bad_objectives_are_refused(text: str) -> None:
    message = (
        f"objective {text!r}: expected PATH OP NUMBER with OP one of <, <=, >, >= "
        "(e.g. 'latency_s.p95<0.2')"
    )
    with pytest.raises(ExperimentError, match=f"^{re.escape(message)}$"):
        Objective.parse(text)


def test_a_failing_run_raises_and_stops_the_rest() -> None:
    class Broken(ThreadPoolExecutor):
        def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def, override]
            raise RuntimeError("no workers")

    with Broken(1) as pool, pytest.raises(RuntimeError, match=r"^no workers$"):
        replicate(small(), runs=2, executor=pool)
    with pytest.raises(TypeError, match=r"^executor: expected a concurrent.futures.Executor"):
        replicate(small(), runs=2, executor=object())


# ---------------------------------------------------------------------- stopping


def test_sequential_stopping_reaches_the_precision_deterministically() -> None:
    inline = replicate(small(), runs=5, jobs=1, precision=0.01, max_runs=40)
    assert inline.stopping is not None
    assert inline.stopping.met
    s = inline.stats("latency_s.mean")
    assert s.half_width <= 0.01 * s.mean
    assert inline.runs >= 5
    shorter = replicate(small(), runs=5, jobs=1, max_runs=inline.runs - 1 or 5)
    assert shorter.seeds == inline.seeds[: shorter.runs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        threaded = replicate(small(), runs=5, executor=pool, precision=0.01, max_runs=40)
    assert threaded.seeds == inline.seeds


def test_sequential_stopping_gives_up_at_max_runs() -> None:
    ensemble = replicate(small(), runs=5, jobs=1, precision=1e-6, max_runs=6)
    assert ensemble.runs == 6
    assert ensemble.stopping is not None
    assert not ensemble.stopping.met
    assert ensemble.summary()["stopping"]["relative_half_width"] > 1e-6


def test_sequential_stopping_on_an_unknown_metric() -> None:
    with pytest.raises(ExperimentError, match=r"^unknown figure 'latency_s.avg' for the stopping"):
        replicate(small(), runs=5, jobs=1, precision=0.1, metric="latency_s.avg")


def test_progress_is_reported_after_each_run() -> None:
    calls: list[tuple[str, int, int]] = []
    replicate(small(horizon_s=5.0), runs=3, jobs=1, progress=lambda *a: calls.append(a))
    assert calls == [("runs", 1, 3), ("runs", 2, 3), ("runs", 3, 3)]


# ---------------------------------------------------------------------- warm-up


def test_a_fixed_warm_up_replaces_the_scenarios() -> None:
    ensemble = replicate(small(), runs=2, jobs=1, warm_up=5.0)
    assert ensemble.warm_up_s == 5.0
    assert ensemble.warm_up.method == "fixed"
    assert ensemble.scenario.sim_settings.warm_up_s == 5.0
    assert ensemble.summary()["warm_up"] == {"method": "fixed", "cut_s": 5.0, "pilot_runs": 0}


def scenario_with_transient() -> Scenario:
    """M/M/1 at rho = 0.9 starting empty: latency climbs for the first few hundred seconds."""
    return mm1(rate=0.9, horizon_s=3000.0, warm_up_s=0.0)


def test_auto_warm_up_cuts_the_initial_transient() -> None:
    calls: list[str] = []
    ensemble = replicate(
        scenario_with_transient(),
        runs=3,
        jobs=1,
        warm_up="auto",
        progress=lambda phase, *_: calls.append(phase),
    )
    assert ensemble.warm_up.method == "mser-5"
    assert ensemble.warm_up.pilot_runs == 3
    assert 0.0 < ensemble.warm_up_s <= 1500.0
    assert ensemble.scenario.sim_settings.warm_up_s == ensemble.warm_up_s
    assert calls == ["pilot"] * 3 + ["runs"] * 3
    # a whole number of MSER-5 batches of the run's own 5 s bins
    assert (ensemble.warm_up_s / 25.0).is_integer()
