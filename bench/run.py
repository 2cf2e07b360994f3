"""Benchmark AsyncFlow against AsyncFlow 0.1.1 on the same scenario files.

Usage (with the project's virtualenv, e.g. ``make bench``)::

    .venv/bin/python bench/run.py [--quick] [--only NAME] [--no-reference] [--pure-too]

Every measurement runs in a fresh interpreter (``bench/measure.py``), ours and
0.1.1 alternating on the same file, three times each (once with ``--quick``);
the median is reported. AsyncFlow 0.1.1 (PyPI ``asyncflow-sim``, Python 3.12+)
is installed on first use into ``bench/.venv-asyncflow01``. When that fails the
benchmark still measures our side and marks the reference as unavailable.

With ``--pure-too`` our side is also measured on the pure-Python core (a copy
of ``src/`` without the compiled modules, ``bench/cores.py``), in the same
alternation, so the compiled and pure figures come from one session.

The table is printed and written to ``bench/results/latest.json``.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cores import core_environment, installed_core

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
REF_VENV = BENCH / ".venv-asyncflow01"
REF_PACKAGE = "asyncflow-sim==0.1.1"
MEASURE = BENCH / "measure.py"
STRETCH_S = 3600


@dataclass(frozen=True)
class Case:
    """One scenario file measured on both sides."""

    name: str
    path: Path
    note: str = ""


def _cases() -> list[Case]:
    examples = sorted((ROOT / "examples" / "asyncflow-0.1").glob("*.yml"))
    cases = [Case(p.stem, p) for p in examples]
    cases.append(Case("mm1", BENCH / "scenarios" / "mm1.yml", "M/M/1, rho = 0.8"))
    cases.append(
        Case(
            "three_tier",
            BENCH / "scenarios" / "three_tier.yml",
            "balancer, 4 API servers, balancer, 4 backends: one call per request",
        )
    )
    two = ROOT / "examples" / "asyncflow-0.1" / "two_servers_lb.yml"
    cases.append(
        Case(f"two_servers_lb_{STRETCH_S}s", _stretched(two, STRETCH_S), f"horizon {STRETCH_S} s")
    )
    return cases


def _stretched(path: Path, horizon_s: int) -> Path:
    """Write a copy of ``path`` whose horizon is ``horizon_s`` seconds."""
    text = path.read_text()
    new, count = re.subn(r"(total_simulation_time:\s*)\d+", rf"\g<1>{horizon_s}", text, count=1)
    if count != 1:
        raise SystemExit(f"{path}: no total_simulation_time to stretch")
    out = RESULTS / "scenarios" / f"{path.stem}_{horizon_s}s.yml"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(new)
    return out


# --------------------------------------------------------------------------- reference


def _find_python312() -> str | None:
    """A Python 3.12 or newer that runs (a pyenv shim on the PATH may not)."""
    override = os.environ.get("ASYNCFLOW01_PYTHON")
    if override:
        return override
    pattern = str(Path.home() / ".pyenv" / "versions" / "3.1[23]*" / "bin" / "python3.1[23]")
    found = [shutil.which(name) for name in ("python3.12", "python3.13")]
    for candidate in [*(f for f in found if f), *sorted(glob.glob(pattern))]:
        probe = [candidate, "-c", "import sys; assert sys.version_info >= (3, 12)"]
        if subprocess.run(probe, capture_output=True).returncode == 0:
            return candidate
    return None


def _reference_python() -> tuple[Path | None, str]:
    """Return the interpreter holding AsyncFlow 0.1.1, installing it when missing."""
    python = REF_VENV / "bin" / "python"
    check = [str(python), "-c", "import asyncflow, simpy"]
    if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return python, "installed"
    base = _find_python312()
    if base is None:
        return None, "no Python 3.12+ found (AsyncFlow 0.1.1 needs it; set ASYNCFLOW01_PYTHON)"
    print(f"installing {REF_PACKAGE} into {REF_VENV.relative_to(ROOT)} ...", flush=True)
    steps = [
        [base, "-m", "venv", "--clear", str(REF_VENV)],
        [str(python), "-m", "pip", "install", "--quiet", REF_PACKAGE],
    ]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True)
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:]
            return None, f"install failed: {' '.join(step[:4])}: {' '.join(tail)}"
    if subprocess.run(check, capture_output=True).returncode != 0:
        return None, "installed AsyncFlow 0.1.1 does not import"
    return python, "freshly installed"


# --------------------------------------------------------------------------- measuring


def _error_line(output: str, returncode: int) -> str:
    """The exception line of a traceback (``SomeError: message``), else the last line."""
    lines = [line for line in output.strip().splitlines() if line.strip()]
    for line in reversed(lines):
        if not line[0].isspace() and "Error" in line.split(":", 1)[0]:
            return line.strip()
    return lines[-1].strip() if lines else f"exit status {returncode}"


def _measure(
    python: Path | str, impl: str, path: Path, seed: int, pure: bool = False
) -> dict[str, Any]:
    cmd = [str(python), str(MEASURE), impl, str(path), "--seed", str(seed)]
    env = core_environment(pure)
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
    if done.returncode != 0:
        return {"error": _error_line(done.stderr or done.stdout, done.returncode)}
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def _median_or_none(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def _median(runs: list[dict[str, Any]]) -> dict[str, Any] | None:
    good = [r for r in runs if "error" not in r]
    if not good:
        return None
    rates = [r["completed"] / r["wall_s"] for r in good]
    per_req = [r["peak_above_baseline_bytes"] / max(r["completed"], 1) for r in good]
    return {
        "runs": len(good),
        "completed": int(statistics.median(r["completed"] for r in good)),
        "wall_s": statistics.median(r["wall_s"] for r in good),
        "completed_per_s": statistics.median(rates),
        "peak_above_baseline_mb": statistics.median(r["peak_above_baseline_bytes"] for r in good)
        / 1e6,
        "bytes_per_completed": statistics.median(per_req),
        "latency_mean_s": _median_or_none([r.get("latency_mean_s") for r in good]),
    }


def _run_case(
    case: Case, repeats: int, ref_python: Path | None, pure_too: bool = False
) -> dict[str, Any]:
    ours_runs: list[dict[str, Any]] = []
    pure_runs: list[dict[str, Any]] = []
    ref_runs: list[dict[str, Any]] = []
    for i in range(repeats):
        ours_runs.append(_measure(sys.executable, "ours", case.path, seed=i + 1))
        if pure_too:
            pure_runs.append(_measure(sys.executable, "ours", case.path, seed=i + 1, pure=True))
        if ref_python is not None:
            ref_runs.append(_measure(ref_python, "ref", case.path, seed=i + 1))
    ours = _median(ours_runs)
    pure = _median(pure_runs) if pure_too else None
    ref = _median(ref_runs) if ref_python is not None else None
    entry: dict[str, Any] = {
        "name": case.name,
        "file": str(case.path.relative_to(ROOT)),
        "note": case.note,
        "ours": ours,
        "reference": ref,
        "ours_errors": [r["error"] for r in ours_runs if "error" in r],
        "reference_errors": [r["error"] for r in ref_runs if "error" in r],
        "speedup": None,
        "pure": pure,
        "pure_speedup": None,
        "compiled_over_pure": None,
    }
    if ours and ref:
        entry["speedup"] = ours["completed_per_s"] / ref["completed_per_s"]
    if pure and ref:
        entry["pure_speedup"] = pure["completed_per_s"] / ref["completed_per_s"]
    if ours and pure:
        entry["compiled_over_pure"] = ours["completed_per_s"] / pure["completed_per_s"]
    return entry


# --------------------------------------------------------------------------- output


def _fmt(value: float | None, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def _table(entries: list[dict[str, Any]]) -> str:
    head = (
        f"{'scenario':<24} {'ours done':>9} {'0.1.1 done':>10} {'ours req/s':>11} "
        f"{'0.1.1 req/s':>11} {'ratio':>6} {'ours B/req':>10} {'0.1.1 B/req':>11}"
    )
    lines = [head, "-" * len(head)]
    for e in entries:
        ours, ref = e["ours"] or {}, e["reference"] or {}
        lines.append(
            f"{e['name']:<24} {_fmt(ours.get('completed'), ',d'):>9} "
            f"{_fmt(ref.get('completed'), ',d'):>10} "
            f"{_fmt(ours.get('completed_per_s'), ',.0f'):>11} "
            f"{_fmt(ref.get('completed_per_s'), ',.0f'):>11} "
            f"{_fmt(e['speedup'], '.1f') + ('x' if e['speedup'] else ''):>6} "
            f"{_fmt(ours.get('bytes_per_completed'), ',.0f'):>10} "
            f"{_fmt(ref.get('bytes_per_completed'), ',.0f'):>11}"
        )
        pure = e.get("pure")
        if pure:
            lines.append(
                f"{'  pure-Python core':<24} {_fmt(pure.get('completed'), ',d'):>9} {'':>10} "
                f"{_fmt(pure.get('completed_per_s'), ',.0f'):>11} {'':>11} "
                f"{_fmt(e['pure_speedup'], '.1f') + ('x' if e['pure_speedup'] else ''):>6} "
                f"{_fmt(pure.get('bytes_per_completed'), ',.0f'):>10}   "
                f"(ours {_fmt(e['compiled_over_pure'], '.2f')}x the pure core)"
            )
        for side in ("ours", "reference"):
            for err in dict.fromkeys(e[f"{side}_errors"]):
                lines.append(f"    {side} failed: {err}")
    return "\n".join(lines)


def _core() -> str:
    """Which core our side runs when not told to run the pure one."""
    done = installed_core()
    return done.stdout.strip() or f"unknown ({_error_line(done.stderr, done.returncode)})"


def _machine() -> dict[str, Any]:
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    return {
        "commit": commit or None,
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="AsyncFlow vs AsyncFlow 0.1.1 benchmark")
    parser.add_argument("--quick", action="store_true", help="one run per case, no 1-hour case")
    parser.add_argument("--only", metavar="NAME", help="run only cases whose name contains NAME")
    parser.add_argument("--no-reference", action="store_true", help="measure our side only")
    parser.add_argument(
        "--pure-too", action="store_true", help="also measure our side on the pure-Python core"
    )
    args = parser.parse_args(argv)

    cases = _cases()
    if args.only:
        cases = [c for c in cases if args.only in c.name]
    elif args.quick:
        cases = [c for c in cases if not c.name.endswith(f"_{STRETCH_S}s")]
    if not cases:
        raise SystemExit(f"no case matches {args.only!r}")
    repeats = 1 if args.quick else 3

    ref_python: Path | None = None
    ref_status = "skipped (--no-reference)"
    if not args.no_reference:
        ref_python, ref_status = _reference_python()
    print(f"reference AsyncFlow 0.1.1: {ref_status}", flush=True)
    print(f"our core: {_core()}", flush=True)

    started = time.time()
    entries = []
    for case in cases:
        print(f"  {case.name} ...", flush=True)
        entries.append(_run_case(case, repeats, ref_python, args.pure_too))
    print()
    print(_table(entries))

    RESULTS.mkdir(parents=True, exist_ok=True)
    report = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "duration_s": round(time.time() - started, 1),
        "repeats": repeats,
        "machine": _machine(),
        "reference": {"package": REF_PACKAGE, "status": ref_status},
        "core": _core(),
        "cases": entries,
    }
    out = RESULTS / "latest.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwritten {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
