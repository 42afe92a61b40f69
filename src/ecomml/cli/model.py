"""``ecomml model list|promote``: the MLflow model registry (aliases, no deprecated stages)."""

from __future__ import annotations

import typer

from ecomml.cli._common import console, handle_errors

app = typer.Typer(no_args_is_help=True, help="List registered models and promote versions.")


@app.command("list")
def list_models(
    name: str | None = typer.Argument(None, help="Registered model name (default: all)."),
) -> None:
    """List registered model versions, newest first, with aliases and their tags.

    Columns: name, version, aliases, task, cutoff, ecomml_version, feature_hash, metrics, run_id.
    """
    with handle_errors():
        from rich.table import Table

        from ecomml.cli._common import configure_tracking
        from ecomml.modelstore import list_model_versions

        uri = configure_tracking()
        df = list_model_versions(name)
        if df.empty:
            console.print(
                f"no registered models in {uri}; register one with `--register NAME` on "
                "`ecomml train ...` or `ecomml experiment run ...`",
                soft_wrap=True,
            )
            return
        t = Table(title=f"registered models in {uri}")
        cols = ["name", "version", "aliases", "task", "cutoff", "ecomml_version", "feature_hash",
                "metrics", "run_id"]  # fmt: skip
        for c in cols:
            # identifiers never fold (a long metrics cell must not split a model's name)
            ident = c in ("name", "version", "aliases", "task", "cutoff", "run_id")
            t.add_column(c, justify="right" if c == "version" else "left",
                         overflow="fold", no_wrap=ident, min_width=len(c) if ident else None)  # fmt: skip
        for _, r in df.iterrows():
            cutoff = str(r["cutoff"])[:10]
            t.add_row(str(r["name"]), str(r["version"]), str(r["aliases"]), str(r["task"]), cutoff,
                      str(r["ecomml_version"]), str(r["feature_hash"]), str(r["metrics"])[:120],
                      str(r["run_id"])[:8])  # fmt: skip
        console.print(t)


@app.command("promote")
def promote(
    name: str = typer.Argument(..., help="Registered model name."),
    version: int = typer.Argument(..., help="Version to promote."),
    alias: str = typer.Option("champion", "--alias", help="champion or challenger."),
) -> None:
    """Point NAME@ALIAS at VERSION; jobs asking for models:/NAME@ALIAS get it from now on."""
    with handle_errors():
        from ecomml.cli._common import configure_tracking
        from ecomml.modelstore import set_model_alias

        uri = configure_tracking()
        previous = set_model_alias(name, version, alias)
        was = f" (was version {previous})" if previous and previous != str(version) else ""
        console.print(
            f"{name}@{alias} -> version {version}{was} in {uri}; use --model models:/{name}@{alias}",
            soft_wrap=True,
        )
