"""Time of the summary beside the run it summarises, with many servers.

Usage (with the project's virtualenv)::

    .venv/bin/python bench/summary_scale.py [--servers 1000] [--requests 500000]

Builds one balancer in front of ``--servers`` identical servers at about 70 %
CPU utilisation, with a horizon giving about ``--requests`` requests, runs it
once, then times the summary and the per-server and per-endpoint breakdowns
(what the reports read). The summary should cost a small fraction of the
run whatever the number of servers: every per-node figure is one grouped
pass over the requests.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

CPU_S = 0.002
IO_S = 0.01
UTILISATION = 0.7


def fleet(servers: int, requests: int) -> dict[str, Any]:
    """A scenario: one workload, one balancer, ``servers`` equal servers."""
    rate = UTILISATION * servers / CPU_S  # requests per second
    horizon = max(1, round(requests / rate))
    ids = [f"srv-{i + 1}" for i in range(servers)]
    endpoint = {
        "endpoint_name": "/api",
        "steps": [
            {"kind": "initial_parsing", "step_operation": {"cpu_time": CPU_S}},
            {"kind": "io_wait", "step_operation": {"io_waiting_time": IO_S}},
        ],
    }
    latency = {"mean": 0.002, "distribution": "exponential"}
    edges = [
        {"id": "gen-client", "source": "rqs-1", "target": "client-1", "latency": latency},
        {"id": "client-lb", "source": "client-1", "target": "lb-1", "latency": latency},
    ]
    for sid in ids:
        edges.append({"id": f"lb-{sid}", "source": "lb-1", "target": sid, "latency": latency})
        edges.append(
            {"id": f"{sid}-client", "source": sid, "target": "client-1", "latency": latency}
        )
    return {
        "rqs_input": {
            "id": "rqs-1",
            "avg_active_users": {"mean": 1000},
            "avg_request_per_minute_per_user": {"mean": rate * 60 / 1000},
            "user_sampling_window": 60,
        },
        "topology_graph": {
            "nodes": {
                "client": {"id": "client-1"},
                "load_balancer": {"id": "lb-1", "algorithms": "round_robin", "server_covered": ids},
                "servers": [
                    {
                        "id": sid,
                        "server_resources": {"cpu_cores": 1, "ram_mb": 2048},
                        "endpoints": [endpoint],
                    }
                    for sid in ids
                ],
            },
            "edges": edges,
        },
        "sim_settings": {"total_simulation_time": horizon, "sample_period_s": 1.0},
    }


def main() -> None:
    """Run once and print the run's and the summary's seconds."""
    from asyncflow import run
    from asyncflow.analysis.attribution import breakdowns_by_group

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=500_000)
    args = parser.parse_args()
    started = time.perf_counter()
    results = run(fleet(args.servers, args.requests), seed=1)
    run_s = time.perf_counter() - started
    started = time.perf_counter()
    summary = results.summary()
    summary_s = time.perf_counter() - started
    started = time.perf_counter()
    breakdowns_by_group(results, "server")
    breakdowns_by_group(results, "endpoint")
    groups_s = time.perf_counter() - started
    print(f"{args.servers} servers, {summary['requests']['generated']} requests")
    print(f"run {run_s:.2f} s, summary {summary_s:.2f} s ({summary_s / run_s:.1%} of the run)")
    print(f"per-server and per-endpoint breakdowns {groups_s:.2f} s ({groups_s / run_s:.1%})")


if __name__ == "__main__":
    main()
