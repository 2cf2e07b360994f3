"""Draw docs/img/lb_socket_exhaustion.png from examples/lb_socket_exhaustion.yml.

Run from the repository root: ``.venv/bin/python examples/socket_exhaustion_plot.py [OUT.png]``
(by default it writes the picture of the documentation).
"""

from __future__ import annotations

import sys
from pathlib import Path

from matplotlib.figure import Figure

import asyncflow

HERE = Path(__file__).resolve().parent
PICTURE = HERE.parent / "docs" / "img" / "lb_socket_exhaustion.png"


def main(out: Path = PICTURE) -> None:
    results = asyncflow.run(HERE / "lb_socket_exhaustion.yml")
    figure = Figure(figsize=(10, 8), layout="constrained")
    top, middle, bottom = figure.subplots(3, 1, sharex=True)
    latency = results.latency_over_time(bin_s=2)
    for p in (50, 99):
        top.step(latency.t, latency.values[p] * 1000, where="post", label=f"p{p}")
    top.set_ylabel("latency (ms)")
    connections = results.series("connections", "lb-1")
    backlog = results.series("backlog", "lb-1")
    middle.step(connections.t, connections.mean, where="post", label="open connections")
    middle.step(backlog.t, backlog.mean, where="post", label="accept backlog")
    middle.axhline(48, color="grey", linestyle=":", label="max_connections")
    middle.axhline(128, color="grey", linestyle="--", label="listen_backlog")
    middle.set_ylabel("lb-1 (time-weighted mean)")
    rates = results.throughput(bin_s=2)
    bottom.step(rates.t, rates.completed, where="post", label="completed")
    for reason, values in rates.failed.items():
        if values.any():
            bottom.step(rates.t, values, where="post", label=reason)
    bottom.set_ylabel("requests / s")
    bottom.set_xlabel("simulated time (s)")
    for axes in (top, middle, bottom):
        axes.axvspan(120, 180, color="orange", alpha=0.12)
        axes.legend(loc="upper right", fontsize=8)
        axes.grid(alpha=0.3)
    top.set_title("Traffic spike (x4, 120-180 s) against a balancer with 48 sockets")
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=110)
    print(f"wrote {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else PICTURE)
