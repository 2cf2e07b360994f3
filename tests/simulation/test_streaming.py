"""Streaming mode: the same run, requests folded into sums and sketches as they end."""

from __future__ import annotations

import math
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from asyncflow.experiment import replicate
from asyncflow.experiment.record import flatten_summary
from asyncflow.metrics.phases import SLOTS
from asyncflow.metrics.sketch import QuantileSketch
from asyncflow.metrics.stream import LATENCY_ALPHA, Chunk, RequestStream
from asyncflow.results import NotRecordedError, Results
from asyncflow.scenario import Scenario, parse_scenario
from asyncflow.simulation import Simulation

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SMALL_RING = 512  # rows: folds and wraps many times, and grows while requests are in flight


def _scenario(example: str, horizon: float) -> Scenario:
    data = yaml.safe_load((EXAMPLES / example).read_text(encoding="utf-8"))
    factor = horizon / float(data["sim_settings"]["total_simulation_time"])
    data["sim_settings"]["total_simulation_time"] = horizon
    if "warm_up_s" in data["sim_settings"]:
        data["sim_settings"]["warm_up_s"] *= factor
    for event in data.get("events") or ():
        event["start"]["t_start"] *= factor
        if "end" in event:  # a cache flush has none
            event["end"]["t_end"] *= factor
    return parse_scenario(data, name=Path(example).stem)


def _pair(example: str, horizon: float) -> tuple[Results, Results]:
    scenario = _scenario(example, horizon)
    exact = Simulation(scenario, 4).run()
    streamed = Simulation(scenario, 4, streaming=True, ring_rows=SMALL_RING).run()
    return exact, streamed


def _relative(a: float, b: float) -> float:
    return abs(a - b) / abs(a) if a else abs(b)


SKETCHED = ("latency_s.p", "theory.")  # percentiles from sketches; theory compares them
TAILS = ("latency_breakdown_tail_s.", "bottleneck.")  # whole latency buckets


@pytest.mark.parametrize(
    ("example", "horizon"),
    [
        ("asyncflow-0.1/two_servers_lb.yml", 60.0),
        ("asyncflow-0.1/event_inj_lb.yml", 120.0),
        ("call_tree.yml", 60.0),
        ("lb_socket_exhaustion.yml", 30.0),
        ("cache_stampede.yml", 120.0),  # datastores, and a flush (at 60 s)
    ],
)
def test_a_streaming_run_gives_the_summary_of_the_full_run(example: str, horizon: float) -> None:
    exact, streamed = _pair(example, horizon)
    full, folded = flatten_summary(exact.summary()), flatten_summary(streamed.summary())
    assert set(full) == set(folded)
    assert exact.summary()["requests"] == streamed.summary()["requests"]
    for key, value in full.items():
        other = folded[key]
        if math.isnan(value):
            assert math.isnan(other), key
        elif ".latency_s.p" in key or key.startswith("latency_s.p"):
            assert _relative(value, other) <= 0.01, (key, value, other)
        elif not key.startswith(SKETCHED + TAILS):
            assert _relative(value, other) <= 1e-9, (key, value, other)


@pytest.mark.parametrize(
    ("example", "horizon"), [("call_tree.yml", 60.0), ("cache_stampede.yml", 120.0)]
)
def test_the_tails_are_broken_down_from_latency_buckets(example: str, horizon: float) -> None:
    exact, streamed = _pair(example, horizon)
    for tail in ("p95", "p99"):
        full = exact.summary()["latency_breakdown_tail_s"][tail]
        folded = streamed.summary()["latency_breakdown_tail_s"][tail]
        total = sum(v for v in full.values() if v)
        for phase, seconds in full.items():
            if seconds is not None:  # each phase within 2 % of the tail's mean latency
                assert abs(folded[phase] - seconds) <= 0.02 * total, (tail, phase)
    full_verdict, folded_verdict = exact.summary()["bottleneck"], streamed.summary()["bottleneck"]
    assert (folded_verdict["node"], folded_verdict["phase"]) == (
        full_verdict["node"],
        full_verdict["phase"],
    )
    assert _relative(full_verdict["share_of_p99"], folded_verdict["share_of_p99"]) <= 0.02


