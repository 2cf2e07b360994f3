"""The terminal summary at 80 columns, the balancer in it, and hostile ids."""

from __future__ import annotations

import io
from typing import Any

import pytest
from hostile import HOSTILE, HOSTILE_NAME, hostile_results
from report_fakes import WINDOWS, FakeResults
from rich.console import Console

from asyncflow.report.console import FitTable, print_summary
from asyncflow.report.safe import markup_text, printable, terminal_text
from asyncflow.results import Results


def render(source: Any, width: int = 80) -> str:
    console = Console(record=True, width=width, color_system=None, file=io.StringIO())
    print_summary(source, console)
    return console.export_text()


def assert_fits(text: str, width: int) -> None:
    too_wide = [line for line in text.splitlines() if len(line.rstrip()) > width]
    assert too_wide == []
    assert "…" not in text


@pytest.mark.parametrize("width", [80, 60])
def test_every_table_fits_without_cutting_a_header(socket_run: Results, width: int) -> None:
    text = render(socket_run, width)

    assert_fits(text, width)
    for header in ("completed", "util.", "service", "backlog", "refused", "handshake"):
        assert header in text


def test_balancer_row_shows_refusals_and_limits(socket_run: Results) -> None:
    text = render(socket_run)
    lb = socket_run.summary()["load_balancers"]["lb-1"]
    row = next(line.split() for line in text.splitlines() if line.strip().startswith("lb-1"))

    assert row == [
        "lb-1",
        f"{lb['connections_mean']:.1f}",
        "48",
        "48",
        f"{lb['backlog_mean']:.1f}",
        "128",
        "128",
        f"{lb['refused']:,}",
    ]
    servers = [line.split() for line in text.splitlines() if line.strip().startswith("srv-")]
    # each server twice: in the servers table and in the connections table
    assert [row[0] for row in servers] == ["srv-1", "srv-2", "srv-1", "srv-2"]
    assert servers[2][3] == "256"
    assert servers[2][6] == "128"


def test_no_connections_table_when_no_node_models_them(lb_run: Results) -> None:
    text = render(lb_run)

    assert "Connections" not in text
    assert_fits(text, 80)


def test_a_wide_table_splits_and_repeats_its_labels() -> None:
    table = FitTable("Wide", ["node", *(f"column {i}" for i in range(12))])
    table.add_row("srv-1", *(f"{i * 1000:,}" for i in range(12)))
    console = Console(record=True, width=80, color_system=None, file=io.StringIO())
    console.print(table)
    text = console.export_text()

    assert_fits(text, 80)
    assert "Wide (continued)" in text
    assert sum(line.strip().startswith("srv-1") for line in text.splitlines()) >= 2
    for i in range(12):
        assert f"column {i}" in text
        assert f"{i * 1000:,}" in text


def test_hostile_ids_print_as_plain_text(lb_run: Results) -> None:
    results = hostile_results(lb_run)
    text = render(results, 120)

    for original in ("srv-2", "ev-spike-2", "ev-srv2-down"):
        assert HOSTILE[original] in text  # markup shown, not applied
    assert "ev[31mred" in text  # the escape character is gone, the rest stays
    assert "\x1b" not in text
    assert "\x07" not in text
    assert printable(HOSTILE_NAME) in text


def test_hostile_ids_emit_no_escape_or_link_on_a_terminal(lb_run: Results) -> None:
    out = io.StringIO()
    console = Console(file=out, width=100, force_terminal=True, color_system="truecolor")
    print_summary(hostile_results(lb_run), console)
    written = out.getvalue()

    assert "\x1b]8;" not in written  # no hyperlink escape
    assert "ev\x1b[31m" not in written  # the event id's own colour code
    assert "ev[31mred" in written
    assert "\x07" not in written


def test_hostile_summary_dict_and_windows() -> None:
    fake = FakeResults(server_ids=("srv[/]", "[link=http://x]y[/link]"), fault_windows=WINDOWS)
    summary = fake.summary()
    summary["scenario"] = "[bold]name\x1b[2J"
    summary["bottleneck"]["verdict"] = "waiting on srv[/] \x1b[5m(99%)"
    text = render(summary)

    assert "srv[/]" in text
    assert "[link=http://x]y[/link]" in text
    assert "[bold]name[2J" in text
    assert "waiting on srv[/] [5m(99%)" in text
    assert "\x1b" not in text


@pytest.mark.parametrize(
    ("value", "plain"),
    [
        ("srv-1", "srv-1"),
        ("a\x1b[31mb", "a[31mb"),
        ("tab\there", "tab here"),
        ("line\nbreak\r", "line break "),
        ("bell\x07\x7f\x9b", "bell"),
        ("rtl\u202egnp.exe", "rtlgnp.exe"),
        ("café ✓", "café ✓"),
        (42, "42"),
    ],
)
def test_printable(value: object, plain: str) -> None:
    assert printable(value) == plain
    assert terminal_text(value).plain == plain


def test_markup_text_escapes_brackets() -> None:
    console = Console(record=True, width=80, color_system=None, file=io.StringIO())
    console.print(markup_text("[link=http://x]a[/link] srv[/]\x1b[1m"))

    assert console.export_text().strip() == "[link=http://x]a[/link] srv[/][1m"
