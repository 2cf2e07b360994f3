"""Output paths: checked before anything runs, written whole or not at all.

A command first gathers every file it will write (:class:`Outputs`) and
refuses, with exit code 2, an empty path, an output that would overwrite one
of its input scenarios, and two outputs that name the same file (``--trace``
and ``--summary-json`` both ``t.json``; ``--summary-json out/summary.json``
beside ``--out out``). Each file is then written under a temporary name in
its own directory and renamed when complete (:mod:`asyncflow._files`), with
missing parent directories created, whatever the order of the options.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import typer

from asyncflow._files import write_atomic
from asyncflow.cli.common import exit_failed, exit_usage

__all__ = ["Outputs", "plan_outputs", "writing"]


@dataclass(frozen=True)
class Outputs:
    """The files a command will write.

    Attributes:
        out: The ``--out`` directory, or ``None``.
        files: Single files by option (``--summary-json``, ``--report``, ...).
    """

    out: Path | None
    files: dict[str, Path] = field(default_factory=dict)

    def file(self, option: str) -> Path | None:
        """The path given to ``option``, if any."""
        return self.files.get(option)

    def under_out(self, name: str) -> Path:
        """A file or directory under ``--out``."""
        if self.out is None:
            raise ValueError("no --out directory was given")
        return self.out / name


def plan_outputs(
    *,
    inputs: Sequence[Path],
    out: str | None = None,
    under_out: Sequence[str] = (),
    files: dict[str, str | None] | None = None,
) -> Outputs:
    """Check every output path before anything runs; exit 2 on the first problem.

    Args:
        inputs: The scenario files read (never to be overwritten).
        out: The ``--out`` argument as typed, or ``None``.
        under_out: Names written under ``--out`` (a name ending in ``/`` is
            a directory of files).
        files: ``{option: path as typed or None}`` for single-file outputs.

    Returns:
        The checked plan.
    """
    chosen = {option: _path(option, text) for option, text in (files or {}).items() if text}
    directory = _path("--out", out) if out is not None else None
    if directory is not None and directory.exists() and not directory.is_dir():
        exit_usage(f"error: --out: {directory} exists and is not a directory")
    for option, path in chosen.items():
        if path.is_dir():
            exit_usage(f"error: {option}: {path} is a directory")
    targets = [(option, path, False) for option, path in chosen.items()]
    if directory is not None:
        for name in under_out:
            targets.append(("--out", directory / name.rstrip("/"), name.endswith("/")))
    _refuse_overwriting_inputs(targets, inputs)
    _refuse_collisions(targets)
    return Outputs(directory, chosen)


def _path(option: str, text: str | None) -> Path:
    if text is None or not text.strip():
        exit_usage(f"error: {option}: expected a path (got {text!r})")
    return Path(text).expanduser()


def _same(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return a.resolve() == b.resolve()


def _inside(path: Path, directory: Path) -> bool:
    return path.resolve().is_relative_to(directory.resolve())


def _refuse_overwriting_inputs(
    targets: Iterable[tuple[str, Path, bool]], inputs: Sequence[Path]
) -> None:
    for option, target, is_directory in targets:
        for source in inputs:
            if _same(target, source) or (is_directory and _inside(source, target)):
                exit_usage(
                    f"error: {option} {target} would overwrite the scenario file {source}; "
                    "choose another path"
                )


def _refuse_collisions(targets: Sequence[tuple[str, Path, bool]]) -> None:
    for index, (option, target, _) in enumerate(targets):
        for other, path, is_directory in targets[index + 1 :]:
            if _same(target, path) or (is_directory and _inside(target, path)):
                if other == "--out":
                    exit_usage(
                        f"error: {option} {target} is also written by --out; choose another path"
                    )
                exit_usage(f"error: {option} and {other} both write {target}; choose another path")


@contextmanager
def writing() -> Iterator[None]:
    """Exit with code 1 and a one-line message when an output cannot be written."""
    try:
        yield
    except OSError as error:
        where = error.filename if error.filename is not None else "an output file"
        exit_failed(f"error: cannot write {where}: {error.strerror or error}")
    except ImportError as error:
        exit_failed(f"error: {error}")


def write_file(target: Path, writer: Callable[[Path], object]) -> Path:
    """Write ``target`` through ``writer(temporary_path)``, atomically."""
    return write_atomic(target, writer)


def write_directory(target: Path, writer: Callable[[Path], list[Path]]) -> list[Path]:
    """Write files into ``target`` through ``writer(temporary_directory)``.

    The files are written into a hidden directory beside ``target``, then
    each is renamed into ``target``: every file appears whole or not at all.
    """
    staging = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    try:
        made = writer(staging)
        target.mkdir(parents=True, exist_ok=True)
        written = []
        for path in made:
            final = target / path.relative_to(staging)
            os.replace(path, final)
            written.append(final)
        return written
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def echo_problem(message: str) -> None:
    """A warning line on stderr."""
    typer.echo(message, err=True)
