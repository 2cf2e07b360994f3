"""Chrome trace-event export: structure, lanes, spans that rebuild each request."""

from __future__ import annotations

import itertools
import json
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import asyncflow
from asyncflow.report.trace import select_requests, trace_events, write_trace
from asyncflow.results import Results

US = 1_000_000.0
ROOT = Path(__file__).resolve().parents[2] / "examples"
EXAMPLES = sorted([*ROOT.glob("*.yml"), *ROOT.glob("asyncflow-0.1/*.yml")])


@pytest.fixture(scope="module")
def trace(lb_run: Results, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    path = write_trace(lb_run, tmp_path_factory.mktemp("trace") / "t.json", sample_rate=0.02)
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def process_names(trace: dict[str, Any]) -> dict[int, str]:
    return {
        e["pid"]: e["args"]["name"]
        for e in trace["traceEvents"]
        if e["ph"] == "M" and e["name"] == "process_name"
    }


def test_every_event_has_the_fields_of_its_kind(trace: dict[str, Any]) -> None:
    assert trace["displayTimeUnit"] == "ms"
    assert trace["otherData"]["traced_requests"] > 50
    kinds = {"X", "i", "M"}
    for event in trace["traceEvents"]:
        assert event["ph"] in kinds
        assert isinstance(event["pid"], int)
        assert isinstance(event["name"], str)
        if event["ph"] == "X":
            assert event["dur"] >= 0
            assert event["ts"] >= 0
            assert isinstance(event["tid"], int)
        if event["ph"] == "i":
            assert event["s"] == "g"


def test_one_named_process_per_node(trace: dict[str, Any], lb_run: Results) -> None:
    names = process_names(trace)
    used = {e["pid"] for e in trace["traceEvents"] if e["ph"] == "X"}

    assert used <= set(names)
    assert {"events", "requests", "srv-1", "srv-2", "client-lb"} <= set(names.values())
    assert set(names.values()) <= {"events", "requests", *lb_run.server_ids, *lb_run.edge_ids}
    order = list(names.values())
    assert order.index("client-lb") < order.index("srv-1") < order.index("srv1-client")


def whole_ns(trace_text: str) -> list[tuple[tuple[int, int], int, int]]:
    """``((pid, tid), start ns, end ns)`` of every span, read exactly from the JSON text.

    Fails unless ``ts`` and ``dur`` are whole nanoseconds (at most three
    decimals of microseconds), and unless a reader rounding each float to
    nanoseconds, as Perfetto's JSON importer does, gets the same integers.
    """
    exact = json.loads(trace_text, parse_float=Decimal)["traceEvents"]
    approx = json.loads(trace_text)["traceEvents"]
    spans = []
    for event, event_f in zip(exact, approx, strict=True):
        if event["ph"] != "X":
            continue
        ts, dur = Decimal(event["ts"]) * 1000, Decimal(event["dur"]) * 1000
        assert ts == ts.to_integral_value(), event
        assert dur == dur.to_integral_value(), event
        assert round(float(event_f["ts"]) * 1000.0) == int(ts)
        assert round(float(event_f["dur"]) * 1000.0) == int(dur)
        spans.append(((event["pid"], event["tid"]), int(ts), int(ts + dur)))
    return spans


def overlaps(spans: list[tuple[tuple[int, int], int, int]]) -> int:
    """How many spans start before the previous span of their track ends."""
    tracks: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)
    for track, start, end in spans:
        tracks[track].append((start, end))
    count = 0
    for intervals in tracks.values():
        intervals.sort()
        count += sum(b[0] < a[1] for a, b in itertools.pairwise(intervals))
    return count


def test_overlap_counter_sees_a_nested_span() -> None:
    spans = [((1, 1), 0, 1000), ((1, 1), 999, 2000), ((1, 2), 0, 5), ((2, 1), 5, 9)]

    assert overlaps(spans) == 1


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_spans_of_one_track_never_overlap_in_whole_ns(example: Path, tmp_path: Path) -> None:
    results = asyncflow.run(example)
    path = write_trace(results, tmp_path / "t.json")
    spans = whole_ns(path.read_text(encoding="utf-8"))

    assert len(spans) > 100
    assert overlaps(spans) == 0


def test_phase_spans_rebuild_each_request(trace: dict[str, Any], lb_run: Results) -> None:
    r = lb_run.requests
    by_request: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for event in trace["traceEvents"]:
        if event["ph"] == "X" and event["cat"] == "phase":
            by_request[event["args"]["request_id"]].append(event)
    completed = [rid for rid in by_request if r.outcome[rid] == 1]
    assert len(completed) > 50
    for rid in completed:
        spans = sorted(by_request[rid], key=lambda e: e["ts"])
        assert spans[0]["ts"] == pytest.approx(r.generated_s[rid] * US, abs=1.0)
        end = spans[-1]["ts"] + spans[-1]["dur"]
        assert end == pytest.approx(r.finished_s[rid] * US, abs=5.0)  # float32 phases
        for before, after in itertools.pairwise(spans):
            assert after["ts"] == pytest.approx(before["ts"] + before["dur"], abs=1e-3)


def test_event_windows_are_marked(trace: dict[str, Any], lb_run: Results) -> None:
    instants = {e["name"]: e["ts"] for e in trace["traceEvents"] if e["ph"] == "i"}
    for window in lb_run.fault_windows:
        assert instants[f"{window.event_id} start"] == pytest.approx(window.start_s * US)
        assert instants[f"{window.event_id} end"] == pytest.approx(window.end_s * US)
    spans = [e for e in trace["traceEvents"] if e["ph"] == "X" and e["cat"] == "event"]
    assert len(spans) == len(lb_run.fault_windows)


def test_selection_adds_the_slowest_and_is_seeded(lb_run: Results) -> None:
    r = lb_run.requests
    only_slowest = select_requests(lb_run, sample_rate=0.0, slowest=10)
    latency = np.where(r.outcome == 1, r.finished_s - r.generated_s, -1.0)

    assert set(only_slowest.tolist()) == set(np.argsort(latency)[-10:].tolist())
    first = select_requests(lb_run, sample_rate=0.1, slowest=0, seed=3)
    assert np.array_equal(first, select_requests(lb_run, sample_rate=0.1, slowest=0, seed=3))
    assert not np.array_equal(first, select_requests(lb_run, sample_rate=0.1, slowest=0, seed=4))
    assert first.size == pytest.approx(0.1 * np.count_nonzero(r.outcome != 0), rel=0.15)
    assert trace_events(lb_run, sample_rate=0.0, slowest=0)["otherData"]["traced_requests"] == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sample_rate": 1.5}, "sample_rate must be between 0 and 1: 1.5"),
        ({"slowest": -1}, "slowest must be >= 0: -1"),
    ],
)
def test_bad_arguments_are_refused(lb_run: Results, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=f"^{message}$"):
        select_requests(lb_run, **kwargs)


def test_written_file_is_compact_json(lb_run: Results, tmp_path: Path) -> None:
    path = write_trace(lb_run, tmp_path / "t.json", slowest=5, sample_rate=0.0)
    text = path.read_text(encoding="utf-8")

    assert "\n" not in text
    assert json.loads(text)["otherData"]["slowest"] == 5
