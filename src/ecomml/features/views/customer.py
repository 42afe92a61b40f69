"""Customer views: RFM and behaviour from transactions (``customer_rfm``) and from the
event log (``customer_events``).

Conventions shared by every built-in view:

* A *purchase line* is a transaction row with ``quantity > 0``; a *return line* has
  ``quantity < 0``; rows with ``quantity = 0`` count as neither.
* Rows with a NULL ``customer_id`` (guest checkouts) are ignored by customer views.
* ``*_days`` ages are ``date_diff('day', ts, cutoff)``: the number of calendar-day
  boundaries between the timestamp and the cutoff (0 = the cutoff's own day).
* Windows such as "last 90 days" mean ``cutoff - 90 days <= ts < cutoff``.
"""

from __future__ import annotations

from datetime import timedelta

from ecomml.features.entity import CUSTOMER
from ecomml.features.view import FeatureView

__all__ = ["CUSTOMER_EVENTS", "CUSTOMER_RFM"]

_CUSTOMER_RFM_SQL = """
WITH cat AS (
  SELECT sku, max(category) AS category FROM catalog GROUP BY sku
),
cal AS (
  SELECT CAST(date AS DATE) AS date, max(CASE WHEN is_promo THEN 1 ELSE 0 END) AS is_promo
  FROM calendar WHERE date IS NOT NULL GROUP BY CAST(date AS DATE)
),
ord AS (
  -- one row per customer x order with purchase lines. Every row-level CTE below scans
  -- the source once: a row-level CTE read twice is materialized, and aggregating it is
  -- ~10x slower than a scan (DuckDB 1.5, 10M rows). Money is summed as DECIMAL (lines
  -- rounded to 1/10000): a parallel DOUBLE sum changes its last bits from run to run.
  SELECT cutoff, customer_id, order_id,
         min(ts) AS first_ts,
         max(ts) AS last_ts,
         CAST(sum(CAST(quantity * price AS DECIMAL(18, 4))) AS DOUBLE) AS amount,
         sum(quantity) AS units,
         CAST(sum(CAST(CASE WHEN ts >= cutoff - INTERVAL '90' DAY THEN quantity * price ELSE 0 END
                       AS DECIMAL(18, 4))) AS DOUBLE)
           AS amount_90d,
         CAST(sum(CAST(CASE WHEN ts >= cutoff - INTERVAL '180' DAY AND ts < cutoff - INTERVAL '90' DAY
                  THEN quantity * price ELSE 0 END AS DECIMAL(18, 4))) AS DOUBLE) AS amount_prev_90d,
         max(CASE WHEN ts >= cutoff - INTERVAL '90' DAY THEN 1 ELSE 0 END) AS in_90d
  FROM transactions
  WHERE customer_id IS NOT NULL AND quantity > 0
  GROUP BY cutoff, customer_id, order_id
),
cust AS (
  SELECT cutoff, customer_id,
         min(first_ts) AS first_ts,
         max(last_ts) AS last_ts,
         count(*) AS frequency,
         CAST(sum(CAST(amount AS DECIMAL(18, 4))) AS DOUBLE) AS monetary,
         sum(units) AS units,
         CAST(sum(CAST(amount_90d AS DECIMAL(18, 4))) AS DOUBLE) AS spend_90d,
         CAST(sum(CAST(amount_prev_90d AS DECIMAL(18, 4))) AS DOUBLE) AS spend_prev_90d,
         sum(in_90d) AS orders_90d
  FROM ord
  GROUP BY cutoff, customer_id
),
variety AS (
  SELECT cutoff, customer_id,
         count(DISTINCT sku) AS n_skus,
         count(DISTINCT category) AS category_diversity
  FROM (
    SELECT DISTINCT t.cutoff, t.customer_id, t.sku, COALESCE(t.category, c.category) AS category
    FROM transactions t
    LEFT JOIN cat c ON c.sku = t.sku
    WHERE t.customer_id IS NOT NULL AND t.quantity > 0
  ) AS pairs
  GROUP BY cutoff, customer_id
),
ret AS (
  SELECT cutoff, customer_id, count(*) AS n_returns, sum(-quantity) AS returned_units
  FROM transactions
  WHERE customer_id IS NOT NULL AND quantity < 0
  GROUP BY cutoff, customer_id
),
promo AS (
  SELECT o.cutoff, o.customer_id,
         avg(CASE WHEN cal.is_promo = 1 THEN 1.0 ELSE 0.0 END) AS promo_share
  FROM ord o
  LEFT JOIN cal ON cal.date = CAST(o.first_ts AS DATE)
  GROUP BY o.cutoff, o.customer_id
),
buy_days AS (
  SELECT DISTINCT cutoff, customer_id, CAST(ts AS DATE) AS day
  FROM transactions
  WHERE customer_id IS NOT NULL AND quantity > 0
),
gaps AS (
  SELECT cutoff, customer_id,
         date_diff('day',
                   LAG(day) OVER (PARTITION BY cutoff, customer_id ORDER BY day),
                   day) AS gap
  FROM buy_days
),
ipi AS (
  SELECT cutoff, customer_id,
         avg(gap) AS ipi_mean_days,
         -- from exact integer sums: stddev_samp's parallel Welford states change the last bits
         CASE WHEN count(gap) > 1 THEN
           sqrt(greatest((CAST(sum(gap * gap) AS DOUBLE)
                          - CAST(sum(gap) AS DOUBLE) * CAST(sum(gap) AS DOUBLE) / count(gap))
                         / (count(gap) - 1), 0.0))
         END AS ipi_std_days
  FROM gaps
  GROUP BY cutoff, customer_id
)
SELECT c.cutoff, c.customer_id,
       date_diff('day', c.last_ts, c.cutoff) AS recency_days,
       c.frequency,
       c.monetary,
       c.monetary / c.frequency AS avg_order_value,
       date_diff('day', c.first_ts, c.cutoff) AS tenure_days,
       COALESCE(r.n_returns, 0) AS n_returns,
       COALESCE(r.returned_units, 0.0) AS returned_units,
       COALESCE(r.returned_units, 0.0) / c.units AS return_rate,
       i.ipi_mean_days,
       i.ipi_std_days,
       c.spend_90d,
       c.spend_prev_90d,
       CASE WHEN c.spend_90d + c.spend_prev_90d > 0
            THEN (c.spend_90d - c.spend_prev_90d) / (c.spend_90d + c.spend_prev_90d)
       END AS spend_trend,
       c.orders_90d,
       v.category_diversity,
       p.promo_share,
       v.n_skus
FROM cust c
JOIN variety v ON v.cutoff = c.cutoff AND v.customer_id = c.customer_id
LEFT JOIN ret r ON r.cutoff = c.cutoff AND r.customer_id = c.customer_id
LEFT JOIN promo p ON p.cutoff = c.cutoff AND p.customer_id = c.customer_id
LEFT JOIN ipi i ON i.cutoff = c.cutoff AND i.customer_id = c.customer_id
"""

