"""Canonical table schemas and :func:`validate_table`, the one gate every input passes.

Every ecomml module reads four canonical tables: ``transactions``, ``events``,
``catalog`` and ``calendar``. Their columns and dtypes are declared here as data
(:class:`TableSchema` / :class:`ColumnSpec`), and :func:`validate_table` turns any
frame whose columns carry the canonical names into a frame with exactly the
canonical dtypes, or raises an error naming the file, the column, the rows and
the fix.

Canonical dtypes: identifiers and text are pandas ``"string"`` (never numbers:
``"00001"`` keeps its zeros, ``17850.0`` becomes ``"17850"``), timestamps are
timezone-naive ``datetime64[ns]``, amounts are ``float64`` and flags are ``bool``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from ecomml._validation import check_unique_columns, closest_name, did_you_mean
from ecomml.dates import DateFormat, parse_date_column
from ecomml.exceptions import (
    ConfigError,
    DataQualityError,
    SchemaError,
    format_rows,
    short_repr,
)

__all__ = [
    "CALENDAR",
    "CATALOG",
    "EVENTS",
    "EVENT_TYPES",
    "SCHEMAS",
    "STRING_DTYPE",
    "TRANSACTIONS",
    "ColumnSpec",
    "TableSchema",
    "get_schema",
    "validate_table",
]

#: The pandas dtype of every canonical id and text column.
STRING_DTYPE = pd.StringDtype("python")
# Text is processed with Arrow kernels (fast, vectorised) and handed out as STRING_DTYPE,
# which DuckDB scans without warnings.
_ARROW = pd.StringDtype("pyarrow")

#: Allowed values of ``events.event``.
EVENT_TYPES: tuple[str, ...] = ("view", "cart", "purchase")

# Common spellings of the event types in public logs (RetailRocket, GA exports).
_EVENT_ALIASES = {
    "addtocart": "cart",
    "add_to_cart": "cart",
    "add-to-cart": "cart",
    "transaction": "purchase",
    "order": "purchase",
    "buy": "purchase",
    "pageview": "view",
    "page_view": "view",
    "detail": "view",
}

_TRUE = {"true", "t", "yes", "y", "1", "1.0"}
_FALSE = {"false", "f", "no", "n", "0", "0.0"}
_NA_TEXT = {"", "nan", "na", "n/a", "null", "none", "<na>", "nat"}
_TZ_PATTERN = r"\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(Z|z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)$"
_TZ_TEST = _TZ_PATTERN.replace("(Z|", "(?:Z|")
_ID_COLUMNS = frozenset({"order_id", "customer_id", "sku", "return_of"})

Dtype = Literal["string", "float64", "datetime64[ns]", "date", "bool"]


@dataclass(frozen=True)
class ColumnSpec:
    """One column of a canonical table.

    Parameters
    ----------
    name : str
        Canonical column name.
    dtype : {"string", "float64", "datetime64[ns]", "date", "bool"}
        Canonical type; ``"date"`` is ``datetime64[ns]`` at midnight.
    required : bool
        Whether the column must be present in the input.
    nullable : bool
        Whether missing values are allowed.
    fill : Any
        For optional columns: the value used when the column is absent. ``None``
        means an absent optional column is simply left out of the output.
    allowed : tuple of str, optional
        The only values allowed (after lower-casing), e.g. the event types.
    description : str
        What the column means.
    """

    name: str
    dtype: Dtype
    required: bool = True
    nullable: bool = False
    fill: Any = None
    allowed: tuple[str, ...] | None = None
    description: str = ""

    @property
    def pandas_dtype(self) -> Any:
        """The pandas dtype this column has after validation."""
        if self.dtype == "string":
            return STRING_DTYPE
        if self.dtype == "date":
            return np.dtype("datetime64[ns]")
        return np.dtype(self.dtype)


@dataclass(frozen=True)
class TableSchema:
    """A canonical table: its name, columns and unique key.

    Parameters
    ----------
    name : str
        Table name, e.g. ``"transactions"``.
    columns : tuple of ColumnSpec
        The columns, in output order.
    key : tuple of str
        Columns that must be unique together (empty: no key check).
    description : str
        What one row means.
    """

    name: str
    columns: tuple[ColumnSpec, ...]
    key: tuple[str, ...] = ()
    description: str = ""
    _by_name: dict[str, ColumnSpec] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {c.name: c for c in self.columns})

    @property
    def names(self) -> list[str]:
        """All column names, in order."""
        return [c.name for c in self.columns]

    @property
    def required(self) -> list[str]:
        """Names of the required columns."""
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> ColumnSpec:
        """Return the spec of column ``name``."""
        return self._by_name[name]

    def dtypes(self) -> dict[str, Any]:
        """Map column name to its canonical pandas dtype."""
        return {c.name: c.pandas_dtype for c in self.columns}

    def empty_frame(self) -> pd.DataFrame:
        """A zero-row frame with the required columns and canonical dtypes."""
        cols = [c for c in self.columns if c.required or c.fill is not None]
        return pd.DataFrame({c.name: pd.Series([], dtype=c.pandas_dtype) for c in cols})


TRANSACTIONS = TableSchema(
    name="transactions",
    description="One order line: a sale (quantity > 0) or a return (quantity < 0).",
    columns=(
        ColumnSpec("order_id", "string", description="Order (invoice) id."),
        ColumnSpec(
            "customer_id", "string", nullable=True, description="Customer id; may be missing."
        ),
        ColumnSpec("sku", "string", description="Product code."),
        ColumnSpec("ts", "datetime64[ns]", description="Order time, shop-local, no time zone."),
        ColumnSpec("quantity", "float64", description="Units; negative for a return."),
        ColumnSpec("price", "float64", description="Unit price."),
        ColumnSpec("channel", "string", required=False, nullable=True),
        ColumnSpec("region", "string", required=False, nullable=True),
        ColumnSpec("category", "string", required=False, nullable=True),
        ColumnSpec("description", "string", required=False, nullable=True),
        ColumnSpec(
            "return_of",
            "string",
            required=False,
            nullable=True,
            fill=pd.NA,
            description="For a return: the order_id of the sale line it reverses.",
        ),
    ),
)

EVENTS = TableSchema(
    name="events",
    description="One browsing event of a customer on a product.",
    columns=(
        ColumnSpec("customer_id", "string"),
        ColumnSpec("sku", "string"),
        ColumnSpec("ts", "datetime64[ns]"),
        ColumnSpec("event", "string", allowed=EVENT_TYPES, description="view, cart or purchase."),
    ),
)

CATALOG = TableSchema(
    name="catalog",
    description="One product.",
    key=("sku",),
    columns=(
        ColumnSpec("sku", "string"),
        ColumnSpec("category", "string", nullable=True),
        ColumnSpec("price", "float64", description="List price."),
        ColumnSpec("cost", "float64", required=False, nullable=True, fill=np.nan),
        ColumnSpec("active", "bool", required=False, fill=True),
        ColumnSpec(
            "launched_at",
            "datetime64[ns]",
            required=False,
            nullable=True,
            description="When the SKU went on sale: a SKU launched before a cutoff but not yet "
            "sold can be recommended as new then (left out when absent).",
        ),
        ColumnSpec(
            "pack_group",
            "string",
            required=False,
            nullable=True,
            description="Packs of one product (e.g. the 1, 6 and 12 bottle packs of one wine): "
            "price recommendations keep a bigger pack no dearer per unit.",
        ),
        ColumnSpec(
            "pack_size",
            "float64",
            required=False,
            nullable=True,
            fill=np.nan,
            description="Units in the pack, with pack_group.",
        ),
    ),
)

CALENDAR = TableSchema(
    name="calendar",
    description="One event on one day; a day may carry several events.",
    key=("date", "event"),
    columns=(
        ColumnSpec("date", "date"),
        ColumnSpec("event", "string"),
        ColumnSpec("is_promo", "bool"),
    ),
)

#: The canonical tables by name.
SCHEMAS: dict[str, TableSchema] = {s.name: s for s in (TRANSACTIONS, EVENTS, CATALOG, CALENDAR)}


def get_schema(table: str | TableSchema) -> TableSchema:
    """Return the :class:`TableSchema` for a table name (or pass a schema through).

    Raises
    ------
    SchemaError
        If ``table`` is not a canonical table name.
    """
    if isinstance(table, TableSchema):
        return table
    if table not in SCHEMAS:
        hint = did_you_mean(str(table), SCHEMAS)
        raise SchemaError(f"unknown table {table!r}{hint}; choose one of {', '.join(SCHEMAS)}.")
    return SCHEMAS[table]


# ----------------------------------------------------------------------------- helpers


def _where(schema: TableSchema, source: str | None) -> str:
    return f"{source} ({schema.name})" if source else f"the {schema.name} table"


def _rows(mask: np.ndarray | pd.Series) -> list[int]:
    """1-based data row numbers where ``mask`` is true."""
    return [int(i) + 1 for i in np.flatnonzero(np.asarray(mask, dtype=bool))]


def _examples(values: pd.Series, mask: np.ndarray | pd.Series, limit: int = 5) -> str:
    picked = values[np.asarray(mask, dtype=bool)].head(limit)
    return short_repr([v if isinstance(v, str) else str(v) for v in picked.tolist()])


def _bad(
    where: str, col: str, what: str, mask: Any, values: pd.Series, fix: str
) -> DataQualityError:
    rows = _rows(mask)
    return DataQualityError(
        f"{where}: column '{col}' has {what} at data {format_rows(rows)} (header not "
        f"counted): {_examples(values, mask)}. {fix}",
        bad_rows=rows,
    )


def _as_text(s: pd.Series) -> pd.Series:
    """Object/string values as a ``string`` series with blanks and NA spellings as NA."""
    txt = s.astype(_ARROW).str.strip()
    return txt.mask(txt.str.lower().isin(_NA_TEXT))


def _to_string(s: pd.Series, *, strip: bool) -> pd.Series:
    """Convert ids/text to Arrow-backed strings; integral floats lose their ``.0``."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        s = s.astype(object)
    if pd.api.types.is_bool_dtype(s.dtype):
        out = s.astype(_ARROW)
    elif pd.api.types.is_float_dtype(s.dtype):
        vals = s.to_numpy(dtype="float64", na_value=np.nan)
        finite = np.isfinite(vals)
        integral = finite & (np.floor(np.where(finite, vals, 0.0)) == vals) & (np.abs(vals) < 2**53)
        res = np.full(len(vals), None, dtype=object)
        res[integral] = vals[integral].astype("int64").astype(str)
        other = finite & ~integral
        res[other] = [repr(float(v)) for v in vals[other]]
        out = pd.Series(res, index=s.index, dtype=_ARROW)
    elif pd.api.types.is_numeric_dtype(s.dtype):
        out = s.astype(_ARROW)
    elif pd.api.types.is_datetime64_any_dtype(s.dtype):
        out = s.dt.strftime("%Y-%m-%d %H:%M:%S").astype(_ARROW)
    else:
        kind = pd.api.types.infer_dtype(s, skipna=True)
        if kind in ("string", "empty"):
            out = s.astype(_ARROW)
        else:
            # Mixed cells, e.g. Excel ids read as 536365 (int) and "C536379" (str), or
            # floats such as 17850.0 among strings: format floats without ".0".
            obj = s.astype(object)
            is_float = obj.map(lambda v: isinstance(v, float | np.floating))
            out = obj.astype(_ARROW)
            if is_float.any():
                out[is_float] = _to_string(obj[is_float].astype("float64"), strip=False)
    if strip:
        out = out.str.strip()
        out = out.mask(out == "")
        # Ids written by a float column ("17850.0" in a CSV saved from pandas): when the
        # whole column is integers with a ".0", drop the ".0" as for float columns.
        vals = out.dropna()
        if (
            len(vals)
            and vals.str.endswith(".0").any()
            and vals.str.fullmatch(r"-?\d+(?:\.0+)?").all()
        ):
            out = out.str.replace(r"\.0+$", "", regex=True)
    return out


