"""``asyncflow compare BASE VARIANT...``: a base and its variants (full files or overlays).

A variant is ``PATH`` or ``NAME=PATH``; its name is the file stem unless
given. A variant file without ``topology_graph`` and ``sim_settings`` is an
overlay (JSON Merge Patch, :mod:`asyncflow.experiment.overlay`) merged into
the base's file before validation. ``--set`` and ``--duration`` then change
every scenario alike.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from asyncflow.cli.common import (
    console,
    echo_written,
    executor,
    exit_bad_input,
    exit_missed,
    exit_usage,
    experiment_errors,
    invalid,
)
from asyncflow.cli.outputs import Outputs, writing
from asyncflow.errors import ExperimentError, ScenarioError, ScenarioFileError

if TYPE_CHECKING:
    from asyncflow.experiment import Objective
    from asyncflow.experiment.comparison_variants import VariantComparison
    from asyncflow.experiment.gates import EnsembleGate
    from asyncflow.experiment.options import Progress, ReplicationOptions
    from asyncflow.experiment.overlay import Variant
    from asyncflow.scenario import Scenario
    from asyncflow.scenario.overrides import Override

__all__ = ["VariantArg", "compare_variants", "parse_variant", "written_variants"]

T = TypeVar("T")
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


@dataclass(frozen=True, slots=True)
class VariantArg:
    """A ``VARIANT`` argument: its file and the name given (``None``: the file stem)."""

    path: Path
    name: str | None

    @property
    def label(self) -> str:
        """The variant's name: the one given, else the file stem."""
        return self.name if self.name is not None else self.path.stem


def parse_variant(text: str) -> VariantArg:
    """``PATH`` or ``NAME=PATH`` (an existing file named with ``=`` is taken as a path)."""
    name, equals, rest = text.partition("=")
    if equals and rest and _NAME.match(name) and not Path(text).exists():
        return VariantArg(Path(rest), name)
    return VariantArg(Path(text), None)


@dataclass(frozen=True, slots=True)
class Request:
    """What the command line asked of a comparison of variants."""

    base: Path
    variants: list[VariantArg]
    options: ReplicationOptions
    changes: list[Override]
    correction: str
    goodput_within_s: float | None
    metrics: list[str]
    goals: list[Objective]
    required: float
    outputs: Outputs
    quiet: bool
    dask: str | None


def compare_variants(request: Request) -> None:
    """Run the comparison, print its table, write its files and gate on the objectives."""
    _check_names(request.base, request.variants)
    base, variants = _load_all(request.base, request.variants, request.changes)
    from asyncflow.experiment.comparison_variants import run_variants
    from asyncflow.experiment.display import progress_bar

    sources = {
        v.name: {"path": str(v.path), "overlay": v.overlay} for v in variants
    }  # fmt: skip
    bar = console(stderr=True)
    with (
        experiment_errors(request.base, bool(request.changes)),
        executor(request.dask) as pool,
        progress_bar(bar, enabled=not request.quiet and bar.is_terminal) as progress,
    ):
        comparison = run_variants(
            base,
            [v.scenario for v in variants],
            request.options,
            correction=request.correction,
            goodput_within_s=request.goodput_within_s,
            sources=sources,
            executor=pool,
            progress=_escaped(progress),
        )
    paths = _chosen(comparison, request.metrics)
    gates = _gates(comparison, request.goals, request.required)
    if not request.quiet:
        from asyncflow.experiment.comparison_table import variants_renderable

        console(markup=True).print(variants_renderable(comparison, paths))
    with writing():
        written = written_variants(comparison, request.outputs, paths, gates)
    echo_written(written, quiet=request.quiet)
    from asyncflow.experiment.gates import missed

    exit_missed([f"{name}: {s}" for name, checked in gates.items() for s in missed(checked)])


def _check_names(base: Path, variants: Sequence[VariantArg]) -> None:
    seen: dict[str, str] = {base.stem: str(base)}
    for variant in variants:
        if variant.label in seen:
            exit_usage(
                f"error: two scenarios are named {variant.label!r} ({seen[variant.label]} and "
                f"{variant.path}): name a variant with NAME=PATH"
            )
        seen[variant.label] = str(variant.path)


