"""Instructions and cache misses per request, counted on a simulated cache.

Usage (with the project's virtualenv, the compiled core built, and
valgrind installed: ``apt install valgrind``)::

    .venv/bin/python bench/cachesim.py [--servers 1 1000] [--requests N] [--ll-mb 1 8]

On a shared virtual machine the time of a run of a large fleet moves by
±30% from one run to the next, more than most changes to the request path
move it. This counts instead of timing: valgrind's callgrind runs the same
scenarios as ``bench/scale.py`` (round robin, 70% utilisation; the horizon
is at least one simulated second, so the 1,000-server run completes more
requests than asked) with a simulated cache shaped like one core of this
machine (48 KB L1 data cache, 12-way; the last level as given, 16-way), and
counts only inside the clock (``Kernel.run`` of the compiled core). The
counts are the same at every run of the same code. The last level at 1 MB
is this machine's L2 (a miss there goes to the shared L3); at 8 MB it
stands for a share of the L3 (a miss there goes to memory).

Printed per completed request: instructions, L1 data misses and
last-level data misses, and each fleet's ratio to the first size.
A case of 50,000 requests takes one (one server) to four minutes (1,000 servers)
under valgrind.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cores import core_environment, installed_core
from scale import scenario

CLOCK_SYMBOL = "CPyDef_kernel___Kernel___run"  # the compiled Kernel.run


def run_clock(servers: int, requests: int) -> int:
    """Build the model, run the clock (what is counted), return the requests completed."""
    from asyncflow.scenario import Scenario
    from asyncflow.simulation import Simulation

    spec = scenario(servers, "round_robin", requests)
    simulation = Simulation(Scenario.model_validate(spec), seed=1)
    simulation.advance(simulation.end_s)
    simulation.finish()
    results = simulation.results(0.0)
    return int((results.requests.outcome == 1).sum())


def count(servers: int, requests: int, ll_mb: int) -> dict[str, float]:
    """Run one case under callgrind; counts per completed request."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        cmd = [
            "valgrind",
            "--tool=callgrind",
            "--cache-sim=yes",
            "--I1=32768,8,64",
            "--D1=49152,12,64",
            f"--LL={ll_mb * 1024 * 1024},16,64",
            "--collect-atstart=no",
            f"--toggle-collect={CLOCK_SYMBOL}",
            f"--callgrind-out-file={out}",
            sys.executable,
            __file__,
            "--one",
            str(servers),
            str(requests),
        ]
        done = subprocess.run(cmd, capture_output=True, text=True, env=core_environment(False))
        if done.returncode != 0:
            errors = [line for line in done.stderr.splitlines() if not line.startswith("==")]
            raise SystemExit(f"{servers} servers: {errors[-1:] or done.stderr[-300:]}")
        completed = int(done.stdout.strip().splitlines()[-1])
        totals = re.search(r"^totals:\s+(.*)$", out.read_text(), re.MULTILINE)
        events = re.search(r"^events:\s+(.*)$", out.read_text(), re.MULTILINE)
    if totals is None or events is None:
        raise SystemExit("callgrind wrote no totals")
    figures = dict(zip(events.group(1).split(), map(int, totals.group(1).split()), strict=True))
    return {
        "completed": completed,
        "instructions": figures["Ir"] / completed,
        "l1_misses": (figures["D1mr"] + figures["D1mw"]) / completed,
        "ll_misses": (figures["DLmr"] + figures["DLmw"]) / completed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--one", nargs=2, type=int, metavar=("SERVERS", "REQUESTS"))
    parser.add_argument("--servers", type=int, nargs="+", default=[1, 1000])
    parser.add_argument("--requests", type=int, default=50_000)
    parser.add_argument("--ll-mb", type=int, nargs="+", default=[1, 8])
    args = parser.parse_args()
    if args.one:
        print(run_clock(*args.one))
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("bench/cachesim.py needs valgrind (apt install valgrind)")
    core = installed_core().stdout.strip()
    if core != "compiled":
        raise SystemExit(f"bench/cachesim.py counts inside the compiled clock; this is the {core}")
    rows = []
    for ll_mb in args.ll_mb:
        for servers in args.servers:
            started = time.perf_counter()
            figures = count(servers, args.requests, ll_mb)
            print(
                f"  {servers:>5} servers, last level {ll_mb} MB: {json.dumps(figures)}"
                f" ({time.perf_counter() - started:.0f} s)",
                file=sys.stderr,
                flush=True,
            )
            rows.append((ll_mb, servers, figures))
    print("| last level | servers | requests | instructions | L1 misses | last-level misses |")
    print("|---:|---:|---:|---:|---:|---:|")
    for ll_mb, servers, f in rows:
        base = next(g for m, s, g in rows if m == ll_mb and s == args.servers[0])
        print(
            f"| {ll_mb} MB | {servers:,} | {f['completed']:,.0f} "
            f"| {f['instructions']:,.0f} ({f['instructions'] / base['instructions']:.2f}×) "
            f"| {f['l1_misses']:.1f} ({f['l1_misses'] / base['l1_misses']:.2f}×) "
            f"| {f['ll_misses']:.1f} ({f['ll_misses'] / base['ll_misses']:.2f}×) |"
        )


if __name__ == "__main__":
    main()
