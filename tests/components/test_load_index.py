"""The least-connection index chooses exactly as a scan over every server."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import asyncflow
from asyncflow.components.policies import DOWN, LeastConnection, LoadIndex


class WatchedView:
    """A server view whose changes are reported, as a real server reports them."""

    def __init__(self) -> None:
        self._up = True
        self._load = 0
        self._watchers: list[Callable[[], None]] = []

    @property
    def up(self) -> bool:
        return self._up

    @property
    def in_progress(self) -> int:
        return self._load

    @property
    def connections(self) -> int:
        return self._load

    def watch_load(self, callback: Callable[[], None]) -> None:
        self._watchers.append(callback)

    def set(self, up: bool, load: int) -> None:
        self._up, self._load = up, load
        for callback in self._watchers:
            callback()


# An operation: (server, up, load), or None for a choice.
Operation = tuple[int, bool, int] | None


def operations(servers: int) -> st.SearchStrategy[list[Operation]]:
    step = st.tuples(
        st.integers(0, servers - 1),
        st.booleans().map(lambda down: not down) | st.just(True),  # up more often than down
        st.integers(0, 6),
    )
    return st.lists(st.none() | step, max_size=200)


@settings(max_examples=300, deadline=None)
@given(data=st.data(), servers=st.integers(1, 70))
def test_tracked_choices_equal_a_scan_of_every_server(data: st.DataObject, servers: int) -> None:
    ops = data.draw(operations(servers))
    views = [WatchedView() for _ in range(servers)]
    tracked, scanning = LeastConnection(), LeastConnection()
    tracked.track(views)
    for op in [*ops, None]:
        if op is None:
            assert tracked.choose(views) == scanning.choose(views)
        else:
            i, up, load = op
            views[i].set(up, load)


@settings(max_examples=200, deadline=None)
@given(steps=st.lists(st.tuples(st.integers(0, 9), st.integers(-1, 4)), max_size=100))
def test_index_least_is_the_first_minimum_from_each_start(steps: list[tuple[int, int]]) -> None:
    loads = [DOWN] * 10
    index = LoadIndex(10)
    for i, load in steps:
        index.set(i, load)
        loads[i] = load
        for start in range(11):
            up = [(loads[j], k) for k in range(10) if loads[j := (start + k) % 10] != DOWN]
            expected = (start + min(up)[1]) % 10 if up else -1
            assert index.least(start) == expected


def test_a_run_with_many_servers_chooses_as_the_scan_does() -> None:
    # Moves of one step are the usual case; longer jumps (a crash, a restart) also happen.
    views = [WatchedView() for _ in range(300)]
    tracked, scanning = LeastConnection(), LeastConnection()
    tracked.track(views)
    loads = [0] * 300
    for n in range(5000):
        i = tracked.choose(views)
        assert i == scanning.choose(views)
        loads[i] += 1
        views[i].set(True, loads[i])
        j = (n * 7919) % 300
        if loads[j]:
            loads[j] -= 1
            views[j].set(n % 97 != 0, loads[j])
        elif n % 13 == 0:
            views[j].set(True, loads[j])


# Run in a child process on the pure-Python core: the bundled examples with a
# balancer, switched to least connection, with the index (argv[2] == "index")
# or with the scan of every server; each summary and request table written out.
CHILD = """
import json, re, sys
from pathlib import Path
import asyncflow
from asyncflow.components import policies

if sys.argv[2] == "scan":
    policies.LeastConnection.track = lambda self, servers: None
out = Path(sys.argv[1])
examples = Path(asyncflow.__file__).parent / "examples"
for path in sorted(examples.rglob("*.yml")):
    text = path.read_text()
    if "algorithms:" not in text:
        continue
    variant = out / path.name
    variant.write_text(re.sub(r"algorithms: *\\w+", "algorithms: least_connection", text))
    results = asyncflow.run(variant)
    summary = results.summary()
    summary.pop("wall_s", None)
    (out / f"{path.stem}.json").write_text(json.dumps(summary, sort_keys=True, default=str))
    results.write_csv(out / f"{path.stem}.csv")
"""


@pytest.mark.slow  # about 20 s: six runs of the bundled examples
def test_examples_with_least_connection_give_the_same_results_indexed_or_scanning(
    tmp_path: Path,
) -> None:
    src = Path(asyncflow.__file__).resolve().parent
    pure = tmp_path / "src"
    shutil.copytree(src, pure / "asyncflow", ignore=shutil.ignore_patterns("*.so", "__pycache__"))
    env = {**os.environ, "PYTHONPATH": str(pure), "PYTHONHASHSEED": "0"}
    for mode in ("index", "scan"):
        (tmp_path / mode).mkdir()
        done = subprocess.run(
            [sys.executable, "-c", CHILD, str(tmp_path / mode), mode],
            capture_output=True,
            text=True,
            env=env,
        )
        assert done.returncode == 0, done.stderr
    written = sorted(p.name for p in (tmp_path / "index").iterdir() if p.suffix != ".yml")
    assert len(written) >= 6  # three examples with a balancer, or more
    for name in written:
        indexed = (tmp_path / "index" / name).read_bytes()
        assert indexed == (tmp_path / "scan" / name).read_bytes(), name
