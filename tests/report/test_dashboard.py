from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from report_fakes import WINDOWS, FakeResults

from asyncflow.report.dashboard import build_dashboard, write_dashboard
from asyncflow.report.plots import FAULT_GID

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == PNG_SIGNATURE
    return int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")


@pytest.mark.parametrize(("servers", "n_axes"), [(("srv-1",), 8), (("srv-1", "srv-2"), 11)])
def test_dashboard_has_common_panels_and_three_per_server(
    servers: tuple[str, ...], n_axes: int
) -> None:
    figure = build_dashboard(FakeResults(server_ids=servers, fault_windows=WINDOWS))

    # latency histogram, percentiles, CDF, phase breakdown, throughput,
    # then queues, busy cores and RAM per server (no twin axes)
    assert len(figure.axes) == n_axes
    titles = [ax.get_title() for ax in figure.axes]
    for server in servers:
        assert f"{server}: queues" in titles
        assert f"{server}: busy cores" in titles
        assert f"{server}: RAM in use" in titles
    assert {"Latency CDF", "Where the time goes"} <= set(titles)
    assert "dominated by waiting for RAM" in figure.get_suptitle()
    over_time = [ax for ax in figure.axes if ax.get_xlabel() == "simulated time (s)"]
    assert len(over_time) == 2 + 3 * len(servers)
    for ax in over_time:
        assert sum(p.get_gid() == FAULT_GID for p in ax.patches) == len(WINDOWS)


def test_write_dashboard_writes_a_png_that_grows_with_servers(tmp_path: Path) -> None:
    one = write_dashboard(FakeResults(), tmp_path / "one.png")
    two = write_dashboard(FakeResults(server_ids=("a", "b")), tmp_path / "two.png")

    (w1, h1), (w2, h2) = png_size(one), png_size(two)
    assert w1 == w2
    assert h2 > h1


def test_imports_are_light_and_drawing_leaves_pyplot_alone(tmp_path: Path) -> None:
    code = f"""
import sys
import asyncflow
import asyncflow.cli
import asyncflow.report
assert "matplotlib" not in sys.modules, "matplotlib imported eagerly"
sys.path.insert(0, {str(Path(__file__).parent)!r})
from report_fakes import WINDOWS, FakeResults
asyncflow.report.write_dashboard(FakeResults(), {str(tmp_path / "d.png")!r})
assert "matplotlib.pyplot" not in sys.modules, "pyplot was imported"
"""
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
