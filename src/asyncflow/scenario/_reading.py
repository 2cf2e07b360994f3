"""Reading scenario files safely: regular files only, bounded size, strict YAML and JSON.

Every problem becomes a :class:`~asyncflow.errors.ScenarioFileError` line
``<file>: <what> (<where>)``; nothing here can hang (a FIFO is never read),
exhaust memory (the size is bounded before reading) or recurse without bound
(libyaml and the checks after parsing bound the nesting).

YAML is read with the C loader when PyYAML has it, and with these rules on
top of the safe loader: duplicate keys are refused (JSON's too), ``!!set`` is
refused (its order depends on ``PYTHONHASHSEED``, so runs would not be
reproducible), integers longer than
:data:`~asyncflow.scenario.limits.MAX_INTEGER_DIGITS` are refused before
Python converts them, and a number with an exponent but no dot (``1e-3``) is
a number, as in YAML 1.2 and JSON (YAML 1.1 reads it as text).
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Hashable
from pathlib import Path
from typing import Any, Final, NoReturn

import yaml

from asyncflow.errors import ScenarioFileError
from asyncflow.scenario._base import Loc, format_loc
from asyncflow.scenario.limits import MAX_FILE_BYTES, MAX_INTEGER_DIGITS

try:
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]

__all__ = ["parse_json", "parse_yaml", "read_text"]

_FILE_KINDS: Final = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)
_OPEN_FLAGS: Final = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
_MAX_BYTES: Final = int(MAX_FILE_BYTES.value)
_MAX_DIGITS: Final = int(MAX_INTEGER_DIGITS.value)


def _fail(file: Path, problem: str) -> NoReturn:
    raise ScenarioFileError([f"{file}: {problem}"])


def read_text(file: Path) -> str:
    """Read a scenario file as UTF-8 text, refusing anything but a small regular file.

    The file is opened without blocking (a FIFO would otherwise wait for a
    writer) and checked on the open descriptor, so it cannot be swapped
    between the check and the read.

    Args:
        file: The path.

    Returns:
        The text.

    Raises:
        ScenarioFileError: Missing, unreadable, not a regular file, too large,
            or not UTF-8.
    """
    try:
        fd = os.open(file, _OPEN_FLAGS)
    except FileNotFoundError:
        _fail(file, "file not found")
    except OSError as exc:
        _fail(file, f"cannot read the file ({exc.strerror or exc})")
    try:
        info = os.fstat(fd)
        for is_kind, kind in _FILE_KINDS:
            if is_kind(info.st_mode):
                _fail(file, f"is {kind}, not a regular file: a scenario is read from a file")
        if info.st_size > _MAX_BYTES:
            _fail(file, f"file too large: {MAX_FILE_BYTES.rule('<=')}")
        data = _read_at_most(fd, _MAX_BYTES + 1)  # it may have grown since
    except OSError as exc:
        _fail(file, f"cannot read the file ({exc.strerror or exc})")
    finally:
        os.close(fd)
    if len(data) > _MAX_BYTES:
        _fail(file, f"file too large: {MAX_FILE_BYTES.rule('<=')}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        _fail(file, f"not UTF-8 text (byte {data[exc.start]:#04x} at offset {exc.start})")


def _read_at_most(fd: int, limit: int) -> bytes:
    """Read up to ``limit`` bytes from an open file descriptor."""
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        chunk = os.read(fd, min(limit - size, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


# --------------------------------------------------------------------------- YAML


class _StrictLoader(_SafeLoader):
    """The safe YAML loader with the rules in the module docstring."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Hashable, Any]:
    loader.flatten_mapping(node)
    result: dict[Hashable, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, Hashable):
            raise yaml.constructor.ConstructorError(
                None, None, "a mapping key must be plain text or a number", key_node.start_mark
            )
        if key in result:
            mark = key_node.start_mark
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", mark)
        result[key] = loader.construct_object(value_node, deep=True)
    return result