def _to_float(s: pd.Series, col: str, where: str) -> tuple[pd.Series, pd.Series]:
    """Return (float64 values, mask of cells given but not numbers)."""
    if pd.api.types.is_bool_dtype(s.dtype) or pd.api.types.is_datetime64_any_dtype(s.dtype):
        raise SchemaError(
            f"{where}: column '{col}' holds {s.dtype} values, not numbers. Map a numeric "
            f"column to '{col}' (--map YourColumn={col}).",
            columns=[col],
        )
    if pd.api.types.is_numeric_dtype(s.dtype):
        return s.astype("float64"), pd.Series(False, index=s.index)
    txt = _as_text(s)
    obj = txt.astype(object).where(txt.notna(), None)
    num = pd.Series(pd.to_numeric(obj, errors="coerce"), index=s.index, dtype="float64")
    bad = (txt.notna() & num.isna()).to_numpy(dtype=bool)
    if not bad.any():
        # pandas' fast parser can be off by one ulp; Python's float() round-trips exactly.
        with contextlib.suppress(ValueError, TypeError):
            num = obj.astype("float64")
    return num, pd.Series(bad, index=s.index)


def _number_fix(values: pd.Series) -> str:
    sample = " ".join(values.astype(str).tolist())
    if any(c in sample for c in "£$€¥"):
        return "Remove currency symbols so the cells hold plain numbers, e.g. 2.55."
    if "," in sample:
        return (
            "Use a dot as the decimal separator and no thousands separators, e.g. 1234.5 "
            "(semicolon-separated files with decimal commas are converted automatically)."
        )
    return "Fix or remove those cells so the column holds numbers only."


