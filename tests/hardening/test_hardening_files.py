"""Files that hung, blew up memory or slipped through: refused early with a clear line."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import yaml

from asyncflow.errors import ScenarioError, ScenarioFileError
from asyncflow.scenario import Scenario, load_scenario, parse_scenario
from asyncflow.scenario import _reading as reading
from asyncflow.scenario._messages import show_value
from asyncflow.scenario.models import Workload

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "asyncflow-0.1" / "single_server.yml"
VALUES_RULE = (
    "<scenario>: more than 2,000,000 values: counted with YAML aliases expanded (a small "
    "file can expand into billions)"
)


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _refused(path: Path, message: str) -> None:
    with pytest.raises(ScenarioFileError) as info:
        load_scenario(path)
    assert info.value.problems == (f"{path}: {message}",)


# --------------------------------------------------------------------------- special files


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_named_pipe_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "scenario.yml"
    os.mkfifo(fifo)
    _refused(fifo, "is a named pipe, not a regular file: a scenario is read from a file")


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_an_endless_device_is_refused_before_reading(tmp_path: Path, device: str) -> None:
    if not Path(device).exists():
        pytest.skip(f"no {device} here")
    link = tmp_path / "scenario.yml"
    link.symlink_to(device)
    _refused(link, "is a character device, not a regular file: a scenario is read from a file")


def test_a_directory_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "scenario.yml"
    folder.mkdir()
    _refused(folder, "is a directory, not a regular file: a scenario is read from a file")


def test_a_file_over_the_size_limit_is_refused_unread(tmp_path: Path) -> None:
    big = tmp_path / "big.yml"
    with big.open("wb") as handle:  # sparse: no 16 MiB written to disk
        handle.truncate(16 * 1024 * 1024 + 1)
    _refused(
        big,
        "file too large: must be <= 16,777,216 bytes: 16 MiB; a scenario of 10,000 "
        "servers takes about 4 MB",
    )


def test_text_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin.yml"
    path.write_bytes(b"name: caf\xe9\n")
    _refused(path, "not UTF-8 text (byte 0xe9 at offset 9)")


# --------------------------------------------------------------------------- parsing rules


def test_the_c_loader_is_used_when_present() -> None:
    if hasattr(yaml, "CSafeLoader"):
        assert issubclass(reading._StrictLoader, yaml.CSafeLoader)


def test_yaml_duplicate_keys_keep_their_line_with_the_c_loader(tmp_path: Path) -> None:
    path = _write(tmp_path / "dup.yml", "sim_settings:\n  seed: 1\n  seed: 2\n")
    _refused(path, "invalid YAML at line 3, column 3: duplicate key 'seed'")


def test_json_duplicate_keys_are_refused_with_their_path(tmp_path: Path) -> None:
    text = '{"sim_settings": {"seed": 1, "total_simulation_time": 5, "seed": 2}}'
    path = _write(tmp_path / "dup.json", text)
    _refused(path, "invalid JSON: duplicate key 'seed' in sim_settings")


def test_a_yaml_set_is_refused(tmp_path: Path) -> None:
    text = EXAMPLE.read_text("utf-8").replace("rqs_input:", "x: !!set {srv-1, srv-2}\nrqs_input:")
    path = _write(tmp_path / "set.yml", text)
    with pytest.raises(ScenarioFileError) as info:
        load_scenario(path)
    (line,) = info.value.problems
    assert re.fullmatch(
        rf"{re.escape(str(path))}: invalid YAML at line \d+, column \d+: !!set is not "
        r"allowed: a set's order changes from run to run; write a list",
        line,
    )


@pytest.mark.parametrize("suffix", [".json", ".yml"])
def test_an_integer_of_5000_digits_is_refused_while_parsing(tmp_path: Path, suffix: str) -> None:
    digits = "7" * 5000
    text = (
        f'{{"sim_settings": {{"seed": {digits}}}}}'
        if suffix == ".json"
        else f"sim_settings:\n  seed: {digits}\n"
    )
    path = _write(tmp_path / f"long{suffix}", text)
    where = "line 1, column 27" if suffix == ".json" else "line 2, column 9"
    kind = "JSON" if suffix == ".json" else "YAML"
    _refused(
        path,
        f"invalid {kind} at {where}: an integer of 5000 digits: must be <= 100 digits: no "
        "scenario number needs more",
    )


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        (
            "flow.yml",
            "a: " + "[" * 100_000 + "]" * 100_000 + "\n",
            "invalid YAML at line 1, column 1003: exceeded maximum nesting depth",
        ),
        (
            "block.yml",
            "".join("  " * i + "a:\n" for i in range(2000)),
            "invalid YAML at line 1000, column 2000: exceeded maximum nesting depth",
        ),
        (
            "deep.json",
            '{"a": ' + "[" * 100_000 + "]" * 100_000 + "}",
            "invalid JSON: nested too deeply to read",
        ),
    ],
    ids=["yaml flow", "yaml block", "json"],
)
def test_100000_levels_of_nesting_are_a_clear_error(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    if name.endswith(".yml") and not hasattr(yaml, "CSafeLoader"):
        pytest.skip("libyaml bounds the nesting; the pure-Python loader's message differs")
    _refused(_write(tmp_path / name, text), message)


def test_moderate_nesting_beyond_the_bound_names_where(tmp_path: Path) -> None:
    deep: object = 1
    for _ in range(70):
        deep = [deep]
    with pytest.raises(ScenarioError) as info:
        parse_scenario({"rqs_input": {"id": deep}})
    assert info.value.problems == (
        "rqs_input.id[0][0][0][0][0][0]...: nested deeper than 64 levels: no scenario key is "
        "nested deeper than about 12 levels",
    )


def _alias_bomb(use: str) -> str:
    lines = ["x0: &x0 [a, a, a, a, a, a, a, a, a]"]
    lines += [f"x{i}: &x{i} [" + ", ".join([f"*x{i - 1}"] * 9) + "]" for i in range(1, 9)]
    return "\n".join(lines) + "\n" + use


def test_an_alias_bomb_used_as_a_typed_value_is_refused_before_validation(
    tmp_path: Path,
) -> None:
    path = _write(tmp_path / "bomb.yml", _alias_bomb("rqs_input:\n  id: *x8\n"))
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert info.value.problems == (VALUES_RULE,)


def test_messages_cut_values_before_rendering_them() -> None:
    bomb: object = ["a"] * 9
    for _ in range(8):
        bomb = [bomb] * 9  # 9**9 strings if rendered in full
    looped: list[object] = []
    looped.append(looped)
    for value in (bomb, looped, "x" * 10_000_000, 10**5000, {"k" * 1000: ["v"] * 1000}):
        assert len(show_value(value)) <= 60
    assert show_value(10**5000) == "<an integer of about 5001 digits>"


def test_a_bomb_given_to_a_model_directly_is_reported_in_bounded_text() -> None:
    bomb: object = ["a"] * 9
    for _ in range(8):
        bomb = [bomb] * 9
    with pytest.raises(ScenarioError) as info:
        parse_scenario({"rqs_input": {"id": bomb}})
    assert info.value.problems == (VALUES_RULE,)
    from pydantic import ValidationError

    from asyncflow.scenario._messages import problems_from_error

    with pytest.raises(ValidationError) as raw:
        Workload.model_validate({"id": bomb})
    lines = problems_from_error(raw.value)
    assert lines[0].startswith("id: must be a string (got [[[[")
    assert all(len(line) < 200 for line in lines)


def test_exponents_without_a_dot_are_numbers(tmp_path: Path) -> None:
    text = EXAMPLE.read_text("utf-8").replace(
        "total_simulation_time: 500", "total_simulation_time: 5e2"
    )
    assert "5e2" in text
    scenario: Scenario = load_scenario(_write(tmp_path / "exp.yml", text))
    assert scenario.sim_settings.total_simulation_time == 500.0


def test_numbers_written_as_text_are_refused() -> None:
    data = yaml.safe_load(EXAMPLE.read_text("utf-8"))
    data["sim_settings"]["total_simulation_time"] = "500"
    with pytest.raises(ScenarioError) as info:
        parse_scenario(data)
    assert info.value.problems == (
        "sim_settings.total_simulation_time: must be a number (got '500')",
    )


# --------------------------------------------------------------------------- large inputs


def test_too_many_events_are_refused_without_validating_each() -> None:
    data = yaml.safe_load(EXAMPLE.read_text("utf-8"))
    event = {
        "event_id": "e",
        "target_id": "srv-1",
        "start": {"kind": "server_down", "t_start": 1},
        "end": {"kind": "server_up", "t_end": 2},
    }
    data["events"] = [event] * 20_000
    with pytest.raises(ScenarioError) as info:
        parse_scenario(data)
    assert info.value.problems == (
        "events: must have at most 10,000 events: each event is scheduled and drawn in every "
        "report; merge adjacent windows",
    )


def test_problem_lists_are_cut_at_100_lines() -> None:
    data = yaml.safe_load(EXAMPLE.read_text("utf-8"))
    server = data["topology_graph"]["nodes"]["servers"][0]
    server["endpoints"] = [{"endpoint_name": "", "steps": []}] * 150
    with pytest.raises(ScenarioError) as info:
        parse_scenario(data)
    assert len(info.value.problems) == 101
    assert info.value.problems[-1] == "... and 50 more problems"


def test_odd_keys_and_long_text_are_quoted_and_cut_in_messages() -> None:
    data = yaml.safe_load(EXAMPLE.read_text("utf-8"))
    data["topology_graph"]["nodes"]["client"]["\x1b[31mred"] = 1
    data["topology_graph"]["nodes"]["client"]["k" * 1_000_000] = 1
    data["rqs_input"]["avg_active_users"]["distribution"] = "p" * 1_000_000
    with pytest.raises(ScenarioError) as info:
        parse_scenario(data)
    assert info.value.problems == (
        "rqs_input.avg_active_users.distribution: must be one of 'deterministic', "
        "'exponential', 'normal', 'log_normal', 'uniform', 'gamma', 'poisson', 'empirical', "
        "'quantiles' (got 'ppppppppppppppppppppppppppp...pppppppppppppppppppppppppppp')",
        "topology_graph.nodes.client['\\x1b[31mred']: unknown field (expected one of: id, "
        "type, connection_pool)",
        "topology_graph.nodes.client['kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk...']: unknown "
        "field (expected one of: id, type, connection_pool)",
    )
