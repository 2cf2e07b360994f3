"""Fixtures for report tests."""

from __future__ import annotations

from typing import Any

import pytest
from matplotlib.figure import Figure
from report_fakes import WINDOWS, FakeResults


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
