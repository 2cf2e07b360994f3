"""Balancer health policies: active health checks and outlier ejection.

Both name a load balancer as their ``target`` and decide which of its
servers are in rotation, replacing the balancer's instant knowledge that a
server is down::

    policies:
      - { type: health_check, target: lb-1, interval_s: 2, timeout_s: 1 }
      - { type: outlier_ejection, target: lb-1, consecutive_failures: 5 }

- ``health_check``: the balancer probes every server each ``interval_s``; a
  server leaves rotation after ``unhealthy_threshold`` failed probes in a
  row and comes back after ``healthy_threshold`` good ones.
- ``outlier_ejection``: after ``consecutive_failures`` failed replies in a
  row from a server, the balancer ejects it for a while (passive checks).

The rules between these policies and the rest of the scenario are in
:func:`health_problems`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, Literal, Self

from pydantic import Field, model_validator

from asyncflow.scenario._base import FrozenModel, Loc, Problem, raise_problems
from asyncflow.scenario._types import Identifier, Integer, Number

if TYPE_CHECKING:
    from asyncflow.scenario.graph import Hints
    from asyncflow.scenario.models import Scenario

__all__ = ["HEALTH_TYPES", "HealthCheck", "OutlierEjection", "health_problems"]

HEALTH_TYPES: Final = ("health_check", "outlier_ejection")
"""The ``type`` of every balancer health policy."""

MAX_INTERVAL_S: Final = 1e6
MAX_THRESHOLD: Final = 1_000_000
_TARGET_TEXT: Final = "Id of the load balancer whose servers it watches."


class HealthCheck(FrozenModel):
    """Active health checks from a load balancer (``type: health_check``).

    Every ``interval_s`` the balancer probes each of its servers. A probe of
    a server that is up succeeds at once; one of a server that is down fails
    when its ``timeout_s`` runs out. A server leaves rotation after
    ``unhealthy_threshold`` failed probes in a row, and returns after
    ``healthy_threshold`` successful ones. The defaults are HAProxy's
    (``inter 2s``, ``fall 3``, ``rise 2``) with a 1 s probe timeout.
    """

    type: Literal["health_check"] = Field(description="Always health_check.")
    target: Identifier = Field(description=_TARGET_TEXT)
    interval_s: Number = Field(
        default=2.0,
        gt=0,
        le=MAX_INTERVAL_S,
        description="Time in seconds between two probes of a server (the first at interval_s).",
    )
    timeout_s: Number = Field(
        default=1.0,
        gt=0,
        le=MAX_INTERVAL_S,
        description="How long, in seconds, a probe of a server that is down waits before it "
        "counts as failed; at most interval_s (one probe at a time per server).",
    )
    healthy_threshold: Integer = Field(
        default=2,
        ge=1,
        le=MAX_THRESHOLD,
        description="Successful probes in a row (a count) that bring a server back into rotation.",
    )
    unhealthy_threshold: Integer = Field(
        default=3,
        ge=1,
        le=MAX_THRESHOLD,
        description="Failed probes in a row (a count) that take a server out of rotation.",
    )

    @model_validator(mode="after")
    def _one_probe_at_a_time(self) -> Self:
        if self.timeout_s > self.interval_s:
            rule = f"must be <= interval_s ({self.interval_s:g}): one probe at a time per server"
            raise_problems([(("timeout_s",), rule, self.timeout_s)], "HealthCheck")
        return self


class OutlierEjection(FrozenModel):
    """Passive health checks at a load balancer (``type: outlier_ejection``).

    After ``consecutive_failures`` failed replies in a row from a server,
    the balancer takes it out of rotation for ``ejection_s`` times the
    number of its recent ejections, at most ``max_ejection_s``; never more
    than ``max_ejected_ratio`` of the servers at once (but always one). The
    defaults are Envoy's (5 in a row, 30 s, 10 %, 300 s).
    """

    type: Literal["outlier_ejection"] = Field(description="Always outlier_ejection.")
    target: Identifier = Field(description=_TARGET_TEXT)
    consecutive_failures: Integer = Field(
        default=5,
        ge=1,
        le=MAX_THRESHOLD,
        description="Failed replies in a row from a server (a count) that eject it.",
    )
    ejection_s: Number = Field(
        default=30.0,
        gt=0,
        le=MAX_INTERVAL_S,
        description="How long, in seconds, a first ejection lasts; the n-th recent one "
        "lasts n times longer.",
    )
    max_ejection_s: Number | None = Field(
        default=None,
        gt=0,
        le=MAX_INTERVAL_S,
        description="Longest ejection, in seconds; unset: 300 or ejection_s if larger. "
        "Equal to ejection_s: every ejection lasts the same.",
    )
    max_ejected_ratio: Number = Field(
        default=0.1,
        gt=0,
        le=1,
        description="Largest share of the servers (no unit, 0 to 1) out at once by ejection; one "
        "server may always be ejected when none is.",
    )

    @model_validator(mode="after")
    def _longest_after_first(self) -> Self:
        longest = self.max_ejection_s
        if longest is not None and longest < self.ejection_s:
            rule = f"must be >= ejection_s ({self.ejection_s:g})"
            raise_problems([(("max_ejection_s",), rule, longest)], "OutlierEjection")
        return self

    @property
    def longest_s(self) -> float:
        """The longest ejection, in seconds."""
        if self.max_ejection_s is not None:
            return self.max_ejection_s
        return max(300.0, self.ejection_s)


def health_problems(
    scenario: Scenario, i: int, policy: HealthCheck | OutlierEjection, hint: Hints
) -> list[Problem]:
    """What is wrong between ``policies[i]`` (a health policy) and the scenario.

    Args:
        scenario: A scenario whose parts are valid.
        i: The policy's place in ``policies``.
        policy: The policy.
        hint: Suggests the closest id for an unknown one.

    Returns:
        The problems, none when its target can carry it.
    """
    loc: Loc = ("policies", i, "target")
    nodes = scenario.topology_graph.nodes
    balancers = {b.id: b for b in nodes.balancers}
    target = policy.target
    spec = balancers.get(target)
    if spec is None:
        return [(loc, _not_a_balancer(scenario, policy, list(balancers), hint), target)]
    groups = [s.id for s in nodes.servers if s.replicas is not None]
    grouped = [sid for sid in spec.server_covered if sid in groups]
    if grouped:
        rule = (
            f"{_article(policy.type)} {policy.type} cannot watch a replica group yet "
            f"({grouped[0]!r}: its readiness decides its rotation)"
        )
        return [(loc, rule, target)]
    for j, other in enumerate(scenario.policies[:i]):
        if other.type == policy.type and other.target == target:
            return [
                (loc, f"a second {policy.type} on the same balancer (also policies[{j}])", target)
            ]
    return []


def _not_a_balancer(
    scenario: Scenario, policy: HealthCheck | OutlierEjection, balancers: list[str], hint: Hints
) -> str:
    """Why a target that is no load balancer is refused."""
    nodes = scenario.topology_graph.nodes
    target = policy.target
    kinds = {nodes.client.id: "the client"}
    kinds |= dict.fromkeys((w.id for w in scenario.workload_list), "a workload")
    kinds |= dict.fromkeys((s.id for s in nodes.servers), "a server")
    kinds |= dict.fromkeys((d.id for d in nodes.databases), "a database")
    kinds |= dict.fromkeys((c.id for c in nodes.caches), "a cache")
    if target in kinds:
        kind = kinds[target]
        return f"{_article(policy.type)} {policy.type} needs a load balancer, {target!r} is {kind}"
    return f"unknown load balancer{hint(target, balancers)}"


def _article(word: str) -> str:
    """``a`` or ``an`` before ``word``."""
    return "an" if word[0] in "aeiou" else "a"
