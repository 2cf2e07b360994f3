"""Bands over time of an ensemble: mean, confidence band and envelope per bin.

:func:`plot_band` draws one series of one or more ensembles on an Axes the
caller owns: the mean as a step line, its confidence band shaded, and the
5-95% envelope across runs as a lighter shade. :func:`mark_events` shades
the warm-up and each fault window (outage red, spike orange, labelled with
the event id). :func:`write_bands` draws a page of the usual series —
throughput, latency percentiles, error rate, each server's ready queue —
for an ensemble, or for the two designs of a comparison overlaid (over the
longer horizon, with both designs' fault windows).

Only reads ensembles; matplotlib is imported when something is drawn.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from asyncflow._files import write_atomic
from asyncflow.report.plots import WARM_UP_GID, shade_windows

if TYPE_CHECKING:
    from os import PathLike

    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from asyncflow.experiment.ensemble import Ensemble, TimeBand
    from asyncflow.results import FaultWindow

__all__ = [
    "BAND_GID",
    "ENVELOPE_GID",
    "build_bands",
    "event_windows",
    "mark_events",
    "plain_text",
    "plot_band",
    "write_bands",
]

BAND_GID = "confidence-band"
"""Artist gid of a shaded confidence band."""

ENVELOPE_GID = "envelope"
"""Artist gid of a shaded 5-95% envelope."""

_DESIGN_COLORS = ("#1f77b4", "#2ca02c", "#9467bd", "#8c564b")
_PERCENTILE_COLORS = {"p50": "#1f77b4", "p95": "#ff7f0e", "p99": "#d62728"}
_DPI = 100


def plot_band(
    ax: Axes,
    band: TimeBand,
    *,
    label: str,
    color: str,
    scale: float = 1.0,
    envelope: bool = True,
) -> Axes:
    """Draw one band: mean line, shaded confidence band, lighter envelope.

    Args:
        ax: Where to draw (x axis: simulated seconds).
        band: The series across runs (``Ensemble.band(name)``).
        label: Legend label of the mean line.
        color: Colour of all three parts.
        scale: Factor applied to the values (1000 for milliseconds).
        envelope: Also shade the 5-95% envelope across runs.

    Returns:
        ``ax``.
    """
    t = np.asarray(band.t, dtype=float)
    if t.size == 0:
        ax.plot([], [], label=label, color=color)
        return ax
    x = np.append(t, t[-1] + band.bin_s)

    def stepped(values: np.ndarray) -> np.ndarray:
        scaled = np.asarray(values, dtype=float) * scale
        return np.append(scaled, scaled[-1])

    if envelope:
        shade = ax.fill_between(
            x, stepped(band.low), stepped(band.high), step="post", color=color, alpha=0.10, lw=0
        )
        shade.set_gid(ENVELOPE_GID)
    shade = ax.fill_between(
        x, stepped(band.ci_low), stepped(band.ci_high), step="post", color=color, alpha=0.30, lw=0
    )
    shade.set_gid(BAND_GID)
    ax.step(x, stepped(band.mean), where="post", color=color, linewidth=1.3, label=label)
    return ax


def mark_events(
    ax: Axes, fault_windows: Sequence[FaultWindow], warm_up_s: float = 0.0, *, label: bool = True
) -> int:
    """Shade the warm-up (grey) and every fault window on a time axis.

    Args:
        ax: A chart whose x axis is simulated time in seconds.
        fault_windows: The windows (``Ensemble.fault_windows``).
        warm_up_s: End of the warm-up; nothing is shaded when 0.
        label: Write each window's ``event_id`` at the top of its span.

    Returns:
        The number of fault windows shaded.
    """
    if warm_up_s > 0:
        ax.axvspan(0.0, warm_up_s, color="0.85", alpha=0.5, linewidth=0).set_gid(WARM_UP_GID)
    return shade_windows(ax, fault_windows, label=label)


def _series_names(ensembles: Sequence[tuple[str, Ensemble]]) -> list[str]:
    """Every design's series, in first-seen order (a server of B alone gets its panel)."""
    return list(dict.fromkeys(name for _, e in ensembles for name in e.series_names))


def _panels(ensembles: Sequence[tuple[str, Ensemble]]) -> list[tuple[str, list[str], float, str]]:
    """The charts to draw: (title, series names, scale, y label)."""
    names = _series_names(ensembles)
    if len(ensembles) > 1:
        latency = ("Latency p95 (by finish time)", ["latency_s.p95"], "p95 latency (ms)")
    else:
        percentiles = [f"latency_s.p{p}" for p in (50, 95, 99)]
        latency = ("Latency percentiles (by finish time)", percentiles, "latency (ms)")
    panels = [
        ("Throughput", ["throughput_rps"], 1.0, "requests / s"),
        (latency[0], [n for n in latency[1] if n in names], 1000.0, latency[2]),
        ("Error rate", ["error_rate"], 100.0, "% of finished requests"),
    ]
    for name in names:
        if name.endswith(".ready_queue"):
            server = name.split(".")[1]
            panels.append((f"{server}: ready queue", [name], 1.0, "requests waiting for a core"))
    for name in names:
        if name.endswith(".ram_wait_queue") and any(
            np.nanmax(e.series(name), initial=0.0) > 0
            for _, e in ensembles
            if name in e.series_names
        ):
            server = name.split(".")[1]
            panels.append((f"{server}: RAM wait queue", [name], 1.0, "requests waiting for RAM"))
    return panels


