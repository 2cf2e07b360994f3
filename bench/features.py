"""What optional model features cost: the same scenario with and without them.

Usage::

    .venv/bin/python bench/features.py [--repeats 5] [--baseline-src DIR]

Runs ``two_servers_lb.yml`` as is and in variants that switch on connection
modelling (socket limits, balancer resources, keep-alive pools with
handshakes) and bandwidth-shared bodies, alternating the variants run by run
in one process, and prints completed requests per wall second and the ratio
to the plain scenario. With ``--baseline-src DIR`` (the ``src`` folder of
another checkout, e.g. a ``git worktree`` of an earlier commit) the plain
scenario is also run by that code in a subprocess, alternating, so the cost
of a change on scenarios that do not use a feature can be read as a ratio.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

import asyncflow  # noqa: E402
from asyncflow.scenario import Scenario  # noqa: E402

BASE = ROOT / "examples" / "asyncflow-0.1" / "two_servers_lb.yml"
PROBE = (
    "import sys; sys.path.insert(0, sys.argv[1]); import asyncflow; "
    "r = asyncflow.run(sys.argv[2], seed=1); "
    "print(r.summary()['requests']['completed'] / r.wall_s)"
)


def _variant(edit: Callable[[dict[str, Any]], None]) -> Scenario:
    data = asyncflow.load_scenario(BASE).model_dump(exclude_none=True)
    edit(data)
    return asyncflow.parse_scenario(data, name="variant")


def _connections(data: dict[str, Any]) -> None:
    nodes = data["topology_graph"]["nodes"]
    pool = {"keep_alive": True, "pool_size": 16, "idle_timeout_s": 5}
    nodes["client"]["connection_pool"] = pool
    nodes["load_balancer"]["connection_pool"] = pool
    nodes["load_balancer"]["resources"] = {"max_connections": 2000, "listen_backlog": 512,
                                           "connection_memory_kb": 64}
    for server in nodes["servers"]:
        server["server_resources"].update(max_connections=256, listen_backlog=128,
                                          connection_memory_kb=64)


def _bandwidth(data: dict[str, Any]) -> None:
    for server in data["topology_graph"]["nodes"]["servers"]:
        for endpoint in server["endpoints"]:
            endpoint.update(request_kb=2, response_kb=32)
    for edge in data["topology_graph"]["edges"]:
        if edge["source"].startswith("srv") or edge["target"].startswith("srv"):
            edge["bandwidth_mbps"] = 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--baseline-src", type=Path, default=None)
    args = parser.parse_args()
    variants: dict[str, Scenario] = {
        "plain": asyncflow.load_scenario(BASE),
        "connections (limits, pools, handshakes)": _variant(_connections),
        "bandwidth (bodies on shared links)": _variant(_bandwidth),
    }
    rates: dict[str, list[float]] = {name: [] for name in variants}
    if args.baseline_src is not None:
        rates["plain, baseline code"] = []
    for _ in range(args.repeats):
        for name, scenario in variants.items():
            results = asyncflow.run(scenario, seed=1)
            rates[name].append(results.summary()["requests"]["completed"] / results.wall_s)
        if args.baseline_src is not None:
            out = subprocess.run(
                [sys.executable, "-c", PROBE, str(args.baseline_src), str(BASE)],
                capture_output=True, text=True, check=True,
            )
            rates["plain, baseline code"].append(float(out.stdout.strip().splitlines()[-1]))
    plain = statistics.median(rates["plain"])
    print(f"{'variant':45} {'completed/s':>12} {'vs plain':>9}")
    for name, values in rates.items():
        median = statistics.median(values)
        print(f"{name:45} {median:12,.0f} {median / plain:9.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
