"""``ecomml data``: validate, convert and synthesise input data.

``ecomml data validate FILE`` reads a file as a canonical table, prints a summary
and the cleaning report, and exits 0; on bad input it prints one line
``error: <message>`` on stderr and exits 1. ``ecomml data convert FILE OUT``
writes the canonical (cleaned) table as Parquet, atomically, and optionally the
cleaning report as JSON. (``synth`` is attached to this app by ``cli/main.py``.)
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pandas as pd
import typer

from ecomml._io import atomic_write_json, atomic_write_table, refuse_overwrite
from ecomml.cli._common import console, handle_errors, make_progress, print_pairs
from ecomml.cli.options import ReadOptions, with_groups
from ecomml.data.cleaning import CleaningReport
from ecomml.data.files import describe_table, read_canonical

app = typer.Typer(no_args_is_help=True)

# Reads of files above this size take a couple of seconds: show a spinner.
_PROGRESS_BYTES = 20 << 20


class TableName(enum.StrEnum):
    """Canonical tables."""

    transactions = "transactions"
    events = "events"
    catalog = "catalog"
    calendar = "calendar"


_FILE = typer.Argument(..., help="CSV/TXT/TSV, Parquet (file or folder) or .xlsx file.")
# no -t: everywhere else -t is --transactions
_TABLE = typer.Option(TableName.transactions, "--table", help="Canonical table to read.")
_SHEET = typer.Option(None, "--sheet", help="Excel sheet name or 0-based index.")
_OUT = typer.Argument(..., help="Output Parquet file.")
_NO_CLEAN = typer.Option(False, "--no-clean", help="Validate only; skip cleaning.")
_REPORT = typer.Option(None, "--report", help="Write the cleaning report (JSON) here.")


def _size(path: Path) -> int:
    try:
        if path.is_dir():
            return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
        return path.stat().st_size
    except OSError:
        return 0


@dataclass
class FileOptions(ReadOptions):
    """The file to read and how: the options ``validate`` and ``convert`` share."""

    PANEL: ClassVar[str] = "Reading the file"

    file: Path = _FILE
    table: TableName = _TABLE
    sheet: str | None = _SHEET

    def load(self, *, clean: bool = True) -> tuple[pd.DataFrame, CleaningReport]:
        """Read (and clean) the file as its canonical table; a spinner for big files."""
        if _size(self.file) < _PROGRESS_BYTES:
            return self._read(clean)
        with make_progress(transient=True) as progress:
            progress.add_task(f"reading {self.file.name}", total=None)
            return self._read(clean)

    def _read(self, clean: bool) -> tuple[pd.DataFrame, CleaningReport]:
        sheet = self.sheet
        return read_canonical(
            self.file, self.table.value, format=self.format, clean=clean,
            mapping=self.mapping or None, encoding=self.encoding, dates=self.dates,
            sheet=int(sheet) if sheet is not None and sheet.isdigit() else sheet,
            max_ts=self.max_ts,
        )  # fmt: skip


@app.command()
@with_groups
def validate(src: FileOptions) -> None:
    """Check a file against a canonical table; print a summary and the cleaning report."""
    with handle_errors():
        frame, report = src.load()
        print_pairs(f"{src.file.name}: valid {src.table.value}", describe_table(frame))
        if report.rules:
            console.print(report)


@app.command()
@with_groups
def convert(
    src: FileOptions,
    out: Path = _OUT,
    no_clean: bool = _NO_CLEAN,
    report: Path | None = _REPORT,
) -> None:
    """Write FILE as a canonical (cleaned) Parquet table to OUT, atomically."""
    with handle_errors():
        refuse_overwrite(("OUT", out), inputs=[src.file, src.map_file])
        frame, rep = src.load(clean=not no_clean)
        atomic_write_table(out, frame, fmt="parquet")
        if report is not None:
            atomic_write_json(
                report, {"source": str(src.file), "output": str(out), **rep.to_dict()}
            )
        console.print(f"wrote {len(frame):,} {src.table.value} rows to {out}")
        if rep.rules:
            console.print(rep)
