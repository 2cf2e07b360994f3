"""The command-line options, each defined once and shared by the commands using it.

The replication options mirror :class:`asyncflow.experiment.ReplicationOptions`
(whose docstring is their reference) and take their defaults from it.
"""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from asyncflow.experiment.options import (
    DEFAULT_CONFIDENCE,
    DEFAULT_MAX_RUNS,
    DEFAULT_METRIC,
    DEFAULT_RUNS,
    MIN_COMPARED_RUNS,
)

__all__ = [
    "DEFAULT_CONFIDENCE",
    "DEFAULT_MAX_RUNS",
    "DEFAULT_METRIC",
    "DEFAULT_RUNS",
    "DEFAULT_SLO_CONFIDENCE",
    "ENSEMBLE_PANEL",
    "MEMORY_PANEL",
    "OUTPUT_PANEL",
    "SCENARIO_PANEL",
    "CompareRuns",
    "Confidence",
    "Dask",
    "Duration",
    "Jobs",
    "MaxRuns",
    "MemoryBudget",
    "Metrics",
    "NoPhases",
    "Out",
    "Precision",
    "Quiet",
    "Report",
    "RequestsFormat",
    "RequestsFormatOption",
    "Runs",
    "ScenarioPath",
    "Seed",
    "Sets",
    "Slo",
    "SloConfidence",
    "Streaming",
    "SummaryJson",
    "SweepRuns",
    "WarmUp",
    "parse_size",
]

DEFAULT_SLO_CONFIDENCE = 0.95
"""Share of runs an objective must be met in, with replications (``--slo-confidence``)."""

ENSEMBLE_PANEL = "Monte Carlo"
MEMORY_PANEL = "Memory"
OUTPUT_PANEL = "Reports"
SCENARIO_PANEL = "Scenario changes"
SLO_PANEL = "Objectives (exit code 3 when one is missed)"

ScenarioPath = Annotated[
    Path | None,
    typer.Argument(
        metavar="SCENARIO",
        help="Scenario file (YAML or JSON; AsyncFlow 0.1 files are accepted).",
        show_default=False,
    ),
]
Seed = Annotated[
    int | None,
    typer.Option(
        min=0,
        metavar="N",
        help="Seed (the master seed of replications); default: sim_settings.seed "
        "(A's, for compare), else 0.",
        show_default=False,
    ),
]
Quiet = Annotated[
    bool,
    typer.Option("--quiet", "-q", help="Print nothing except errors (no progress bar)."),
]
Out = Annotated[
    str | None,
    typer.Option(
        "--out",
        metavar="DIR",
        help="Directory for the reports (created if needed).",
        show_default=False,
        rich_help_panel=OUTPUT_PANEL,
    ),
]
SummaryJson = Annotated[
    str | None,
    typer.Option(
        "--summary-json",
        metavar="PATH",
        help="Write the summary as JSON to PATH.",
        show_default=False,
        rich_help_panel=OUTPUT_PANEL,
    ),
]


class RequestsFormat(StrEnum):
    """How ``--out`` writes the request table."""

    CSV = "csv"
    PARQUET = "parquet"
    NONE = "none"


