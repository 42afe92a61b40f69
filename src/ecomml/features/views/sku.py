"""SKU views: a demand snapshot (``sku_demand``) and the forecasting frames
(``sku_daily``, ``sku_weekly``).

Demand is *sales units*: the sum of positive quantities. Returns (negative quantities)
are excluded from demand and reported separately (``returned_units``, ``return_rate``)
in the snapshot only: a return on the day being forecast is not known in advance.

The time grids hold **complete periods only**. A day belongs to the grid when it ended
at or before the cutoff (``date < CAST(cutoff AS DATE)``), a week (Monday to Sunday,
``date_trunc('week', ...)``) when its Sunday did. With a midnight cutoff that is every
day before the cutoff; with a cutoff at 14:00 the cutoff's own morning is not a grid
row (it would be a short day). Sales on such a partial day still count in the snapshot
totals of ``sku_demand``. A SKU's grid starts on the day (week) of its first sale, so a
SKU that has only returns has no grid rows.

Rolling features of a row use the periods *before* it (never the row itself), so a row's
features can predict its ``qty``; a window near the start of a SKU's grid uses the
periods available (mean needs one, std two). Lags are NULL before the grid start.
"""

from __future__ import annotations

from ecomml.features.entity import SKU, SKU_DAY, SKU_WEEK
from ecomml.features.view import FeatureView
from ecomml.features.views.calendar import calendar_ctes

__all__ = ["SKU_DAILY", "SKU_DEMAND", "SKU_WEEKLY"]

_COMPLETE_DAY = "d.date < CAST(d.cutoff AS DATE)"

_SKU_DEMAND_SQL = f"""
WITH cal AS (
  SELECT CAST(date AS DATE) AS date, max(CASE WHEN is_promo THEN 1 ELSE 0 END) AS is_promo
  FROM calendar WHERE date IS NOT NULL GROUP BY CAST(date AS DATE)
),
snap AS (
  -- snap and sale_day each scan the source: a shared row-level CTE would be read twice,
  -- hence materialized, and aggregating it is ~10x slower than a scan (DuckDB 1.5)
  SELECT cutoff, sku,
         sum(CASE WHEN quantity > 0 THEN quantity ELSE 0 END) AS total_units,
         sum(CASE WHEN quantity > 0 AND ts >= cutoff - INTERVAL '28' DAY
                  THEN quantity ELSE 0 END) AS units_28d,
         sum(CASE WHEN quantity > 0 AND ts >= cutoff - INTERVAL '91' DAY
                  THEN quantity ELSE 0 END) AS units_91d,
         CAST(sum(CAST(CASE WHEN quantity > 0 THEN quantity * price ELSE 0 END
                       AS DECIMAL(18, 4))) AS DOUBLE) AS revenue,
         count(DISTINCT CASE WHEN quantity > 0 THEN order_id END) AS n_orders,
         count(DISTINCT CASE WHEN quantity > 0 THEN customer_id END) AS n_customers,
         sum(CASE WHEN quantity < 0 THEN -quantity ELSE 0 END) AS returned_units,
         min(CASE WHEN quantity > 0 THEN ts END) AS first_sale_ts,
         max(CASE WHEN quantity > 0 THEN ts END) AS last_sale_ts
  FROM transactions
  WHERE sku IS NOT NULL
  GROUP BY cutoff, sku
),
sale_day AS (
  SELECT cutoff, sku, CAST(ts AS DATE) AS date, sum(quantity) AS qty,
         CAST(sum(CAST(quantity * price AS DECIMAL(18, 4))) AS DOUBLE) AS amount
  FROM transactions
  WHERE quantity > 0 AND sku IS NOT NULL
  GROUP BY cutoff, sku, CAST(ts AS DATE)
),
last_day AS (
  SELECT s.cutoff, s.sku, s.amount / NULLIF(s.qty, 0) AS last_price
  FROM sale_day s
  JOIN snap n ON n.cutoff = s.cutoff AND n.sku = s.sku
             AND s.date = CAST(n.last_sale_ts AS DATE)
),
grid AS (
  SELECT n.cutoff, n.sku, d.date,
         COALESCE(s.qty, 0) AS qty,
         COALESCE(cal.is_promo, 0) AS is_promo
  FROM snap n
  JOIN dates d ON d.cutoff = n.cutoff
              AND d.date >= CAST(n.first_sale_ts AS DATE)
              AND {_COMPLETE_DAY}
  LEFT JOIN sale_day s ON s.cutoff = n.cutoff AND s.sku = n.sku AND s.date = d.date
  LEFT JOIN cal ON cal.date = d.date
),
grid_stats AS (
  SELECT cutoff, sku,
         count(*) AS n_days,
         count(CASE WHEN qty > 0 THEN 1 END) AS n_demand_days,
         -- from sums (exact for whole units): var_samp's parallel states change the last bits
         CASE WHEN count(CASE WHEN qty > 0 THEN 1 END) > 1 THEN
           greatest((sum(CASE WHEN qty > 0 THEN qty * qty END)
                     - sum(CASE WHEN qty > 0 THEN qty END) * sum(CASE WHEN qty > 0 THEN qty END)
                       / count(CASE WHEN qty > 0 THEN 1 END))
                    / (count(CASE WHEN qty > 0 THEN 1 END) - 1), 0.0)
         END AS var_size,
         avg(CASE WHEN qty > 0 THEN qty END) AS mean_size,
         avg(CASE WHEN is_promo = 1 THEN qty END) AS promo_mean,
         avg(CASE WHEN is_promo = 0 THEN qty END) AS base_mean
  FROM grid
  GROUP BY cutoff, sku
)
SELECT n.cutoff, n.sku,
       n.total_units,
       n.units_28d,
       n.units_91d,
       n.revenue,
       n.n_orders,
       n.n_customers,
       date_diff('day', n.first_sale_ts, n.cutoff) AS first_sale_days,
       date_diff('day', n.last_sale_ts, n.cutoff) AS last_sale_days,
       COALESCE(g.n_days, 0) AS n_grid_days,
       1.0 - CAST(g.n_demand_days AS DOUBLE) / g.n_days AS zero_share,
       CAST(g.n_days AS DOUBLE) / NULLIF(g.n_demand_days, 0) AS adi,
       g.var_size / (g.mean_size * g.mean_size) AS cv2,
       n.revenue / NULLIF(n.total_units, 0) AS avg_price,
       l.last_price,
       l.last_price / NULLIF(n.revenue / NULLIF(n.total_units, 0), 0) - 1.0 AS price_change,
       g.promo_mean / NULLIF(g.base_mean, 0) AS promo_uplift,
       n.returned_units,
       n.returned_units / NULLIF(n.total_units, 0) AS return_rate
FROM snap n
LEFT JOIN grid_stats g ON g.cutoff = n.cutoff AND g.sku = n.sku
LEFT JOIN last_day l ON l.cutoff = n.cutoff AND l.sku = n.sku
"""

