"""The built-in promotion calendar, user extensions and calendar validation."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from ecomml.data import BUILTIN_EVENTS, CALENDAR, promo_calendar, read_calendar
from ecomml.data.calendar import thanksgiving
from ecomml.exceptions import ConfigError, DataQualityError


@pytest.mark.parametrize(
    ("year", "day"), [(2010, 25), (2011, 24), (2023, 23), (2024, 28), (2025, 27)]
)
def test_thanksgiving_is_fourth_thursday(year: int, day: int) -> None:
    assert thanksgiving(year) == date(year, 11, day)


def _days(cal: pd.DataFrame, event: str) -> list[str]:
    return cal.loc[cal["event"] == event, "date"].dt.strftime("%Y-%m-%d").tolist()


def test_builtin_events_2024() -> None:
    cal = promo_calendar("2024-01-01", "2024-12-31")
    assert list(cal.columns) == ["date", "event", "is_promo"]
    assert {c: cal[c].dtype for c in cal.columns} == CALENDAR.dtypes()
    assert _days(cal, "618")[0] == "2024-06-01" and _days(cal, "618")[-1] == "2024-06-18"
    assert len(_days(cal, "618")) == 18
    assert _days(cal, "double_11")[-1] == "2024-11-11"
    assert _days(cal, "double_12") == ["2024-12-12"]
    assert _days(cal, "black_friday") == ["2024-11-29", "2024-11-30", "2024-12-01"]
    assert _days(cal, "cyber_monday") == ["2024-12-02"]
    assert _days(cal, "christmas") == ["2024-12-24", "2024-12-25"]
    assert set(cal["event"]) == {e.name for e in BUILTIN_EVENTS}
    promo = cal.groupby("event")["is_promo"].first()
    assert promo["618"] and promo["black_friday"] and not promo["christmas"]
    assert not promo["christmas_shopping"] and not promo["new_year"]
    assert not cal.duplicated(["date", "event"]).any()
    assert cal["date"].is_monotonic_increasing


def test_a_day_can_carry_several_events() -> None:
    cal = promo_calendar("2024-12-01", "2024-12-01")
    assert sorted(cal["event"]) == ["black_friday", "christmas_shopping"]


def test_range_is_inclusive_and_spans_years() -> None:
    cal = promo_calendar("2010-12-24", "2011-01-01")
    assert cal["date"].min() == pd.Timestamp("2010-12-24")
    assert _days(cal, "new_year") == ["2011-01-01"]


def test_extra_events_and_override(tmp_path: Path) -> None:
    extra = pd.DataFrame(
        {
            "date": ["2024-03-08", "2024-12-12", "2030-01-01"],
            "event": ["womens_day", "double_12", "far_away"],
            "is_promo": [True, False, True],
        }
    )
    cal = promo_calendar("2024-01-01", "2024-12-31", extra=extra)
    assert _days(cal, "womens_day") == ["2024-03-08"]
    assert not cal.loc[cal["event"] == "double_12", "is_promo"].item()  # the user's row wins
    assert "far_away" not in set(cal["event"])
    p = tmp_path / "promos.csv"
    extra.to_csv(p, index=False)
    only = promo_calendar("2024-01-01", "2024-12-31", extra=p, replace=True)
    assert sorted(only["event"]) == ["double_12", "womens_day"]


def test_bad_arguments() -> None:
    with pytest.raises(ConfigError, match="start 2024-02-01 is after end 2024-01-01"):
        promo_calendar("2024-02-01", "2024-01-01")
    with pytest.raises(ConfigError, match="replace=True needs an extra calendar"):
        promo_calendar("2024-01-01", "2024-12-31", replace=True)
    with pytest.raises(ConfigError, match="start 'soon' is not a date"):
        promo_calendar("soon", "2024-12-31")


def test_empty_window_gives_typed_empty_frame() -> None:
    cal = promo_calendar("2024-03-01", "2024-03-02")
    assert cal.empty and list(cal.columns) == ["date", "event", "is_promo"]


def test_read_calendar_validates(tmp_path: Path) -> None:
    p = tmp_path / "cal.csv"
    p.write_text("date,event,is_promo\n2024-06-18,618,true\n2024-06-18,618,yes\n")
    with pytest.raises(
        DataQualityError,
        match="cal.csv \\(calendar\\) has duplicate date, event "
        "values \\[\\('2024-06-18', '618'\\)\\] at data lines 1, 2",
    ):
        read_calendar(p)
    p.write_text("date,event,is_promo\n2024-06-18,618,true\n2024-06-31,sale,no\n")
    with pytest.raises(
        DataQualityError, match="column 'date' has values that are not dates at data line 2"
    ):
        read_calendar(p)
    p.write_text("date,event,is_promo\n2024-06-18,618,1\n2024-06-19,sale,0\n")
    assert read_calendar(p)["is_promo"].tolist() == [True, False]
