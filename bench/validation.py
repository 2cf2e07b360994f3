"""How validation scales with the size of a scenario.

Usage (with the project's virtualenv)::

    .venv/bin/python bench/validation.py [--servers 1000 2000 ...] [--repeats R]

Each scenario has one client, one load balancer covering every server, and
per server one endpoint and two edges (balancer → server, server → client).
It is validated from a mapping with ``parse_scenario`` (every model, rule and
graph check), and from a YAML file with ``load_scenario`` (reading and
parsing too). The median of ``R`` runs is printed with the time per server:
a constant time per server means validation is linear. A broken variant,
where every edge from the balancer names a server that does not exist,
shows that the error path ("did you mean ...?" suggestions) stays linear too.
Nothing is asserted.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from asyncflow.errors import ScenarioError
from asyncflow.scenario import load_scenario, parse_scenario


def scenario_of(servers: int, *, broken: bool = False) -> dict[str, Any]:
    """A balanced scenario with ``servers`` servers (edges to missing ones if broken)."""
    ids = [f"srv-{i}" for i in range(servers)]
    step = {"kind": "cpu_bound_operation", "step_operation": {"cpu_time": 0.001}}
    edges = [
        {"id": "gen", "source": "rqs-1", "target": "client-1", "latency": 0.001},
        {"id": "c-lb", "source": "client-1", "target": "lb-1", "latency": 0.001},
    ]
    edges += [
        {"id": f"to-{s}", "source": "lb-1", "target": f"x{s}" if broken else s, "latency": 0.001}
        for s in ids
    ]
    edges += [{"id": f"from-{s}", "source": s, "target": "client-1", "latency": 0.001} for s in ids]
    return {
        "rqs_input": {
            "id": "rqs-1",
            "avg_active_users": {"mean": 10},
            "avg_request_per_minute_per_user": {"mean": 10},
        },
        "topology_graph": {
            "nodes": {
                "client": {"id": "client-1"},
                "load_balancer": {"id": "lb-1", "server_covered": ids},
                "servers": [
                    {"id": s, "endpoints": [{"endpoint_name": "/api", "steps": [step]}]}
                    for s in ids
                ],
            },
            "edges": edges,
        },
        "sim_settings": {"total_simulation_time": 10},
    }


def _median(action: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _refused(data: dict[str, Any]) -> None:
    try:
        parse_scenario(data)
    except ScenarioError:
        return
    raise RuntimeError("the broken scenario validated")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="validation scaling benchmark")
    parser.add_argument("--servers", type=int, nargs="+", default=[1000, 2000, 5000, 10000])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    print(f"{'servers':>8} {'mapping s':>10} {'us/server':>10} {'file s':>8} {'broken s':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.servers:
            data = scenario_of(n)
            path = Path(tmp) / f"s{n}.yml"
            path.write_text(yaml.safe_dump(data), encoding="utf-8")
            mapping = _median(lambda d=data: parse_scenario(d), args.repeats)
            file = _median(lambda p=path: load_scenario(p), args.repeats)
            bad = scenario_of(n, broken=True)
            broken = _median(lambda b=bad: _refused(b), args.repeats)
            print(f"{n:>8} {mapping:>10.3f} {mapping / n * 1e6:>10.1f} {file:>8.3f} {broken:>9.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
