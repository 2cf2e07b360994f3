"""Helpers for command-line tests: short copies of the bundled examples."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "asyncflow-0.1"

ShortCopy = Callable[..., Path]


def write_short_copy(directory: Path, example: str, horizon: float = 60.0, **settings: Any) -> Path:
    """Write an example with a shorter horizon into ``directory`` and return its path.

    Event times are scaled by the same factor as the horizon, so every fault
    window stays inside the run; ``settings`` override ``sim_settings`` keys.
    """
    data = yaml.safe_load((EXAMPLES / example).read_text(encoding="utf-8"))
    sim = data["sim_settings"]
    factor = horizon / float(sim["total_simulation_time"])
    sim["total_simulation_time"] = horizon
    sim.update(settings)
    for event in data.get("events") or ():
        event["start"]["t_start"] = event["start"]["t_start"] * factor
        event["end"]["t_end"] = event["end"]["t_end"] * factor
    path = directory / example
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path
