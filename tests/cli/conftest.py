"""Fixtures for command-line tests."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
from cli_helpers import ShortCopy, write_short_copy
from typer.testing import CliRunner


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def short_copy(tmp_path: Path) -> ShortCopy:
    """Return ``write_short_copy`` bound to this test's tmp_path."""
    return functools.partial(write_short_copy, tmp_path)
