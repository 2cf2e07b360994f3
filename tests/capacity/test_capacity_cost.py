"""The optional cost section: prices, the cost per hour and per million requests."""

from __future__ import annotations

import pytest
from capacity_scenarios import queue

import asyncflow
from asyncflow.errors import ScenarioError
from asyncflow.scenario.builder import cpu, exponential
from asyncflow.scenario.cost import cost_figures, hourly_costs
from asyncflow.scenario.overrides import Override, with_overrides

PRICES = (
    "cost={currency: EUR, per_server_hour: 0.01, per_core_hour: 0.04, per_gb_ram_hour: 0.005,"
    " per_load_balancer_hour: 0.025}"
)


def test_every_node_is_priced_by_what_it_provisions() -> None:
    scenario = with_overrides(
        queue(10.0, cpu(exponential(0.01)), cores=2, ram_mb=2048, servers=2),
        [Override.parse(PRICES)],
    )
    assert scenario.cost is not None
    costs = hourly_costs(scenario.cost, scenario)
    server = 0.01 + 2 * 0.04 + 2 * 0.005
    assert costs == {"srv-1": pytest.approx(server), "srv-2": pytest.approx(server), "lb-1": 0.025}
    figures = cost_figures(scenario.cost, scenario, throughput_rps=10.0)
    assert figures["currency"] == "EUR"
    assert figures["per_hour"] == pytest.approx(2 * server + 0.025)
    assert figures["per_million_requests"] == pytest.approx((2 * server + 0.025) / 36_000 * 1e6)
    assert cost_figures(scenario.cost, scenario, 0.0)["per_million_requests"] is None


def test_a_run_reports_its_cost_only_when_priced() -> None:
    plain = queue(20.0, cpu(exponential(0.01)), horizon_s=10.0, warm_up_s=1.0)
    assert "cost" not in asyncflow.run(plain, seed=1).summary()
    priced = with_overrides(plain, [Override.parse("cost.per_core_hour=0.36")])
    summary = asyncflow.run(priced, seed=1).summary()
    throughput = summary["throughput_rps"]["mean"]
    assert summary["cost"]["per_hour"] == pytest.approx(0.36)
    assert summary["cost"]["per_million_requests"] == pytest.approx(0.36 / throughput / 3600 * 1e6)
    assert summary["cost"]["currency"] == "USD"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("cost.per_core_hour=-1", "cost.per_core_hour: must be >= 0 (got -1)"),
        (
            "cost.per_gpu_hour=1",
            "cost.per_gpu_hour: unknown key 'per_gpu_hour' (did you mean 'cost.per_gb_ram_hour'?)",
        ),
        ("cost.currency=''", "cost.currency: must not be empty (got '')"),
    ],
)
def test_bad_prices_are_refused_with_their_path(text: str, message: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        with_overrides(queue(1.0), [Override.parse(text)])
    assert caught.value.problems == (message,)
