"""Shape checks of the builder's arguments, before they are copied into the mapping.

The builder leaves values to the models (``build()`` reports them with their
path), but it copies containers as it goes: a string where a list of ids is
expected would be split into characters, a single mapping where a list is
expected would be iterated by its keys. These checks refuse such arguments at
the call, with a :class:`TypeError` naming the method, the parameter, what it
expects and what it got.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from asyncflow.scenario._messages import show_value

__all__ = ["mapping_arg", "mappings_arg", "names_arg", "numbers_arg", "pairs_arg"]


def _got(value: Any) -> str:
    return "None" if value is None else f"{type(value).__name__} {show_value(value)}"


def _fail(where: str, expected: str, value: Any, hint: str = "") -> TypeError:
    return TypeError(f"{where}: expected {expected} (got {_got(value)}{hint})")


def _is_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str | bytes | bytearray)


def mapping_arg(value: Any, where: str, expected: str) -> dict[str, Any]:
    """A mapping argument as a new ``dict``.

    Args:
        value: The argument.
        where: ``method(): parameter``, for the message.
        expected: What it should be, e.g. ``"a mapping (from tls())"``.

    Returns:
        A shallow copy.

    Raises:
        TypeError: Not a mapping.
    """
    if not isinstance(value, Mapping):
        raise _fail(where, expected, value)
    return dict(value)


def mappings_arg(values: Any, where: str, expected: str) -> list[dict[str, Any]]:
    """A list of mappings as new ``dict`` objects (a single mapping is refused)."""
    if isinstance(values, Mapping):
        raise _fail(where, expected, values, "; put a single one in a list")
    if not _is_list(values):
        raise _fail(where, expected, values)
    for i, value in enumerate(values):
        if not isinstance(value, Mapping):
            raise _fail(f"{where}[{i}]", "a mapping", value)
    return [dict(value) for value in values]


def names_arg(values: Any, where: str, expected: str) -> list[Any]:
    """A list of ids (a single string is refused, not split into characters)."""
    if isinstance(values, str):
        raise _fail(where, expected, values, f"; write [{values!r}]")
    if not _is_list(values):
        raise _fail(where, expected, values)
    return list(values)


def numbers_arg(values: Any, where: str, expected: str) -> list[Any]:
    """A list of values (the numbers themselves are checked by the models)."""
    if not _is_list(values):
        raise _fail(where, expected, values)
    return list(values)


def pairs_arg(values: Any, where: str, expected: str) -> list[tuple[Any, Any]]:
    """A list of two-item pairs, such as ``(t_s, users)``."""
    if not _is_list(values):
        raise _fail(where, expected, values)
    pairs: list[tuple[Any, Any]] = []
    for i, value in enumerate(values):
        if not _is_list(value) or len(value) != 2:
            raise _fail(f"{where}[{i}]", "a pair (t_s, users)", value)
        pairs.append((value[0], value[1]))
    return pairs
