"""Exceptions raised by AsyncFlow.

One base class; every subclass also derives from the matching builtin so
callers can catch either::

    AsyncFlowError
    ├── ScenarioError (ValueError)      bad scenario input (fields, graph, events)
    │   └── ScenarioFileError           a file missing, unreadable, or not valid YAML/JSON
    ├── ExperimentError (ValueError)    a bad experiment request (an unknown figure,
    │                                   an objective that does not parse, too few runs)
    └── SimulationError (RuntimeError)  an invariant broke while simulating
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "AsyncFlowError",
    "ExperimentError",
    "ScenarioError",
    "ScenarioFileError",
    "SimulationError",
]


class AsyncFlowError(Exception):
    """Base class of every error AsyncFlow raises on purpose."""


class ScenarioError(AsyncFlowError, ValueError):
    """A scenario is invalid.

    Attributes:
        problems: One line per problem, each ``field.path: rule (got value)``.
    """

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems: tuple[str, ...] = tuple(problems)
        super().__init__("\n".join(self.problems))


class ScenarioFileError(ScenarioError):
    """A scenario file is missing, unreadable or not valid YAML/JSON."""


class ExperimentError(AsyncFlowError, ValueError):
    """An experiment was asked for something that cannot be done.

    Examples: an objective that does not parse, a figure path that no run
    produces, a confidence level outside ``(0, 1)``, a comparison of one run.
    """


class SimulationError(AsyncFlowError, RuntimeError):
    """An internal invariant was violated during a run (a bug, not bad input)."""