def test_series_over_time_come_from_the_stream() -> None:
    exact, streamed = _pair("asyncflow-0.1/two_servers_lb.yml", 60.0)
    full, folded = exact.throughput(), streamed.throughput()
    np.testing.assert_array_equal(full.t, folded.t)
    np.testing.assert_allclose(full.completed, folded.completed, rtol=1e-12)
    width = exact.bin_s * 5
    p_full = exact.latency_over_time(width).values
    p_folded = streamed.latency_over_time(width).values
    for p in (50, 95, 99):
        both = np.isfinite(p_full[p])
        assert np.all(np.abs(p_folded[p][both] / p_full[p][both] - 1) <= 0.015), p
    with pytest.raises(NotRecordedError, match="ask for a multiple of it"):
        streamed.throughput(exact.bin_s * 1.5)


def _peak(horizon: float, *, streaming: bool) -> tuple[int, int]:
    """Requests generated and the peak traced memory of a run and its summary."""
    scenario = _scenario("asyncflow-0.1/two_servers_lb.yml", horizon)
    tracemalloc.start()
    try:
        results = Simulation(scenario, 1, streaming=streaming, ring_rows=1024).run()
        generated = results.summary()["requests"]["generated"]
        return generated, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_full_run_grows_with_the_horizon() -> None:
    """The contrast of the test below: a full run keeps a row per request."""
    _peak(10.0, streaming=False)  # imports and caches out of the way
    short, long = _peak(60.0, streaming=False), _peak(240.0, streaming=False)
    assert long[0] > 3.5 * short[0]
    assert long[1] - short[1] > 52 * (long[0] - short[0])


@pytest.mark.slow
def test_memory_of_a_streaming_run_does_not_grow_with_the_horizon() -> None:
    """Beyond the first minutes, a streaming run's memory is flat.

    What a stream keeps grows with the horizon only in its time series: at
    most 1,000 bins (``series_bin_s``), each with a latency sketch whose
    buckets fill up to the spread of latencies in a bin. From 1,000 s (1,000
    bins of 1 s) to 3,000 s the bins are as many and their sketches nearly
    full: three times the requests add under 12 bytes each (measured: 5),
    where a full run keeps a row of 52 bytes and more per request.
    """
    _peak(10.0, streaming=True)
    short, long = _peak(1_000.0, streaming=True), _peak(3_000.0, streaming=True)
    assert long[0] > 2.9 * short[0]
    assert long[1] - short[1] < 12 * (long[0] - short[0])


def _chunk(rng: np.random.Generator, n: int) -> Chunk:
    generated = np.sort(rng.uniform(0.0, 100.0, n))
    latency = rng.lognormal(-3.0, 1.0, n)
    slots = np.zeros((n, SLOTS), dtype=np.float32)
    slots[:, 9] = latency
    return Chunk(
        generated=generated,
        finished=generated + latency,
        outcome=rng.choice(np.array([1, 1, 1, 2], dtype=np.int8), n),
        server=rng.integers(0, 2, n).astype(np.int16),
        endpoint=np.zeros(n, dtype=np.int16),
        workload=np.zeros(n, dtype=np.int8),
        slots=slots,
        crit_row=np.zeros(0, dtype=np.int64),
        crit_site=np.zeros(0, dtype=np.int16),
        crit_server=np.zeros(0, dtype=np.int16),
        crit_slots=np.zeros((0, SLOTS), dtype=np.float32),
    )


def _stream() -> RequestStream:
    return RequestStream(
        workloads=1, endpoint_sizes=[1, 1], warm_up_s=10.0, sites=1, bin_s=10.0, bins=11
    )


