"""Importing AsyncFlow and validating a scenario do not pay for scipy."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "asyncflow-0.1" / "single_server.yml"

_PROBE = """
import sys
import asyncflow
import asyncflow.scenario
from asyncflow.scenario import load_scenario
load_scenario(sys.argv[1])
print(",".join(sorted(m for m in sys.modules if m == "scipy" or m.startswith("scipy."))))
"""


def test_import_and_validate_leave_scipy_unimported() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, str(EXAMPLE)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert done.stdout.strip() == ""


def test_solving_a_truncated_normal_still_works() -> None:
    probe = (
        "import sys\n"
        "from asyncflow.engine.sampling import truncated_normal_parent\n"
        "mu, sigma = truncated_normal_parent(1.0, 0.64)\n"
        "print('scipy' in sys.modules, mu < 1.0, sigma > 0.8)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.split() == ["True", "True", "True"]
