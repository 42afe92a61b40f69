"""Translate feature-view SQL from DuckDB's dialect to Spark SQL.

Views are written once, in DuckDB SQL. :func:`to_spark_sql` parses them with
`sqlglot <https://sqlglot.com>`_ (``read="duckdb"``), applies the few rules below for
what sqlglot maps differently from DuckDB's meaning, and writes Spark SQL. SQL that has
no Spark equivalent raises :class:`~ecomml.exceptions.SqlTranslationError` naming the
view and the construct, instead of a result that silently differs.

Rules (each one is tested against DuckDB's result in ``tests/spark``):

=====================  ===================================================================
rule                   why
=====================  ===================================================================
``not_materialized``   ``WITH x AS [NOT] MATERIALIZED (...)`` is a DuckDB hint; Spark has
                       no such syntax (it decides itself), so the hint is dropped.
``date_diff``          DuckDB ``date_diff('day', a, b)`` counts calendar-day boundaries;
                       sqlglot writes Spark ``DATEDIFF(DAY, a, b)``, which counts whole
                       24-hour periods. Day (and week = days / 7) go through
                       ``DATEDIFF(CAST(b AS DATE), CAST(a AS DATE))``; month, quarter,
                       year, hour, minute and second through ``TIMESTAMPDIFF`` between
                       the truncated values, which counts boundaries too.
``decimal_literal``    ``1.0`` is a DECIMAL in both engines, but DuckDB's ``avg`` of a
                       DECIMAL is a DOUBLE while Spark's stays DECIMAL (object columns in
                       pandas). Decimal literals become DOUBLE (``1.0D``).
``division``           ``a / 0`` is IEEE in DuckDB (``inf``, ``-inf``, ``NaN`` for 0/0) and
                       NULL in Spark: ``a / b`` becomes ``IF(b = 0, a * inf, a / b)``
                       (views that guard with ``NULLIF(b, 0)`` get NULL on both).
``quantile``           ``quantile_cont(x, p)`` becomes ``PERCENTILE(x, p)`` (exact, linear
                       interpolation, also valid over a window frame), not
                       ``PERCENTILE_CONT``, which Spark only has as an ordered-set aggregate.
``day_of_week``        DuckDB ``dow`` is 0 = Sunday and ``isodow`` 1 = Monday; Spark's
                       ``dow`` is 1 = Sunday. Both become ``DAYOFWEEK`` / ``WEEKDAY``
                       arithmetic.
``epoch``              DuckDB ``epoch(ts)`` is fractional seconds; sqlglot writes Spark
                       ``UNIX_TIMESTAMP``, whole seconds. It becomes
                       ``UNIX_MICROS(...) / 1e6``.
``unsigned_types``     DuckDB's unsigned and 128-bit integers become the narrowest signed
                       Spark type that holds every value (``HUGEINT`` -> ``DECIMAL(38,0)``).
``nested_with``        sqlglot hoists a nested ``WITH`` to the top (Hive has no nested
                       CTEs); Spark has them, and hoisting clashes names when the store
                       nests one view's query inside another, so they stay nested.
=====================  ===================================================================

Refused (no faithful Spark form): ``ASOF`` joins, ``QUALIFY`` on a ``SELECT *`` (the
rewrite would leak its helper column into the result), and anything sqlglot itself
reports as unsupported for Spark.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping

from ecomml.exceptions import SparkUnavailableError, SqlTranslationError

__all__ = ["RULES", "created_views", "to_spark_sql"]

_DAY_UNITS = {"DAY", "DAYS", "D"}
_WEEK_UNITS = {"WEEK", "WEEKS", "W"}
_TRUNC_UNITS = {
    "MONTH": "MONTH",
    "MONTHS": "MONTH",
    "QUARTER": "QUARTER",
    "QUARTERS": "QUARTER",
    "YEAR": "YEAR",
    "YEARS": "YEAR",
    "HOUR": "HOUR",
    "HOURS": "HOUR",
    "MINUTE": "MINUTE",
    "MINUTES": "MINUTE",
    "SECOND": "SECOND",
    "SECONDS": "SECOND",
}
_PLAIN_UNITS = {"MILLISECOND": "MILLISECOND", "MICROSECOND": "MICROSECOND"}


def _sqlglot():  # noqa: ANN202 - the module
    try:
        import sqlglot
    except ImportError as err:
        raise SparkUnavailableError(
            f"sqlglot is not installed: pip install 'ecomml[spark]' ({err})"
        ) from err
    return sqlglot


def _refuse(view: str, construct: str, hint: str) -> SqlTranslationError:
    where = f"feature view {view!r}: " if view else ""
    return SqlTranslationError(
        f"{where}{construct} cannot be translated to Spark SQL; {hint}",
        view=view,
        construct=construct,
    )


# ---------------------------------------------------------------------- rules
def _not_materialized(node):  # noqa: ANN001, ANN202 - sqlglot nodes
    from sqlglot import exp

    if isinstance(node, exp.CTE) and node.args.get("materialized") is not None:
        node.set("materialized", None)
    return node


def _as_date(node):  # noqa: ANN001, ANN202
    from sqlglot import exp

    return exp.Cast(this=node.copy(), to=exp.DataType.build("DATE"))


def _date_diff(node):  # noqa: ANN001, ANN202
    from sqlglot import exp

    if not isinstance(node, exp.DateDiff):
        return node
    unit = (node.text("unit") or "DAY").upper()
    end, start = node.this, node.expression
    if unit in _DAY_UNITS or unit in _WEEK_UNITS:
        days = exp.Anonymous(this="DATEDIFF", expressions=[_as_date(end), _as_date(start)])
        if unit in _DAY_UNITS:
            return days
        return exp.Paren(this=exp.IntDiv(this=days, expression=exp.Literal.number(7)))
    if unit in _TRUNC_UNITS:
        u = _TRUNC_UNITS[unit]

        def trunc(x):  # noqa: ANN001, ANN202
            return exp.Anonymous(this="DATE_TRUNC", expressions=[exp.Literal.string(u), x.copy()])

        return exp.Anonymous(
            this="TIMESTAMPDIFF", expressions=[exp.Var(this=u), trunc(start), trunc(end)]
        )
    if unit in _PLAIN_UNITS:
        return exp.Anonymous(
            this="TIMESTAMPDIFF",
            expressions=[exp.Var(this=_PLAIN_UNITS[unit]), start.copy(), end.copy()],
        )
    raise _refuse("", f"date_diff with unit {unit.lower()!r}", "use day, month or year")


def _decimal_literal(node):  # noqa: ANN001, ANN202
    from sqlglot import exp

    if isinstance(node, exp.Literal) and not node.is_string:
        text = node.this
        if "." in text and "e" not in text.lower():
            return exp.Cast(this=node.copy(), to=exp.DataType.build("DOUBLE"))
    return node


def _division(node):  # noqa: ANN001, ANN202
    from sqlglot import exp

    if not isinstance(node, exp.Div):
        return node
    # the operands first: transform() does not revisit the inside of a replaced node
    num = node.this.transform(_division)
    den = node.expression.transform(_division)
    nonzero_literal = isinstance(den, exp.Literal) and not den.is_string and float(den.this) != 0
    guarded = isinstance(den, exp.Nullif) and den.expression.name == "0"  # NULLIF(x, 0)
    if nonzero_literal or guarded:
        return exp.Div(this=num, expression=den)
    inf = exp.Cast(this=exp.Literal.string("Infinity"), to=exp.DataType.build("DOUBLE"))
    by_zero = exp.Mul(this=exp.Paren(this=num.copy()), expression=inf)
    return exp.Paren(
        this=exp.If(
            this=exp.EQ(this=den.copy(), expression=exp.Literal.number(0)),
            true=by_zero,
            false=exp.Div(this=num.copy(), expression=den.copy()),
        )
    )


def _quantile(node):  # noqa: ANN001, ANN202
    from sqlglot import exp

    if isinstance(node, exp.PercentileCont) and node.expression is not None:
        return exp.Anonymous(
            this="PERCENTILE", expressions=[node.this.copy(), node.expression.copy()]
        )
    return node


def _dow(part: str, value):  # noqa: ANN001, ANN202
    from sqlglot import exp

    if part == "DOW":  # 0 = Sunday
        return exp.Paren(
            this=exp.Sub(
                this=exp.Anonymous(this="DAYOFWEEK", expressions=[value.copy()]),
                expression=exp.Literal.number(1),
            )
        )
    if part == "ISODOW":  # 1 = Monday
        return exp.Paren(
            this=exp.Add(
                this=exp.Anonymous(this="WEEKDAY", expressions=[value.copy()]),
                expression=exp.Literal.number(1),
            )
        )
    return None


def _day_of_week(node):  # noqa: ANN001, ANN202
    from sqlglot import exp

    if isinstance(node, exp.Extract):
        out = _dow(node.this.name.upper(), node.expression)
        return out if out is not None else node
    if isinstance(node, exp.Anonymous) and node.name.lower() in {"date_part", "datepart"}:
        args = node.expressions
        if len(args) == 2 and isinstance(args[0], exp.Literal) and args[0].is_string:
            out = _dow(args[0].this.upper(), args[1])
            return out if out is not None else node
    return node


def _epoch(node):  # noqa: ANN001, ANN202
    from sqlglot import exp

    if isinstance(node, exp.TimeToUnix):
        micros = exp.Anonymous(
            this="UNIX_MICROS",
            expressions=[exp.Cast(this=node.this.copy(), to=exp.DataType.build("TIMESTAMP"))],
        )
        return exp.Paren(
            this=exp.Div(
                this=micros,
                expression=exp.Cast(
                    this=exp.Literal.number(1000000), to=exp.DataType.build("DOUBLE")
                ),
            )
        )
    return node


def _unsigned_types(node):  # noqa: ANN001, ANN202
    from sqlglot import exp

    if not isinstance(node, exp.DataType):
        return node
    t = exp.DataType.Type
    wider = {
        t.UTINYINT: "SMALLINT",
        t.USMALLINT: "INT",
        t.UINT: "BIGINT",
        t.UBIGINT: "DECIMAL(20, 0)",
        t.INT128: "DECIMAL(38, 0)",
        t.UINT128: "DECIMAL(38, 0)",
    }
    if node.this in wider:
        return exp.DataType.build(wider[node.this], dialect="spark")
    return node


#: The translation rules, in the order they run: (name, node transformer).
RULES: tuple[tuple[str, Callable], ...] = (
    ("not_materialized", _not_materialized),
    ("date_diff", _date_diff),
    ("division", _division),
    ("quantile", _quantile),
    ("day_of_week", _day_of_week),
    ("epoch", _epoch),
    ("decimal_literal", _decimal_literal),
    ("unsigned_types", _unsigned_types),
)


def _check_refused(tree, view: str) -> None:  # noqa: ANN001
    from sqlglot import exp

    for join in tree.find_all(exp.Join):
        words = " ".join(str(join.args.get(k) or "") for k in ("method", "kind", "side"))
        if "ASOF" in words.upper():
            raise _refuse(
                view,
                "ASOF JOIN",
                "rewrite it as a join on the key plus a window (e.g. max(ts) per key "
                "with ts <= the other side's time)",
            )
    for select in tree.find_all(exp.Select):
        if select.args.get("qualify") is not None and any(
            isinstance(e, exp.Star) or (isinstance(e, exp.Column) and e.is_star)
            for e in select.expressions
        ):
            raise _refuse(
                view,
                "QUALIFY on SELECT *",
                "list the selected columns explicitly, or filter a window column in an outer query",
            )


@functools.cache
def _spark_dialect():  # noqa: ANN202 - a sqlglot Dialect class
    """sqlglot's Spark dialect, keeping nested ``WITH`` clauses where they are.

    sqlglot hoists nested CTEs to the top for Hive, which lacks them; Spark has had them
    since 3.0, and hoisting would clash names when the store nests one view's query
    (with its own ``transactions`` CTE) inside another query.
    """
    from sqlglot.dialects.spark import Spark

    class EcommlSpark(Spark):
        class Generator(Spark.Generator):
            EXPRESSIONS_WITHOUT_NESTED_CTES: set = set()

    return EcommlSpark


def _rename_tables(tree, tables: Mapping[str, str]) -> None:  # noqa: ANN001
    """Point unqualified table references (not CTE names) at their Spark names."""
    from sqlglot import exp

    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    for table in tree.find_all(exp.Table):
        name = table.name
        if table.args.get("db") or name in ctes or name not in tables:
            continue
        table.set("this", exp.to_identifier(tables[name]))


def created_views(sql: str) -> list[str]:
    """Names of the views a DuckDB statement creates (``CREATE [OR REPLACE] ... VIEW name``)."""
    sqlglot = _sqlglot()
    from sqlglot import exp
    from sqlglot.errors import ParseError

    try:
        trees = sqlglot.parse(sql, read="duckdb")
    except ParseError:
        return []
    names = []
    for tree in trees:
        if isinstance(tree, exp.Create) and str(tree.args.get("kind", "")).upper() == "VIEW":
            target = tree.this
            table = target if isinstance(target, exp.Table) else target.find(exp.Table)
            if table is not None:
                names.append(table.name)
    return names


def to_spark_sql(sql: str, *, view: str = "", tables: Mapping[str, str] | None = None) -> str:
    """Translate one DuckDB SQL statement (or several, ``;``-separated) to Spark SQL.

    Parameters
    ----------
    sql : str
        DuckDB-dialect SQL.
    view : str
        The feature view it comes from, named in errors.
    tables : mapping or None
        Table name -> the name to use on Spark (unqualified references that are not
        CTE names are renamed), e.g. to keep several engines' temp views apart.

    Returns
    -------
    str
        Spark SQL (statements joined by ``;\\n``).

    Raises
    ------
    SqlTranslationError
        The SQL does not parse as DuckDB SQL, or uses a construct Spark has no faithful
        form of.

    Examples
    --------
    >>> to_spark_sql("SELECT date_diff('day', a, b) AS d FROM t")
    'SELECT DATEDIFF(CAST(b AS DATE), CAST(a AS DATE)) AS d FROM t'
    """
    sqlglot = _sqlglot()
    from sqlglot.errors import ErrorLevel, ParseError, UnsupportedError

    try:
        trees = sqlglot.parse(sql, read="duckdb")
    except ParseError as err:
        first = str(err).strip().splitlines()[0]
        raise _refuse(view, "SQL that does not parse as DuckDB SQL", first) from err
    out = []
    for tree in trees:
        if tree is None:
            continue
        _check_refused(tree, view)
        if tables:
            _rename_tables(tree, tables)
        try:
            for _name, rule in RULES:
                tree = tree.transform(rule, copy=False)
        except SqlTranslationError as err:
            if view and not err.view:
                raise err.in_view(view) from err
            raise
        try:
            out.append(tree.sql(dialect=_spark_dialect(), unsupported_level=ErrorLevel.RAISE))
        except UnsupportedError as err:
            first = str(err).strip().splitlines()[0]
            raise _refuse(view, first, "rewrite the view without it") from err
    return ";\n".join(out)
