"""The RL playground: Gymnasium environments on AsyncFlow scenarios.

Importing this package registers the environments (it needs the ``rl``
extra: ``pip install 'asyncflow[rl]'``)::

    import gymnasium
    import asyncflow.rl

    env = gymnasium.make("asyncflow/Autoscaling-v0")  # the bundled scenario
    env = gymnasium.make("asyncflow/Autoscaling-v0", scenario="mine.yml")
    env = gymnasium.make("asyncflow/LoadBalancing-v0")
"""

from __future__ import annotations

try:
    import gymnasium
except ImportError as error:  # pragma: no cover - depends on the installed extras
    raise ImportError("asyncflow.rl needs Gymnasium: pip install 'asyncflow[rl]'") from error

__all__ = ["AUTOSCALING_ID", "LOAD_BALANCING_ID", "register"]

AUTOSCALING_ID = "asyncflow/Autoscaling-v0"
LOAD_BALANCING_ID = "asyncflow/LoadBalancing-v0"


def register() -> None:
    """Register the environments with Gymnasium (once; importing the package does it)."""
    if AUTOSCALING_ID not in gymnasium.registry:
        gymnasium.register(
            id=AUTOSCALING_ID,
            entry_point="asyncflow.rl.autoscaling:AutoscalingEnv",
            disable_env_checker=False,
        )
    if LOAD_BALANCING_ID not in gymnasium.registry:
        gymnasium.register(
            id=LOAD_BALANCING_ID,
            entry_point="asyncflow.rl.load_balancing:LoadBalancingEnv",
            disable_env_checker=False,
        )


register()
