"""The error raised for a bad experiment request (an unknown figure, a bad objective)."""

from __future__ import annotations

from asyncflow.errors import AsyncFlowError

__all__ = ["ExperimentError"]


class ExperimentError(AsyncFlowError, ValueError):
    """An experiment was asked for something that cannot be done.

    Examples: an objective that does not parse, a figure path that no run
    produces, a confidence level outside ``(0, 1)``.
    """
