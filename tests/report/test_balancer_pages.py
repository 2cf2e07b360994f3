"""The load balancer on the PNG pages, and every capacity limit drawn as a line."""

from __future__ import annotations

from typing import Any

from asyncflow.report.dashboard import build_dashboard, build_node_page, write_node_pages
from asyncflow.report.limits import node_limits
from asyncflow.report.plots import LIMIT_GID
from asyncflow.results import Results


def limit_lines(ax: Any) -> dict[str, float]:
    return {
        line.get_label(): float(line.get_ydata()[0])
        for line in ax.get_lines()
        if line.get_gid() == LIMIT_GID
    }


def by_title(figure: Any) -> dict[str, Any]:
    return {ax.get_title(): ax for ax in figure.axes}


def test_limits_come_from_the_scenario(socket_run: Results) -> None:
    assert node_limits(socket_run, "lb-1") == {
        "connection_memory_mb": ("ram_mb", 512.0),
        "connections": ("max_connections", 48.0),
        "backlog": ("listen_backlog", 128.0),
    }
    assert node_limits(socket_run, "srv-2") == {
        "busy_cores": ("cpu_cores", 2.0),
        "ram_in_use_mb": ("ram_mb", 4096.0),
        "connections": ("max_connections", 256.0),
        "backlog": ("listen_backlog", 128.0),
    }
    assert node_limits(socket_run, "client-lb") == {}


def test_dashboard_has_a_balancer_row_with_its_limits(socket_run: Results) -> None:
    charts = by_title(build_dashboard(socket_run))
    refused = socket_run.refused["lb-1"]

    assert refused > 1000
    connections = charts[f"lb-1: connections ({refused:,} refused)"]
    assert limit_lines(connections) == {"max_connections 48": 48.0, "listen_backlog 128": 128.0}
    assert connections.get_ylim()[1] > 128.0
    assert connections.get_ylabel() == "connections"
    assert limit_lines(charts["lb-1: connection memory"]) == {"ram_mb 512": 512.0}
    assert charts["lb-1: connection memory"].get_ylabel() == "MB"


def test_every_limit_of_every_node_is_a_line_on_the_dashboard(socket_run: Results) -> None:
    figure = build_dashboard(socket_run)
    drawn = {
        (ax.get_title().split(":")[0], label) for ax in figure.axes for label in limit_lines(ax)
    }
    expected = {
        (node, f"{field} {value:g}")
        for node in ("lb-1", *socket_run.server_ids)
        for field, value in node_limits(socket_run, node).values()
    }

    assert len(expected) == 11
    assert drawn == expected


def test_balancer_page_and_file(socket_run: Results, tmp_path: Any) -> None:
    charts = by_title(build_node_page(socket_run, "lb-1"))
    written = [path.name for path in write_node_pages(socket_run, tmp_path)]

    assert set(charts) == {
        f"lb-1: connections ({socket_run.refused['lb-1']:,} refused)",
        "lb-1: connection memory",
    }
    assert written[2] == "load_balancer-lb-1.png"


def test_server_page_puts_levels_of_one_unit_together(socket_run: Results) -> None:
    charts = by_title(build_node_page(socket_run, "srv-1"))

    assert {
        "srv-1: queues",
        "srv-1: busy cores",
        "srv-1: RAM in use",
        "srv-1: connections (0 refused)",
        "srv-1: connection memory",
        "srv-1: requests in I/O",
        "srv-1: where the time goes by endpoint",
    } == set(charts)
    assert charts["srv-1: connection memory"].get_ylabel() == "MB"
    assert charts["srv-1: requests in I/O"].get_ylabel() == "requests"
