"""Make user-provided text safe for the terminal, HTML and Plotly.

Ids, names and event ids come from scenario files or from Python code, and
reach the terminal (where rich reads ``[...]`` as markup and a raw escape
sequence drives the terminal), HTML pages and Plotly titles, legends and
hover text (which render a subset of HTML). Every report writes them through
these functions; the CSV writers use ``asyncflow.tabular.csv_text``.
"""

from __future__ import annotations

import html
import re

from rich.markup import escape
from rich.text import Text

__all__ = ["markup_text", "mpl_text", "plotly_text", "printable", "terminal_text"]

# C0 and C1 controls (ESC, BEL, backspace, ...), DEL, and the invisible marks
# that reorder text (bidirectional overrides and isolates)
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_SPACES = re.compile("[\t\n\v\f\r]")


def printable(value: object) -> str:
    """Return ``str(value)`` without control characters.

    Tabs and line breaks become spaces; escape sequences lose their ``ESC``
    (so they show as plain text and drive nothing), and bidirectional
    override marks are removed.

    Args:
        value: Anything user-provided (an id, a name, a message).

    Returns:
        Text made of printable characters only.
    """
    return _CONTROLS.sub("", _SPACES.sub(" ", str(value)))


def terminal_text(value: object, style: str = "") -> Text:
    """Return user-provided text as a rich ``Text``: printed as is, never as markup.

    Args:
        value: Anything user-provided.
        style: A rich style for the whole text.

    Returns:
        A ``Text`` of :func:`printable` characters.
    """
    return Text(printable(value), style=style)


def markup_text(value: object) -> str:
    """Return user-provided text for a rich markup string (escaped, controls removed)."""
    return escape(printable(value))


def mpl_text(value: object) -> str:
    """Return user-provided text for a matplotlib title, label or tick.

    matplotlib reads text between ``$`` signs as math (and fails on bad
    math), so ``$`` is escaped; control characters are removed.
    """
    return printable(value).replace("$", r"\$")


def plotly_text(value: object) -> str:
    """Return user-provided text for a Plotly title, legend, annotation or hover text.

    Plotly renders a subset of HTML in these strings (tags such as ``<a>``,
    ``<b>``, ``<br>``), so ``<``, ``>`` and ``&`` are escaped as entities,
    which Plotly shows as the characters. Quotes are left alone: outside a
    tag they are plain text, and Plotly would show ``&quot;`` literally.
    """
    return html.escape(printable(value), quote=False)
