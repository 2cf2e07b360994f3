from __future__ import annotations

from pathlib import Path

import numpy as np

import asyncflow
from asyncflow.scenario import Scenario
from asyncflow.simulation import Simulation


def _columns(results: asyncflow.Results) -> list[np.ndarray]:
    r = results.requests
    return [r.generated_s, r.finished_s, r.outcome, r.server, r.endpoint]


def test_same_seed_gives_identical_results_bit_for_bit(examples_dir: Path) -> None:
    path = examples_dir / "event_inj_lb.yml"
    first, second = asyncflow.run(path, seed=11), asyncflow.run(path, seed=11)
    for a, b in zip(_columns(first), _columns(second), strict=True):
        assert a.tobytes() == b.tobytes()
    one, two = first.summary(), second.summary()
    one.pop("wall_s")
    two.pop("wall_s")
    assert one == two
    for metric in ("ready_queue", "ram_in_use_mb"):
        assert (
            first.series(metric, "srv-1").mean.tobytes()
            == second.series(metric, "srv-1").mean.tobytes()
        )


def test_different_seeds_give_different_runs(minimal_scenario: Scenario) -> None:
    a, b = asyncflow.run(minimal_scenario, seed=1), asyncflow.run(minimal_scenario, seed=2)
    assert len(a.requests) != len(b.requests) or not np.array_equal(
        a.requests.generated_s, b.requests.generated_s
    )


def test_seed_defaults_to_the_scenario_seed(minimal_scenario: Scenario) -> None:
    assert asyncflow.run(minimal_scenario).seed == 7
    assert np.array_equal(
        asyncflow.run(minimal_scenario).requests.generated_s,
        asyncflow.run(minimal_scenario, seed=7).requests.generated_s,
    )


def test_running_in_slices_gives_the_same_results(examples_dir: Path) -> None:
    scenario = asyncflow.load_scenario(examples_dir / "event_inj_lb.yml")
    whole = Simulation(scenario, seed=3).run()
    sliced = Simulation(scenario, seed=3)
    for until in (10.0, 99.5, 180.0, 181.0, 400.0):
        sliced.advance(until)
    again = sliced.run()
    for a, b in zip(_columns(whole), _columns(again), strict=True):
        assert a.tobytes() == b.tobytes()


def test_a_component_keeps_its_random_stream_in_a_variant(minimal_scenario: Scenario) -> None:
    """Common random numbers: changing a server's RAM leaves the arrivals as they were."""
    data = minimal_scenario.model_dump(exclude_none=True)
    data["topology_graph"]["nodes"]["servers"][0]["server_resources"]["ram_mb"] = 512
    variant = asyncflow.parse_scenario(data, name="variant")
    base = asyncflow.run(minimal_scenario, seed=5)
    other = asyncflow.run(variant, seed=5)
    assert np.array_equal(base.requests.generated_s, other.requests.generated_s)