SKU_DEMAND = FeatureView(
    name="sku_demand",
    entity=SKU,
    sql=_SKU_DEMAND_SQL,
    description="Demand snapshot per SKU (every SKU with a transaction before the cutoff): "
    "volumes, recency, intermittency (ADI, CV2), price and promotion response",
    fill={
        "total_units": 0.0,
        "units_28d": 0.0,
        "units_91d": 0.0,
        "revenue": 0.0,
        "n_orders": 0,
        "n_customers": 0,
        "n_grid_days": 0,
        "returned_units": 0.0,
    },
    features=(
        "total_units: units sold (positive quantities)",
        "units_28d: units sold in the last 28 days",
        "units_91d: units sold in the last 91 days",
        "revenue: sum of quantity * price over sales lines",
        "n_orders: distinct orders with a sales line",
        "n_customers: distinct known customers who bought",
        "first_sale_days: days from the first sale to the cutoff (NULL: returns only)",
        "last_sale_days: days from the last sale to the cutoff",
        "n_grid_days: complete days from the first sale day to the cutoff",
        "zero_share: share of those days with no sale",
        "adi: average inter-demand interval in days, n_grid_days / days with a sale "
        "(= 1 / (1 - zero_share); Syntetos-Boylan threshold 1.32)",
        "cv2: squared coefficient of variation of the non-zero daily sales "
        "(var_samp / mean^2; NULL with fewer than two sale days; threshold 0.49)",
        "avg_price: unit-weighted average price of all sales",
        "last_price: unit-weighted average price on the last sale day",
        "price_change: last_price / avg_price - 1",
        "promo_uplift: mean daily units on promo days / on non-promo days (grid days)",
        "returned_units: units returned",
        "return_rate: returned_units / total_units",
    ),
)


def _frame(lo: int, hi: int) -> str:
    lo_s = "UNBOUNDED PRECEDING" if lo < 0 else f"{lo} PRECEDING"
    hi_s = "CURRENT ROW" if hi == 0 else f"{hi} PRECEDING"
    return f"OVER (PARTITION BY cutoff, sku ORDER BY {{t}} ROWS BETWEEN {lo_s} AND {hi_s})"


