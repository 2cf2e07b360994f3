"""A real run renamed with hostile ids, built without the scenario validator.

The validator may refuse such ids, but the writers must be safe on their
own (scenarios built in Python, results built by hand): the run's results
are rebuilt around a scenario copy whose ids are replaced, field by field,
with ``model_copy`` (which does not validate).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from asyncflow.analysis.summary import summarize
from asyncflow.results import Results

HOSTILE = {
    "srv-1": '=HYPERLINK("http://evil.example","click")',
    "srv-2": "srv[/]",
    "lb-1": "<b>lb</b>&amp;",
    "client-lb": "<img src=x onerror=alert(1)>",
    "lb-srv1": "-2+3",
    "gen-client": "\t=1+1",
    "/api": "@SUM(1+1)",
    "ev-spike-1": "ev\x1b[31mred\x07",
    "ev-srv1-down": "+cmd|' /C calc'!A0",
    "ev-spike-2": "[link=https://evil.example]click[/link]",
    "ev-srv2-down": "[bold red]shout[/]",
    "srv1-client": "$\\frac{$ back",
    "ev-spike-3": "cost 5$ or 6$",
}
HOSTILE_NAME = "<script>alert('name')</script>[blink]x[/blink]\x1b]8;;http://evil\x1b\\"


def rename(value: Any, names: dict[str, str]) -> Any:
    """``value`` with every string equal to a key of ``names`` replaced, recursively."""
    if isinstance(value, BaseModel):
        fields = type(value).model_fields
        return value.model_copy(update={k: rename(getattr(value, k), names) for k in fields})
    if isinstance(value, tuple | list):
        return type(value)(rename(item, names) for item in value)
    if isinstance(value, dict):
        return {rename(k, names): rename(v, names) for k, v in value.items()}
    if isinstance(value, str):
        return names.get(value, value)
    return value


def hostile_results(results: Results, names: dict[str, str] = HOSTILE) -> Results:
    """The same run, its nodes, edges, endpoints, events and name renamed."""
    scenario = rename(results.scenario, names).model_copy(update={"name": HOSTILE_NAME})
    return Results(
        scenario=scenario,
        seed=results.seed,
        end_s=results.end_s,
        warm_up_s=results.warm_up_s,
        wall_s=results.wall_s,
        bin_s=results.bin_s,
        requests=results.requests,
        levels={(names.get(n, n), m): v for (n, m), v in results._levels.items()},
        refused={names.get(n, n): v for n, v in results.refused.items()},
        summarize=summarize,
    )