def _refuse_set(loader: _StrictLoader, node: yaml.Node) -> NoReturn:
    raise yaml.constructor.ConstructorError(
        None,
        None,
        "!!set is not allowed: a set's order changes from run to run; write a list",
        node.start_mark,
    )


def _construct_int(loader: _StrictLoader, node: yaml.ScalarNode) -> int:
    digits = sum(c.isdigit() for c in str(node.value))
    if digits > _MAX_DIGITS:
        problem = f"an integer of {digits} digits: {MAX_INTEGER_DIGITS.rule('<=')}"
        raise yaml.constructor.ConstructorError(None, None, problem, node.start_mark)
    value: int = loader.construct_yaml_int(node)
    return value


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_StrictLoader.add_constructor("tag:yaml.org,2002:set", _refuse_set)
_StrictLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def parse_yaml(file: Path, text: str) -> Any:
    """Parse YAML text with the strict loader.

    Args:
        file: The file the text came from (for messages).
        text: The text.

    Returns:
        The parsed data.

    Raises:
        ScenarioFileError: With the line and column of a syntax error, a
            duplicate key, a set or an over-long integer.
    """
    try:
        return yaml.load(text, Loader=_StrictLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        problem = " ".join(str(problem).split())
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        _fail(file, f"invalid YAML{where}: {problem}")
    except RecursionError:
        _fail(file, "invalid YAML: nested too deeply to read")


# --------------------------------------------------------------------------- JSON


class _JsonError(Exception):
    """A rule broken while parsing JSON, located afterwards in the text."""

    def __init__(self, problem: str, needle: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self.needle = needle


class _Duplicated(dict[str, Any]):
    """A JSON object that repeated a key (found, with its path, after parsing)."""

    duplicate: str = ""


def _json_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) == len(pairs):
        return result
    seen: set[str] = set()
    marked = _Duplicated(result)
    for key, _ in pairs:
        if key in seen:
            marked.duplicate = key
            break
        seen.add(key)
    return marked


def _json_int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > _MAX_DIGITS:
        problem = f"an integer of {digits} digits: {MAX_INTEGER_DIGITS.rule('<=')}"
        raise _JsonError(problem, text)
    return int(text)


def parse_json(file: Path, text: str) -> Any:
    """Parse JSON text, refusing duplicate keys and over-long integers.

    Args:
        file: The file the text came from (for messages).
        text: The text.

    Returns:
        The parsed data.

    Raises:
        ScenarioFileError: With the line and column of the problem, or the
            path of the object with a duplicate key.
    """
    try:
        data = json.loads(text, object_pairs_hook=_json_object, parse_int=_json_int)
    except json.JSONDecodeError as exc:
        _fail(file, f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}")
    except _JsonError as exc:
        _fail(file, f"invalid JSON{_where(text, exc.needle)}: {exc.problem}")
    except RecursionError:
        _fail(file, "invalid JSON: nested too deeply to read")
    found = _find_duplicate(data)
    if found is not None:
        path, key = found
        _fail(file, f"invalid JSON: duplicate key {key!r} in {format_loc(path)}")
    return data


def _find_duplicate(data: Any) -> tuple[Loc, str] | None:
    """The path and key of the first object that repeated a key, in document order."""
    stack: list[tuple[Loc, Any]] = [((), data)]
    while stack:
        loc, value = stack.pop()
        if isinstance(value, _Duplicated):
            return loc, value.duplicate
        if isinstance(value, dict):
            stack.extend(((*loc, k), v) for k, v in reversed(value.items()))
        elif isinstance(value, list):
            stack.extend(((*loc, i), v) for i, v in reversed(list(enumerate(value))))
    return None


def _where(text: str, needle: str) -> str:
    """`` at line L, column C`` of the first occurrence of ``needle`` (a best guess)."""
    offset = text.find(needle)
    if offset < 0:
        return ""
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return f" at line {line}, column {column}"
