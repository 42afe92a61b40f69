"""The promotion calendar: the shopping events e-commerce demand plans around.

:func:`promo_calendar` lists the built-in events (:data:`BUILTIN_EVENTS`) for a date
range as the canonical ``calendar`` table (``date, event, is_promo``; one row per
date and event, so a date may carry several events). Users add their own events
(``extra``) or use only their own (``replace=True``); :func:`read_calendar` reads
and validates a calendar file.

Built-in events (dates inclusive, every year):

============================  =====================  ========
event                         days                   is_promo
============================  =====================  ========
``new_year``                  Jan 1                  False
``valentines``                Feb 7 - Feb 14         True
``618``                       Jun 1 - Jun 18         True  (JD's run-up starts Jun 1)
``double_11``                 Oct 24 - Nov 11        True  (pre-sale window + Singles' Day)
``black_friday``              Fri - Sun after US     True
                              Thanksgiving
``cyber_monday``              the Monday after       True
``double_12``                 Dec 12                 True
``christmas_shopping``        Dec 1 - Dec 23         False (seasonal peak, not a discount)
``christmas``                 Dec 24 - Dec 25        False (holiday: low orders, no shipping)
``boxing_day``                Dec 26                 True
============================  =====================  ========

Christmas is split on purpose: the shopping weeks are a demand peak that a model
should see as an event, but not as a price promotion; Christmas itself is a
holiday. US Thanksgiving is the fourth Thursday of November.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pandas as pd

from ecomml.data.adapters import read_table
from ecomml.data.schema import CALENDAR, validate_table
from ecomml.dates import DateFormat
from ecomml.exceptions import ConfigError

__all__ = ["BUILTIN_EVENTS", "PromoEvent", "promo_calendar", "read_calendar", "thanksgiving"]


def thanksgiving(year: int) -> date:
    """US Thanksgiving: the fourth Thursday of November of ``year``."""
    first = date(year, 11, 1)
    first_thursday = first + timedelta(days=(3 - first.weekday()) % 7)
    return first_thursday + timedelta(weeks=3)


@dataclass(frozen=True)
class PromoEvent:
    """A yearly event: a name, whether it is a promotion, and its days in a year.

    Parameters
    ----------
    name : str
        Event name, e.g. ``"618"``.
    is_promo : bool
        Whether prices are discounted (False for holidays and seasonal peaks).
    days : callable
        ``days(year) -> (first, last)``, inclusive dates.
    """

    name: str
    is_promo: bool
    days: Callable[[int], tuple[date, date]]


def _fixed(m1: int, d1: int, m2: int, d2: int) -> Callable[[int], tuple[date, date]]:
    return lambda y: (date(y, m1, d1), date(y, m2, d2))


def _after_thanksgiving(first: int, last: int) -> Callable[[int], tuple[date, date]]:
    return lambda y: (
        thanksgiving(y) + timedelta(days=first),
        thanksgiving(y) + timedelta(days=last),
    )


#: The built-in events (see the module docstring for the table).
BUILTIN_EVENTS: tuple[PromoEvent, ...] = (
    PromoEvent("new_year", False, _fixed(1, 1, 1, 1)),
    PromoEvent("valentines", True, _fixed(2, 7, 2, 14)),
    PromoEvent("618", True, _fixed(6, 1, 6, 18)),
    PromoEvent("double_11", True, _fixed(10, 24, 11, 11)),
    PromoEvent("black_friday", True, _after_thanksgiving(1, 3)),
    PromoEvent("cyber_monday", True, _after_thanksgiving(4, 4)),
    PromoEvent("double_12", True, _fixed(12, 12, 12, 12)),
    PromoEvent("christmas_shopping", False, _fixed(12, 1, 12, 23)),
    PromoEvent("christmas", False, _fixed(12, 24, 12, 25)),
    PromoEvent("boxing_day", True, _fixed(12, 26, 12, 26)),
)


def _day(value: Any, name: str) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as err:
        raise ConfigError(f"{name} {value!r} is not a date; use e.g. 2011-01-01.") from err
    if ts is pd.NaT:
        raise ConfigError(f"{name} {value!r} is not a date; use e.g. 2011-01-01.")
    return ts.tz_localize(None).normalize() if ts.tzinfo else ts.normalize()


def _builtin(start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    parts = []
    for year in range(start.year - 1, end.year + 1):  # Oct-Nov windows never cross years,
        for ev in BUILTIN_EVENTS:  # but a user rule might, so look one year back
            first, last = ev.days(year)
            days = pd.date_range(first, last, freq="D")
            parts.append(pd.DataFrame({"date": days, "event": ev.name, "is_promo": ev.is_promo}))
    out = pd.concat(parts, ignore_index=True)
    return out[(out["date"] >= start) & (out["date"] <= end)]


def promo_calendar(
    start: Any,
    end: Any,
    *,
    extra: pd.DataFrame | str | os.PathLike[str] | None = None,
    replace: bool = False,
) -> pd.DataFrame:
    """The promotion calendar between ``start`` and ``end`` (both inclusive).

    Parameters
    ----------
    start, end : date-like
        First and last day.
    extra : DataFrame or path, optional
        The user's own events (``date, event, is_promo``), a frame or a calendar
        file; an event with the same date and name as a built-in one replaces it.
    replace : bool
        Use only ``extra``, not the built-in events.

    Returns
    -------
    pandas.DataFrame
        Canonical calendar (``date`` at midnight, ``event``, ``is_promo``), one row
        per (date, event), sorted by date and event.

    Raises
    ------
    ConfigError
        Bad dates, ``start`` after ``end``, or ``replace=True`` without ``extra``.

    Examples
    --------
    >>> cal = promo_calendar("2011-11-20", "2011-11-30")
    >>> cal.loc[cal["event"] == "black_friday", "date"].dt.strftime("%m-%d").tolist()
    ['11-25', '11-26', '11-27']
    """
    lo, hi = _day(start, "start"), _day(end, "end")
    if lo > hi:
        raise ConfigError(f"start {lo.date()} is after end {hi.date()}; swap them.")
    if replace and extra is None:
        raise ConfigError("replace=True needs an extra calendar (frame or file) to use instead.")
    parts = [] if replace else [_builtin(lo, hi)]
    if extra is not None:
        user = (
            validate_table(extra, CALENDAR, source="extra calendar")
            if isinstance(extra, pd.DataFrame)
            else read_calendar(extra)
        )
        parts.append(user[(user["date"] >= lo) & (user["date"] <= hi)])
    out = pd.concat(parts, ignore_index=True) if parts else CALENDAR.empty_frame()
    out = out.drop_duplicates(["date", "event"], keep="last")
    out = out.sort_values(["date", "event"], kind="stable").reset_index(drop=True)
    if out.empty:
        return CALENDAR.empty_frame()
    return validate_table(out, CALENDAR)


def read_calendar(
    path: str | os.PathLike[str],
    *,
    encoding: str | None = None,
    sheet: str | int | None = None,
    dates: DateFormat | None = None,
) -> pd.DataFrame:
    """Read and validate a user calendar file (``date, event, is_promo``).

    Raises
    ------
    InputFileError, SchemaError, DataQualityError
        As :func:`~ecomml.data.read_table`; duplicate (date, event) rows raise.
    """
    return read_table(path, table="calendar", encoding=encoding, sheet=sheet, dates=dates)
