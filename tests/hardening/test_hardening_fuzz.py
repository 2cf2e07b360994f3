"""Mutated bundled examples: refused with a path, or run to the horizon with every request counted.

See :mod:`fuzz_cases` for the mutations and the check. The default run takes
every second mutant of the junk values (about 3,000, some seconds); the
``slow`` tests run the other half in a process limited to 2 GiB of address
space (an attempt to allocate more is a ``MemoryError``, reported as a
failure), so that every junk mutant runs once, and fixed strided samples of
the other sets: half of the mutants with more values, a tenth of them on the
examples at their full horizon, and a third of the values at the bounds
(runs expected to generate more than 50,000 requests are only validated).
The samples are strides over a fixed order, so a run is reproducible, and
their size keeps the slow suite's share of these tests near three minutes
on CI as examples are added.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml
from fuzz_cases import REPLACEMENTS, Mutant, check, mutants
from typer.testing import CliRunner

from asyncflow.cli import app
from asyncflow.errors import ScenarioError
from asyncflow.scenario import parse_scenario, scenario_json_schema


def _failures(cases: tuple[Mutant, ...], *, related: bool = True) -> list[str]:
    return [problem for mutant in cases if (problem := check(mutant, related=related))]


def test_the_mutations_cover_every_example_and_value() -> None:
    cases = mutants()
    assert len(cases) > 5000
    assert {case.example for case in cases} >= {"single_server.yml", "lb_socket_exhaustion.yml"}
    assert {case.change for case in cases} == {"delete"} | {label for label, _ in REPLACEMENTS}


def test_mutated_examples_are_refused_with_a_path_or_run_to_their_horizon() -> None:
    assert _failures(mutants()[::2]) == []


@pytest.mark.slow
def test_half_of_the_mutations_with_more_values() -> None:
    assert _failures(mutants("more")[::2]) == []


@pytest.mark.slow
def test_mutations_of_the_examples_at_their_full_horizon() -> None:
    assert _failures(mutants(short=False)[::10]) == []


@pytest.mark.slow
def test_values_at_the_bounds_run_or_are_refused() -> None:
    assert _failures(mutants("bounds")[::3], related=False) == []


_UNDER_A_MEMORY_LIMIT = """
import resource, sys
limit = 2 * 1024**3
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
sys.path.insert(0, sys.argv[1])
import fuzz_cases
found = [p for m in fuzz_cases.mutants()[1::2] if (p := fuzz_cases.check(m))]
print("\\n".join(found) or "none")
"""


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="address-space limits as on Linux")
def test_the_other_half_of_the_mutations_stays_within_2_gib_of_address_space() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _UNDER_A_MEMORY_LIMIT, str(Path(__file__).parent)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "none"


# --------------------------------------------------------------------------- the JSON Schema


def _schema_disagreements(cases: tuple[Mutant, ...]) -> list[str]:
    """Mutants that validate but that the exported JSON Schema refuses."""
    validator = jsonschema.Draft202012Validator(scenario_json_schema())
    found = []
    for mutant in cases:
        try:
            parse_scenario(mutant.data)
        except ScenarioError:
            continue
        errors = [error.message for error in validator.iter_errors(mutant.data)]
        if errors:
            found.append(f"{mutant.label}: {errors[0][:200]}")
    return found


def test_the_schema_accepts_every_mutant_that_validates() -> None:
    assert _schema_disagreements(mutants()[1::2]) == []


@pytest.mark.slow
def test_the_schema_accepts_every_mutant_that_validates_at_the_bounds() -> None:
    assert _schema_disagreements(mutants("more")[1::2] + mutants("bounds")[1::2]) == []


# --------------------------------------------------------------------------- the command line

_LINE = re.compile(r"^(<scenario>|[A-Za-z_][\w-]*(\[\d+\]|\['.*?'\]|\.[^\s:]+)*)(\.\.\.)?: \S")


@pytest.mark.parametrize("index", range(0, 5000, 125))
def test_validate_exits_2_with_path_lines_or_0(tmp_path: Path, index: int) -> None:
    mutant = mutants()[index]
    path = tmp_path / "mutant.yml"
    path.write_text(yaml.safe_dump(mutant.data, sort_keys=False), encoding="utf-8")
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    if result.exit_code == 0:
        parse_scenario(mutant.data)  # the command line and the API agree
        return
    assert result.exit_code == 2
    header, *lines = result.stderr.splitlines()
    assert header in (f"error: scenario {path} is invalid:", f"error: cannot read scenario {path}:")
    assert lines
    assert all(_LINE.match(line) or line.startswith(f"{path}: ") for line in lines)
    if header.endswith("is invalid:"):
        with pytest.raises(ScenarioError):
            parse_scenario(mutant.data)


def test_the_check_itself_reports_failures() -> None:
    refused_elsewhere = Mutant("x.yml", ("zzz",), "-1", {})
    problem = check(refused_elsewhere)
    assert problem is not None
    assert problem.startswith("x.yml: zzz <- -1: no problem under 'zzz': ")
    assert check(Mutant("x.yml", ("rqs_input",), "delete", {})) is None
    not_a_scenario = Mutant("x.yml", ("rqs_input",), "-1", {"rqs_input": object()})
    assert check(not_a_scenario, related=False) is None  # refused with path lines
