"""Experiments: many runs of a scenario, and comparisons of designs.

- :func:`replicate` runs independent replications (seeds spawned from one
  master seed) locally in processes, inline, or on any
  ``concurrent.futures`` executor such as a Dask cluster's, and returns an
  :class:`Ensemble`: per-figure statistics with confidence intervals,
  probabilities of meeting objectives, and bands over time.
- :func:`compare` runs two designs with common random numbers and returns a
  :class:`Comparison`: paired differences with intervals and verdicts (the
  direction of each figure: :mod:`asyncflow.experiment.figures`).
- :func:`sweep` runs a scenario at every point of a grid of parameter values
  (replication ``i`` with the same seed at every point) and returns a
  :class:`Sweep`: per point the headline figures with intervals, the
  objectives met or missed, the knee of the latency curve.
- :func:`find_limit` searches, by bisection over replicated runs, the largest
  load or the smallest capacity that meets objectives (:mod:`asyncflow.experiment.search`).
- :mod:`asyncflow.experiment.gates` says whether a run, replications or a
  design meet their objectives (the command line's exit code 3).

Their shared options (runs, seed, jobs, confidence, warm-up) are defined once,
in :class:`ReplicationOptions`; sequential stopping in :class:`StoppingRule`.
Every argument is checked first: a wrong type raises ``TypeError``, a wrong
value :class:`ExperimentError`, each naming the parameter, what was expected
and the value given.
"""

from asyncflow.errors import ExperimentError
from asyncflow.experiment.comparison import Comparison, Difference, compare
from asyncflow.experiment.ensemble import Ensemble, Stopping, TimeBand, WarmUp
from asyncflow.experiment.executors import dask_executor
from asyncflow.experiment.objectives import Objective
from asyncflow.experiment.options import ReplicationOptions, StoppingRule
from asyncflow.experiment.parameters import Parameter
from asyncflow.experiment.record import RunRecord
from asyncflow.experiment.replicate import replicate
from asyncflow.experiment.search import Found, find_limit
from asyncflow.experiment.seeds import replication_seed, replication_seeds
from asyncflow.experiment.sweep import Sweep, SweepPoint, sweep

__all__ = [
    "Comparison",
    "Difference",
    "Ensemble",
    "ExperimentError",
    "Found",
    "Objective",
    "Parameter",
    "ReplicationOptions",
    "RunRecord",
    "Stopping",
    "StoppingRule",
    "Sweep",
    "SweepPoint",
    "TimeBand",
    "WarmUp",
    "compare",
    "dask_executor",
    "find_limit",
    "replicate",
    "replication_seed",
    "replication_seeds",
    "sweep",
]
