"""Helpers of the table writers: the optional pyarrow import, CSV-safe text.

Used by ``Results.write_csv`` and ``Results.write_parquet`` and by the
time-series writers of :mod:`asyncflow.report.tables`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["csv_text", "import_pyarrow"]

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_text(text: str) -> str:
    """Return a text cell that no spreadsheet runs as a formula.

    A cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
    return gets a leading ``'`` (the OWASP advice against CSV injection);
    any other text is returned unchanged. Only for text: numbers written as
    numbers (``-1.5``) stay numbers.

    Args:
        text: The cell's text (an id, a name).

    Returns:
        The text, safe to write as a CSV cell.
    """
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def import_pyarrow() -> tuple[Any, Any]:
    """Import pyarrow and its Parquet module, or say which extra to install.

    Returns:
        ``(pyarrow, pyarrow.parquet)``.

    Raises:
        ImportError: Naming ``pip install 'asyncflow[parquet]'`` when pyarrow
            is missing.
    """
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("Parquet export needs pyarrow: pip install 'asyncflow[parquet]'") from exc
    return pa, pq
