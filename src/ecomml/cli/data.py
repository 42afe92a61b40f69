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

from ecomml._io import atomic_write_json, atomic_write_table
from ecomml.cli._common import console, handle_errors, make_progress, print_pairs
from ecomml.cli.options import (
    DateFormatOpt,
    DayFirstOpt,
    dates_from,
    mapping_from,
    max_ts_for,
    refuse_overwrite,
    with_groups,
)
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
_TABLE = typer.Option(TableName.transactions, "--table", "-t", help="Canonical table to read.")
_FORMAT = typer.Option(
    "auto",
    "--format",
    "-f",
    help="Input layout: auto (detected), canonical, online-retail, online-retail-ii, cdnow.",
)
_MAP = typer.Option(
    None, "--map", "-m", help="Column mapping Source=canonical, repeatable or comma-separated."
)
_MAP_FILE = typer.Option(None, "--map-file", help="YAML file with the column mapping.")
_ENCODING = typer.Option(None, "--encoding", help="Text encoding, e.g. latin-1, cp1252, utf-16.")
_SHEET = typer.Option(None, "--sheet", help="Excel sheet name or 0-based index.")
_OUT = typer.Argument(..., help="Output Parquet file.")
_NO_CLEAN = typer.Option(False, "--no-clean", help="Validate only; skip cleaning.")
_REPORT = typer.Option(None, "--report", help="Write the cleaning report (JSON) here.")
_FUTURE = typer.Option(
    False, "--allow-future", help="Accept timestamps after tomorrow (default: they are an error)."
)


def _size(path: Path) -> int:
    try:
        if path.is_dir():
            return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
        return path.stat().st_size
    except OSError:
        return 0


@dataclass
class FileOptions:
    """The file to read and how: the options ``validate`` and ``convert`` share."""

    PANEL: ClassVar[str] = "Reading the file"

    file: Path = _FILE
    table: TableName = _TABLE
    format: str = _FORMAT
    map: list[str] | None = _MAP
    map_file: Path | None = _MAP_FILE
    encoding: str | None = _ENCODING
    sheet: str | None = _SHEET
    date_format: str | None = DateFormatOpt
    dayfirst: bool | None = DayFirstOpt
    allow_future: bool = _FUTURE

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
            mapping=mapping_from(self.map, self.map_file) or None, encoding=self.encoding,
            sheet=int(sheet) if sheet is not None and sheet.isdigit() else sheet,
            dates=dates_from(self.date_format, self.dayfirst, self.map_file),
            max_ts=max_ts_for(self.allow_future),
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
