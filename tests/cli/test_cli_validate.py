from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import EXAMPLES, ShortCopy
from typer.testing import CliRunner

from asyncflow.cli import app
from asyncflow.errors import ScenarioError
from asyncflow.scenario import load_scenario

INVALID = """\
rqs_input:
  id: rqs-1
  avg_active_users: { mean: -5 }
  avg_request_per_minute_per_user: { mean: 20 }
  user_sampling_window: 60
topology_graph:
  nodes:
    client: { id: client-1 }
    servers:
      - id: srv-1
        server_resources: { cpu_cores: 1, ram_mb: 2048 }
        endpoints:
          - endpoint_name: ep-1
            steps:
              - kind: initial_parsing
                step_operation: { cpu_time: 0.001 }
  edges:
    - { id: gen-client, source: rqs-1, target: client-1, latency: { mean: 0.003 } }
    - { id: client-srv, source: client-1, target: srv-1, latency: { mean: 0.003 } }
    - { id: srv-client, source: srv-1, target: client-1, latency: { mean: 0.003 } }
sim_settings:
  total_simulation_time: -1
"""


def expected_problems(path: Path) -> tuple[str, ...]:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    return caught.value.problems


@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.glob("*.yml")))
def test_validate_accepts_every_bundled_example(runner: CliRunner, example: str) -> None:
    result = runner.invoke(app, ["validate", str(EXAMPLES / example)])

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [f"ok: {EXAMPLES / example} is a valid scenario"]
    assert result.stderr == ""


@pytest.mark.parametrize("command", ["validate", "run"])
def test_invalid_scenario_lists_every_problem_on_stderr(
    runner: CliRunner, tmp_path: Path, command: str
) -> None:
    path = tmp_path / "invalid.yml"
    path.write_text(INVALID, encoding="utf-8")
    problems = expected_problems(path)

    result = runner.invoke(app, [command, str(path)])

    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines[0] == f"error: scenario {path} is invalid:"
    assert tuple(lines[1:]) == problems
    assert len(problems) >= 2
    assert any(line.startswith("rqs_input.avg_active_users.mean: ") for line in lines)
    assert any(line.startswith("sim_settings.total_simulation_time: ") for line in lines)
    assert result.stdout == ""
    assert "Traceback" not in result.output


@pytest.mark.parametrize("command", ["validate", "run"])
def test_missing_file_exits_2_without_traceback(
    runner: CliRunner, tmp_path: Path, command: str
) -> None:
    path = tmp_path / "absent.yml"

    result = runner.invoke(app, [command, str(path)])

    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"error: cannot read scenario {path}:",
        f"{path}: file not found",
    ]
    assert "Traceback" not in result.output


def test_yaml_syntax_error_names_the_line(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "broken.yml"
    path.write_text("rqs_input:\n  id: rqs-1\n  avg_active_users: [1, 2\nsim_settings: {}\n")

    result = runner.invoke(app, ["validate", str(path)])

    assert result.exit_code == 2
    assert f"{path}: invalid YAML at line 4" in result.stderr
    assert "Traceback" not in result.output


def test_schema_prints_the_scenario_json_schema(runner: CliRunner) -> None:
    result = runner.invoke(app, ["schema"])

    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert {"rqs_input", "topology_graph", "sim_settings"} <= set(schema["properties"])


def test_no_command_shows_help(runner: CliRunner) -> None:
    result = runner.invoke(app, [])

    for command in ("run", "validate", "schema"):
        assert command in result.output


def test_short_copy_of_an_example_is_still_valid(runner: CliRunner, short_copy: ShortCopy) -> None:
    path = short_copy("event_inj_lb.yml")

    assert runner.invoke(app, ["validate", str(path)]).exit_code == 0
