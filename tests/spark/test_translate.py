"""The DuckDB -> Spark SQL translation: each rule, its refusals, and DuckDB's meaning kept."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from ecomml.exceptions import SqlTranslationError
from ecomml.features.translate import RULES, to_spark_sql


def test_rules_are_few_and_named() -> None:
    names = [n for n, _ in RULES]
    assert len(names) == len(set(names)) <= 10


@pytest.mark.parametrize(
    ("duck", "spark"),
    [
        ("SELECT date_diff('day', a, b) FROM t", "DATEDIFF(CAST(b AS DATE), CAST(a AS DATE))"),
        ("SELECT datediff('day', a, b) FROM t", "DATEDIFF(CAST(b AS DATE), CAST(a AS DATE))"),
        ("SELECT date_diff('week', a, b) FROM t", "DIV 7"),
        (
            "SELECT date_diff('month', a, b) FROM t",
            "TIMESTAMPDIFF(MONTH, DATE_TRUNC('MONTH', a), DATE_TRUNC('MONTH', b))",
        ),
        ("SELECT avg(1.0) FROM t", "AVG(CAST(1.0 AS DOUBLE))"),
        ("SELECT quantile_cont(x, 0.5) FROM t", "PERCENTILE(x, CAST(0.5 AS DOUBLE))"),
        ("SELECT date_part('dow', d) FROM t", "(DAYOFWEEK(d) - 1)"),
        ("SELECT EXTRACT(isodow FROM d) FROM t", "(WEEKDAY(d) + 1)"),
        ("SELECT epoch(ts) FROM t", "UNIX_MICROS(CAST(ts AS TIMESTAMP))"),
        ("SELECT CAST(x AS HUGEINT) FROM t", "CAST(x AS DECIMAL(38, 0))"),
        ("SELECT a / b FROM t", "IF(b = 0, (a) * CAST('Infinity' AS DOUBLE), a / b)"),
        ("SELECT a / NULLIF(b, 0) FROM t", "SELECT a / NULLIF(b, 0) FROM t"),
        ("SELECT CAST(x AS UINTEGER) FROM t", "CAST(x AS BIGINT)"),
        ("SELECT CAST(x AS VARCHAR) FROM t", "CAST(x AS STRING)"),
        ("SELECT CAST(ts AS TIMESTAMP) FROM t", "CAST(ts AS TIMESTAMP_NTZ)"),
    ],
)
def test_rule_output(duck: str, spark: str) -> None:
    assert spark in to_spark_sql(duck)


def test_not_materialized_hint_dropped_and_nested_with_kept() -> None:
    out = to_spark_sql(
        "WITH a AS NOT MATERIALIZED (WITH t AS (SELECT 1 AS x) SELECT * FROM t), "
        "b AS MATERIALIZED (WITH t AS (SELECT 2 AS x) SELECT * FROM t) SELECT * FROM a, b"
    )
    assert "MATERIALIZED" not in out
    assert out.count("WITH t AS") == 2  # not hoisted into one clashing top-level WITH


def test_statements_and_temp_views() -> None:
    out = to_spark_sql('CREATE OR REPLACE TEMP VIEW "v" AS SELECT "a" FROM t; SELECT 1')
    assert out == "CREATE OR REPLACE TEMPORARY VIEW `v` AS SELECT `a` FROM t;\nSELECT 1"


@pytest.mark.parametrize(
    ("sql", "construct"),
    [
        ("SELECT a FROM t ASOF JOIN u ON t.k = u.k AND t.ts >= u.ts", "ASOF JOIN"),
        ("SELECT * FROM t QUALIFY row_number() OVER (ORDER BY a) = 1", "QUALIFY on SELECT *"),
        ("SELECT FROM WHERE (", "SQL that does not parse as DuckDB SQL"),
        ("SELECT date_diff('millennium', a, b) FROM t", "date_diff with unit 'millennium'"),
    ],
)
def test_refused_constructs_name_view_and_construct(sql: str, construct: str) -> None:
    with pytest.raises(SqlTranslationError) as err:
        to_spark_sql(sql, view="my_view")
    assert construct in str(err.value)
    assert str(err.value).startswith("feature view 'my_view': ")
    assert "\n" not in str(err.value)


def test_qualify_with_listed_columns_is_translated() -> None:
    out = to_spark_sql(
        "SELECT a, b FROM t QUALIFY row_number() OVER (PARTITION BY a ORDER BY b) = 1"
    )
    assert "QUALIFY" not in out and "ROW_NUMBER()" in out


_SEMANTICS = """
WITH v AS NOT MATERIALIZED (
  SELECT * FROM (VALUES
    (1, TIMESTAMP '2024-01-31 23:00:00', TIMESTAMP '2024-02-01 01:00:00', DATE '2024-01-07', 1.5),
    (2, TIMESTAMP '2024-03-30 12:00:00', TIMESTAMP '2024-12-31 23:59:59', DATE '2024-01-08', 2.5),
    (3, TIMESTAMP '2023-12-31 23:59:59', TIMESTAMP '2024-01-01 00:00:00', DATE '2024-03-03', 4.0),
    (4, TIMESTAMP '2024-02-29 08:15:30', TIMESTAMP '2024-02-15 06:00:00', DATE '2020-12-31', 7.0)
  ) AS t(id, a, b, d, x)
)
SELECT id,
       date_diff('day', a, b) AS dd_day,
       datediff('day', CAST(a AS DATE), b) AS dd_day_date,
       date_diff('week', a, b) AS dd_week,
       date_diff('month', a, b) AS dd_month,
       date_diff('year', a, b) AS dd_year,
       date_diff('hour', a, b) AS dd_hour,
       date_part('dow', d) AS dow,
       EXTRACT(isodow FROM d) AS isodow,
       EXTRACT(week FROM d) AS iso_week,
       CAST(date_trunc('week', a) AS DATE) AS week_start,
       epoch(a) AS epoch_s,
       CAST(id AS HUGEINT) * 3 AS huge,
       avg(CASE WHEN x > 2 THEN 1.0 ELSE 0.0 END) OVER () AS share,
       quantile_cont(x, 0.5) OVER (ORDER BY id ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) AS med3,
       quantile_cont(x, 0.9) OVER (ORDER BY id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
         AS q90_before,
       a - INTERVAL '90' DAY AS a_minus_90d,
       b - INTERVAL '7776000 seconds' AS b_minus_90d,
       x / 0 AS div_zero,
       -x / (id - id) AS div_neg,
       (x - x) / 0 AS div_nan,
       x / NULLIF(id - id, 0) AS div_guarded
FROM v
ORDER BY id
"""


def test_translation_keeps_duckdb_meaning(spark) -> None:  # noqa: ANN001
    """One query exercising every rule: Spark gives DuckDB's values."""
    from ecomml.features.spark import SparkEngine

    want = duckdb.sql(_SEMANTICS).df()
    got = SparkEngine(spark).query(_SEMANTICS)
    assert list(got.columns) == list(want.columns)
    assert got["share"].dtype == np.float64  # not a Decimal object column
    for col in want.columns:
        g, w = got[col], want[col]
        if pd.api.types.is_datetime64_any_dtype(w):
            assert pd.to_datetime(g).tolist() == pd.to_datetime(w).tolist(), col
        else:
            np.testing.assert_allclose(
                g.to_numpy(float), w.to_numpy(float), rtol=1e-12, err_msg=col, equal_nan=True
            )


def test_untranslated_function_rejected_by_spark_is_clear(spark) -> None:  # noqa: ANN001
    from ecomml.features.spark import SparkEngine

    with pytest.raises(SqlTranslationError, match="Spark rejects the translated SQL") as err:
        SparkEngine(spark).query("SELECT list_cosine_similarity([1.0], [2.0]) AS s")
    assert "\n" not in str(err.value)
