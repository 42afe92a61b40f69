"""Dates read as written: day/month order proven by the column or declared, never guessed."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from ecomml._validation import check_cutoff
from ecomml.cli.main import app
from ecomml.data import load_map_dates, read_table
from ecomml.dates import DateFormat, parse_date_column
from ecomml.exceptions import ConfigError, DataQualityError

runner = CliRunner()


def _csv(path: Path, dates: list[str]) -> Path:
    rows = "".join(f"o{i},c{i % 3},s{i % 2},{d},1,2.5\n" for i, d in enumerate(dates))
    path.write_text("order_id,customer_id,sku,ts,quantity,price\n" + rows, encoding="utf-8")
    return path


def _ts(frame: pd.DataFrame) -> list[str]:
    return frame["ts"].dt.strftime("%Y-%m-%d %H:%M").tolist()


def test_day_first_dates_that_read_both_ways_are_refused_with_both_options(
    tmp_path: Path,
) -> None:
    f = _csv(tmp_path / "tx.csv", ["01/04/2024", "02/04/2024"])
    with pytest.raises(DataQualityError) as err:
        read_table(f)
    msg = str(err.value)
    assert "'01/04/2024' that read both ways" in msg
    assert "--dayfirst" in msg and "--date-format %m/%d/%Y" in msg


@pytest.mark.parametrize(
    ("dates", "spec", "want"),
    [
        # dd/mm/YYYY, declared
        (["01/04/2024", "02/04/2024"], DateFormat(dayfirst=True), ["2024-04-01", "2024-04-02"]),
        # dd/mm/YYYY, proven by a day above 12 somewhere in the column
        (["01/04/2024", "25/04/2024 10:30"], None, ["2024-04-01", "2024-04-25 10:30"]),
        # mm/dd/YYYY, declared and proven
        (["01/04/2024"], DateFormat(dayfirst=False), ["2024-01-04"]),
        (["04/01/2024", "04/25/2024"], None, ["2024-04-01", "2024-04-25"]),
        # YYYY/MM/DD and YYYY年MM月DD日 are unambiguous
        (["2024/04/01", "2024/12/03"], None, ["2024-04-01", "2024-12-03"]),
        (["2024年4月1日", "2024年12月03日 10:30"], None, ["2024-04-01", "2024-12-03 10:30"]),
        # an explicit strftime format
        (["01.04.2024 08:26"], DateFormat(format="%d.%m.%Y %H:%M"), ["2024-04-01 08:26"]),
        # two-digit years are this century
        (["31/12/24"], None, ["2024-12-31"]),
    ],
)
def test_each_written_form_reads_as_meant(
    tmp_path: Path, dates: list[str], spec: DateFormat | None, want: list[str]
) -> None:
    out = read_table(_csv(tmp_path / "tx.csv", dates), dates=spec)
    got = [t.replace(" 00:00", "") for t in _ts(out)]
    assert got == want


def test_a_column_mixing_day_first_and_month_first_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DataQualityError, match="both day-first .* and month-first"):
        read_table(_csv(tmp_path / "tx.csv", ["25/04/2024", "04/25/2024"]))


def test_cutoff_text_is_iso_or_declared_never_guessed() -> None:
    with pytest.raises(DataQualityError, match="reads both ways"):
        check_cutoff("01/12/2024", name="--cutoff")
    assert check_cutoff("01/12/2024", dates=DateFormat(dayfirst=True)) == pd.Timestamp("2024-12-01")
    fmt = DateFormat(format="%m/%d/%Y")
    assert check_cutoff("01/12/2024", dates=fmt) == pd.Timestamp("2024-01-12")
    assert check_cutoff("2024年12月1日") == pd.Timestamp("2024-12-01")
    assert check_cutoff("2024/12/01") == pd.Timestamp("2024-12-01")


def test_format_and_dayfirst_together_are_refused() -> None:
    with pytest.raises(ConfigError, match="not both"):
        DateFormat(format="%d/%m/%Y", dayfirst=True)


def test_map_file_declares_the_date_order(tmp_path: Path) -> None:
    m = tmp_path / "map.yaml"
    m.write_text("columns:\n  Date: ts\ndayfirst: true\n", encoding="utf-8")
    assert load_map_dates(m) == DateFormat(dayfirst=True)
    f = tmp_path / "tx.csv"
    f.write_text(
        "order_id,customer_id,sku,Date,quantity,price\no1,c1,s1,01/04/2024,1,2.0\n",
        encoding="utf-8",
    )
    res = runner.invoke(app, ["data", "convert", str(f), str(tmp_path / "o.parquet"),
                              "--map-file", str(m)])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert _ts(pd.read_parquet(tmp_path / "o.parquet")) == ["2024-04-01 00:00"]


def test_cli_refuses_an_ambiguous_cutoff_and_reads_a_declared_one(tmp_path: Path) -> None:
    f = _csv(tmp_path / "tx.csv", ["2024-03-01", "2024-03-02", "2024-03-05"])
    args = ["features", "build", "-t", str(f), "--out", str(tmp_path / "feat"),
            "--views", "customer_rfm"]  # fmt: skip
    res = runner.invoke(app, [*args, "--cutoff", "04/03/2024"])
    assert res.exit_code == 1
    assert "reads both ways" in res.output and "--dayfirst" in res.output
    res = runner.invoke(app, [*args, "--cutoff", "04/03/2024", "--dayfirst"])
    assert res.exit_code == 0, res.output
    assert "2024-03-04" in res.output


@settings(max_examples=60, deadline=None)
@given(
    days=st.lists(st.integers(0, 365 * 30), min_size=1, max_size=20),
    dayfirst=st.booleans(),
)
def test_declared_day_month_order_round_trips(days: list[int], dayfirst: bool) -> None:
    ds = [date(2000, 1, 1) + timedelta(days=d) for d in days]
    fmt = "%d/%m/%Y" if dayfirst else "%m/%d/%Y"
    txt = pd.Series([d.strftime(fmt) for d in ds], dtype=object)
    got = parse_date_column(txt, DateFormat(dayfirst=dayfirst))
    assert [t.date() for t in got] == ds
    # and an undeclared column is either read right or refused, never read wrong
    try:
        guessed = parse_date_column(txt)
    except DataQualityError:
        return
    assert [t.date() for t in guessed] == ds
