"""``ecomml train|predict|backtest recommend``: recommendations (ecomml.recommend)."""

from __future__ import annotations

import typer


def register(*, train: typer.Typer, predict: typer.Typer, backtest: typer.Typer) -> None:
    """Add this task's commands to the ``train``, ``predict`` and ``backtest`` groups."""
