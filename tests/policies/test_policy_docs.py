"""The overload-policies page: its Python snippet builds what the YAML shows."""

from __future__ import annotations

import re
from pathlib import Path

from asyncflow.scenario.policies import ConcurrencyLimit, RateLimit

PAGE = Path(__file__).resolve().parents[2] / "docs" / "policies.md"


def test_the_python_snippet_builds_a_rate_limit_and_a_codel_cap() -> None:
    (block,) = re.findall(r"```python\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.S)
    namespace: dict[str, object] = {}
    exec(compile(block, str(PAGE), "exec"), namespace)
    rate, cap = namespace["scenario"].policies  # type: ignore[attr-defined]
    assert isinstance(rate, RateLimit)
    assert (rate.rate_per_s, rate.burst) == (100.0, 20.0)
    assert isinstance(cap, ConcurrencyLimit)
    assert cap.queue is not None
    assert (cap.max_in_flight, cap.queue.discipline, cap.queue.max_length) == (4, "codel", 16)
