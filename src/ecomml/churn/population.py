"""What churn scoring needs to know about the whole customer population.

Most of a scored row depends on one customer's own history and the fitted model
(:meth:`ChurnModel.score_customers`). Two parts compare a customer with everyone scored:

* the R, F and M quantile scores (hence ``rfm_score`` and the member ``tier``);
* the high value-at-risk cut of the marketing ``action`` (the top 20 % by default).

Both reduce to a handful of numbers, :class:`PopulationCuts`: per score the value at
which it steps up (quantile scores are monotone step functions of the value), the
median that fills a missing value, and the value-at-risk cut. They are computed once,
either from a pandas frame of every customer (:func:`population_cuts`) or by any
feature-store engine over a relation of them (:func:`query_population_cuts`, one SQL
query that DuckDB runs as written and Spark after translation), and applied to any
subset of customers by :func:`apply_population_cuts`. So a partition of customers gets
exactly the scores the whole list would give it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ecomml._validation import check_frame
from ecomml.churn.tiers import RFM_BINS, TierRules, member_tiers, next_actions, quantile_scores

if TYPE_CHECKING:
    from ecomml.features.engines import Engine

__all__ = [
    "HIGH_VALUE_QUANTILE",
    "POPULATION_COLUMNS",
    "RFM_SPEC",
    "PopulationCuts",
    "apply_population_cuts",
    "population_cuts",
    "population_cuts_sql",
    "query_population_cuts",
]

#: (score column, value column, higher value is better) of the R, F and M scores
RFM_SPEC: tuple[tuple[str, str, bool], ...] = (
    ("r_score", "recency_days", False),
    ("f_score", "frequency", True),
    ("m_score", "monetary", True),
)
#: the scored columns that depend on the population (added by apply_population_cuts)
POPULATION_COLUMNS: tuple[str, ...] = (
    "tier",
    "action",
    "r_score",
    "f_score",
    "m_score",
    "rfm_score",
)
#: "high value at risk" is the top 1 - HIGH_VALUE_QUANTILE of the customers scored
HIGH_VALUE_QUANTILE = 0.8

_VAR = "value_at_risk"
_FILL = -1  # level of the rows holding a score's fill value
_N = "_customers"


@dataclass(frozen=True)
class PopulationCuts:
    """The population-level inputs of churn scoring.

    Attributes
    ----------
    edges : per score column, ``bins - 1`` non-decreasing values: a value's score is
        1 + the number of edges at or below it (``bins`` minus that number for recency,
        where lower is better); ``inf`` where no customer reaches the step.
    fill : per score column, the population median that replaces a missing value.
    high_value_threshold : the ``value_at_risk`` quantile above which value at risk is high.
    customers : how many customers the cuts come from.
    bins : score levels (scores 1..bins).
    """

    edges: Mapping[str, tuple[float, ...]]
    fill: Mapping[str, float]
    high_value_threshold: float
    customers: int
    bins: int = RFM_BINS


def _float(values: pd.Series) -> pd.Series:
    return pd.to_numeric(values, errors="coerce").astype("float64")


def _edges(levels: pd.DataFrame, score: str, better: bool, bins: int) -> tuple[float, ...]:
    """Step values of one score from its ``level -> smallest value`` rows."""
    lv = levels.loc[(levels["name"] == score) & (levels["level"] != _FILL)]
    level = lv["level"].to_numpy("int64")
    value = lv["value"].to_numpy("float64")
    out = []
    for j in range(1, bins):
        hit = level >= j + 1 if better else level <= bins - j
        out.append(float(value[hit].min()) if hit.any() else float("inf"))
    return tuple(out)


def _from_levels(
    levels: pd.DataFrame, *, threshold: float, customers: int, bins: int
) -> PopulationCuts:
    fill_rows = levels.loc[levels["level"] == _FILL].set_index("name")["value"]
    return PopulationCuts(
        edges={s: _edges(levels, s, better, bins) for s, _c, better in RFM_SPEC},
        fill={s: float(fill_rows.get(s, 0.0)) for s, _c, _b in RFM_SPEC},
        high_value_threshold=float(threshold),
        customers=int(customers),
        bins=bins,
    )


def population_cuts(
    customers: pd.DataFrame,
    *,
    bins: int = RFM_BINS,
    high_value_quantile: float = HIGH_VALUE_QUANTILE,
) -> PopulationCuts:
    """The cuts of every customer in ``customers`` (one row each, with
    ``recency_days, frequency, monetary, value_at_risk``), in pandas.

    The scores are :func:`~ecomml.churn.tiers.rfm_scores` (average ranks of ties) and the
    threshold ``value_at_risk.fillna(0).quantile(high_value_quantile)``.
    """
    check_frame(customers, required=[c for _s, c, _b in RFM_SPEC] + [_VAR], name="customers")
    parts = []
    for score, col, better in RFM_SPEC:
        values = _float(customers[col])
        fill = float(values.median()) if values.notna().any() else 0.0
        level = quantile_scores(values, bins, better)
        lv = pd.DataFrame({"value": values.fillna(fill).to_numpy(), "level": level})
        lv = lv.groupby("level", as_index=False)["value"].min()
        fill_row = pd.DataFrame({"level": [_FILL], "value": [fill]})
        parts.append(pd.concat([lv, fill_row], ignore_index=True).assign(name=score))
    var = _float(customers[_VAR]).fillna(0.0)
    thr = float(var.quantile(high_value_quantile)) if len(var) else 0.0
    levels = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    return _from_levels(levels, threshold=thr, customers=len(customers), bins=bins)


def population_cuts_sql(
    relation: str, *, bins: int = RFM_BINS, high_value_quantile: float = HIGH_VALUE_QUANTILE
) -> str:
    """The SQL form of :func:`population_cuts` over ``relation`` (DuckDB dialect; the
    Spark engine translates it): rows ``name, level, value`` that
    :func:`query_population_cuts` turns into :class:`PopulationCuts`.

    Ranks come from counts per distinct value (``lt`` below it, ``eq`` equal to it):
    pandas' average rank as a share of ``n`` is ``(lt + (eq + 1) / 2) / n``, computed in
    the same floating-point steps, so ties score exactly as in pandas.
    """
    bins = int(bins)
    q = float(high_value_quantile)
    raw = "\n  UNION ALL\n  ".join(
        f"SELECT '{s}' AS name, {str(better).upper()} AS better, "
        f"CASE WHEN isnan(CAST({c} AS DOUBLE)) THEN NULL ELSE CAST({c} AS DOUBLE) END AS v "
        f"FROM {relation}"
        for s, c, better in RFM_SPEC
    )
    cum = "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW"
    return f"""
