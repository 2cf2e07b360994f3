"""``asyncflow rl evaluate``: baselines and saved agents over seeded episodes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from asyncflow.cli.common import console, echo_written, exit_usage, load, safe

if TYPE_CHECKING:
    from asyncflow.rl.evaluate import Evaluation

__all__ = ["rl_app"]

rl_app = typer.Typer(
    name="rl",
    help="The RL playground: evaluate autoscaling and load-balancing policies.",
    no_args_is_help=True,
)

ENVS = ("autoscaling", "load_balancing")


@rl_app.command()
def evaluate(
    scenario: Annotated[
        str | None,
        typer.Argument(
            metavar="[SCENARIO]",
            help="Scenario file, or the name of a bundled one (default: the environment's).",
            show_default=False,
        ),
    ] = None,
    env: Annotated[
        str, typer.Option("--env", help="autoscaling or load_balancing.")
    ] = "autoscaling",
    policy: Annotated[
        list[str] | None,
        typer.Option(
            "--policy",
            help="A baseline to evaluate (repeatable; default: every baseline of the "
            "environment). 'scenario' is the file's own setting.",
            show_default=False,
        ),
    ] = None,
    agent: Annotated[
        list[Path] | None,
        typer.Option(
            "--agent",
            help="A saved stable-baselines3 PPO agent (.zip) to evaluate too (repeatable; "
            "needs the train extra).",
            show_default=False,
        ),
    ] = None,
    episodes: Annotated[int, typer.Option("--episodes", min=1, help="Episodes a policy.")] = 10,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed of the first episode.")] = 0,
    slo: Annotated[
        float, typer.Option("--slo", min=0.0, help="Latency objective in seconds.")
    ] = 0.5,
    json_path: Annotated[
        Path | None,
        typer.Option("--json", help="Write every episode and interval as JSON here."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Directory for evaluation.json and evaluation.png."),
    ] = None,
) -> None:
    """Run policies over the same seeded episodes; print each metric's mean and interval."""
    try:
        from asyncflow.rl import evaluate as evaluation_module
        from asyncflow.rl.scenarios import BUNDLED, bundled
    except ImportError as error:
        exit_usage(f"error: {error}")
    if env not in ENVS:
        exit_usage(f"error: --env: must be autoscaling or load_balancing (got {env!r})")
    if scenario is None:
        path = bundled(env)
    elif scenario in BUNDLED and not Path(scenario).exists():
        path = bundled(scenario)
    else:
        path = Path(scenario)
    model = load(path)
    baselines = (
        evaluation_module.AUTOSCALING_BASELINES
        if env == "autoscaling"
        else evaluation_module.BALANCING_BASELINES
    )
    agents = {f"agent:{p.stem}": _load_agent(p) for p in agent or []}
    chosen = list(policy) if policy else ([] if agents else list(baselines))
    try:
        result = evaluation_module.evaluate(
            model, env=env, policies=chosen, agents=agents, episodes=episodes, seed=seed, slo_s=slo
        )
    except ValueError as error:
        exit_usage(f"error: --policy: {error}" if "policy" in str(error) else f"error: {error}")
    console().print(_table(result))
    written = []
    if json_path is not None:
        written.append(_write_json(result, json_path))
    if out is not None:
        from asyncflow.rl.figures import write_evaluation_png

        written.append(_write_json(result, out / "evaluation.json"))
        written.append(write_evaluation_png(result, out / "evaluation.png"))
    echo_written(written, quiet=False)


def _load_agent(path: Path) -> Any:
    try:
        from stable_baselines3 import PPO
    except ImportError:
        exit_usage("error: --agent needs stable-baselines3: pip install 'asyncflow[train]'")
    if not path.is_file():
        exit_usage(f"error: --agent: no file {safe(path)}")
    model = PPO.load(path, device="cpu")

    def act(obs: Any) -> int:
        action, _ = model.predict(obs, deterministic=True)
        return int(action)

    return act


def _write_json(result: Evaluation, path: Path) -> Path:
    from asyncflow._files import write_text_atomic

    write_text_atomic(path, json.dumps(result.as_dict(), indent=2, allow_nan=False) + "\n")
    return path


def _table(result: Evaluation) -> Any:
    from rich.table import Table

    from asyncflow.rl.evaluate import METRICS

    table = Table(
        title=f"{result.scenario}: {len(result.seeds)} episodes a policy (seeds "
        f"{result.seeds[0]}..{result.seeds[-1]}), mean ± {result.confidence:.0%} half-width"
    )
    table.add_column("policy", no_wrap=True)
    for metric in METRICS:
        table.add_column(metric, justify="right")
    for policy in result.episodes:
        cells = []
        for metric in METRICS:
            stats = result.stats(policy, metric)
            cells.append(_cell(stats.mean, stats.half_width))
        table.add_row(policy, *cells)
    return table


def _cell(mean: float, half: float) -> str:
    if mean != mean:  # NaN: no value
        return "–"
    text = f"{mean:.4g}"
    return text if half != half or half == 0 else f"{text} ± {half:.2g}"
