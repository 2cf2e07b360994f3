"""Fixtures for report tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from matplotlib.figure import Figure
from report_fakes import WINDOWS, FakeResults

import asyncflow
from asyncflow.results import Results
from asyncflow.scenario import ScenarioBuilder
from asyncflow.scenario.builder import cpu, endpoint, exponential, io, ram

LB_EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "asyncflow-0.1" / "event_inj_lb.yml"


@pytest.fixture
def fake_results() -> FakeResults:
    return FakeResults(fault_windows=WINDOWS)


@pytest.fixture
def fake_two_servers() -> FakeResults:
    return FakeResults(server_ids=("srv-1", "srv-2"), fault_windows=WINDOWS)


@pytest.fixture
def ax() -> Any:
    figure = Figure()
    return figure.add_subplot()


@pytest.fixture(scope="session")
def lb_run() -> Results:
    """The 0.1 balancer example shortened to 60 s (events scaled), with a warm-up."""
    data = yaml.safe_load(LB_EXAMPLE.read_text(encoding="utf-8"))
    data["sim_settings"]["total_simulation_time"] = 60.0
    data["sim_settings"]["warm_up_s"] = 5.0
    for event in data["events"]:
        event["start"]["t_start"] /= 10.0
        event["end"]["t_end"] /= 10.0
    return asyncflow.run(asyncflow.parse_scenario(data, name="lb-short"), seed=4)


@pytest.fixture(scope="session")
def minimal_scenario_with_drops() -> Results:
    """One server behind edges that drop 5% of requests."""
    scenario = (
        ScenarioBuilder("drops")
        .workload(users=20, requests_per_minute=60)
        .client()
        .server("srv-1", endpoints=[endpoint("/api", cpu(0.002), ram(64), io(0.01))])
        .wire(latency=exponential(0.002), dropout_rate=0.05)
        .settings(30, seed=1)
        .build()
    )
    return asyncflow.run(scenario)


SOCKET_EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "lb_socket_exhaustion.yml"


@pytest.fixture(scope="session")
def socket_run() -> Results:
    """The bundled balancer-socket example, whole (thousands refused at lb-1)."""
    return asyncflow.run(SOCKET_EXAMPLE)
