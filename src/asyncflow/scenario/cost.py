"""What a design costs to run: prices per server, core, GB of RAM and balancer.

The optional ``cost`` section of a scenario prices what the design
provisions, whether it is busy or not (as a cloud bill does)::

    cost:
      currency: EUR
      per_core_hour: 0.04
      per_gb_ram_hour: 0.005
      per_load_balancer_hour: 0.025

A server costs ``per_server_hour + cpu_cores * per_core_hour +
ram_mb / 1024 * per_gb_ram_hour`` an hour; each load balancer
``per_load_balancer_hour``. The run's summary adds the cost per hour and the
cost per million completed requests at the run's throughput
(:func:`cost_figures`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from pydantic import Field

from asyncflow.scenario._base import FrozenModel
from asyncflow.scenario._types import Name, Number

if TYPE_CHECKING:
    from asyncflow.scenario.models import Scenario

__all__ = ["MB_PER_GB", "Cost", "cost_figures", "hourly_costs"]

MB_PER_GB: Final = 1024.0
"""RAM is priced per GB of 1024 MB."""


class Cost(FrozenModel):
    """Prices of what a design provisions (YAML key ``cost``); every price defaults to 0.

    Attributes:
        currency: Label of the prices, shown beside every cost (not converted).
        per_server_hour: Price of one server per hour, whatever its size.
        per_core_hour: Price of one CPU core per hour.
        per_gb_ram_hour: Price of one GB (1024 MB) of server RAM per hour.
        per_load_balancer_hour: Price of one load balancer per hour.
    """

    currency: Name = Field(
        default="USD",
        min_length=1,
        description="Label of the prices (e.g. USD, EUR), shown beside every cost; "
        "no conversion is made.",
    )
    per_server_hour: Number = Field(
        default=0.0,
        ge=0,
        description="Price of one server per hour, whatever its size (currency per server-hour).",
    )
    per_core_hour: Number = Field(
        default=0.0,
        ge=0,
        description="Price of one CPU core per hour (currency per core-hour); a server "
        "costs cpu_cores times this.",
    )
    per_gb_ram_hour: Number = Field(
        default=0.0,
        ge=0,
        description="Price of one GB (1024 MB) of server RAM per hour (currency per "
        "GB-hour); a server costs ram_mb / 1024 times this.",
    )
    per_load_balancer_hour: Number = Field(
        default=0.0,
        ge=0,
        description="Price of one load balancer per hour (currency per balancer-hour).",
    )


def hourly_costs(cost: Cost, scenario: Scenario) -> dict[str, float]:
    """The cost per hour of each priced node, by id (servers, then load balancers)."""
    nodes = scenario.topology_graph.nodes
    out: dict[str, float] = {}
    for server in nodes.servers:
        resources = server.server_resources
        out[server.id] = (
            cost.per_server_hour
            + resources.cpu_cores * cost.per_core_hour
            + resources.ram_mb / MB_PER_GB * cost.per_gb_ram_hour
        )
    for balancer in nodes.balancers:
        out[balancer.id] = cost.per_load_balancer_hour
    return out


def cost_figures(cost: Cost, scenario: Scenario, throughput_rps: float) -> dict[str, Any]:
    """The ``cost`` section of a run's summary.

    Args:
        cost: The prices.
        scenario: The design priced.
        throughput_rps: Completed requests per second (the run's throughput).

    Returns:
        ``currency``, ``per_hour`` (the whole design), ``per_million_requests``
        (``None`` when nothing completed) and ``nodes`` (per hour, by id).
    """
    nodes = hourly_costs(cost, scenario)
    per_hour = sum(nodes.values())
    per_million = None
    if throughput_rps > 0:
        per_million = per_hour / (throughput_rps * 3600.0) * 1e6
    return {
        "currency": cost.currency,
        "per_hour": per_hour,
        "per_million_requests": per_million,
        "nodes": nodes,
    }
