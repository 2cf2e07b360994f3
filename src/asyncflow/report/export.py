"""Writing a run's summary dictionary as JSON.

Non-finite numbers (a latency percentile with no completed request, say) are
written as ``null`` so that the file is strict JSON; numpy scalars become
plain numbers.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from asyncflow._files import write_text_atomic

if TYPE_CHECKING:
    from os import PathLike
    from pathlib import Path

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

    The file is written whole or not at all (a temporary file renamed onto
    ``path``), and missing parent directories are created.

    Args:
        summary: The dictionary returned by ``Results.summary()``.
        path: The file to write.

    Returns:
        The path written.
    """
    return write_text_atomic(path, summary_json_text(summary))


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