def _load_all(
    base_path: Path, variants: Sequence[VariantArg], changes: Sequence[Override]
) -> tuple[Scenario, list[Variant]]:
    """The base and every variant, validated and changed by ``--set``/``--duration``."""
    from asyncflow.experiment.overlay import Variant, read_mapping, variant
    from asyncflow.scenario import parse_scenario
    from asyncflow.scenario.overrides import with_overrides

    base_data = _or_exit(base_path, lambda: read_mapping(base_path))
    base = _or_exit(base_path, lambda: parse_scenario(base_data, name=base_path.stem))
    base = _or_exit(base_path, lambda: with_overrides(base, changes), changed=True)
    loaded: list[Variant] = []
    for arg in variants:
        read = _or_exit(arg.path, partial(variant, base_data, arg.path, arg.label), base_path)
        changed = _or_exit(
            arg.path, partial(with_overrides, read.scenario, changes), base_path, True
        )
        loaded.append(Variant(read.name, read.path, read.overlay, changed))
    return base, loaded


def _or_exit(
    path: Path, load: Callable[[], T], base: Path | None = None, changed: bool = False
) -> T:
    """``load()``, or exit 2 with the problems under a header naming ``path``."""
    try:
        return load()
    except ScenarioFileError as error:
        exit_bad_input(f"error: cannot read scenario {path}:", error.problems)
    except ScenarioError as error:
        what = invalid(path, changed)
        if base is not None:
            what = what.replace(f"scenario {path}", f"variant {path} (merged into {base})", 1)
        exit_bad_input(f"error: {what}:", error.problems)
    except OSError as error:
        exit_bad_input(
            f"error: cannot read scenario {path}:", (f"{path}: {error.strerror or error}",)
        )


def _escaped(progress: Progress | None) -> Progress | None:
    """The progress callback with each scenario's name escaped for Rich markup."""
    if progress is None:
        return None
    from asyncflow.experiment.display import markup_text

    report = progress

    def update(phase: str, done: int, total: int) -> None:
        report(phase if phase == "pilot" else f"runs of {markup_text(phase)}", done, total)

    return update


def _chosen(comparison: VariantComparison, metrics: Sequence[str]) -> list[str]:
    """The figures selected by ``--metric``; exit 2 naming a pattern that matches none."""
    from asyncflow.experiment.figures import select

    every = [f.path for f in comparison.figures]
    chosen, unmatched = select(every, metrics)
    if unmatched:
        exit_usage(
            f"error: --metric {unmatched[0]!r} matches no figure of the comparison "
            f"(figures: {', '.join(every)})"
        )
    return chosen


def _gates(
    comparison: VariantComparison, goals: list[Objective], required: float
) -> dict[str, list[EnsembleGate]]:
    """The objectives checked on every variant (each is gated)."""
    from asyncflow.experiment.gates import check_ensemble

    try:
        return {
            name: check_ensemble(ensemble, goals, required)
            for name, ensemble in comparison.variants.items()
        }
    except ExperimentError as error:
        exit_usage(f"error: bad --slo: {error}")


def written_variants(
    comparison: VariantComparison,
    outputs: Outputs,
    paths: Sequence[str],
    gates: dict[str, list[EnsembleGate]] | None = None,
) -> list[Path]:
    """Write the comparison's JSON, and under ``--out`` its chart and JSON."""
    from asyncflow.experiment.comparison_table import write_variants_chart
    from asyncflow.report.export import write_summary_json

    summary = comparison.summary()
    if gates and any(gates.values()):
        summary["slo"] = {
            name: {str(g.objective): g.as_dict() for g in checked}
            for name, checked in gates.items()
        }
    written: list[Path] = []
    summary_path = outputs.file("--summary-json")
    if summary_path is not None:
        written.append(write_summary_json(summary, summary_path))
    if outputs.out is not None:
        written.append(write_variants_chart(comparison, paths, outputs.under_out("compare.png")))
        written.append(write_summary_json(summary, outputs.under_out("summary.json")))
    return written
