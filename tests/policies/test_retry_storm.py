"""The retry storm: a metastable failure that a retry budget or an admission cap prevents.

``retry_storm.yml``: a 60 s latency spike makes every attempt time out; the
retries quadruple the load on a server at 70% utilisation, a backlog builds,
and it outlives the spike: over the last third of the run goodput stays
near zero. ``retry_storm_budget.yml`` differs only in its retry budget,
``retry_storm_cap.yml`` only in an admission cap at the server: both
recover. Goodput: requests that completed within the client timeout, as a
share of the requests offered.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import asyncflow

EXAMPLES = Path(asyncflow.__file__).parent / "examples"
TIMEOUT_S = 1.0


def _goodput_share(name: str, start: float, end: float) -> tuple[float, dict[str, object]]:
    """The share of requests generated in ``[start, end)`` that completed within the timeout."""
    results = asyncflow.run(asyncflow.load_scenario(EXAMPLES / name), seed=1)
    r = results.requests
    offered = (r.generated_s >= start) & (r.generated_s < end)
    good = offered & (r.outcome == 1) & (r.finished_s - r.generated_s <= TIMEOUT_S)
    return float(np.count_nonzero(good) / np.count_nonzero(offered)), results.summary()


@pytest.fixture(scope="module")
def storm() -> tuple[float, dict[str, object]]:
    return _goodput_share("retry_storm.yml", 400.0, 590.0)


@pytest.fixture(scope="module")
def budgeted() -> tuple[float, dict[str, object]]:
    return _goodput_share("retry_storm_budget.yml", 400.0, 590.0)


def test_without_protection_the_storm_outlives_its_trigger(
    storm: tuple[float, dict[str, object]],
) -> None:
    share, summary = storm
    assert share < 0.5
    attempts = summary["attempts"]
    assert isinstance(attempts, dict)
    assert attempts["per_request"] > 3.3  # nearly every request made its four attempts


def test_a_retry_budget_recovers(budgeted: tuple[float, dict[str, object]]) -> None:
    share, summary = budgeted
    assert share > 0.9
    attempts = summary["attempts"]
    assert isinstance(attempts, dict)
    assert attempts["per_request"] < 1.1
    assert attempts["by_place"]["web"]["budget_denied"] > 0


def test_an_admission_cap_recovers() -> None:
    share, summary = _goodput_share("retry_storm_cap.yml", 400.0, 590.0)
    assert share > 0.9
    requests = summary["requests"]
    assert isinstance(requests, dict)
    assert requests["failed_by_reason"]["shed"] > 0


def test_the_cap_variant_differs_only_in_its_policies() -> None:
    storm = asyncflow.load_scenario(EXAMPLES / "retry_storm.yml").model_dump()
    capped = asyncflow.load_scenario(EXAMPLES / "retry_storm_cap.yml").model_dump()
    assert sorted(key for key in storm if storm[key] != capped[key]) == ["name", "policies"]
    assert capped["policies"][:2] == storm["policies"]


def test_the_two_files_differ_only_in_the_budget() -> None:
    storm = asyncflow.load_scenario(EXAMPLES / "retry_storm.yml").model_dump()
    budgeted = asyncflow.load_scenario(EXAMPLES / "retry_storm_budget.yml").model_dump()
    differ = sorted(key for key in storm if storm[key] != budgeted[key])
    assert differ == ["name", "policies"]  # the name comes from the file's
    assert storm["policies"][1]["budget"] is None
    assert budgeted["policies"][1]["budget"] == {"ratio": 0.1, "min_per_s": 1.0, "window_s": 10.0}
