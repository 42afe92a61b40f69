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
    # Sub-apps are registered lazily-imported modules so `ecomml --help` stays fast.
    from ecomml.cli import data as data_cli
    from ecomml.cli import features as features_cli
    from ecomml.cli import quickstart as quickstart_cli
    from ecomml.cli.synth import synth

    data_cli.app.command("synth")(synth)
    app.add_typer(data_cli.app, name="data", help="Validate, convert and synthesise input data.")
    app.add_typer(features_cli.app, name="features", help="Build and inspect feature views.")
    app.command("quickstart")(quickstart_cli.quickstart)


_register()


def main() -> None:
    """Console-script entry point."""
    app(prog_name="ecomml")


if __name__ == "__main__":  # pragma: no cover
    main()
