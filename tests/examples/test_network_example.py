"""The bundled socket-exhaustion example does what its comments say."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import asyncflow

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "lb_socket_exhaustion.yml"


def test_spike_fills_sockets_then_backlog_then_refuses_then_recovers() -> None:
    results = asyncflow.run(EXAMPLE)
    lb = results.summary()["load_balancers"]["lb-1"]
    assert lb["connections_max"] == 48
    assert lb["backlog_max"] == 128
    assert lb["refused"] > 1000
    backlog = results.series("backlog", "lb-1")
    before, during, after = backlog.t < 115, (backlog.t > 125) & (backlog.t < 175), backlog.t > 200
    assert np.all(backlog.max[before] == 0)
    assert backlog.mean[during].mean() > 100
    assert np.all(backlog.max[after] == 0)
    r = results.requests
    refused = r.finished_s[r.outcome == r.reason_names.index("connection_refused")]
    assert refused.min() > 120.0
    assert refused.max() < 181.0
    latency = results.latency_over_time(bin_s=10)
    p50 = latency.values[50]
    calm = np.nanmedian(p50[latency.t < 110])
    assert np.nanmedian(p50[(latency.t >= 130) & (latency.t < 170)]) > 3 * calm
    assert np.nanmedian(p50[latency.t >= 220]) < 1.3 * calm
    # The backlog wait is what the spike adds.
    phases = r.phases()
    spike = (r.outcome == 1) & (r.generated_s > 130) & (r.generated_s < 170)
    assert phases["connection_wait"][spike].mean() > 0.2
