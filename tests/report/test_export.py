from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from asyncflow.report.export import summary_json_text, write_summary_json


def test_non_finite_numbers_become_null_and_numpy_scalars_plain(tmp_path: Path) -> None:
    summary = {
        "seed": np.int64(3),
        "latency_s": {"mean": math.nan, "max": np.float64(np.inf), "p50": np.float64(0.25)},
        "requests": {"failed_by_reason": {}},
    }
    path = write_summary_json(summary, tmp_path / "s.json")

    text = path.read_text(encoding="utf-8")
    assert json.loads(text) == {
        "seed": 3,
        "latency_s": {"mean": None, "max": None, "p50": 0.25},
        "requests": {"failed_by_reason": {}},
    }
    assert text == summary_json_text(summary)
    assert text.startswith('{\n  "seed": 3,')
    assert text.endswith("}\n")
