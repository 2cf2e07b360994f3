"""An edge's drops: its own named stream, one draw for each call it sends.

The stream is seeded from the edge's id alone (``edge:<id>:drop``), and only
for an edge that drops calls. The requests below reach the dropping edge in
the order they were generated (the hop before it has a fixed latency), so
request ``i`` is dropped exactly when the stream's ``i``-th draw is below the
rate.
"""

from __future__ import annotations

import numpy as np

import asyncflow
from asyncflow.engine.streams import RandomStreams
from asyncflow.scenario import ScenarioBuilder, parse_scenario
from asyncflow.scenario.builder import cpu, endpoint, exponential

RATE = 0.3
SEED = 11
HORIZON_S = 120.0


Link = tuple[str, str]


def _results(dropping: dict[Link, float]) -> tuple[asyncflow.Results, dict[Link, str]]:
    """A client and one server, wired with a fixed 1 ms latency; ``dropping``: rate by link."""
    data = (
        ScenarioBuilder("drops")
        .workload(users=20, requests_per_minute=60, id="web")
        .client()
        .server("srv-1", cpu_cores=4, endpoints=[endpoint("/a", cpu(exponential(0.005)))])
        .wire(latency=0.001)
        .settings(horizon_s=HORIZON_S)
        .to_dict()
    )
    ids: dict[Link, str] = {}
    for edge in data["topology_graph"]["edges"]:
        link = (edge["source"], edge["target"])
        ids[link] = edge["id"]
        edge["dropout_rate"] = dropping.get(link, 0.0)
    return asyncflow.run(parse_scenario(data), seed=SEED), ids


def test_request_i_is_dropped_when_the_edge_streams_ith_draw_is_below_the_rate() -> None:
    results, ids = _results({("client-1", "srv-1"): RATE})
    r = results.requests
    sent = r.generated_s < HORIZON_S - 1.0  # all of them reached the client and were sent
    n = int(np.count_nonzero(sent))
    assert n > 1000
    assert sent[:n].all()
    draws = RandomStreams(SEED).generator(f"edge:{ids[('client-1', 'srv-1')]}:drop").random(n)
    dropped = r.outcome[:n] == r.reason_names.index("network_drop")
    np.testing.assert_array_equal(dropped, draws < RATE)


def test_each_edge_draws_its_drops_from_a_stream_of_its_own() -> None:
    """The reply edge dropping calls too changes none of the client's edge's drops."""
    first, _ = _results({("client-1", "srv-1"): RATE})
    both, _ = _results({("client-1", "srv-1"): RATE, ("srv-1", "client-1"): RATE})
    drop = first.requests.reason_names.index("network_drop")
    out_first = first.requests.outcome == drop
    out_both = both.requests.outcome == drop
    # Every request the client's edge dropped in the first run is dropped in the second too
    # (the reply edge only adds drops of its own, among the requests that got through).
    assert out_first.sum() > 0
    assert (out_both[out_first]).all()
    assert out_both.sum() > out_first.sum()
