from __future__ import annotations

import math

from report_fakes import WINDOWS, FakeResults
from rich.console import Console

from asyncflow.report.console import print_summary


def render(source: object, **kwargs: object) -> str:
    console = Console(record=True, width=140, color_system=None)
    print_summary(source, console, **kwargs)  # type: ignore[arg-type]
    return console.export_text()


def test_summary_of_results_shows_counts_latency_servers_and_faults() -> None:
    text = render(FakeResults(server_ids=("srv-1", "srv-2"), fault_windows=WINDOWS))

    assert "fake" in text
    assert "seed 7" in text
    for expected in ("4,000", "3,900", "server_down", "network_drop", "39.00"):
        assert expected in text
    lines = text.splitlines()
    srv_rows = [line.split() for line in lines if line.strip().startswith("srv-")]
    assert [row[0] for row in srv_rows] == ["srv-1", "srv-2"]
    assert srv_rows[0][1:] == ["1,950", "42.0%", "0.125", "512.5", "1,024.0", "0.000", "12.50"]
    assert "ev-srv1-down" in text
    assert "outage" in text


def test_latency_is_shown_in_milliseconds() -> None:
    results = FakeResults()
    text = render(results)

    p99_ms = results.summary()["latency_s"]["p99"] * 1000
    assert f"{p99_ms:.2f}" in text


def test_summary_dict_with_missing_latency_prints_dashes_and_no_faults() -> None:
    summary = FakeResults().summary()
    summary["latency_s"] = dict.fromkeys(summary["latency_s"], math.nan)
    summary["latency_s"]["max"] = None
    text = render(summary)

    latency_row = next(line for line in text.splitlines() if line.count("–") >= 6)
    assert "nan" not in latency_row.lower()
    assert "Fault windows" not in text


def test_fault_windows_can_accompany_a_summary_dict() -> None:
    text = render(FakeResults().summary(), fault_windows=WINDOWS)

    assert "ev-spike-1" in text
    assert "client-lb" in text
