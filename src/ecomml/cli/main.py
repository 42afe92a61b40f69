"""Root ``ecomml`` Typer app; each domain adds a sub-app here."""

from __future__ import annotations

import typer

from ecomml import __version__
from ecomml.cli._common import state

app = typer.Typer(
    name="ecomml",
    help="Forecasts, inventory, churn and recommendations from an online shop's order history.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ecomml {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show tracebacks on errors."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    state.verbose = verbose


def _register() -> None:
    # Command modules import the heavy libraries inside the commands, so `ecomml --help` stays fast.

    from ecomml.cli import data as data_cli
    from ecomml.cli import features as features_cli
    from ecomml.cli import quickstart as quickstart_cli
    from ecomml.cli.synth import synth

    data_cli.app.command("synth")(synth)
    app.add_typer(data_cli.app, name="data", help="Validate, convert and synthesise input data.")
    app.add_typer(features_cli.app, name="features", help="Build and inspect feature views.")
    app.command("quickstart")(quickstart_cli.quickstart)

    train = typer.Typer(
        no_args_is_help=True, help="Train a model (learns from rows with ts < --cutoff)."
    )
    predict = typer.Typer(no_args_is_help=True, help="Score with a trained or registered model.")
    backtest = typer.Typer(no_args_is_help=True, help="Evaluate a model on rolling temporal folds.")
    from ecomml.cli.tasks import register_tasks

    register_tasks(app, {"train": train, "predict": predict, "backtest": backtest})
    app.add_typer(train, name="train")
    app.add_typer(predict, name="predict")
    app.add_typer(backtest, name="backtest")
    from ecomml.cli import experiment as experiment_cli
    from ecomml.cli import model as model_cli

    app.add_typer(experiment_cli.app, name="experiment", help="Run and compare experiments.")
    app.add_typer(model_cli.app, name="model", help="The model registry: list and promote.")
    _reflow_help(app)


def _reflow_help(typer_app: typer.Typer) -> None:
    """Every command's help from its docstring, one line per paragraph."""
    from ecomml.cli._common import reflow

    for info in typer_app.registered_commands:
        if info.help is None and info.callback is not None:
            info.help = reflow(info.callback.__doc__)
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            _reflow_help(group.typer_instance)


_register()


def main() -> None:
    """Console-script entry point."""
    app(prog_name="ecomml")


if __name__ == "__main__":  # pragma: no cover
    main()
