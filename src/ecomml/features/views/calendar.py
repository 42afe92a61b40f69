"""Calendar features: one row per date, from the ``calendar`` table (promotions, events).

The same SQL definitions serve two callers:

* the ``calendar_features`` view (DATE entity), one row per day of the store's dense
  ``dates`` grid before the cutoff, and the calendar columns of ``sku_daily``;
* :func:`calendar_frame`, which computes the same columns for any dates, including
  future forecast horizons (the calendar is not time-filtered: a planned promotion is
  known in advance, so these features are legitimate for future days).

Definitions (identical everywhere):

* ``day_of_week``: 0 = Monday ... 6 = Sunday (pandas ``dayofweek``).
* ``week_of_year``: ISO week number (1-53); ``month``; ``day_of_month``.
* ``is_weekend``: 1 on Saturday and Sunday, else 0.
* ``is_promo``: 1 if any calendar row of that date has ``is_promo`` true, else 0
  (dates missing from the calendar are not promo days).
* ``event``: the calendar event name of that date (the alphabetically first when a date
  has several rows), NULL if none.
* ``days_to_next_promo``: days from the date to the nearest promo date on or after it
  (0 on a promo day), NULL when the calendar has none.
* ``days_since_last_promo``: days from the nearest promo date on or before the date
  (0 on a promo day), NULL when the calendar has none.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from ecomml.features.entity import DATE
from ecomml.features.view import FeatureView

__all__ = ["CALENDAR_FEATURES", "calendar_ctes", "calendar_frame"]

# A Monday, the anchor of the portable day-of-week arithmetic.
_MONDAY = "DATE '2000-01-03'"

CALENDAR_COLUMNS = (
    "day_of_week",
    "week_of_year",
    "month",
    "day_of_month",
    "is_weekend",
    "is_promo",
    "event",
    "days_to_next_promo",
    "days_since_last_promo",
)


def calendar_ctes(targets: str) -> str:
    """CTE text computing calendar features for the dates that ``targets`` selects.

    Parameters
    ----------
    targets : str
        A query returning one column ``date`` (DATE), e.g.
        ``"SELECT DISTINCT date FROM dates"``.

    Returns
    -------
    str
        Comma-separated CTEs (to follow ``WITH``) defining ``cal_day`` (one row per
        calendar date: ``date, is_promo, event``) and ``cal_feat`` (one row per target
        date with the module's calendar columns).
    """
    return f"""cal_day AS (
  SELECT CAST(date AS DATE) AS date,
         max(CASE WHEN is_promo THEN 1 ELSE 0 END) AS is_promo,
         min(event) AS event
  FROM calendar
  WHERE date IS NOT NULL
  GROUP BY CAST(date AS DATE)
),
cal_target AS (
  SELECT DISTINCT CAST(date AS DATE) AS date FROM ({targets}) AS t WHERE date IS NOT NULL
),
cal_all AS (
  SELECT date FROM cal_target
  UNION
  SELECT date FROM cal_day WHERE is_promo = 1
),
cal_scan AS (
  SELECT a.date,
         max(CASE WHEN c.is_promo = 1 THEN a.date END) OVER (
           ORDER BY a.date ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS last_promo,
         min(CASE WHEN c.is_promo = 1 THEN a.date END) OVER (
           ORDER BY a.date ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING) AS next_promo
  FROM cal_all a
  LEFT JOIN cal_day c ON c.date = a.date
),
cal_feat AS (
  SELECT t.date,
         ((date_diff('day', {_MONDAY}, t.date) % 7) + 7) % 7 AS day_of_week,
         EXTRACT(week FROM t.date) AS week_of_year,
         EXTRACT(month FROM t.date) AS month,
         EXTRACT(day FROM t.date) AS day_of_month,
         CASE WHEN ((date_diff('day', {_MONDAY}, t.date) % 7) + 7) % 7 >= 5
              THEN 1 ELSE 0 END AS is_weekend,
         COALESCE(c.is_promo, 0) AS is_promo,
         c.event AS event,
         date_diff('day', t.date, s.next_promo) AS days_to_next_promo,
         date_diff('day', s.last_promo, t.date) AS days_since_last_promo
  FROM cal_target t
  JOIN cal_scan s ON s.date = t.date
  LEFT JOIN cal_day c ON c.date = t.date
)"""


_CALENDAR_SQL = f"""
WITH {calendar_ctes("SELECT DISTINCT date FROM dates")}
SELECT d.cutoff, d.date,
       {", ".join(f"f.{c}" for c in CALENDAR_COLUMNS)}
FROM dates d
JOIN cal_feat f ON f.date = d.date
"""

CALENDAR_FEATURES = FeatureView(
    name="calendar_features",
    entity=DATE,
    sql=_CALENDAR_SQL,
    description="Calendar and promotion features per day of the dense grid before the cutoff",
    features=(
        "day_of_week: 0 = Monday ... 6 = Sunday",
        "week_of_year: ISO week number",
        "month: 1-12",
        "day_of_month: 1-31",
        "is_weekend: 1 on Saturday/Sunday",
        "is_promo: 1 if the calendar marks the date as a promotion day",
        "event: calendar event name (alphabetically first if several), NULL if none",
        "days_to_next_promo: days to the next promo date on or after the date (future "
        "planned promotions count), NULL if none",
        "days_since_last_promo: days since the last promo date on or before the date, NULL if none",
    ),
)


def calendar_frame(
    dates: Iterable[Any] | pd.Series | pd.DatetimeIndex,
    *,
    calendar: pd.DataFrame | None = None,
    calendar_margin_days: int = 400,
) -> pd.DataFrame:
    """Calendar features for arbitrary dates, e.g. a future forecast horizon.

    Runs the same SQL as the ``calendar_features`` view, so the columns and values
    match the view for any date both cover (given the same calendar).

    Parameters
    ----------
    dates : iterable of date-like
        The dates (time of day is dropped). Duplicates are removed.
    calendar : DataFrame or None
        Canonical calendar (``date, event, is_promo``). None uses the built-in
        promotion calendar (:func:`ecomml.data.calendar.promo_calendar`) spanning the
        dates plus ``calendar_margin_days`` on each side.
    calendar_margin_days : int
        Margin of the built-in calendar; unused when ``calendar`` is given.

    Returns
    -------
    DataFrame
        One row per distinct date, sorted: ``date`` (datetime64) then
        ``day_of_week, week_of_year, month, day_of_month, is_weekend, is_promo, event,
        days_to_next_promo, days_since_last_promo``.

    Examples
    --------
    >>> cal = pd.DataFrame({"date": pd.to_datetime(["2024-11-29"]),
    ...                     "event": ["black_friday"], "is_promo": [True]})
    >>> f = calendar_frame(pd.date_range("2024-11-28", periods=3), calendar=cal)
    >>> print(f[["date", "day_of_week", "is_promo", "days_to_next_promo"]].to_string(index=False))
          date  day_of_week  is_promo  days_to_next_promo
    2024-11-28            3         0                   1
    2024-11-29            4         1                   0
    2024-11-30            5         0                <NA>
    """
    import duckdb

    days = pd.DatetimeIndex([pd.Timestamp(d) for d in dates], dtype="datetime64[ns]").normalize()
    days = days[days.notna()].unique().sort_values()
    target = pd.DataFrame({"date": days.astype("datetime64[us]")})
    if calendar is None:
        from ecomml.data.calendar import promo_calendar

        if len(days):
            margin = pd.Timedelta(days=calendar_margin_days)
            calendar = promo_calendar(days.min() - margin, days.max() + margin)
        else:
            calendar = pd.DataFrame({"date": [], "event": [], "is_promo": []})
    cal = pd.DataFrame(
        {
            "date": pd.to_datetime(calendar["date"]).astype("datetime64[us]"),
            "event": calendar["event"].astype(object),
            "is_promo": calendar["is_promo"].astype("boolean"),
        }
    )
    con = duckdb.connect()
    try:
        con.register("cal_raw", cal)
        con.register("target_raw", target)
        con.execute(
            "CREATE TEMP VIEW calendar AS SELECT CAST(date AS DATE) AS date, "
            "CAST(event AS VARCHAR) AS event, CAST(is_promo AS BOOLEAN) AS is_promo FROM cal_raw"
        )
        sql = (
            f"WITH {calendar_ctes('SELECT CAST(date AS DATE) AS date FROM target_raw')}\n"
            f"SELECT date, {', '.join(CALENDAR_COLUMNS)} FROM cal_feat ORDER BY date"
        )
        out = con.execute(sql).df()
    finally:
        con.close()
    out["date"] = pd.to_datetime(out["date"])
    return out