def _to_datetime(s: pd.Series, col: str, where: str, dates: DateFormat | None = None) -> pd.Series:
    """Convert to naive ``datetime64[ns]``; NaT where missing. Raises on bad cells."""
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        # One zone for the whole column: keep the shop-local wall time.
        return s.dt.tz_localize(None).astype("datetime64[ns]")
    if pd.api.types.is_datetime64_dtype(s.dtype):
        try:
            return s.astype("datetime64[ns]")
        except (OverflowError, ValueError, pd.errors.OutOfBoundsDatetime) as err:
            raise DataQualityError(
                f"{where}: column '{col}' has dates outside 1677-09-22..2262-04-11, which "
                "pandas cannot hold; fix or drop those rows."
            ) from err
    if pd.api.types.is_bool_dtype(s.dtype) or pd.api.types.is_numeric_dtype(s.dtype):
        raise SchemaError(
            f"{where}: column '{col}' holds numbers ({s.dtype}), not dates. Store dates as "
            f"text like 2011-12-09 12:50:00, or convert Unix times first, e.g. "
            f"df['{col}'] = pd.to_datetime(df['{col}'], unit='s').",
            columns=[col],
        )
    kind = pd.api.types.infer_dtype(s, skipna=True)
    if kind in ("datetime", "datetime64", "date"):
        try:
            parsed = pd.to_datetime(s, errors="coerce")
        except (ValueError, TypeError):  # e.g. Python datetimes in several zones
            kind = "mixed"
        else:
            if isinstance(parsed.dtype, pd.DatetimeTZDtype):
                parsed = parsed.dt.tz_localize(None)
            return parsed.astype("datetime64[ns]")
    txt = _as_text(s.astype(object) if kind != "string" else s)
    # A vectorised (Arrow RE2) test first; the per-value extract runs only on offsets.
    has_tz = txt.str.contains(_TZ_TEST, regex=True).fillna(False).astype(bool)
    if has_tz.any():
        offs = txt.where(has_tz).str.extract(_TZ_PATTERN, expand=False)
        no_tz = txt.notna() & ~has_tz
        if no_tz.any():
            first_tz, first_no = _rows(has_tz)[0], _rows(no_tz)[0]
            raise DataQualityError(
                f"{where}: column '{col}' mixes times with a UTC offset (e.g. data line "
                f"{first_tz}: {txt[has_tz].iloc[0]!r}) and times without one (e.g. data line "
                f"{first_no}: {txt[no_tz].iloc[0]!r}); {int(no_tz.sum())} of "
                f"{int(txt.notna().sum())} values have no offset. Export all times in one "
                "local time zone without offsets.",
                bad_rows=_rows(no_tz),
            )
        norm = offs[has_tz].str.upper().replace({"Z": "+00:00", "UTC": "+00:00", "GMT": "+00:00"})
        norm = norm.str.replace(r"^([+-]\d{2})(\d{2})$", r"\1:\2", regex=True)
        norm = norm.where(norm.str.len() > 3, norm + ":00")
        kinds = norm.unique().tolist()
        if len(kinds) > 1:
            second = norm != norm.iloc[0]
            raise DataQualityError(
                f"{where}: column '{col}' mixes time zones: UTC offsets {short_repr(kinds)} "
                f"(e.g. data line {_rows(has_tz)[0]}: {txt[has_tz].iloc[0]!r} and data line "
                f"{_rows(second.reindex(txt.index, fill_value=False))[0]}: "
                f"{txt[has_tz][second].iloc[0]!r}). Convert all times to the shop's local time "
                "and drop the offsets.",
                bad_rows=_rows(second.reindex(txt.index, fill_value=False)),
            )
    parsed = parse_date_column(txt, dates, where=where, col=col)
    bad = txt.notna() & parsed.isna()
    if bad.any():
        fix = (
            "Use ISO dates such as 2011-12-09 or 2011-12-09 12:50:00 (dates must lie "
            "between 1677 and 2262), or declare the format with --date-format (e.g. "
            "'%d.%m.%Y %H:%M')."
        )
        if txt[bad].str.fullmatch(r"\d{9,13}(?:\.\d+)?").all():
            fix = (
                "They look like Unix times (seconds or milliseconds since 1970): convert "
                f"them first, e.g. df['{col}'] = pd.to_datetime(df['{col}'], unit='s'), "
                "or export dates as text like 2011-12-09 12:50:00."
            )
        raise _bad(where, col, "values that are not dates", bad, txt, fix)
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        parsed = parsed.dt.tz_localize(None)
    return parsed.astype("datetime64[ns]")


