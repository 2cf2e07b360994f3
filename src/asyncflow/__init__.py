"""AsyncFlow: a capacity-planning simulator for asynchronous backends.

``asyncflow.run(scenario, seed=...)`` simulates a scenario (a model built with
:class:`ScenarioBuilder`, or a YAML/JSON file) and returns :class:`Results`.
"""

from asyncflow.errors import AsyncFlowError, ScenarioError, ScenarioFileError, SimulationError
from asyncflow.results import Results
from asyncflow.scenario import Scenario, ScenarioBuilder, load_scenario, parse_scenario
from asyncflow.simulation import Simulation, run

__all__ = [
    "AsyncFlowError",
    "Results",
    "Scenario",
    "ScenarioBuilder",
    "ScenarioError",
    "ScenarioFileError",
    "Simulation",
    "SimulationError",
    "load_scenario",
    "parse_scenario",
    "run",
]

__version__ = "0.2.0.dev0"
