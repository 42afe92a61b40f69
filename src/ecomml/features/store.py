"""FeatureStore: computes feature views as of a cutoff, point-in-time training frames, materialization.

Every source is restricted to ``ts < cutoff`` (and the view's lookback) before a view
sees it, so no view can read the future. Many cutoffs are served by one set-based
query: each source is joined to the set of requested cutoffs.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ecomml._validation import check_cutoff, parse_timestamps, require_columns
from ecomml.exceptions import (
    ConfigError,
    DataQualityError,
    SchemaError,
    SqlTranslationError,
    UnknownEntityError,
    short_repr,
)
from ecomml.features.engines import DuckDBEngine, Engine, quote_ident, sql_literal
from ecomml.features.view import FeatureView

if TYPE_CHECKING:
    from ecomml.data.shop import ShopData

__all__ = [
    "CANONICAL_COLUMNS",
    "TIME_FILTERED",
    "FeatureStore",
    "store_from_files",
    "store_from_shop",
]

#: Required columns of each canonical table, with the SQL type an empty stand-in gets.
CANONICAL_COLUMNS: dict[str, dict[str, str]] = {
    "transactions": {
        "order_id": "VARCHAR",
        "customer_id": "VARCHAR",
        "sku": "VARCHAR",
        "ts": "TIMESTAMP",
        "quantity": "DOUBLE",
        "price": "DOUBLE",
    },
    "events": {"customer_id": "VARCHAR", "sku": "VARCHAR", "ts": "TIMESTAMP", "event": "VARCHAR"},
    "catalog": {
        "sku": "VARCHAR",
        "category": "VARCHAR",
        "price": "DOUBLE",
        "cost": "DOUBLE",
        "active": "BOOLEAN",
    },
    "calendar": {"date": "DATE", "event": "VARCHAR", "is_promo": "BOOLEAN"},
}
#: Optional transaction columns that views may use; filled with NULL when absent.
OPTIONAL_COLUMNS: dict[str, dict[str, str]] = {
    "transactions": {
        "channel": "VARCHAR",
        "region": "VARCHAR",
        "category": "VARCHAR",
        "return_of": "VARCHAR",
    },
}
TIME_FILTERED = ("transactions", "events")
_SQL_CAST = {"string": "VARCHAR", "date": "DATE", "timestamp": "TIMESTAMP", "int64": "BIGINT"}


_INTEGER = (
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
)
_NUMERIC = (*_INTEGER, "FLOAT", "DOUBLE", "DECIMAL", "REAL")
_ACCEPTED = {
    "DOUBLE": _NUMERIC,
    "TIMESTAMP": ("TIMESTAMP", "DATE"),
    "DATE": ("DATE", "TIMESTAMP"),
    "BOOLEAN": ("BOOLEAN", *_NUMERIC),
    "VARCHAR": ("VARCHAR", *_NUMERIC),
}


def _check_types(table: str, source: str, cols: Mapping[str, str]) -> None:
    """Refuse columns whose type cannot be the canonical one (e.g. text timestamps)."""
    bad = []
    for col, want in CANONICAL_COLUMNS[table].items():
        got = cols[col].upper()
        if got == "NULL" or got.startswith(_ACCEPTED[want]):
            continue
        bad.append(f"'{col}' is {cols[col]} (needs {want})")
    if bad:
        raise SchemaError(
            f"{table} ({source}): column {'; '.join(bad)}. Read raw exports with "
            "`ecomml data convert FILE OUT.parquet` first, which parses and validates them.",
            columns=list(cols),
        )


def _src(table: str) -> str:
    return f"_src_{table}"


class FeatureStore:
    """Named feature views over the canonical tables, computed point-in-time by an engine.

    Parameters
    ----------
    engine : Engine or None
        The SQL engine; None creates an in-memory :class:`DuckDBEngine`.
    views : iterable of FeatureView or None
        The views this store serves; None means the built-in views.
    calendar_horizon_days : int
        When no calendar is registered, the built-in promotion calendar is generated up
        to this many days past the latest cutoff (promotions are planned in advance).

    Examples
    --------
    >>> store = FeatureStore()                                   # doctest: +SKIP
    >>> store.register("transactions", "transactions.parquet")   # doctest: +SKIP
    >>> store.get_features(["customer_rfm"], cutoff="2011-09-01")  # doctest: +SKIP
    """

    def __init__(
        self,
        engine: Engine | None = None,
        views: Iterable[FeatureView] | None = None,
        *,
        calendar_horizon_days: int = 400,
    ) -> None:
        self.engine = engine if engine is not None else DuckDBEngine()
        if views is None:
            from ecomml.features.views import builtin_views

            views = builtin_views()
        self.views: dict[str, FeatureView] = {}
        for v in views:
            if v.name in self.views:
                raise ConfigError(f"two feature views are named {v.name!r}")
            self.views[v.name] = v
        self.calendar_horizon_days = calendar_horizon_days
        self.sources: dict[str, str] = {}
        self._registered: set[str] = set()
        self._calendar_span: tuple[pd.Timestamp, pd.Timestamp] | None = None

    # ------------------------------------------------------------------ sources
    def register(self, table: str, data: pd.DataFrame | str | os.PathLike[str]) -> None:
        """Register a canonical table (``transactions``, ``events``, ``catalog`` or ``calendar``).

        ``data`` is a canonical frame or a Parquet/CSV path read in place. Required
        columns are checked here; values are checked by :mod:`ecomml.data` when read.
        """
        if table not in CANONICAL_COLUMNS:
            raise UnknownEntityError(
                f"unknown table {table!r}; the feature store reads {sorted(CANONICAL_COLUMNS)}"
            )
        raw = f"_raw_{table}"
        self.engine.register(raw, data)
        self.sources[table] = "<frame>" if isinstance(data, pd.DataFrame) else str(data)
        cols = dict(self.engine.describe(f"SELECT * FROM {quote_ident(raw)}"))
        missing = [c for c in CANONICAL_COLUMNS[table] if c not in cols]
        if missing:
            from ecomml._validation import did_you_mean

            hints = [f"'{m}'" + did_you_mean(m, list(cols)) for m in missing]
            raise SchemaError(
                f"{table} ({self.sources[table]}) is missing column(s) {', '.join(hints)}; "
                f"found {short_repr(list(cols))}. Convert it with `ecomml data convert`.",
                missing=missing,
                columns=list(cols),
            )
        _check_types(table, self.sources[table], cols)
        select = [
            f"CAST({quote_ident(c)} AS {t}) AS {quote_ident(c)}"
            for c, t in CANONICAL_COLUMNS[table].items()
        ]
        for c, t in OPTIONAL_COLUMNS.get(table, {}).items():
            expr = quote_ident(c) if c in cols else "NULL"
            select.append(f"CAST({expr} AS {t}) AS {quote_ident(c)}")
        self.engine.execute(
            f"CREATE OR REPLACE TEMP VIEW {_src(table)} AS SELECT {', '.join(select)} "
            f"FROM {quote_ident(raw)}"
        )
        self._registered.add(table)
        if table == "calendar":
            self._calendar_span = None

    def _empty(self, table: str) -> None:
        cols = {**CANONICAL_COLUMNS[table], **OPTIONAL_COLUMNS.get(table, {})}
        select = ", ".join(f"CAST(NULL AS {t}) AS {quote_ident(c)}" for c, t in cols.items())
        self.engine.execute(
            f"CREATE OR REPLACE TEMP VIEW {_src(table)} AS SELECT {select} WHERE 1 = 0"
        )

    def prepare(self, max_cutoff: pd.Timestamp) -> None:
        """Register the time-filtered sources (and the calendar) for cutoffs up to ``max_cutoff``."""
        if "transactions" not in self._registered:
            raise SchemaError(
                "no transactions registered; call store.register('transactions', path_or_frame)"
            )
        for table in ("events", "catalog"):
            if table not in self._registered:
                self._empty(table)
        first = self.engine.query(
            f"SELECT min(ts) AS lo FROM {_src('transactions')} WHERE ts < {sql_literal(max_cutoff)}"
        )["lo"].iloc[0]
        lo = (pd.Timestamp(first) if pd.notna(first) else max_cutoff).normalize()
        days = pd.date_range(lo, max_cutoff - pd.Timedelta(microseconds=1), freq="D")
        self.engine.register(
            "_dates_all", pd.DataFrame({"date": days.date.astype("datetime64[s]")})
        )
        self.engine.execute(
            f"CREATE OR REPLACE TEMP VIEW {_src('dates')} AS "
            "SELECT CAST(date AS DATE) AS date FROM _dates_all"
        )
        if "calendar" not in self._registered:
            horizon = max_cutoff + pd.Timedelta(days=self.calendar_horizon_days)
            span = (lo, horizon)
            if self._calendar_span is None or not (
                self._calendar_span[0] <= lo and self._calendar_span[1] >= horizon
            ):
                from ecomml.data.calendar import promo_calendar

                cal = promo_calendar(lo - pd.Timedelta(days=self.calendar_horizon_days), horizon)
                self.engine.register("_raw_calendar", cal)
                self.engine.execute(
                    f"CREATE OR REPLACE TEMP VIEW {_src('calendar')} AS SELECT "
                    "CAST(date AS DATE) AS date, CAST(event AS VARCHAR) AS event, "
                    "CAST(is_promo AS BOOLEAN) AS is_promo FROM _raw_calendar"
                )
                self._calendar_span = span

    # ------------------------------------------------------------------ SQL building
    def view(self, name: str) -> FeatureView:
        """Return the view called ``name``."""
        try:
            return self.views[name]
        except KeyError:
            from ecomml._validation import closest_name

            near = closest_name(name, self.views)
            hint = f" Did you mean {near!r}?" if near else ""
            raise UnknownEntityError(
                f"unknown feature view {name!r}.{hint} Available: {sorted(self.views)}"
            ) from None

    def view_sql(
        self, view: FeatureView, cutoffs_sql: str, *, literal: pd.Timestamp | None = None
    ) -> str:
        """The full query of ``view`` for the cutoffs that ``cutoffs_sql`` selects.

        ``literal`` is set when there is exactly one cutoff, to filter by a constant.
        """
        lb = dlb = ""
        if view.lookback is not None:
            start = f"c.cutoff - INTERVAL '{int(view.lookback / timedelta(seconds=1))} seconds'"
            lb = f" AND s.ts >= {start}"
            dlb = f" AND CAST(d.date AS TIMESTAMP) >= {start}"
        # Source CTEs are inlined where the engine allows it: a CTE that a view reads twice
        # is otherwise materialized, and aggregating a materialized CTE is ~10x slower than
        # scanning Parquet (measured in DuckDB 1.5 at 10M rows).
        nm = self.engine.inline_cte
        ctes = [f"cutoffs AS ({cutoffs_sql})"]
        for t in TIME_FILTERED:
            if literal is not None:
                # One cutoff: a plain filter lets the engine push it into the Parquet scan.
                lit = sql_literal(literal)
                llb = lb.replace("c.cutoff", lit)
                ctes.append(
                    f"{t} AS{nm} (SELECT s.*, {lit} AS cutoff FROM {_src(t)} s "
                    f"WHERE s.ts < {lit}{llb})"
                )
            else:
                ctes.append(
                    f"{t} AS{nm} (SELECT s.*, c.cutoff FROM {_src(t)} s "
                    f"JOIN cutoffs c ON s.ts < c.cutoff{lb})"
                )
        ctes.append(
            f"dates AS{nm} (SELECT d.date, c.cutoff FROM {_src('dates')} d "
            f"JOIN cutoffs c ON d.date < CAST(c.cutoff AS DATE){dlb})"
        )
        ctes.append(f"catalog AS (SELECT * FROM {_src('catalog')})")
        ctes.append(f"calendar AS (SELECT * FROM {_src('calendar')})")
        return (
            "WITH "
            + ",\n".join(ctes)
            + f"\nSELECT * FROM (\n{view.sql.strip().rstrip(';')}\n) AS _v"
        )

    def feature_columns(self, view: FeatureView) -> list[tuple[str, str]]:
        """The view's feature columns (name, SQL type), excluding cutoff and keys."""
        self._ensure_sources_for_describe()
        sql = self.view_sql(view, "SELECT TIMESTAMP '2000-01-01' AS cutoff")
        try:
            cols = self.engine.describe(sql)
        except SqlTranslationError as err:  # another engine's dialect: name the view
            raise err.in_view(view.name) from err
        names = [c for c, _ in cols]
        missing = [k for k in ("cutoff", *view.entity.keys) if k not in names]
        if missing:
            raise SchemaError(
                f"feature view {view.name!r} must return columns cutoff and "
                f"{', '.join(view.entity.keys)}; it lacks {missing}. Add them to its SELECT "
                "and GROUP BY."
            )
        return [(c, t) for c, t in cols if c not in ("cutoff", *view.entity.keys)]

    def _ensure_sources_for_describe(self) -> None:
        for table in ("transactions", "events", "catalog", "calendar"):
            if table not in self._registered and not self.engine.has_relation(_src(table)):
                self._empty(table)
        if not self.engine.has_relation(_src("dates")):
            self.engine.execute(
                f"CREATE OR REPLACE TEMP VIEW {_src('dates')} AS SELECT CAST(NULL AS DATE) AS date "
                "WHERE 1 = 0"
            )

    # ------------------------------------------------------------------ public API
    def get_features(
        self,
        views: Sequence[str] | str,
        *,
        cutoff: Any,
        keys: pd.DataFrame | None = None,
    ) -> pd.DataFrame:
        """Features of ``views`` as of ``cutoff`` (exclusive: only ``ts < cutoff`` is used).

        Parameters
        ----------
        views : str or sequence of str
            View names. Views of different entities can be combined when ``keys`` holds
            every entity's key columns.
        cutoff : date-like
            The as-of time.
        keys : DataFrame or None
            Rows to return features for (key columns, any extra columns are kept). Keys
            a view has no data for get the view's fill values (counts 0), not a dropped
            row. None returns every key the views know as of the cutoff.

        Returns
        -------
        DataFrame
            ``cutoff``, the keys, then ``{view}__{feature}`` columns.
        """
        names = [views] if isinstance(views, str) else list(views)
        cut = check_cutoff(cutoff)
        if keys is not None:
            spine = keys.copy()
            if "cutoff" in spine.columns:
                spine = spine.drop(columns="cutoff")
            spine.insert(0, "cutoff", cut)
            return self._join(names, spine, single_cutoff=cut)
        return self._join(names, None, single_cutoff=cut)

    def training_frame(
        self,
        labels: pd.DataFrame,
        views: Sequence[str] | str,
        *,
        cutoff_col: str = "cutoff",
    ) -> pd.DataFrame:
        """Join each label row's features as of that row's own cutoff (point-in-time join).

        ``labels`` holds ``cutoff_col``, the key columns of every view, and any label
        columns. One set-based query serves all cutoffs. Row order is preserved.
        """
        names = [views] if isinstance(views, str) else list(views)
        if cutoff_col not in labels.columns:
            raise SchemaError(
                f"labels need a {cutoff_col!r} column (the as-of time of each row); found "
                f"{short_repr(list(labels.columns))}",
                missing=[cutoff_col],
                columns=list(labels.columns),
            )
        spine = labels.rename(columns={cutoff_col: "cutoff"}).copy()
        spine["cutoff"] = parse_timestamps(spine["cutoff"], name=f"labels column {cutoff_col!r}")
        if spine["cutoff"].isna().any():
            bad = list(np.flatnonzero(spine["cutoff"].isna().to_numpy())[:5] + 1)
            raise DataQualityError(f"labels column {cutoff_col!r} is empty in rows {bad}")
        uniq = spine["cutoff"].unique()
        out = self._join(
            names, spine, single_cutoff=pd.Timestamp(uniq[0]) if len(uniq) == 1 else None
        )
        return out.rename(columns={"cutoff": cutoff_col})

    def _join(
        self,
        names: list[str],
        spine: pd.DataFrame | None,
        *,
        single_cutoff: pd.Timestamp | None,
    ) -> pd.DataFrame:
        if not names:
            raise UnknownEntityError("no feature views requested")
        vs = [self.view(n) for n in names]
        if single_cutoff is not None:
            max_cut = single_cutoff
        elif spine is not None:
            max_cut = pd.Timestamp(spine["cutoff"].max())
        else:  # pragma: no cover - callers always pass one of the two
            raise ValueError("either a single cutoff or a spine of cutoffs is required")
        self.prepare(max_cut)
        if spine is not None:
            require_columns(
                spine.columns,
                sorted({k for v in vs for k in v.entity.keys}),
                lambda missing: (
                    f"keys for views {names} need column(s) {missing}; found "
                    f"{short_repr([c for c in spine.columns if c != 'cutoff'])}"
                ),
            )
            spine = spine.reset_index(drop=True)
            spine["_row"] = np.arange(len(spine), dtype="int64")
            self.engine.register("_spine_raw", spine)
            types = {k: t for v in vs for k, t in v.entity.key_types.items()}
            sel = []
            for c in spine.columns:
                if c == "cutoff":
                    sel.append("CAST(cutoff AS TIMESTAMP) AS cutoff")
                elif c in types:
                    sel.append(
                        f"CAST({quote_ident(c)} AS {_SQL_CAST[types[c]]}) AS {quote_ident(c)}"
                    )
                else:
                    sel.append(quote_ident(c))
            self.engine.execute(
                f"CREATE OR REPLACE TEMP VIEW _spine AS SELECT {', '.join(sel)} FROM _spine_raw"
            )
        if single_cutoff is not None:
            cutoffs_sql = f"SELECT {sql_literal(single_cutoff)} AS cutoff"
        else:
            cutoffs_sql = "SELECT DISTINCT cutoff FROM _spine"

        ctes: list[str] = []
        feats: list[tuple[FeatureView, list[tuple[str, str]]]] = []
        for i, v in enumerate(vs):
            ctes.append(f"_v{i} AS (\n{self.view_sql(v, cutoffs_sql, literal=single_cutoff)}\n)")
            feats.append((v, self.feature_columns(v)))
        int_cols = [
            f"{v.name}__{c}" for v, cols in feats for c, t in cols if t.upper() in _INT_TYPES
        ]
        if spine is None and len(vs) == 1:
            v, cols = feats[0]
            keys = ", ".join(quote_ident(k) for k in v.entity.keys)
            renamed = ", ".join(
                f"{quote_ident(c)} AS {quote_ident(f'{v.name}__{c}')}" for c, _t in cols
            )
            sql = f"WITH {ctes[0]}\nSELECT cutoff, {keys}, {renamed} FROM _v0 ORDER BY {keys}"
            return _normalise(self.engine.query(sql), vs, int_cols)
        if spine is None:
            ents = {v.entity.keys for v in vs}
            if len(ents) > 1:
                raise SchemaError(
                    f"views {names} have different entities {sorted(ents)}; pass keys= with "
                    "every key column, or ask for one entity at a time"
                )
            key_list = list(vs[0].entity.keys)
            kcols = ", ".join(["cutoff", *map(quote_ident, key_list)])
            union = " UNION ".join(f"SELECT {kcols} FROM _v{i}" for i in range(len(vs)))
            ctes.append(f"_spine AS ({union})")
            base_cols = ["s.cutoff", *(f"s.{quote_ident(k)}" for k in key_list)]
            order = ", ".join(f"s.{quote_ident(k)}" for k in key_list)
        else:
            base_cols = ["s.*"]
            order = "s._row"
        selects = list(base_cols)
        joins = []
        for i, (v, cols) in enumerate(feats):
            on = " AND ".join(
                [f"s.cutoff = _v{i}.cutoff"]
                + [f"s.{quote_ident(k)} = _v{i}.{quote_ident(k)}" for k in v.entity.keys]
            )
            joins.append(f"LEFT JOIN _v{i} ON {on}")
            for c, _t in cols:
                ref = f"_v{i}.{quote_ident(c)}"
                if c in v.fill:
                    # fill only keys the view has no row for; a real NULL in a row stays NULL
                    ref = (
                        f"CASE WHEN _v{i}.cutoff IS NULL THEN {sql_literal(v.fill[c])} "
                        f"ELSE {ref} END"
                    )
                selects.append(f"{ref} AS {quote_ident(f'{v.name}__{c}')}")
        sql = (
            "WITH "
            + ",\n".join(ctes)
            + f"\nSELECT {', '.join(selects)} FROM _spine s\n"
            + "\n".join(joins)
            + f"\nORDER BY {order}"
        )
        out = self.engine.query(sql)
        if "_row" in out.columns:
            out = out.drop(columns="_row")
        return _normalise(out, vs, int_cols)

    def materialize(
        self,
        views: Sequence[str] | str,
        *,
        cutoff: Any,
        out_dir: str | os.PathLike[str],
    ) -> dict[str, Any]:
        """Write each view as of ``cutoff`` to Parquet with a manifest; see :mod:`ecomml.features.materialize`."""
        from ecomml.features.materialize import materialize_views

        return materialize_views(self, views, cutoff=cutoff, out_dir=Path(out_dir))

    def describe_views(self) -> pd.DataFrame:
        """One row per view: name, entity, keys, lookback, SQL hash, description."""
        rows = [
            {
                "view": v.name,
                "entity": v.entity.name,
                "keys": ", ".join(v.entity.keys),
                "lookback": "all history" if v.lookback is None else str(v.lookback),
                "sql_hash": v.sql_hash[:12],
                "description": v.description,
            }
            for v in self.views.values()
        ]
        return pd.DataFrame(rows)

    def describe_features(self, name: str) -> pd.DataFrame:
        """One row per feature column of view ``name``: ``column`` (``{view}__{feature}``),
        SQL ``type`` and ``meaning`` from the view's notes (``"lag_1, lag_7: ..."``
        documents several columns)."""
        v = self.view(name)
        docs: dict[str, str] = {}
        for note in v.features:
            names, _, meaning = note.partition(": ")
            docs.update(dict.fromkeys((n.strip() for n in names.split(", ")), meaning))
        rows = [(f"{v.name}__{c}", t, docs.get(c, "")) for c, t in self.feature_columns(v)]
        return pd.DataFrame(rows, columns=["column", "type", "meaning"])

    def describe_materialized(self, out_dir: str | os.PathLike[str]) -> pd.DataFrame:
        """One row per view and cutoff materialized in ``out_dir``: view, cutoff (day),
        rows, SQL hash and whether this store's definition of the view is the ``same``
        or ``CHANGED`` (its features would be refused)."""
        from ecomml.features.materialize import read_manifest

        views = read_manifest(out_dir).get("views", {})
        rows = [(name, cut[:10], e["rows"], e["sql_hash"][:12],
                 "same" if name in self.views and self.views[name].sql_hash == e["sql_hash"]
                 else "CHANGED")
                for name, by_cut in sorted(views.items()) for cut, e in sorted(by_cut.items())]  # fmt: skip
        cols = ["view", "cutoff", "rows", "sql_hash", "definition"]
        return pd.DataFrame(rows, columns=cols)


