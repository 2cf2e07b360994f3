"""Peak memory and wall time of whole ``asyncflow run`` commands, as a user meets them.

Usage (with the project's virtualenv)::

    .venv/bin/python bench/command.py [--repeats N] [--only NAME]

Each case runs one scenario at two horizons, as the command a user types
(``asyncflow run FILE``, with or without ``--out DIR``), in a fresh process:
imports, loading, the run, the summary, the terminal tables and every file
written are part of the figure. The peak resident memory of that process
(``wait4``'s ``ru_maxrss``) at the short horizon is the fixed cost; the
growth from the short to the long horizon, divided by the extra completed
requests (read from the ``summary.json`` it wrote), is the memory each extra
request costs the whole command. Wall time is reported the same way: seconds
per extra thousand requests.

The table is printed and written to ``bench/results/command.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
EXAMPLES = ROOT / "examples"


@dataclass(frozen=True)
class Case:
    """One scenario at a short and a long horizon, with a set of command options."""

    name: str
    path: Path
    horizons: tuple[int, int]
    reports: bool  # --out DIR: dashboard, node pages, request table, series, summary
    options: tuple[str, ...] = ()  # more options of the command (--streaming, --no-phases)


CASES = (
    Case("two_servers_lb", EXAMPLES / "asyncflow-0.1" / "two_servers_lb.yml", (600, 3600), False),
    Case(
        "two_servers_lb --out", EXAMPLES / "asyncflow-0.1" / "two_servers_lb.yml", (600, 3600), True
    ),
    Case("call_tree", EXAMPLES / "call_tree.yml", (300, 1800), False),
    Case("call_tree --out", EXAMPLES / "call_tree.yml", (300, 1800), True),
    Case(
        "two_servers_lb --no-phases",
        EXAMPLES / "asyncflow-0.1" / "two_servers_lb.yml",
        (600, 3600),
        False,
        ("--no-phases",),
    ),
    Case(
        "two_servers_lb --streaming",
        EXAMPLES / "asyncflow-0.1" / "two_servers_lb.yml",
        (600, 3600),
        False,
        ("--streaming",),
    ),
    Case("call_tree --streaming", EXAMPLES / "call_tree.yml", (900, 3600), False, ("--streaming",)),
    Case("cache_stampede", EXAMPLES / "cache_stampede.yml", (600, 1800), False),
)


def _with_horizon(path: Path, horizon_s: int, directory: Path) -> Path:
    text = path.read_text()
    new, count = re.subn(r"(total_simulation_time:\s*)\d+", rf"\g<1>{horizon_s}", text, count=1)
    if count != 1:
        raise SystemExit(f"{path}: no total_simulation_time to change")
    out = directory / f"{path.stem}_{horizon_s}s.yml"
    out.write_text(new)
    return out


def _run(scenario: Path, case: Case, directory: Path) -> dict[str, Any]:
    """One whole command in a fresh process: its wall time, peak memory and completions."""
    reports = case.reports
    out = directory / "out"
    summary = directory / "summary.json"
    cmd = [sys.executable, "-m", "asyncflow", "run", str(scenario), "--quiet", *case.options]
    cmd += ["--out", str(out)] if reports else ["--summary-json", str(summary)]
    env = {**os.environ, "PYTHONHASHSEED": "0", "MPLBACKEND": "Agg"}
    start = time.perf_counter()
    process = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} exited with {process.returncode}")
    written = out / "summary.json" if reports else summary
    completed = json.loads(written.read_text())["requests"]["completed"]
    return {"wall_s": wall, "peak_bytes": usage.ru_maxrss * 1024, "completed": int(completed)}


def _measure(case: Case, repeats: int) -> dict[str, Any]:
    runs: dict[int, list[dict[str, Any]]] = {h: [] for h in case.horizons}
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        files = {h: _with_horizon(case.path, h, directory) for h in case.horizons}
        for _ in range(repeats):
            for horizon in case.horizons:  # alternate, so drift hits both alike
                runs[horizon].append(_run(files[horizon], case, directory))
    short, long = (
        {k: statistics.median(r[k] for r in runs[h]) for k in ("wall_s", "peak_bytes", "completed")}
        for h in case.horizons
    )
    extra = long["completed"] - short["completed"]
    return {
        "name": case.name,
        "horizons_s": list(case.horizons),
        "short": short,
        "long": long,
        "bytes_per_extra_request": (long["peak_bytes"] - short["peak_bytes"]) / extra,
        "ms_per_extra_1000_requests": 1e6 * (long["wall_s"] - short["wall_s"]) / extra,
    }


def _table(entries: list[dict[str, Any]]) -> str:
    head = (
        f"{'command':<27} {'horizons':>11} {'completed':>19} {'peak MB':>15} "
        f"{'B/extra req':>11} {'wall s':>13} {'ms/1k extra':>11}"
    )
    lines = [head, "-" * len(head)]
    for e in entries:
        s, lg = e["short"], e["long"]
        lines.append(
            f"{e['name']:<27} {'/'.join(map(str, e['horizons_s'])):>11} "
            f"{s['completed']:>9,.0f}/{lg['completed']:<9,.0f} "
            f"{s['peak_bytes'] / 1e6:>7.0f}/{lg['peak_bytes'] / 1e6:<7.0f} "
            f"{e['bytes_per_extra_request']:>11.0f} "
            f"{s['wall_s']:>6.1f}/{lg['wall_s']:<6.1f} {e['ms_per_extra_1000_requests']:>11.1f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="whole-command memory and time")
    parser.add_argument("--repeats", type=int, default=3, help="runs per horizon (median)")
    parser.add_argument("--only", metavar="NAME", help="cases whose name contains NAME")
    args = parser.parse_args(argv)
    cases = [c for c in CASES if not args.only or args.only in c.name]
    entries = []
    for case in cases:
        print(f"  {case.name} ...", flush=True)
        entries.append(_measure(case, args.repeats))
    print()
    print(_table(entries))
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "command.json"
    out.write_text(json.dumps({"repeats": args.repeats, "cases": entries}, indent=2) + "\n")
    print(f"\nwritten {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