def _series_features(
    t: str, lags: tuple[int, ...], windows: tuple[int, ...], quantile_window: int | None
) -> str:
    """Lag / rolling select items over ``qty`` ordered by time column ``t``."""
    over = f"OVER (PARTITION BY cutoff, sku ORDER BY {t})"
    items = [f"LAG(qty, {k}) {over} AS lag_{k}" for k in lags]
    for w in windows:
        frame = _frame(w, 1).format(t=t)
        items.append(f"avg(qty) {frame} AS roll_mean_{w}")
        items.append(f"stddev_samp(qty) {frame} AS roll_std_{w}")
    if quantile_window is not None:
        frame = _frame(quantile_window, 1).format(t=t)
        items.append(f"quantile_cont(qty, 0.5) {frame} AS roll_median_{quantile_window}")
        items.append(f"quantile_cont(qty, 0.9) {frame} AS roll_q90_{quantile_window}")
    w = windows[-1]
    frame = _frame(w, 1).format(t=t)
    items.append(f"avg(CASE WHEN qty = 0 THEN 1.0 ELSE 0.0 END) {frame} AS zero_share_{w}")
    items.append(
        f"max(CASE WHEN period_price IS NOT NULL THEN {t} END) {_frame(-1, 1).format(t=t)} "
        "AS prev_sale"
    )
    return ",\n         ".join(items)


def _grid_ctes(
    t: str,
    of_ts: str,
    periods: str,
    extra_on: str,
    lags: tuple[int, ...],
    windows: tuple[int, ...],
    quantile_window: int | None,
) -> str:
    """The ``sale``, ``first_sale``, ``grid`` and ``feat`` CTEs of a forecasting frame and
    the head of its final SELECT (``feat x``: keys, ``qty`` and the series features).

    ``t`` is the period column (``date`` or ``week``), ``of_ts`` the period of a
    transaction's ``ts``, ``periods`` the table of complete periods with its alias and
    ``extra_on`` more conditions on it; the rest is passed to :func:`_series_features`.
    """
    first = "first_day" if t == "date" else f"first_{t}"
    a = periods.split()[-1]
    on = f"{a}.cutoff = f.cutoff AND {a}.{t} >= f.{first}" + (f" {extra_on}" if extra_on else "")
    cols = (
        ["qty"]
        + [f"lag_{k}" for k in lags]
        + [f"roll_{s}_{w}" for w in windows for s in ("mean", "std")]
        + (
            []
            if quantile_window is None
            else [f"roll_{s}_{quantile_window}" for s in ("median", "q90")]
        )
        + [f"zero_share_{windows[-1]}"]
    )
    return f"""sale AS (
  SELECT cutoff, sku, {of_ts} AS {t},
         sum(quantity) AS qty, sum(quantity * price) AS amount
  FROM transactions
  WHERE quantity > 0 AND sku IS NOT NULL
  GROUP BY cutoff, sku, {of_ts}
),
first_sale AS (
  SELECT cutoff, sku, min({t}) AS {first} FROM sale GROUP BY cutoff, sku
),
grid AS (
  SELECT f.cutoff, f.sku, {a}.{t},
         COALESCE(s.qty, 0.0) AS qty,
         s.amount / NULLIF(s.qty, 0) AS period_price
  FROM first_sale f
  JOIN {periods} ON {on}
  LEFT JOIN sale s ON s.cutoff = f.cutoff AND s.sku = f.sku AND s.{t} = {a}.{t}
),
feat AS (
  SELECT cutoff, sku, {t}, qty, period_price,
         {_series_features(t, lags, windows, quantile_window)}
  FROM grid
)
SELECT x.cutoff, x.sku, x.{t},
       {", ".join(f"x.{c}" for c in cols)}"""


_DAILY_LAGS = (1, 7, 14, 28)
_DAILY_WINDOWS = (7, 28)
_DAILY_QWINDOW = 28
_DAILY_GRID = _grid_ctes(
    "date", "CAST(ts AS DATE)", "dates d", f"AND {_COMPLETE_DAY}",
    _DAILY_LAGS, _DAILY_WINDOWS, _DAILY_QWINDOW,
)  # fmt: skip

_SKU_DAILY_SQL = f"""
WITH {calendar_ctes("SELECT DISTINCT date FROM dates")},
{_DAILY_GRID},
       p.amount / p.qty AS last_price,
       c.day_of_week, c.is_promo, c.event, c.days_to_next_promo, c.days_since_last_promo
FROM feat x
JOIN cal_feat c ON c.date = x.date
LEFT JOIN sale p ON p.cutoff = x.cutoff AND p.sku = x.sku AND p.date = x.prev_sale
"""

