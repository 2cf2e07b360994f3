"""Writing a run's summary dictionary as JSON.

Non-finite numbers (a latency percentile with no completed request, say) are
written as ``null`` so that the file is strict JSON; numpy scalars become
plain numbers.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from os import PathLike

__all__ = ["summary_json_text", "write_summary_json"]


def summary_json_text(summary: Mapping[str, Any]) -> str:
    """Return a summary dictionary as strict JSON text, indented by 2.

    Args:
        summary: The dictionary returned by ``Results.summary()``.

    Returns:
        JSON text ending with a newline; NaN and infinities become ``null``.
    """
    return json.dumps(_plain(summary), indent=2, allow_nan=False) + "\n"


def write_summary_json(summary: Mapping[str, Any], path: str | PathLike[str]) -> Path:
    """Write a summary dictionary to a JSON file (see :func:`summary_json_text`).

    Args:
        summary: The dictionary returned by ``Results.summary()``.
        path: The file to write; its parent directory must exist.

    Returns:
        The path written.
    """
    target = Path(path)
    target.write_text(summary_json_text(summary), encoding="utf-8")
    return target


def _plain(value: Any) -> Any:
    """Convert a summary value into plain JSON-compatible Python objects."""
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if hasattr(value, "item") and callable(value.item):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