def _to_bool(s: pd.Series, col: str, where: str) -> pd.Series:
    if pd.api.types.is_bool_dtype(s.dtype) and not s.isna().any():
        return s.astype(bool)
    if pd.api.types.is_numeric_dtype(s.dtype):
        vals = s.astype("float64")
        bad = vals.notna() & ~vals.isin([0.0, 1.0])
        if bad.any():
            raise _bad(where, col, "values that are not 0/1", bad, s, "Use true/false or 1/0.")
        return vals.where(vals.notna(), np.nan).map({1.0: True, 0.0: False})
    txt = _as_text(s).str.lower()
    mapped = pd.Series(np.nan, index=s.index, dtype=object)
    mapped[txt.isin(_TRUE).fillna(False).to_numpy(dtype=bool)] = True
    mapped[txt.isin(_FALSE).fillna(False).to_numpy(dtype=bool)] = False
    bad = txt.notna() & mapped.isna()
    if bad.any():
        raise _bad(
            where, col, "values that are not true/false", bad, s, "Use true/false, yes/no or 1/0."
        )
    return mapped


def _check_missing(out: pd.Series, spec: ColumnSpec, where: str, given: pd.Series) -> None:
    if spec.nullable:
        return
    miss = out.isna()
    if miss.any():
        shown = given.astype(object).where(given.notna(), "<empty>").astype(str)
        shown = shown.where(shown.str.strip() != "", "<empty>")
        raise _bad(
            where,
            spec.name,
            "missing values",
            miss,
            shown,
            f"Every row needs a {spec.name}: fill those cells or drop the rows.",
        )


