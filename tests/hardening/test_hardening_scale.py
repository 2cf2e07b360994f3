"""Large scenarios validate in time linear in their size.

Wall time is not asserted (``bench/validation.py`` prints it per server for
growing sizes); what is asserted is that the one step whose cost grows with
the number of candidates, "did you mean" suggestions, stays within a fixed
budget of comparisons however many problems there are.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from asyncflow.errors import ScenarioError
from asyncflow.scenario import graph as scenario_rules
from asyncflow.scenario import parse_scenario


def _scenario(servers: int, *, broken: bool = False) -> dict[str, Any]:
    ids = [f"srv-{i}" for i in range(servers)]
    step = {"kind": "cpu_bound_operation", "step_operation": {"cpu_time": 0.001}}
    edges = [
        {"id": "gen", "source": "rqs-1", "target": "client-1", "latency": 0.001},
        {"id": "c-lb", "source": "client-1", "target": "lb-1", "latency": 0.001},
    ]
    edges += [
        {"id": f"to-{s}", "source": "lb-1", "target": f"x{s}" if broken else s, "latency": 0.001}
        for s in ids
    ]
    edges += [{"id": f"from-{s}", "source": s, "target": "client-1", "latency": 0.001} for s in ids]
    return {
        "rqs_input": {"id": "rqs-1", "avg_active_users": 10, "avg_request_per_minute_per_user": 6},
        "topology_graph": {
            "nodes": {
                "client": {"id": "client-1"},
                "load_balancer": {"id": "lb-1", "server_covered": ids},
                "servers": [
                    {"id": s, "endpoints": [{"endpoint_name": "/api", "steps": [step]}]}
                    for s in ids
                ],
            },
            "edges": edges,
        },
        "sim_settings": {"total_simulation_time": 10},
    }


def test_ten_thousand_servers_validate() -> None:
    scenario = parse_scenario(_scenario(10_000))
    assert len(scenario.topology_graph.nodes.servers) == 10_000
    assert len(scenario.topology_graph.edges) == 20_002


@pytest.fixture
def compared(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the candidates every suggestion compares a word with."""
    counts: list[int] = []
    real = scenario_rules.did_you_mean

    def counting(word: str, candidates: Sequence[str]) -> str:
        counts.append(len(candidates))
        return real(word, candidates)

    monkeypatch.setattr(scenario_rules, "did_you_mean", counting)
    return counts


def test_suggestions_stay_within_their_budget_on_a_large_broken_scenario(
    compared: list[int],
) -> None:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(_scenario(3_000, broken=True))
    assert len(info.value.problems) == 101  # 100 lines and the count of the others
    assert 0 < sum(compared) <= 20_000
    assert "(did you mean 'srv-0'?)" in info.value.problems[0]


def test_a_small_broken_scenario_gets_every_suggestion(compared: list[int]) -> None:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(_scenario(5, broken=True))
    suggested = [line for line in info.value.problems if "did you mean" in line]
    assert len(suggested) == 5
    assert len(compared) == 5
