"""Variants of a scenario as small overlay files: JSON Merge Patch (RFC 7386).

An overlay names only what changes. It is merged into the base scenario's
mapping (as read from its file) before validation:

- a mapping merges into the mapping at the same key, key by key, recursively;
- ``null`` deletes the key;
- anything else (a number, a string, a list) replaces the value whole: a
  list is never merged element by element.

A file is read as a full scenario when it has both ``topology_graph`` and
``sim_settings`` at the top level, and as an overlay otherwise, so a
variant that changes only ``policies:`` is a file of a few lines. The
merged mapping is validated as any scenario file is, so a key the scenario
does not know is the usual scenario error naming its path.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from asyncflow.errors import ScenarioFileError

if TYPE_CHECKING:
    from asyncflow.scenario import Scenario

__all__ = ["FULL_SCENARIO_KEYS", "Variant", "is_overlay", "merge_patch", "read_mapping", "variant"]

FULL_SCENARIO_KEYS = ("topology_graph", "sim_settings")
"""Top-level keys a full scenario file has; a file lacking one is an overlay."""

_YAML_SUFFIXES = (".yml", ".yaml")


@dataclass(frozen=True, slots=True)
class Variant:
    """A scenario to compare with a base, and where it came from.

    Attributes:
        name: The variant's label (the file stem, or ``NAME`` of ``NAME=PATH``).
        path: The file it was read from.
        overlay: Whether the file is an overlay merged into the base.
        scenario: The validated scenario (named ``name``).
    """

    name: str
    path: Path
    overlay: bool
    scenario: Scenario


def merge_patch(target: Any, patch: Any) -> Any:
    """Apply a JSON Merge Patch (RFC 7386) to ``target``; neither is changed.

    Args:
        target: The document to patch (any JSON-like value).
        patch: The patch: a mapping merges key by key (``None`` deletes the
            key), anything else replaces ``target`` whole.

    Returns:
        The patched document (new mappings; unchanged values are shared).
    """
    if not isinstance(patch, Mapping):
        return patch
    merged: dict[Any, Any] = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), value)
    return merged


def is_overlay(data: Mapping[str, Any]) -> bool:
    """Whether a file's mapping is an overlay (it lacks a key of :data:`FULL_SCENARIO_KEYS`)."""
    return not all(key in data for key in FULL_SCENARIO_KEYS)


def read_mapping(path: str | os.PathLike[str], what: str = "scenario") -> dict[str, Any]:
    """Read a YAML or JSON file whose top level must be a mapping.

    Files are read with the scenario loader's safe readers (regular files
    up to 16 MiB, strict YAML and JSON).

    Args:
        path: The file (``.yml``, ``.yaml`` or ``.json``).
        what: What the file should hold, for the message when it is not a
            mapping (``scenario`` or ``overlay``).

    Returns:
        The mapping.

    Raises:
        ScenarioFileError: The file cannot be read or parsed, has another
            suffix, or is not a mapping at the top level.
    """
    from asyncflow.scenario._reading import parse_json, parse_yaml, read_text

    file = Path(path)
    suffix = file.suffix.lower()
    if suffix not in (*_YAML_SUFFIXES, ".json"):
        raise ScenarioFileError(
            [f"{file}: unsupported file type {suffix!r} (use .yml, .yaml or .json)"]
        )
    text = read_text(file)
    data = parse_yaml(file, text) if suffix in _YAML_SUFFIXES else parse_json(file, text)
    if not isinstance(data, Mapping):
        raise ScenarioFileError(
            [f"{file}: the top level of {_article(what)} must be a mapping (got {_kind(data)})"]
        )
    return dict(data)


def variant(
    base: Mapping[str, Any], path: str | os.PathLike[str], name: str | None = None
) -> Variant:
    """Read a variant file: a full scenario, or an overlay merged into ``base``.

    Args:
        base: The base scenario's mapping, as read from its file
            (:func:`read_mapping`).
        path: The variant's file.
        name: Its label; default the file stem. It becomes the scenario's
            ``name`` (a ``name`` key in the file or overlay wins).

    Returns:
        The variant.

    Raises:
        ScenarioFileError: The file cannot be read or is not a mapping.
        ScenarioError: The scenario (after merging) breaks a rule.
    """
    from asyncflow.scenario import parse_scenario

    file = Path(path)
    label = file.stem if name is None else name
    data = read_mapping(file, "overlay or scenario")
    overlay = is_overlay(data)
    merged = merge_patch({k: v for k, v in base.items() if k != "name"}, data) if overlay else data
    return Variant(label, file, overlay, parse_scenario(merged, name=label))


def _article(what: str) -> str:
    return f"an {what}" if what[:1] in "aeiou" else f"a {what}"


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__