def _coerce(
    s: pd.Series, spec: ColumnSpec, where: str, dates: DateFormat | None = None
) -> pd.Series:
    col = spec.name
    if spec.dtype == "string":
        out = _to_string(s, strip=col in _ID_COLUMNS or spec.allowed is not None)
        if col not in _ID_COLUMNS and spec.allowed is None:
            out = out.mask(out.str.strip() == "")
        if spec.allowed is not None:
            low = out.str.lower().replace(_EVENT_ALIASES)
            bad = out.notna() & ~low.isin(spec.allowed).fillna(False)
            if bad.any():
                raise _bad(
                    where,
                    col,
                    f"values other than {', '.join(spec.allowed)}",
                    bad,
                    out,
                    f"Map your event names to {', '.join(spec.allowed)} before loading.",
                )
            out = low
        _check_missing(out, spec, where, s)
        return out.astype(STRING_DTYPE)
    if spec.dtype == "float64":
        num, bad = _to_float(s, col, where)
        if bad.any():
            given = s[bad.to_numpy()]
            raise _bad(where, col, "text that is not a number", bad, s, _number_fix(given))
        _check_missing(num, spec, where, s)
        inf = np.isinf(num.to_numpy())
        if inf.any():
            raise _bad(
                where,
                col,
                "infinite values",
                inf,
                s,
                "Replace them with real amounts or drop the rows.",
            )
        return num
    if spec.dtype in ("datetime64[ns]", "date"):
        out = _to_datetime(s, col, where, dates)
        _check_missing(out, spec, where, s)
        return out.dt.normalize() if spec.dtype == "date" else out
    # bool
    out = _to_bool(s, col, where)
    _check_missing(out, spec, where, s)
    return out.astype(bool)


