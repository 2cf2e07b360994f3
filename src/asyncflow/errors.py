"""Exceptions raised by AsyncFlow.

One base class; every subclass also derives from the matching builtin so
callers can catch either::

    AsyncFlowError
    ├── ScenarioError (ValueError)      bad scenario input (fields, graph, events)
    │   └── ScenarioFileError (OSError-like problems reading a file, YAML syntax)
    └── SimulationError (RuntimeError)  an invariant broke while simulating
"""

from __future__ import annotations

from collections.abc import Sequence


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


class SimulationError(AsyncFlowError, RuntimeError):
    """An internal invariant was violated during a run (a bug, not bad input)."""
