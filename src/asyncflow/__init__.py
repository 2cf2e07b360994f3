"""AsyncFlow: a capacity-planning simulator for asynchronous backends.

``asyncflow.run(scenario, seed=...)`` simulates a scenario (a model built with
:class:`ScenarioBuilder`, or a YAML/JSON file) and returns :class:`Results`.
``asyncflow.replicate(scenario, runs=N)`` runs independent replications and
returns an :class:`Ensemble` (figures with confidence intervals, bands over
time, probabilities of meeting objectives); ``asyncflow.compare(a, b)`` runs
two designs with common random numbers and returns a :class:`Comparison`.
"""

from asyncflow.errors import (
    AsyncFlowError,
    ExperimentError,
    ScenarioError,
    ScenarioFileError,
    SimulationError,
)
from asyncflow.experiment import Comparison, Ensemble, compare, replicate
from asyncflow.results import Results
from asyncflow.scenario import Scenario, ScenarioBuilder, load_scenario, parse_scenario
from asyncflow.simulation import Simulation, run

__all__ = [
    "AsyncFlowError",
    "Comparison",
    "Ensemble",
    "ExperimentError",
    "Results",
    "Scenario",
    "ScenarioBuilder",
    "ScenarioError",
    "ScenarioFileError",
    "Simulation",
    "SimulationError",
    "compare",
    "load_scenario",
    "parse_scenario",
    "replicate",
    "run",
]

__version__ = "0.2.0.dev0"
"""The version of AsyncFlow; ``pyproject.toml`` reads it from here."""