def _check_columns(df: pd.DataFrame, schema: TableSchema, where: str) -> list[str]:
    cols = [str(c).strip().lstrip("\ufeff") for c in df.columns]
    check_unique_columns(cols, where=where)
    missing = [c for c in schema.required if c not in cols]
    if missing:
        from ecomml.data.suggest import suggest_mapping

        spare = [c for c in cols if c not in schema.names]
        by_content = suggest_mapping(df.set_axis(cols, axis=1), missing, spare)
        hints, fixes = [], []
        for m in missing:
            near = by_content.get(m)
            if near is None:
                near = closest_name(m, [c for c in spare if c not in by_content.values()])
            hints.append(f"'{m}'" + (f" (did you mean '{near}'?)" if near else ""))
            fixes.append(f"{near or '<your column>'}={m}")
        raise SchemaError(
            f"{where} is missing required column(s) {', '.join(hints)}; found columns "
            f"{short_repr(cols)}. Rename the column(s), or map them: --map {','.join(fixes)} "
            f"(mapping={{'{fixes[0].split('=')[0]}': '{missing[0]}'}} in Python).",
            missing=missing,
            columns=cols,
        )
    return cols


def validate_table(
    df: pd.DataFrame,
    table: str | TableSchema,
    *,
    source: str | None = None,
    max_ts: Any = None,
    extra: Literal["drop", "keep"] = "drop",
    dates: DateFormat | None = None,
) -> pd.DataFrame:
    """Check a frame against a canonical schema and return it with canonical dtypes.

    Values are validated before they are converted, so a bad cell is reported with
    its data row number (1-based, header not counted) and value, not as NaN later.

    Parameters
    ----------
    df : pandas.DataFrame
        Frame whose columns carry canonical names (rename with an adapter first).
    table : str or TableSchema
        ``"transactions"``, ``"events"``, ``"catalog"``, ``"calendar"`` or a schema.
    source : str, optional
        File name used in error messages.
    max_ts : datetime-like, optional
        Latest allowed ``ts``; rows after it raise (future timestamps). ``None``
        disables the check: the library never reads the clock.
    extra : {"drop", "keep"}
        What to do with columns the schema does not know.
    dates : DateFormat, optional
        How the file writes dates (``format`` or ``dayfirst``); by default year-first
        dates are read and day/month dates only when the column proves their order.

    Returns
    -------
    pandas.DataFrame
        A new frame: schema columns in schema order (required ones, the optional
        ones present, and optional ones with a ``fill``), then kept extras; a
        fresh RangeIndex.

    Raises
    ------
    SchemaError
        Missing or duplicate columns, or a column of an impossible type.
    DataQualityError
        No data rows, values that cannot be converted, missing values in
        non-nullable columns, mixed time zones, future timestamps, duplicate keys.

    Examples
    --------
    >>> import pandas as pd
    >>> raw = pd.DataFrame({"order_id": [1], "customer_id": [17850.0], "sku": ["85123A"],
    ...                     "ts": ["2010-12-01 08:26"], "quantity": ["6"], "price": [2.55]})
    >>> out = validate_table(raw, "transactions")
    >>> out.loc[0, "customer_id"], str(out["ts"].dtype)
    ('17850', 'datetime64[ns]')
    """
    schema = get_schema(table)
    where = _where(schema, source)
    if not isinstance(df, pd.DataFrame):
        raise SchemaError(f"{where} must be a pandas DataFrame, got {type(df).__name__}.")
    cols = _check_columns(df, schema, where)
    frame = df.copy(deep=False)
    frame.columns = cols
    frame = frame.reset_index(drop=True)
    if len(frame) == 0:
        raise DataQualityError(
            f"{where} has no data rows (only a header). Export the data again, including rows."
        )
    out: dict[str, pd.Series] = {}
    for spec in schema.columns:
        if spec.name in frame.columns:
            out[spec.name] = _coerce(frame[spec.name], spec, where, dates)
        elif spec.fill is not None:
            out[spec.name] = pd.Series(spec.fill, index=frame.index).astype(spec.pandas_dtype)
    if extra == "keep":
        for c in cols:
            if c not in schema.names:
                out[c] = frame[c]
    result = pd.DataFrame(out, index=frame.index)
    if max_ts is not None and "ts" in result.columns:
        limit = _day_limit(max_ts)
        future = (result["ts"] > limit).to_numpy()
        if future.any():
            raise _bad(
                where,
                "ts",
                f"timestamps after {limit} (in the future)",
                future,
                result["ts"].astype(str),
                "Check the export's clock or time zone; pass --allow-future (or max_ts=None) "
                "if they are intended.",
            )
    if schema.key:
        _check_key(result, schema, where)
    if schema.name == "transactions":
        _check_order_customers(result, where)
    return result