SKU_DAILY = FeatureView(
    name="sku_daily",
    entity=SKU_DAY,
    sql=_SKU_DAILY_SQL,
    description="Daily forecasting frame: one row per SKU per complete day from its first "
    "sale to the cutoff, with lags, rolling statistics, price and calendar",
    features=(
        "qty: units sold that day (positive quantities; returns excluded), 0 on days "
        "without a sale - the target",
        "lag_1, lag_7, lag_14, lag_28: qty that many days earlier, NULL before the grid",
        "roll_mean_7, roll_std_7: mean and sample std of qty over the 7 days before the "
        "row (not including it)",
        "roll_mean_28, roll_std_28: the same over 28 days",
        "roll_median_28, roll_q90_28: 0.5 and 0.9 quantiles (linear interpolation, "
        "quantile_cont) of qty over the 28 days before the row",
        "zero_share_28: share of zero-qty days among the 28 days before the row",
        "last_price: unit-weighted average price on the most recent earlier sale day "
        "(forward-filled; known before the day starts; NULL on the first grid day)",
        "day_of_week: 0 = Monday ... 6 = Sunday",
        "is_promo: 1 on calendar promo days",
        "event: calendar event name, NULL if none",
        "days_to_next_promo: days to the next promo date on or after the day (planned "
        "promotions are known in advance)",
        "days_since_last_promo: days since the last promo date on or before the day",
    ),
)

_WEEKLY_LAGS = (1, 2, 4, 8, 52)
_WEEKLY_WINDOWS = (4, 13)
_WEEKLY_GRID = _grid_ctes(
    "week", "CAST(date_trunc('week', ts) AS DATE)", "complete_weeks w", "",
    _WEEKLY_LAGS, _WEEKLY_WINDOWS, None,
)  # fmt: skip

_SKU_WEEKLY_SQL = f"""
WITH cal_day AS (
  SELECT CAST(date AS DATE) AS date,
         max(CASE WHEN is_promo THEN 1 ELSE 0 END) AS is_promo,
         max(CASE WHEN event IS NOT NULL THEN 1 ELSE 0 END) AS has_event
  FROM calendar WHERE date IS NOT NULL GROUP BY CAST(date AS DATE)
),
cal_week AS (
  SELECT CAST(date_trunc('week', date) AS DATE) AS week,
         CAST(sum(is_promo) AS BIGINT) AS promo_days,
         CAST(sum(has_event) AS BIGINT) AS event_days
  FROM cal_day
  GROUP BY CAST(date_trunc('week', date) AS DATE)
),
weeks AS (
  SELECT DISTINCT cutoff, CAST(date_trunc('week', date) AS DATE) AS week FROM dates
),
complete_weeks AS (
  SELECT cutoff, week FROM weeks WHERE date_diff('day', week, CAST(cutoff AS DATE)) >= 7
),
{_WEEKLY_GRID},
       p.amount / p.qty AS last_price,
       EXTRACT(week FROM x.week) AS week_of_year,
       COALESCE(c.promo_days, 0) AS promo_days,
       COALESCE(c.event_days, 0) AS event_days
FROM feat x
LEFT JOIN cal_week c ON c.week = x.week
LEFT JOIN sale p ON p.cutoff = x.cutoff AND p.sku = x.sku AND p.week = x.prev_sale
"""

SKU_WEEKLY = FeatureView(
    name="sku_weekly",
    entity=SKU_WEEK,
    sql=_SKU_WEEKLY_SQL,
    description="Weekly forecasting frame: one row per SKU per complete Monday-Sunday week "
    "from its first sale week to the cutoff",
    features=(
        "qty: units sold in the week (positive quantities; returns excluded) - the target",
        "lag_1, lag_2, lag_4, lag_8, lag_52: qty that many weeks earlier, NULL before the grid",
        "roll_mean_4, roll_std_4: mean and sample std of qty over the 4 weeks before the row",
        "roll_mean_13, roll_std_13: the same over 13 weeks",
        "zero_share_13: share of zero-qty weeks among the 13 weeks before the row",
        "last_price: unit-weighted average price in the most recent earlier week with a "
        "sale (forward-filled; NULL in the first grid week)",
        "week_of_year: ISO week number of the week's Monday",
        "promo_days: calendar promo days in the week (0-7)",
        "event_days: days of the week with a calendar event",
    ),
)
