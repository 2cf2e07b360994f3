"""Run settings (YAML key ``sim_settings``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Literal, Self

from pydantic import Field, model_validator

from asyncflow.scenario._base import FrozenModel, Problem, raise_problems

__all__ = ["SimSettings"]


SampleMetricName = Literal[
    "ready_queue_len", "event_loop_io_sleep", "ram_in_use", "edge_concurrent_connection"
]
EventMetricName = Literal["rqs_clock", "llm_cost"]
_LEGACY_METRIC_KEYS: Final[dict[str, tuple[str, ...]]] = {
    "enabled_sample_metrics": (
        "ready_queue_len",
        "event_loop_io_sleep",
        "ram_in_use",
        "edge_concurrent_connection",
    ),
    "enabled_event_metrics": ("rqs_clock", "llm_cost"),
}


def _legacy_metrics_schema(schema: dict[str, Any]) -> None:
    for key, names in _LEGACY_METRIC_KEYS.items():
        schema["properties"][key] = {
            "type": "array",
            "items": {"enum": list(names)},
            "description": "Accepted for AsyncFlow 0.1 compatibility; ignored.",
        }


class SimSettings(FrozenModel):
    """Run settings (YAML key ``sim_settings``).

    ``enabled_sample_metrics`` and ``enabled_event_metrics`` are accepted (0.1
    names only) and dropped: everything is always recorded.

    Attributes:
        total_simulation_time: Horizon in seconds.
        sample_period_s: Default resolution of time series, in seconds.
        seed: Seed of the run's random streams; ``None`` for a fresh one.
        warm_up_s: Initial seconds left out of statistics.
    """

    model_config = FrozenModel.model_config | {"json_schema_extra": _legacy_metrics_schema}

    total_simulation_time: float = Field(gt=0)
    sample_period_s: float = Field(default=0.01, gt=0)
    seed: int | None = Field(default=None, ge=0)
    warm_up_s: float = Field(default=0.0, ge=0)

    @model_validator(mode="before")
    @classmethod
    def _drop_legacy_metrics(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        problems: list[Problem] = []
        for key, allowed in _LEGACY_METRIC_KEYS.items():
            names = data.get(key)
            if names is None:
                continue
            if not isinstance(names, list | tuple | set | frozenset):
                problems.append(((key,), "must be a list", names))
                continue
            for i, name in enumerate(names):
                if name not in allowed:
                    rule = "unknown metric; must be one of " + ", ".join(map(repr, allowed))
                    problems.append(((key, i), rule, name))
        if problems:
            raise_problems(problems, "SimSettings")
        return {k: v for k, v in data.items() if k not in _LEGACY_METRIC_KEYS}

    @model_validator(mode="after")
    def _check_warm_up(self) -> Self:
        if self.warm_up_s >= self.total_simulation_time:
            rule = f"must be < total_simulation_time ({self.total_simulation_time:g})"
            raise_problems([(("warm_up_s",), rule, self.warm_up_s)], "SimSettings")
        return self