def _check_order_customers(result: pd.DataFrame, where: str) -> None:
    """One order belongs to one customer: an order_id with two customer ids is a key clash
    (two exports merged, or ids reused), and would split or merge baskets silently."""
    known = result[["order_id", "customer_id"]].dropna()
    if known.empty:
        return
    n = known.groupby("order_id", sort=False)["customer_id"].nunique()
    clash = n[n > 1]
    if clash.empty:
        return
    bad = result["order_id"].isin(clash.index).to_numpy()
    rows = _rows(bad)
    raise DataQualityError(
        f"{where}: order_id values {short_repr(clash.index.astype(str).tolist())} each belong "
        f"to more than one customer_id (data {format_rows(rows)}); order ids must be unique "
        "per order. Check for merged exports or reused ids, or map a unique order column.",
        bad_rows=rows,
        bad_keys=clash.index.astype(str).tolist(),
    )


def _day_limit(max_ts: Any) -> pd.Timestamp:
    try:
        limit = pd.Timestamp(max_ts)
    except (ValueError, TypeError) as err:
        raise ConfigError(f"max_ts {max_ts!r} is not a date; use e.g. 2011-12-10.") from err
    if limit is pd.NaT:
        raise ConfigError(f"max_ts {max_ts!r} is not a date; use e.g. 2011-12-10.")
    return limit.tz_localize(None) if limit.tzinfo is not None else limit


def _check_key(result: pd.DataFrame, schema: TableSchema, where: str) -> None:
    key = list(schema.key)
    dup = result.duplicated(key, keep=False).to_numpy()
    if not dup.any():
        return
    keys = result.loc[dup, key].drop_duplicates()
    shown: Sequence[Any]
    if len(key) == 1:
        shown = keys[key[0]].astype(str).tolist()
    else:
        shown = [
            tuple(str(v)[:10] if isinstance(v, pd.Timestamp) else v for v in r)
            for r in keys.itertuples(index=False)
        ]
    rows = _rows(dup)
    raise DataQualityError(
        f"{where} has duplicate {', '.join(key)} values {short_repr(shown)} at "
        f"data {format_rows(rows)}; keep one row per {' + '.join(key)}, e.g. "
        f"df.drop_duplicates({key!r}, keep='last').",
        bad_rows=rows,
        bad_keys=list(shown),
    )
