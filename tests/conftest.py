"""Shared fixtures: small scenarios built in Python."""

from __future__ import annotations

from pathlib import Path

import pytest

from asyncflow.scenario import Scenario, ScenarioBuilder
from asyncflow.scenario.builder import cpu, endpoint, exponential, io, ram

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "asyncflow-0.1"


@pytest.fixture
def examples_dir() -> Path:
    return EXAMPLES


@pytest.fixture
def minimal_scenario() -> Scenario:
    """One server, one endpoint (CPU, RAM, I/O), 60 simulated seconds."""
    return (
        ScenarioBuilder("minimal")
        .workload(users=20, requests_per_minute=60)
        .client()
        .server("srv-1", ram_mb=1024, endpoints=[endpoint("/api", cpu(0.002), ram(64), io(0.01))])
        .wire(latency=exponential(0.002))
        .settings(horizon_s=60, seed=7)
        .build()
    )
