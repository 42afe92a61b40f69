"""``ecomml experiment run|compare``: config-driven experiments tracked in MLflow."""

from __future__ import annotations

from pathlib import Path

import typer

from ecomml.cli._common import console, handle_errors, make_progress, show

app = typer.Typer(no_args_is_help=True, help="Run experiment configs and compare their runs.")


@app.command("run")
def run(
    config: Path = typer.Argument(
        ..., help="Experiment config (YAML), e.g. experiments/forecast.yaml."
    ),
    grid: bool = typer.Option(False, "--grid", help="Run every point of the config's grid."),
    register: str | None = typer.Option(
        None, "--register", help="Register the (best) model in MLflow under this name."
    ),
    out: Path = typer.Option(
        Path("ecomml-output/experiments"),
        "--out",
        help="Folder for models, plots and the HTML report.",
    ),
    no_track: bool = typer.Option(False, "--no-track", help="Do not log to MLflow."),
) -> None:
    """Run CONFIG: rolling folds (or the grid with --grid), the final model, MLflow runs."""
    with handle_errors():
        from ecomml.experiments import load_config, run_experiment

        cfg = load_config(config)
        uri = None
        if not no_track:
            from ecomml.cli._common import configure_tracking

            uri = configure_tracking()
        n = len(cfg.grid_points()) if grid else 1
        with make_progress() as progress:
            task = progress.add_task(f"{cfg.task}: loading data", total=None)
            res = run_experiment(
                cfg,
                grid=grid,
                register=register,
                out_dir=out,
                track=not no_track,
                say=lambda msg: progress.update(task, description=f"{cfg.task}: {msg}"[:70]),
            )
            progress.update(task, description=f"{cfg.task}: done ({n} run(s))")
        show([res.points_table(), *res.summary_lines(uri)])


@app.command("compare")
def compare(
    experiment: str | None = typer.Argument(
        None, help="MLflow experiment name (default: every experiment with ecomml runs)."
    ),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Also write the leaderboard: .csv or .md."
    ),
    top: int = typer.Option(20, "--top", min=1, help="Rows shown per experiment."),
) -> None:
    """Print a leaderboard of experiment runs, best first (by each config's first metric).

    Columns: rank, experiment, run_id, run_name, task, model, params, cutoff,
    primary_metric, score, then the task's metrics.
    """
    with handle_errors():
        from ecomml.cli._common import configure_tracking
        from ecomml.experiments import leaderboard, write_leaderboard
        from ecomml.experiments.leaderboard import leaderboard_tables

        uri = configure_tracking()
        df = leaderboard(experiment)
        if output is not None:
            write_leaderboard(df, output)
        if df.empty:
            console.print(
                f"no experiment runs in {uri}"
                + (f" for {experiment!r}" if experiment else "")
                + "; run `ecomml experiment run experiments/forecast.yaml` first",
                soft_wrap=True,
            )
            return
        show(leaderboard_tables(df, top))
        if output is not None:
            console.print(f"leaderboard written to {output}", soft_wrap=True)