_INT_TYPES = set(_INTEGER)


def store_from_shop(shop: ShopData, engine: Engine | None = None) -> FeatureStore:
    """A store with the built-in views and every table of ``shop`` registered.

    The features layer builds a store from the data layer's :class:`ShopData`; the data
    layer never reaches up to the store.
    """
    store = FeatureStore(engine)
    for table in ("transactions", "events", "catalog", "calendar"):
        frame = getattr(shop, table)
        if frame is not None:
            store.register(table, frame)
    return store


def store_from_files(
    files: Mapping[str, str | os.PathLike[str] | None], engine: Engine | None = None
) -> FeatureStore:
    """A store with the built-in views over canonical tables read in place (``files``:
    table -> Parquet file or folder, or a source the engine reads, such as a Spark table):
    nothing is loaded into memory first."""
    store = FeatureStore(engine)
    for table, path in files.items():
        if path is not None:
            store.register(table, path)
    return store


def _normalise(
    out: pd.DataFrame, vs: Sequence[FeatureView], int_cols: Sequence[str]
) -> pd.DataFrame:
    """Stable dtypes: string keys as str objects, dates as datetime64, integer features as
    nullable ``Int64`` whether or not this particular result has a null."""
    for c in int_cols:
        if c in out.columns:
            out[c] = out[c].astype("Int64")
    return _normalise_keys(out, vs)


def _normalise_keys(out: pd.DataFrame, vs: Sequence[FeatureView]) -> pd.DataFrame:
    types: Mapping[str, str] = {k: t for v in vs for k, t in v.entity.key_types.items()}
    for k, t in types.items():
        if k not in out.columns:
            continue
        if t == "string":
            out[k] = out[k].astype(object).where(out[k].notna(), None)
        elif t in ("date", "timestamp"):
            out[k] = pd.to_datetime(out[k])
    if "cutoff" in out.columns:
        out["cutoff"] = pd.to_datetime(out["cutoff"])
    return out
