"""The load balancer's block of the summary: levels, limits, refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from asyncflow.results import Results

SUMMARY_DOC = Path(__file__).resolve().parents[2] / "docs" / "reference" / "summary.md"


def test_limits_and_utilisation_beside_the_levels(socket_run: Results) -> None:
    lb = socket_run.summary()["load_balancers"]["lb-1"]

    assert lb["max_connections"] == 48
    assert lb["listen_backlog"] == 128
    assert lb["ram_mb"] == 512.0
    assert lb["connection_utilization"] == pytest.approx(lb["connections_mean"] / 48)
    assert lb["connections_max"] == 48.0
    assert lb["backlog_max"] == 128.0
    assert lb["refused"] == socket_run.refused["lb-1"] > 1000


def test_every_balancer_key_is_documented(socket_run: Results) -> None:
    doc = SUMMARY_DOC.read_text(encoding="utf-8")
    keys = socket_run.summary()["load_balancers"]["lb-1"]

    assert [k for k in keys if f"| `load_balancers.<id>.{k}` |" not in doc] == []


def test_a_balancer_without_limits_has_only_its_refusals(lb_run: Results) -> None:
    assert lb_run.summary()["load_balancers"] == {"lb-1": {"refused": 0}}
