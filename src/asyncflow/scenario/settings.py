"""Run settings (YAML key ``sim_settings``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Self

from pydantic import Field, model_validator

from asyncflow.scenario._base import FrozenModel, Problem, raise_problems
from asyncflow.scenario._types import Integer, Number
from asyncflow.scenario.limits import (
    MAX_HORIZON_S,
    MAX_SAMPLE_PERIODS,
    MAX_SEED,
    MIN_HORIZON_S,
)

__all__ = ["SimSettings"]


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
    """

    model_config = FrozenModel.model_config | {"json_schema_extra": _legacy_metrics_schema}

    total_simulation_time: Number = Field(
        ge=MIN_HORIZON_S.value,
        le=MAX_HORIZON_S.value,
        description="Horizon of the run: simulated seconds.",
    )
    sample_period_s: Number = Field(
        default=0.01,
        gt=0,
        le=MAX_HORIZON_S.value,
        description="Finest resolution of the time series, in seconds (at most "
        "total_simulation_time; series have at most 1000 bins).",
    )
    seed: Integer | None = Field(
        default=None,
        ge=0,
        le=MAX_SEED.value,
        description="Seed of the run's random streams (a 64-bit unsigned integer); the "
        "same seed gives the same run. None: 0 for asyncflow.run.",
    )
    warm_up_s: Number = Field(
        default=0.0,
        ge=0,
        le=MAX_HORIZON_S.value,
        description="Initial seconds left out of statistics (less than total_simulation_time).",
    )

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
    def _check_against_horizon(self) -> Self:
        horizon = self.total_simulation_time
        problems: list[Problem] = []
        if self.warm_up_s >= horizon:
            rule = f"must be < total_simulation_time ({horizon:g})"
            problems.append((("warm_up_s",), rule, self.warm_up_s))
        if self.sample_period_s > horizon:
            rule = (
                f"must be <= total_simulation_time ({horizon:g}): a time series needs "
                "at least one bin inside the run"
            )
            problems.append((("sample_period_s",), rule, self.sample_period_s))
        elif horizon / self.sample_period_s > MAX_SAMPLE_PERIODS.value:
            rule = (
                f"gives {horizon / self.sample_period_s:.3g} periods over total_simulation_time "
                f"({horizon:g} s), at most {MAX_SAMPLE_PERIODS.shown}: {MAX_SAMPLE_PERIODS.reason}"
            )
            problems.append((("sample_period_s",), rule, self.sample_period_s))
        if problems:
            raise_problems(problems, "SimSettings")
        return self
