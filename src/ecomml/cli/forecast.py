"""``ecomml train|predict|backtest forecast``: demand forecasting (ecomml.forecasting)."""

from __future__ import annotations

import typer


def register(*, train: typer.Typer, predict: typer.Typer, backtest: typer.Typer) -> None:
    """Add this task's commands to the ``train``, ``predict`` and ``backtest`` groups."""
