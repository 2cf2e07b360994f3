"""Field types shared by the scenario models: strict numbers, ids and names.

Numbers are strict: an integer or a decimal number, never text (``"600"``)
nor ``true``/``false``, so that what validates is exactly what the JSON
Schema accepts. An integer field also takes a whole decimal (``2.0``), as
JSON Schema does (see :class:`~asyncflow.scenario._base.FrozenModel`).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Strict, StringConstraints

from asyncflow.scenario._base import raise_problems
from asyncflow.scenario.limits import ID_PATTERN, MAX_NAME_LENGTH

__all__ = ["EndpointName", "Identifier", "Integer", "Name", "Number"]

Number = Annotated[float, Strict()]
"""A finite number (an integer or a decimal)."""

Integer = Annotated[int, Strict()]
"""A whole number."""

Identifier = Annotated[str, Strict(), StringConstraints(pattern=ID_PATTERN)]
"""An id of the safe character set (see :data:`~asyncflow.scenario.limits.ID_RULE`)."""

EndpointName = Annotated[Identifier, AfterValidator(str.lower)]
"""An endpoint name: an :data:`Identifier`, lower-cased (as in AsyncFlow 0.1)."""


def _printable(text: str) -> str:
    if not text.isprintable():
        rule = "must not contain control or invisible formatting characters"
        raise_problems([((), rule, text)])
    return text


Name = Annotated[
    str,
    Strict(),
    StringConstraints(min_length=1, max_length=MAX_NAME_LENGTH),
    AfterValidator(_printable),
]
"""A scenario's name: 1 to 200 printable characters (it defaults to the file stem)."""
