"""Cost per request as the fleet grows: 1 to 1,000 servers behind one balancer.

Usage (with the project's virtualenv)::

    .venv/bin/python bench/scale.py [--quick] [--pure] [--servers 1 10 ...]
                                    [--algorithms NAME ...] [--requests N] [--repeats K]

Each server has one core and serves requests whose CPU time is exponential
with mean 10 ms; the arrival rate keeps every fleet at 70% utilisation
(70 requests/s per server), and the horizon is set so that every run gets
about the same number of requests (``--requests``, 100,000 by default; the
balancer-to-server and server-to-client hops have exponential latencies of
their own, one sampler each). Every measurement runs in a fresh interpreter,
the sizes and algorithms alternating. The first table gives the median CPU
time of a whole run (validating the scenario, building the model, running
the clock, closing the books; not the summary or the imports) divided by the
requests completed, in microseconds, and each size's ratio to one server.
The second splits it: the clock alone per request, and the fixed part (the
validation, the build and the final integration of every level) per server.

``--pure`` runs the pure-Python core even when the compiled one is built
(from a copy of ``src/`` without the extension modules, see ``bench/cores.py``).
``--control`` adds one case to each pass: a single server with as many
cores as the largest fleet has servers, at that fleet's rate. It has the
fleet's requests alive and events pending, on one server and two edges;
the clock's cost per request, against one one-core server's, tells how
much of the fleet's extra cost the concurrency explains and how much its
per-server state does.

``--quick`` is a smoke run: 10,000 requests, one repeat, 1 and 100 servers.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from typing import Any

from cores import core_environment, installed_core

ALGORITHMS = ("round_robin", "random", "least_connection", "power_of_two_choices")
SERVERS = (1, 10, 100, 1000)
UTILISATION = 0.7
SERVICE_S = 0.010
HOP_S = 0.001


def scenario(servers: int, algorithm: str, requests: int, cores: int = 1) -> dict[str, Any]:
    """``servers`` servers of ``cores`` cores at 70% utilisation behind one balancer."""
    rate = UTILISATION * servers * cores / SERVICE_S
    ids = [f"srv-{i}" for i in range(servers)]
    hop = {"mean": HOP_S, "distribution": "exponential"}
    cpu = {"mean": SERVICE_S, "distribution": "exponential"}
    step = {"kind": "cpu_bound_operation", "step_operation": {"cpu_time": cpu}}
    edges = [
        {"id": "gen-client", "source": "gen", "target": "client", "latency": 0.0001},
        {"id": "client-lb", "source": "client", "target": "lb", "latency": 0.0001},
    ]
    for sid in ids:
        edges.append({"id": f"lb-{sid}", "source": "lb", "target": sid, "latency": hop})
        edges.append({"id": f"{sid}-client", "source": sid, "target": "client", "latency": hop})
    return {
        "rqs_input": {
            "id": "gen",
            "avg_active_users": round(rate),
            "avg_request_per_minute_per_user": 60,
            "user_sampling_window": 60,
        },
        "topology_graph": {
            "nodes": {
                "client": {"id": "client"},
                "load_balancer": {"id": "lb", "algorithms": algorithm, "server_covered": ids},
                "servers": [
                    {
                        "id": sid,
                        "server_resources": {"cpu_cores": cores, "ram_mb": 1024},
                        "endpoints": [{"endpoint_name": "/work", "steps": [step]}],
                    }
                    for sid in ids
                ],
            },
            "edges": edges,
        },
        "sim_settings": {"total_simulation_time": max(requests / rate, 1.0), "seed": 1},
    }


def measure_one(servers: int, algorithm: str, requests: int, cores: int = 1) -> dict[str, Any]:
    """Run one case in this process (the steps of ``asyncflow.run``), timed step by step."""
    from asyncflow.scenario import Scenario
    from asyncflow.simulation import Simulation

    spec = scenario(servers, algorithm, requests, cores)
    t0 = time.process_time()
    simulation = Simulation(Scenario.model_validate(spec), seed=1)
    t1 = time.process_time()
    simulation.advance(simulation.end_s)
    t2 = time.process_time()
    simulation.finish()
    results = simulation.results(0.0)
    t3 = time.process_time()
    completed = int((results.requests.outcome == 1).sum())
    return {
        "completed": completed,
        "cpu_s": t3 - t0,
        "us_per_request": (t3 - t0) / completed * 1e6,
        "clock_us_per_request": (t2 - t1) / completed * 1e6,
        "fixed_ms_per_server": ((t1 - t0) + (t3 - t2)) / servers * 1e3,
    }


def _child(
    servers: int, algorithm: str, requests: int, pure: bool, cores: int = 1
) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--one", str(servers), algorithm, str(requests)]
    cmd += ["--cores", str(cores)]
    done = subprocess.run(cmd, capture_output=True, text=True, env=core_environment(pure))
    if done.returncode != 0:
        raise SystemExit(f"{servers} servers, {algorithm}: {done.stderr.strip().splitlines()[-1:]}")
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


Medians = dict[tuple[int, str], dict[str, float]]

CONTROL = (0, "one server, many cores")
"""The key of ``--control``'s case among the medians."""


