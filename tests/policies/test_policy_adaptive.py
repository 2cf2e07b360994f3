"""Adaptive concurrency limits (AIMD, gradient) at servers."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from asyncflow.errors import ScenarioError
from asyncflow.scenario import parse_scenario
from asyncflow.simulation import Simulation

from .conftest import guarded, guarded_data

STATIC = {"type": "concurrency_limit", "target": "srv-1", "max_in_flight": 100}


def _run(policy: dict[str, Any]) -> tuple[Simulation, np.ndarray]:
    simulation = Simulation(guarded([policy], rate=60.0, balanced=False, horizon_s=120), 1)
    results = simulation.run()
    r = results.requests
    return simulation, (r.finished_s - r.generated_s)[r.outcome == 1]


def test_aimd_sheds_to_keep_answers_within_its_target() -> None:
    """Overloaded (ρ ≈ 1.4): a fixed cap of 100 queues; AIMD with a 0.1 s target sheds."""
    _, fixed = _run(STATIC)
    adaptive = {**STATIC, "adaptive": {"algorithm": "aimd", "target_s": 0.1}}
    simulation, learned = _run(adaptive)
    admission = simulation.servers["srv-1"].admission
    assert admission is not None
    assert admission.server_limit is not None
    assert admission.server_limit.cap < 20
    assert admission.shed > 1000
    assert float(np.percentile(learned, 99)) < 0.5 * float(np.percentile(fixed, 99))
    level = simulation.ctx.levels[("srv-1", "concurrency_limit")]
    assert level.value + sum(level.deltas) == admission.server_limit.cap  # the level follows it


def test_gradient_limit_moves_within_its_bounds() -> None:
    policy = {**STATIC, "adaptive": {"algorithm": "gradient", "minimum": 3, "maximum": 50}}
    simulation, _ = _run(policy)
    admission = simulation.servers["srv-1"].admission
    assert admission is not None
    assert admission.server_limit is not None
    assert 3 <= admission.server_limit.cap <= 50


@pytest.mark.parametrize(
    ("adaptive", "extra", "expected"),
    [
        (
            {"algorithm": "gradient", "target_s": 0.1},
            {},
            "policies[0].adaptive.target_s: only with algorithm aimd, not gradient (got 0.1)",
        ),
        (
            {"algorithm": "aimd", "minimum": 9, "maximum": 4},
            {},
            "policies[0].adaptive.minimum: must be <= maximum (4) (got 9)",
        ),
        (
            {"algorithm": "aimd", "decrease": 1.5},
            {},
            "policies[0].adaptive.decrease: must be < 1 (got 1.5)",
        ),
        (
            {"algorithm": "pid"},
            {},
            "policies[0].adaptive.algorithm: must be one of 'aimd', 'gradient' (got 'pid')",
        ),
        (
            {"algorithm": "aimd"},
            {"calls_to": "srv-2"},
            "policies[0].adaptive: not with calls_to (a limit on calls out sheds at the caller)",
        ),
    ],
)
def test_bad_adaptive_limits_are_named(
    adaptive: dict[str, Any], extra: dict[str, Any], expected: str
) -> None:
    data = guarded_data()
    data["policies"] = [{**STATIC, **extra, "adaptive": adaptive}]
    with pytest.raises(ScenarioError) as info:
        parse_scenario(data)
    assert list(info.value.problems) == [expected]
