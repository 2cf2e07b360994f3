"""Outlier ejection: failed replies in a row take a server out for a while."""

from __future__ import annotations

from typing import Any

import pytest

import asyncflow
from asyncflow.report.console import summary_renderable
from asyncflow.scenario.builder import health_check, outlier_ejection, rate_limit

from .conftest import changes, failed_at, fleet

# A bucket that never refills: after its first token, srv-1 refuses everything (429).
REFUSING = rate_limit("srv-1", 1e-9)


def _spans(results: Any, server: str = "srv-1") -> list[tuple[float, float]]:
    """(ejected, returned) times of ``server``, the last one cut at the horizon."""
    out = changes(results, "ejected", server)
    back = [*changes(results, "returned", server), results.end_s]
    return list(zip(out, back[: len(out)], strict=True))


def test_a_server_that_fails_every_call_is_ejected_for_ever_longer() -> None:
    policy = outlier_ejection("lb-1", consecutive_failures=3, ejection_s=5.0)
    results = asyncflow.run(fleet([REFUSING, policy], outage=None, horizon_s=80.0), seed=1)
    spans = _spans(results)
    assert len(spans) >= 3
    durations = [b - a for a, b in spans[:-1]]
    # Each return brings 3 more refusals at once: the n-th ejection lasts n * 5 s.
    assert durations == pytest.approx([5.0 * (n + 1) for n in range(len(durations))])
    assert results.policies["balancers"]["lb-1"]["ejections"] == len(spans)


def test_the_longest_ejection_caps_the_growth() -> None:
    policy = outlier_ejection("lb-1", consecutive_failures=2, ejection_s=4.0, max_ejection_s=4.0)
    results = asyncflow.run(fleet([REFUSING, policy], outage=None), seed=1)
    durations = [b - a for a, b in _spans(results)[:-1]]
    assert len(durations) >= 5
    assert durations == pytest.approx([4.0] * len(durations))


def test_time_back_in_rotation_shortens_the_next_ejection() -> None:
    policy = outlier_ejection("lb-1", consecutive_failures=2, ejection_s=2.0)
    data = fleet([policy], outage=(10.0, 11.0), horizon_s=60.0).model_dump(mode="json")
    data["events"].append(
        {
            "event_id": "second",
            "target_id": "srv-1",
            "start": {"kind": "server_down", "t_start": 40.0},
            "end": {"kind": "server_up", "t_end": 41.0},
        }
    )
    results = asyncflow.run(data, seed=5)
    durations = [b - a for a, b in _spans(results)]
    assert durations == pytest.approx([2.0, 2.0])  # 27 s back in rotation between them


def test_ejection_keeps_requests_away_from_a_dead_server() -> None:
    outage = (20.0, 40.0)
    plain = asyncflow.run(fleet([outlier_ejection("lb-1")], outage=outage), seed=2)
    instant = asyncflow.run(fleet(outage=outage), seed=2)
    dead = failed_at(plain, "server_down", "srv-1")
    # Five failures in a row eject it; the ejection (30 s) outlasts the outage.
    assert 5 <= dead.sum() < 15
    assert changes(plain, "ejected")[0] < 21.0
    assert failed_at(instant, "server_down", "srv-1").sum() <= 2  # only calls inside at the crash


@pytest.mark.parametrize(("ratio", "most"), [(0.25, 1), (0.5, 2)])
def test_never_more_than_the_ratio_of_servers_is_ejected(ratio: float, most: int) -> None:
    servers = ("srv-1", "srv-2", "srv-3", "srv-4")
    refusing = [REFUSING, rate_limit("srv-2", 1e-9)]
    policy = outlier_ejection(
        "lb-1", consecutive_failures=2, ejection_s=3.0, max_ejected_ratio=ratio
    )
    results = asyncflow.run(fleet([*refusing, policy], outage=None, servers=servers), seed=4)
    moves = [(t, +1) for s in servers for t, _ in _spans(results, s)] + [
        (b, -1) for s in servers for _, b in _spans(results, s)
    ]
    out, peak = 0, 0
    for _, step in sorted(moves, key=lambda m: (m[0], m[1])):
        out += step
        peak = max(peak, out)
    assert peak == most
    assert _spans(results, "srv-3") == _spans(results, "srv-4") == []


def test_health_checks_and_ejection_work_together_and_show_in_the_summary() -> None:
    policies = [health_check("lb-1"), outlier_ejection("lb-1", consecutive_failures=3)]
    results = asyncflow.run(fleet(policies), seed=1)
    figures = results.policies["balancers"]["lb-1"]
    assert figures["ejections"] >= 1
    assert figures["health_check_removals"] == 1
    summary = results.summary()
    assert summary["policies"]["balancers"]["lb-1"]["ejections"] == figures["ejections"]
    from rich.console import Console

    console = Console(width=120, record=True)
    console.print(summary_renderable(summary))
    text = console.export_text()
    assert "Balancer health" in text
    assert "outlier ejections" in text
    assert "removed by health checks" in text
