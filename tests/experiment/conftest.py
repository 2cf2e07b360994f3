"""Fixtures of experiment tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from experiment_scenarios import mm1, small

from asyncflow.scenario import Scenario


@pytest.fixture
def small_scenario() -> Scenario:
    return small()


@pytest.fixture
def mm1_factory() -> Callable[..., Scenario]:
    return mm1
