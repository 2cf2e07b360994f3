"""Seeds of replications.

Replication ``i`` of an experiment with master seed ``S`` runs with the seed
derived from ``SeedSequence(S).spawn(N)[i]``. The child is built directly as
``SeedSequence(S, spawn_key=(i,))`` (what ``spawn`` does), so the seeds of the
first ``N`` replications are the same whatever ``N``: an experiment that adds
runs (sequential stopping) extends the same sequence, and the seeds depend on
neither the number of workers, their order, nor the executor.

The engine takes an integer seed (it derives each component's stream from
it), so each child is turned into a 63-bit integer from its entropy pool.
"""

from __future__ import annotations

import numpy as np

from asyncflow.experiment import arguments

__all__ = ["replication_seed", "replication_seeds"]


def replication_seed(seed: int, index: int) -> int:
    """The integer seed of replication ``index`` under master ``seed``.

    Args:
        seed: Master seed of the experiment (>= 0).
        index: Replication number, from 0.

    Returns:
        A seed in ``[0, 2**63)``.
    """
    seed = arguments.integer("seed", seed, 0)
    index = arguments.integer("index", index, 0)
    child = np.random.SeedSequence(seed, spawn_key=(index,))
    return int(child.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


def replication_seeds(seed: int, runs: int) -> tuple[int, ...]:
    """The seeds of replications ``0 .. runs - 1``."""
    arguments.integer("runs", runs, 0)
    return tuple(replication_seed(seed, i) for i in range(runs))
