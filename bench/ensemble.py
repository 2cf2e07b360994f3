"""Benchmark replications: parallel efficiency and the cost of the ensemble's bookkeeping.

Usage (with the project's virtualenv)::

    .venv/bin/python bench/ensemble.py [--runs 8] [--repeats 3] [--horizon 3000] [--quick]

The scenario is ``examples/asyncflow-0.1/two_servers_lb.yml`` with its horizon
stretched (default 3000 s: a few seconds a run). Three ways to run the same N
replications (same seeds) are timed, alternating, ``--repeats`` times each:

- ``plain``: ``asyncflow.run(scenario, seed=s).summary()`` in a loop, the
  least any ensemble must do;
- ``serial``: ``asyncflow.replicate(..., jobs=1)``, in this process: the same
  runs plus the records (flattened figures, binned series) and statistics;
- ``parallel``: ``asyncflow.replicate(..., jobs=2)``, two worker processes
  (started with ``spawn``; their start-up is included).

Printed: the medians, the bookkeeping overhead ``serial / plain - 1``, the
parallel efficiency ``serial / (2 x parallel)`` and the workers' busy share
``sum of the runs' wall time in the workers / (2 x parallel)``. On a machine
shared with other work the efficiency also measures the others' load (a
second core that is busy elsewhere is not there to use); the busy share
does not, and isolates what the pool itself costs: start-up, transfer, idle
workers at the end. Written to ``bench/results/ensemble.json``. No
assertion on wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

import asyncflow  # noqa: E402
from asyncflow.experiment import replication_seeds  # noqa: E402
from asyncflow.experiment.replicate import with_warm_up  # noqa: E402

SCENARIO = ROOT / "examples" / "asyncflow-0.1" / "two_servers_lb.yml"
RESULTS = ROOT / "bench" / "results" / "ensemble.json"


def stretched(horizon_s: float) -> asyncflow.Scenario:
    scenario = asyncflow.load_scenario(SCENARIO)
    settings = scenario.sim_settings.model_copy(update={"total_simulation_time": horizon_s})
    return with_warm_up(scenario.model_copy(update={"sim_settings": settings}), 0.0)


def timed(action: Callable[[], Any]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--horizon", type=float, default=3000.0)
    parser.add_argument("--quick", action="store_true", help="4 runs, 1 repeat, 1000 s")
    args = parser.parse_args()
    if args.quick:
        args.runs, args.repeats, args.horizon = 4, 1, 1000.0
    scenario = stretched(args.horizon)
    seeds = replication_seeds(0, args.runs)

    def plain() -> None:
        for seed in seeds:
            asyncflow.run(scenario, seed=seed).summary()

    def serial() -> None:
        asyncflow.replicate(scenario, runs=args.runs, seed=0, jobs=1).summary()

    busy: list[float] = []

    def parallel() -> None:
        started = time.perf_counter()
        ensemble = asyncflow.replicate(scenario, runs=args.runs, seed=0, jobs=2)
        ensemble.summary()
        wall = time.perf_counter() - started
        busy.append(sum(r.wall_s for r in ensemble.records) / (2.0 * wall))

    cases = {"plain": plain, "serial": serial, "parallel": parallel}
    times: dict[str, list[float]] = {name: [] for name in cases}
    load_before = os.getloadavg()
    for repeat in range(args.repeats):
        for name, action in cases.items():
            times[name].append(timed(action))
            print(f"repeat {repeat + 1}: {name:8s} {times[name][-1]:7.2f} s", flush=True)
    load_after = os.getloadavg()
    median = {name: statistics.median(values) for name, values in times.items()}
    overhead = median["serial"] / median["plain"] - 1.0
    efficiency = median["serial"] / (2.0 * median["parallel"])
    per_run = median["plain"] / args.runs
    print(f"\n{args.runs} runs of {SCENARIO.name} over {args.horizon:g} s ({per_run:.2f} s a run)")
    for name, value in median.items():
        print(f"  {name:8s} median {value:7.2f} s")
    print(f"bookkeeping overhead (serial / plain - 1): {overhead:+.1%}")
    print(f"parallel efficiency on 2 cores (serial / (2 x parallel)): {efficiency:.0%}")
    print(f"workers busy running simulations: {statistics.median(busy):.0%} of 2 x parallel")
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "scenario": SCENARIO.name,
        "horizon_s": args.horizon,
        "runs": args.runs,
        "repeats": args.repeats,
        "times_s": times,
        "median_s": median,
        "seconds_per_run": per_run,
        "bookkeeping_overhead": overhead,
        "parallel_efficiency": efficiency,
        "workers_busy_share": statistics.median(busy),
        "cores": os.cpu_count(),
        "load_average": [load_before[0], load_after[0]],
        "python": platform.python_version(),
    }
    RESULTS.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
