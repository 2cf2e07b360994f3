"""Measure one simulation run in this process and print the figures as one JSON line.

Run by ``bench/run.py`` in a fresh interpreter for every measurement, so that
peak memory belongs to that run alone::

    python bench/measure.py ours PATH [--seed N]   # this project (Python 3.11+)
    python bench/measure.py ref PATH               # AsyncFlow 0.1.1 (Python 3.12+)

Only the standard library is imported at module level: the same file runs in
the project's virtualenv and in the one holding AsyncFlow 0.1.1.

Printed fields:

* ``wall_s``: wall seconds of the simulation itself (building the runtime and
  running the clock), not imports or YAML loading;
* ``completed``: requests that came back to the client;
* ``generated``: requests created (our side only; 0.1.1 does not count them);
* ``latency_mean_s``: mean latency of completed requests (our side only);
* ``baseline_kib`` / ``peak_kib``: peak resident set size (``ru_maxrss``)
  after imports and loading the scenario, and after the run;
* ``peak_above_baseline_bytes``: the difference, the memory the run added.
"""

from __future__ import annotations

import argparse
import importlib
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any


def _maxrss_kib() -> int:
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _measure_ours(path: Path, seed: int) -> dict[str, Any]:
    import asyncflow

    # Load (and validate) the scenario before the baseline when the package
    # offers a loader; otherwise asyncflow.run loads the file itself.
    scenario: Any = path
    for module_name, name in (("asyncflow", "load"), ("asyncflow.scenario", "load_scenario")):
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        loader = getattr(module, name, None)
        if callable(loader):
            scenario = loader(path)
            break
    baseline = _maxrss_kib()
    start = time.perf_counter()
    results = asyncflow.run(scenario, seed=seed)
    wall = time.perf_counter() - start
    peak = _maxrss_kib()
    summary = results.summary()
    requests = summary["requests"]
    return {
        "wall_s": wall,
        "engine_wall_s": float(getattr(results, "wall_s", wall)),
        "completed": int(requests["completed"]),
        "generated": int(requests["generated"]),
        "latency_mean_s": summary["latency_s"]["mean"],
        "baseline_kib": baseline,
        "peak_kib": peak,
    }


def _measure_ref(path: Path) -> dict[str, Any]:
    import simpy

    from asyncflow import SimulationRunner

    env = simpy.Environment()
    runner = SimulationRunner.from_yaml(env=env, yaml_path=path)
    baseline = _maxrss_kib()
    start = time.perf_counter()
    analyzer = runner.run()
    wall = time.perf_counter() - start
    peak = _maxrss_kib()
    # 0.1.1 keeps one RqsClock(start, finish) per request back at the client.
    completed = len(analyzer._client.rqs_clock)
    return {
        "wall_s": wall,
        "engine_wall_s": wall,
        "completed": completed,
        "generated": None,
        "latency_mean_s": None,
        "baseline_kib": baseline,
        "peak_kib": peak,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("impl", choices=["ours", "ref"])
    parser.add_argument("path", type=Path)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if args.impl == "ours":
        figures = _measure_ours(args.path, args.seed)
    else:
        figures = _measure_ref(args.path)
    figures["peak_above_baseline_bytes"] = max(
        0, (figures["peak_kib"] - figures["baseline_kib"]) * 1024
    )
    figures["python"] = sys.version.split()[0]
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