WITH raw AS (
  {raw}
),
present AS (
  SELECT name, v, count(*) AS eq FROM raw WHERE v IS NOT NULL GROUP BY name, v
),
present_cum AS (
  SELECT name, v, eq,
         sum(eq) OVER (PARTITION BY name ORDER BY v {cum}) - eq AS lt,
         sum(eq) OVER (PARTITION BY name) AS m
  FROM present
),
fills AS (
  -- pandas' median: the middle value, or the mean of the two middle ones
  SELECT name, (min(v) + max(v)) / 2 AS fill
  FROM present_cum
  WHERE (lt < floor((m + 1) / 2) AND floor((m + 1) / 2) <= lt + eq)
     OR (lt < floor((m + 2) / 2) AND floor((m + 2) / 2) <= lt + eq)
  GROUP BY name
),
filled AS (
  SELECT r.name, r.better, COALESCE(r.v, f.fill, CAST(0 AS DOUBLE)) AS v
  FROM raw r LEFT JOIN fills f ON f.name = r.name
),
counts AS (
  SELECT name, better, v, count(*) AS eq FROM filled GROUP BY name, better, v
),
ranked AS (
  SELECT name, better, v,
         (CAST(sum(eq) OVER (PARTITION BY name ORDER BY v {cum}) - eq AS DOUBLE)
          + CAST(eq + 1 AS DOUBLE) / 2)
         / CAST(sum(eq) OVER (PARTITION BY name) AS DOUBLE) AS pct,
         CAST(sum(eq) OVER (PARTITION BY name) AS DOUBLE) AS n
  FROM counts
),
levels AS (
  SELECT name, v,
         CAST(least(greatest(ceil((CASE WHEN better THEN pct ELSE (1 - pct) + 1 / n END)
                                  * {bins}), 1), {bins}) AS BIGINT) AS level
  FROM ranked
),
var_counts AS (
  SELECT v, count(*) AS eq
  FROM (SELECT COALESCE(CASE WHEN isnan(CAST({_VAR} AS DOUBLE)) THEN NULL
                             ELSE CAST({_VAR} AS DOUBLE) END, CAST(0 AS DOUBLE)) AS v
        FROM {relation}) AS x
  GROUP BY v
),
var_pos AS (
  SELECT v, eq, sum(eq) OVER (ORDER BY v {cum}) - eq AS lt, sum(eq) OVER () AS n
  FROM var_counts
),
var_at AS (
  SELECT v, lt, eq, n,
         floor(CAST({q!r} AS DOUBLE) * CAST(n - 1 AS DOUBLE)) AS lo,
         ceil(CAST({q!r} AS DOUBLE) * CAST(n - 1 AS DOUBLE)) AS hi
  FROM var_pos
)
SELECT name, level, min(v) AS value FROM levels GROUP BY name, level
UNION ALL
SELECT name, CAST({_FILL} AS BIGINT) AS level, fill AS value FROM fills
UNION ALL
SELECT '{_VAR}' AS name, CAST(0 AS BIGINT) AS level, v AS value FROM var_at
WHERE lt <= lo AND lo < lt + eq
UNION ALL
SELECT '{_VAR}' AS name, CAST(1 AS BIGINT) AS level, v AS value FROM var_at
WHERE lt <= hi AND hi < lt + eq
UNION ALL
SELECT '{_N}' AS name, CAST(0 AS BIGINT) AS level, CAST(count(*) AS DOUBLE) AS value
FROM {relation}
"""


def query_population_cuts(
    engine: Engine,
    relation: str,
    *,
    bins: int = RFM_BINS,
    high_value_quantile: float = HIGH_VALUE_QUANTILE,
) -> PopulationCuts:
    """:func:`population_cuts` of the customers in ``relation`` (registered on ``engine``:
    DuckDB, or Spark for a distributed scorer), computed where the rows are."""
    rows = engine.query(
        population_cuts_sql(relation, bins=bins, high_value_quantile=high_value_quantile)
    )
    rows["level"] = rows["level"].astype("int64")
    rows["value"] = rows["value"].astype("float64")
    n = int(rows.loc[rows["name"] == _N, "value"].sum())
    var = rows.loc[rows["name"] == _VAR].set_index("level")["value"]
    thr = 0.0
    if n:
        # pandas' linear interpolation between the two neighbouring order statistics
        pos = high_value_quantile * (n - 1)
        lo = int(np.floor(pos))
        a, b = float(var.loc[0]), float(var.loc[1])
        thr = float(np.quantile(np.array([a, b]), pos - lo))
    return _from_levels(
        rows.loc[~rows["name"].isin([_N, _VAR])], threshold=thr, customers=n, bins=bins
    )


def apply_population_cuts(
    customers: pd.DataFrame, cuts: PopulationCuts, *, tier_rules: TierRules | None = None
) -> pd.DataFrame:
    """``customers`` with :data:`POPULATION_COLUMNS` added: the R, F, M and RFM scores, the
    tier and the action, as the population of ``cuts`` sets them."""
    check_frame(customers, required=[c for _s, c, _b in RFM_SPEC] + [_VAR], name="customers")
    out = customers.copy()
    for score, col, better in RFM_SPEC:
        values = _float(customers[col]).fillna(cuts.fill[score]).to_numpy()
        above = np.searchsorted(np.asarray(cuts.edges[score], "float64"), values, side="right")
        out[score] = (above + 1 if better else cuts.bins - above).astype("int64")
    out["rfm_score"] = out["r_score"] + out["f_score"] + out["m_score"]
    monetary = _float(customers["monetary"])
    out["tier"] = member_tiers(out, monetary=monetary, rules=tier_rules).to_numpy()
    out["action"] = next_actions(out, high_value_threshold=cuts.high_value_threshold)
    return out