def test_merged_streams_equal_the_stream_of_all_their_requests() -> None:
    rng = np.random.default_rng(3)
    first, second = _chunk(rng, 5000), _chunk(rng, 7000)
    one, other, both = _stream(), _stream(), _stream()
    one.fold(first)
    other.fold(second)
    both.fold(first)
    both.fold(second)
    one.merge(other)
    assert one.latency.to_dict()["buckets"] == both.latency.to_dict()["buckets"]
    assert one.latency.count == both.latency.count
    for g in range(2):
        assert (
            one.endpoint_latency[g].to_dict()["buckets"]
            == (both.endpoint_latency[g].to_dict()["buckets"])
        )
    np.testing.assert_array_equal(one.by_code, both.by_code)
    np.testing.assert_array_equal(one.completed_bins, both.completed_bins)
    np.testing.assert_array_equal(one.measured_by_server, both.measured_by_server)
    np.testing.assert_allclose(one.own_by_path, both.own_by_path, rtol=1e-12)
    np.testing.assert_allclose(one.latency_sum_by_server, both.latency_sum_by_server, rtol=1e-12)
    assert one.scopes["all"].buckets.keys() == both.scopes["all"].buckets.keys()
    for key, entry in both.scopes["all"].buckets.items():
        assert one.scopes["all"].buckets[key][0] == entry[0]


def test_a_sketch_holds_its_relative_error_on_skewed_data() -> None:
    values = np.random.default_rng(5).pareto(1.5, 200_000) + 1e-3
    sketch = QuantileSketch(LATENCY_ALPHA)
    sketch.add_many(values)
    for q in (0.5, 0.95, 0.99):
        exact = float(np.percentile(values, q * 100))
        assert _relative(exact, sketch.quantile(q)) <= LATENCY_ALPHA * 1.01 + 1e-9, q


def test_replications_stream_and_their_sketches_pool() -> None:
    scenario = _scenario("asyncflow-0.1/two_servers_lb.yml", 30.0)
    full = replicate(scenario, runs=2, jobs=1, seed=9)
    streamed = replicate(scenario, runs=2, jobs=2, seed=9, streaming=True)  # pickled back
    assert full.pooled_latency() is None
    np.testing.assert_array_equal(
        full.values("requests.completed"), streamed.values("requests.completed")
    )
    np.testing.assert_allclose(
        full.series("throughput_rps"), streamed.series("throughput_rps"), rtol=1e-12
    )
    pooled = streamed.pooled_latency()
    assert pooled is not None
    merged = QuantileSketch(LATENCY_ALPHA)
    for record in streamed.records:
        assert record.latency is not None
        merged.merge(record.latency)
    assert pooled.to_dict() == merged.to_dict()
    assert streamed.warm_up_s == 0.0  # so every completed request is measured
    assert pooled.count == int(full.values("requests.completed").sum())


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda r: r.latencies(), "the latencies of each request needs the per-request table"),
        (lambda r: r.write_csv("x.csv"), "the request table needs the per-request table"),
        (lambda r: r.to_pandas(), "the request table needs the per-request table"),
    ],
)
def test_what_needs_request_rows_says_so(call: Any, message: str) -> None:
    _, streamed = _pair("asyncflow-0.1/single_server.yml", 10.0)
    with pytest.raises(NotRecordedError, match=message):
        call(streamed)


def test_streaming_keeps_no_call_table() -> None:
    scenario = _scenario("asyncflow-0.1/single_server.yml", 10.0)
    with pytest.raises(ValueError, match="streaming keeps no per-call table"):
        Simulation(scenario, 1, streaming=True, record_calls=True)


def test_without_phases_the_run_is_the_same_and_phase_figures_are_empty() -> None:
    scenario = _scenario("asyncflow-0.1/two_servers_lb.yml", 30.0)
    full = Simulation(scenario, 2).run().summary()
    bare = Simulation(scenario, 2, record_phases=False).run().summary()
    assert bare["latency_s"] == full["latency_s"]
    assert bare["requests"] == full["requests"]
    assert set(bare["latency_breakdown_s"].values()) == {None}
    assert bare["servers"]["srv-1"]["service_s_mean"] is None
    utilization = full["servers"]["srv-1"]["cpu_utilization"]
    assert bare["servers"]["srv-1"]["cpu_utilization"] == utilization
    assert bare["bottleneck"]["node"] is None
    assert bare["bottleneck"]["verdict"].startswith("Phases were not recorded (--no-phases)")
