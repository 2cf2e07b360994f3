"""Scenario input: models, loading from YAML/JSON, a builder and JSON Schema.

The public names are those of :mod:`~asyncflow.scenario.models`,
:mod:`~asyncflow.scenario.builder` and :mod:`~asyncflow.scenario.loader`;
``__all__`` is built from theirs, so a name added there is exported here.
"""

from asyncflow.scenario import builder, loader, models
from asyncflow.scenario.builder import *  # noqa: F403
from asyncflow.scenario.loader import *  # noqa: F403
from asyncflow.scenario.models import *  # noqa: F403

__all__: list[str] = []
__all__ += models.__all__
__all__ += builder.__all__
__all__ += loader.__all__