CUSTOMER_RFM = FeatureView(
    name="customer_rfm",
    entity=CUSTOMER,
    sql=_CUSTOMER_RFM_SQL,
    description="Recency, frequency, monetary value and purchase behaviour per customer "
    "(customers with at least one purchase before the cutoff)",
    fill={
        "frequency": 0,
        "monetary": 0.0,
        "n_returns": 0,
        "returned_units": 0.0,
        "spend_90d": 0.0,
        "spend_prev_90d": 0.0,
        "orders_90d": 0,
        "category_diversity": 0,
        "n_skus": 0,
    },
    features=(
        "recency_days: days from the last purchase to the cutoff",
        "frequency: distinct orders with a purchase line",
        "monetary: sum of quantity * price over purchase lines",
        "avg_order_value: monetary / frequency",
        "tenure_days: days from the first purchase to the cutoff",
        "n_returns: number of return lines (quantity < 0)",
        "returned_units: units returned (sum of -quantity over return lines)",
        "return_rate: returned_units / units bought",
        "ipi_mean_days: mean gap in days between consecutive distinct purchase days "
        "(NULL with one purchase day)",
        "ipi_std_days: sample std of those gaps (NULL with fewer than three purchase days)",
        "spend_90d: purchase value in the last 90 days",
        "spend_prev_90d: purchase value 180 to 90 days before the cutoff",
        "spend_trend: (spend_90d - spend_prev_90d) / (spend_90d + spend_prev_90d), in "
        "[-1, 1]; NULL when both are 0",
        "orders_90d: distinct orders with a purchase line in the last 90 days",
        "category_diversity: distinct categories bought (transactions.category, else "
        "catalog.category)",
        "promo_share: share of orders whose first line falls on a calendar promo day",
        "n_skus: distinct SKUs bought",
    ),
)

_CUSTOMER_EVENTS_SQL = """
WITH ev AS (
  SELECT cutoff, customer_id,
         count(*) AS n_events,
         count(CASE WHEN event = 'view' THEN 1 END) AS n_views,
         count(CASE WHEN event = 'cart' THEN 1 END) AS n_carts,
         count(CASE WHEN event = 'purchase' THEN 1 END) AS n_purchases,
         count(DISTINCT sku) AS n_skus,
         count(DISTINCT CAST(ts AS DATE)) AS active_days,
         max(ts) AS last_ts
  FROM events
  WHERE customer_id IS NOT NULL
  GROUP BY cutoff, customer_id
)
SELECT cutoff, customer_id,
       n_events, n_views, n_carts, n_purchases, n_skus, active_days,
       CASE WHEN n_carts > 0 THEN CAST(n_purchases AS DOUBLE) / n_carts END
         AS cart_to_purchase_rate,
       date_diff('day', last_ts, cutoff) AS days_since_last_event
FROM ev
"""

CUSTOMER_EVENTS = FeatureView(
    name="customer_events",
    entity=CUSTOMER,
    sql=_CUSTOMER_EVENTS_SQL,
    lookback=timedelta(days=90),
    description="Browsing behaviour per customer from the event log, last 90 days",
    fill={
        "n_events": 0,
        "n_views": 0,
        "n_carts": 0,
        "n_purchases": 0,
        "n_skus": 0,
        "active_days": 0,
    },
    features=(
        "n_events: events of any type in the last 90 days",
        "n_views: 'view' events",
        "n_carts: 'cart' events",
        "n_purchases: 'purchase' events",
        "n_skus: distinct SKUs the customer interacted with",
        "active_days: distinct days with an event",
        "cart_to_purchase_rate: n_purchases / n_carts, NULL without carts (can exceed 1)",
        "days_since_last_event: days from the last event to the cutoff",
    ),
)