RequestsFormatOption = Annotated[
    RequestsFormat,
    typer.Option(
        "--requests-format",
        case_sensitive=False,
        help="Request table under --out: requests.csv, requests.parquet "
        "(pip install 'asyncflow\\[parquet]') or none.",
        rich_help_panel=OUTPUT_PANEL,
    ),
]
Runs = Annotated[
    int | None,
    typer.Option(
        min=1,
        metavar="N",
        help="Run N independent replications and report every figure with an interval.",
        show_default=False,
        rich_help_panel=ENSEMBLE_PANEL,
    ),
]
CompareRuns = Annotated[
    int,
    typer.Option(
        min=MIN_COMPARED_RUNS,
        metavar="N",
        help="Replications of each scenario (paired by seed).",
        rich_help_panel=ENSEMBLE_PANEL,
    ),
]
SweepRuns = Annotated[
    int,
    typer.Option(
        "--runs",
        min=MIN_COMPARED_RUNS,
        metavar="N",
        help="Replications at every point (the same seeds at every point).",
        rich_help_panel=ENSEMBLE_PANEL,
    ),
]
Jobs = Annotated[
    int | None,
    typer.Option(
        min=1,
        metavar="J",
        help="Local worker processes; default: all cores (1 runs in this process).",
        show_default=False,
        rich_help_panel=ENSEMBLE_PANEL,
    ),
]
Confidence = Annotated[
    float,
    typer.Option(
        min=0.5,
        max=0.999,
        metavar="C",
        help="Confidence level of intervals.",
        rich_help_panel=ENSEMBLE_PANEL,
    ),
]
WarmUp = Annotated[
    str | None,
    typer.Option(
        "--warm-up",
        metavar="S|auto",
        help="Warm-up cut: seconds, or 'auto' (MSER-5 on a pilot); default: the scenario's.",
        show_default=False,
    ),
]
Dask = Annotated[
    str | None,
    typer.Option(
        "--dask",
        metavar="ADDRESS",
        help="Run on a Dask cluster, e.g. tcp://host:8786 (pip install 'asyncflow\\[dask]').",
        show_default=False,
        rich_help_panel=ENSEMBLE_PANEL,
    ),
]
Slo = Annotated[
    list[str] | None,
    typer.Option(
        "--slo",
        metavar="OBJECTIVE",
        help="Objective such as 'latency_s.p95<0.2' (repeatable): checked on the run, or on "
        "each replication; the command exits with code 3 when one is missed.",
        show_default=False,
        rich_help_panel=SLO_PANEL,
    ),
]
SloConfidence = Annotated[
    float,
    typer.Option(
        "--slo-confidence",
        min=0.0,
        max=1.0,
        metavar="P",
        help="With replications: an objective passes when at least this share of runs "
        "meet it.",
        rich_help_panel=SLO_PANEL,
    ),
]
Sets = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        metavar="PATH=VALUE",
        help="Change a value of the scenario (repeatable): a dotted path with list items by "
        "id, e.g. topology_graph.nodes.servers.srv-1.server_resources.cpu_cores=4.",
        show_default=False,
        rich_help_panel=SCENARIO_PANEL,
    ),
]
Duration = Annotated[
    float | None,
    typer.Option(
        "--duration",
        metavar="SECONDS",
        help="Simulated seconds (replaces sim_settings.total_simulation_time).",
        show_default=False,
        rich_help_panel=SCENARIO_PANEL,
    ),
]
Report = Annotated[
    str | None,
    typer.Option(
        "--report",
        metavar="PATH.html",
        help="Write a self-contained HTML report (interactive charts, works offline; "
        "pip install 'asyncflow\\[report]').",
        show_default=False,
        rich_help_panel=OUTPUT_PANEL,
    ),
]
Precision = Annotated[
    float | None,
    typer.Option(
        metavar="P",
        help="Add runs until the interval half-width of the first --metric (default "
        f"{DEFAULT_METRIC}) is at most this fraction of its mean (e.g. 0.02).",
        show_default=False,
        rich_help_panel=ENSEMBLE_PANEL,
    ),
]
MaxRuns = Annotated[
    int,
    typer.Option(
        min=1, metavar="M", help="Cap on runs with --precision.", rich_help_panel=ENSEMBLE_PANEL
    ),
]
Metrics = Annotated[
    list[str] | None,
    typer.Option(
        "--metric",
        metavar="PATTERN",
        help="Show only these figures: a path, a prefix ('servers.srv-1') or a glob "
        "('*.cpu_utilization'); repeatable. The JSON keeps every figure.",
        show_default=False,
        rich_help_panel=ENSEMBLE_PANEL,
    ),
]
Streaming = Annotated[
    bool,
    typer.Option(
        "--streaming",
        help="Keep no per-request table: fold each request into sums and sketches as it "
        "ends, so memory stays flat however long the horizon (latency percentiles within "
        "0.5 %). --out, --trace and --report need the table and are refused.",
        rich_help_panel=MEMORY_PANEL,
    ),
]
MemoryBudget = Annotated[
    str | None,
    typer.Option(
        "--memory-budget",
        metavar="SIZE",
        help="Memory a run may spend on its request table, e.g. 512M or 4G (default: half "
        "the available memory). A run expected to need more streams instead (--streaming), "
        "with a notice; one that must keep the table (--out, --trace, --report) is refused.",
        show_default=False,
        rich_help_panel=MEMORY_PANEL,
    ),
]
NoPhases = Annotated[
    bool,
    typer.Option(
        "--no-phases",
        help="Do not record where each request's time goes: saves memory and time; the "
        "breakdowns, service times and the verdict are then empty.",
        rich_help_panel=MEMORY_PANEL,
    ),
]


def parse_size(text: str) -> int:
    """Bytes from a size such as ``512M``, ``4G``, ``1.5GB`` or ``1000000``.

    Raises:
        ValueError: Not a positive size.
    """
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmMgGtT]?)[iI]?[bB]?\s*", text)
    if match is None or float(match.group(1)) <= 0:
        raise ValueError(f"--memory-budget: a size such as 512M or 4G (got {text!r})")
    scale = 1024 ** " KMGT".index(match.group(2).upper() or " ")
    return int(float(match.group(1)) * scale)