def plain_text(text: str) -> str:
    """``text`` drawn as written: a ``$`` in a name starts no mathematical formula."""
    return text.replace("$", r"\$")


def event_windows(ensembles: Sequence[tuple[str, Ensemble]]) -> list[FaultWindow]:
    """The fault windows of every design; those not shared by all are prefixed by design.

    A window present, identical, in every design is shaded once under its
    own id; a window of one design only is labelled ``A: <id>`` (the part
    of the design's label before a colon). Ids are drawn as written.
    """
    from dataclasses import replace

    every = [set(e.fault_windows) for _, e in ensembles]
    shared = set.intersection(*every) if every else set()
    windows = [w for w in ensembles[0][1].fault_windows if w in shared]
    for label, ensemble in ensembles:
        tag = label.split(":", 1)[0].strip()
        windows += [
            replace(w, event_id=f"{tag}: {w.event_id}")
            for w in ensemble.fault_windows
            if w not in shared
        ]
    return [replace(w, event_id=plain_text(w.event_id)) for w in windows]


def build_bands(ensembles: Ensemble | Sequence[tuple[str, Ensemble]]) -> Figure:
    """A page of bands over time for one ensemble, or several overlaid.

    With several ensembles (the two designs of a comparison), the time axis
    spans the longest horizon, every design's fault windows are shaded
    (prefixed by the design when not shared), every design's warm-up is
    shaded, and the latency panel shows the p95 of each.

    Args:
        ensembles: One ensemble, or ``(label, ensemble)`` pairs drawn on the
            same charts.

    Returns:
        A matplotlib ``Figure`` on an Agg canvas.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    pairs = _pairs(ensembles)
    panels = _panels(pairs)
    columns = 2
    rows = math.ceil(len(panels) / columns)
    figure = Figure(figsize=(13, 3.6 * rows), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    windows = event_windows(pairs)
    warm_ups = sorted({e.warm_up_s for _, e in pairs}, reverse=True)
    end_s = max(e.end_s for _, e in pairs)
    for ax, (title, names, scale, ylabel) in zip(axes, panels, strict=False):
        for index, (label, ensemble) in enumerate(pairs):
            for j, name in enumerate(names):
                if name not in ensemble.series_names:
                    continue
                suffix = name.rsplit(".", 1)[-1]
                color = (
                    _PERCENTILE_COLORS.get(suffix, _DESIGN_COLORS[j % 4])
                    if len(pairs) == 1
                    else _DESIGN_COLORS[index % len(_DESIGN_COLORS)]
                )
                text = suffix if len(pairs) == 1 and len(names) > 1 else plain_text(label)
                plot_band(ax, ensemble.band(name), label=text, color=color, scale=scale)
        for warm_up_s in warm_ups[1:]:
            mark_events(ax, (), warm_up_s)
        mark_events(ax, windows, warm_ups[0])
        ax.set_title(title)
        ax.set_xlabel("simulated time (s)")
        ax.set_ylabel(ylabel)
        ax.set_xlim(0.0, end_s)
        ax.set_ylim(bottom=0.0)
        ax.grid(visible=True, alpha=0.3)
        ax.legend(loc="upper right", fontsize="small")
    for ax in axes[len(panels) :]:
        ax.set_visible(False)
    figure.suptitle(plain_text(_title(pairs)))
    return figure


def write_bands(
    ensembles: Ensemble | Sequence[tuple[str, Ensemble]], path: str | PathLike[str]
) -> Path:
    """Draw :func:`build_bands` and save it as a PNG (whole or not at all).

    Returns:
        The path written.
    """
    figure = build_bands(ensembles)
    return write_atomic(path, lambda target: figure.savefig(target, format="png", dpi=_DPI))


def _pairs(ensembles: Ensemble | Sequence[tuple[str, Ensemble]]) -> list[tuple[str, Ensemble]]:
    pairs = list(ensembles) if isinstance(ensembles, Sequence) else [(ensembles.name, ensembles)]
    if not pairs:
        raise ValueError("nothing to draw: no ensemble given")
    return pairs


def _title(pairs: Sequence[tuple[str, Any]]) -> str:
    first = pairs[0][1]
    level = f"{first.confidence:.0%}"
    names = " vs ".join(label for label, _ in pairs)
    return (
        f"{names}: mean over {first.runs} runs, {level} confidence band (dark), "
        "5–95% of runs (light)"
    )