def run(args: argparse.Namespace) -> Medians:
    """Median figures of every (servers, algorithm), runs alternated."""
    samples: dict[tuple[int, str], list[dict[str, Any]]] = {}
    for _ in range(args.repeats):
        for servers in args.servers:
            for algorithm in args.algorithms:
                figures = _child(servers, algorithm, args.requests, args.pure)
                samples.setdefault((servers, algorithm), []).append(figures)
                print(
                    f"  {servers:>5} servers {algorithm:<22} {figures['us_per_request']:7.1f} µs",
                    file=sys.stderr,
                    flush=True,
                )
        if args.control:
            cores = max(args.servers)
            figures = _child(1, args.algorithms[0], args.requests, args.pure, cores)
            samples.setdefault(CONTROL, []).append(figures)
            print(
                f"  {1:>5} server, {cores} cores {figures['us_per_request']:14.1f} µs",
                file=sys.stderr,
                flush=True,
            )
    return {
        key: {name: statistics.median(r[name] for r in runs) for name in runs[0]}
        for key, runs in samples.items()
    }


def table(medians: Medians, servers: list[int], algorithms: list[str], split: bool) -> str:
    """A Markdown table: µs per request and the ratio to the smallest fleet, or the split."""
    head = "| servers | " + " | ".join(algorithms) + " |"
    rule = "|---:|" + "---:|" * len(algorithms)
    rows = [head, rule]
    for s in servers:
        cells = []
        for a in algorithms:
            m, base = medians[(s, a)], medians[(servers[0], a)]
            if split:
                clock = m["clock_us_per_request"]
                cells.append(
                    f"{clock:.1f} µs ({clock / base['clock_us_per_request']:.2f}×)"
                    f" + {m['fixed_ms_per_server']:.2f} ms/server"
                )
            else:
                us = m["us_per_request"]
                cells.append(f"{us:.1f} µs ({us / base['us_per_request']:.2f}×)")
        rows.append(f"| {s:,} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--one", nargs=3, metavar=("SERVERS", "ALGORITHM", "REQUESTS"))
    parser.add_argument("--quick", action="store_true", help="smoke run: small and once")
    parser.add_argument("--pure", action="store_true", help="run the pure-Python core")
    parser.add_argument("--servers", type=int, nargs="+", default=list(SERVERS))
    parser.add_argument("--algorithms", nargs="+", default=list(ALGORITHMS), choices=ALGORITHMS)
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cores", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument(
        "--control",
        action="store_true",
        help="also one server with as many cores as the largest fleet has servers",
    )
    args = parser.parse_args()
    if args.one:
        servers, algorithm, requests = args.one
        print(json.dumps(measure_one(int(servers), algorithm, int(requests), args.cores)))
        return
    if args.quick:
        args.requests, args.repeats, args.servers = 10_000, 1, [1, 100]
    medians = run(args)
    core = "pure-Python" if args.pure else installed_core().stdout.strip() or "unknown"
    print(
        f"CPU time of the run per completed request ({core} core, "
        f"{args.requests:,} requests per run, median of {args.repeats}):"
    )
    print(table(medians, args.servers, args.algorithms, split=False))
    print("\nThe clock alone per request, and the fixed part per server:")
    print(table(medians, args.servers, args.algorithms, split=True))
    if args.control:
        clock = medians[CONTROL]["clock_us_per_request"]
        base = medians[(args.servers[0], args.algorithms[0])]["clock_us_per_request"]
        print(
            f"\nOne server with {max(args.servers):,} cores at the largest fleet's rate: "
            f"the clock alone {clock:.1f} µs a request ({clock / base:.2f}× "
            f"{args.servers[0]} server{'s' if args.servers[0] > 1 else ''}, {args.algorithms[0]})"
        )


if __name__ == "__main__":
    main()
