"""Canonical schemas and validate_table: dtypes, coercion and precise errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecomml.data import CALENDAR, CATALOG, EVENTS, SCHEMAS, TRANSACTIONS, get_schema, validate_table
from ecomml.exceptions import ConfigError, DataQualityError, EcommlError, SchemaError


def _tx(**over: object) -> pd.DataFrame:
    base = {
        "order_id": ["1", "2", "3"],
        "customer_id": ["c1", "c2", None],
        "sku": ["A", "B", "C"],
        "ts": ["2011-01-01 10:00", "2011-01-02 11:00", "2011-01-03 12:00"],
        "quantity": [1, 2, -1],
        "price": [2.5, 1.0, 2.5],
    }
    base.update(over)
    return pd.DataFrame(base)


def test_schemas_are_data() -> None:
    assert set(SCHEMAS) == {"transactions", "events", "catalog", "calendar"}
    assert TRANSACTIONS.required == ["order_id", "customer_id", "sku", "ts", "quantity", "price"]
    assert TRANSACTIONS.column("customer_id").nullable
    assert CATALOG.key == ("sku",)
    assert CALENDAR.key == ("date", "event")
    assert EVENTS.column("event").allowed == ("view", "cart", "purchase")
    assert get_schema(CATALOG) is CATALOG


def test_unknown_table_suggests() -> None:
    with pytest.raises(
        SchemaError, match="unknown table 'transaction' \\(did you mean 'transactions'"
    ):
        get_schema("transaction")


def test_canonical_dtypes() -> None:
    out = validate_table(_tx(), "transactions")
    assert list(out.columns) == [*TRANSACTIONS.required, "return_of"]
    for col in out.columns:
        assert out[col].dtype == TRANSACTIONS.column(col).pandas_dtype, col
    assert str(out["order_id"].dtype) == "string"
    assert out["ts"].dtype == np.dtype("datetime64[ns]")
    assert out["customer_id"].isna().tolist() == [False, False, True]
    assert out["return_of"].isna().all()


def test_ids_are_strings() -> None:
    raw = _tx(
        order_id=[536365, 536366, 536367],
        customer_id=[17850.0, np.nan, 12.0],
        sku=["0007", " 85123A ", "x"],
    )
    out = validate_table(raw, "transactions")
    assert out["order_id"].tolist() == ["536365", "536366", "536367"]
    assert out["customer_id"].tolist()[0] == "17850"
    assert out["customer_id"].tolist()[2] == "12"
    assert out["sku"].tolist() == ["0007", "85123A", "x"]


def test_mixed_object_ids_from_excel() -> None:
    raw = _tx(order_id=[536365, "C536379", 536367.0])
    assert validate_table(raw, "transactions")["order_id"].tolist() == [
        "536365",
        "C536379",
        "536367",
    ]


def test_extra_columns_dropped_or_kept() -> None:
    raw = _tx(note=["a", "b", "c"])
    assert "note" not in validate_table(raw, "transactions").columns
    assert validate_table(raw, "transactions", extra="keep")["note"].tolist() == ["a", "b", "c"]


def test_missing_column_suggests_closest() -> None:
    raw = _tx().rename(columns={"price": "prcie"})
    with pytest.raises(SchemaError) as info:
        validate_table(raw, "transactions", source="f.csv")
    msg = str(info.value)
    assert (
        "f.csv (transactions) is missing required column(s) 'price' (did you mean 'prcie'?)" in msg
    )
    assert "--map prcie=price" in msg
    assert info.value.missing == ["price"]


def test_duplicate_column_names() -> None:
    raw = pd.DataFrame([[1, 2]], columns=["sku", "sku"])
    with pytest.raises(SchemaError, match="duplicate column names \\['sku'\\]"):
        validate_table(raw, "catalog")


def test_empty_frame() -> None:
    with pytest.raises(DataQualityError, match="f.csv \\(transactions\\) has no data rows"):
        validate_table(_tx().iloc[:0], "transactions", source="f.csv")


def test_text_in_numeric_column() -> None:
    with pytest.raises(DataQualityError) as info:
        validate_table(_tx(quantity=["1", "two", "x3"]), "transactions", source="f.csv")
    assert str(info.value).startswith(
        "f.csv (transactions): column 'quantity' has text that is not a number at data lines 2, 3"
    )
    assert "['two', 'x3']" in str(info.value)
    assert info.value.bad_rows == [2, 3]


def test_currency_and_comma_hints() -> None:
    with pytest.raises(DataQualityError, match="Remove currency symbols"):
        validate_table(_tx(price=["£2.50", "1", "1"]), "transactions")
    with pytest.raises(DataQualityError, match="decimal separator"):
        validate_table(_tx(price=["2,50", "1", "1"]), "transactions")


@pytest.mark.parametrize("value", ["nan", "", None, np.nan])
def test_missing_price(value: object) -> None:
    with pytest.raises(DataQualityError, match="column 'price' has missing values at data line 2"):
        validate_table(_tx(price=["1", value, "2"]), "transactions")


@pytest.mark.parametrize("value", ["inf", "-inf", np.inf])
def test_infinite_price(value: object) -> None:
    with pytest.raises(DataQualityError, match="column 'price' has infinite values at data line 3"):
        validate_table(_tx(price=["1", "2", value]), "transactions")


def test_bad_dates_name_rows_and_values() -> None:
    raw = _tx(ts=["2011-01-01", "2011-13-45", "soon"])
    with pytest.raises(DataQualityError) as info:
        validate_table(raw, "transactions", source="f.csv")
    assert "column 'ts' has values that are not dates at data lines 2, 3" in str(info.value)
    assert "['2011-13-45', 'soon']" in str(info.value)


def test_non_iso_dates_are_parsed() -> None:
    out = validate_table(
        _tx(ts=["12/1/2010 8:26", "12/2/2010 9:00", "1/13/2011 10:00"]), "transactions"
    )
    assert out["ts"].tolist()[0] == pd.Timestamp("2010-12-01 08:26")


def test_mixed_offsets() -> None:
    raw = _tx(ts=["2011-01-01T10:00:00+01:00", "2011-01-01T10:00:00", "2011-01-01T12:00:00"])
    with pytest.raises(DataQualityError, match="mixes times with a UTC offset .* 2 of 3 values"):
        validate_table(raw, "transactions")
    raw = _tx(ts=["2011-01-01 10:00+01:00", "2011-01-01 10:00+02:00", "2011-01-01 10:00Z"])
    with pytest.raises(
        DataQualityError,
        match="mixes time zones: UTC offsets \\['\\+00:00', "
        "'\\+01:00', '\\+02:00'\\]|mixes time zones",
    ):
        validate_table(raw, "transactions")


def test_one_offset_keeps_wall_time() -> None:
    raw = _tx(ts=["2011-01-01 10:00+01:00", "2011-01-01 11:00+01:00", "2011-01-01 12:00+0100"])
    out = validate_table(raw, "transactions")
    assert out["ts"].dtype == np.dtype("datetime64[ns]")
    assert out["ts"].iloc[0] == pd.Timestamp("2011-01-01 10:00")


def test_tz_aware_column_becomes_naive() -> None:
    ts = pd.date_range("2011-01-01", periods=3, freq="D", tz="Europe/London")
    assert validate_table(_tx(ts=ts), "transactions")["ts"].dt.tz is None


def test_numeric_timestamps_rejected() -> None:
    with pytest.raises(SchemaError, match="holds numbers .* unit='s'"):
        validate_table(_tx(ts=[1, 2, 3]), "transactions")


def test_future_timestamps() -> None:
    raw = _tx(ts=["2011-01-01", "2031-01-01", "2011-01-03"])
    with pytest.raises(
        DataQualityError, match="timestamps after 2020-01-01 00:00:00 .* data line 2"
    ):
        validate_table(raw, "transactions", max_ts="2020-01-01")
    assert len(validate_table(raw, "transactions")) == 3


def test_events_aliases_and_bad_values() -> None:
    raw = pd.DataFrame(
        {
            "customer_id": ["1", "1", "2"],
            "sku": ["A", "A", "B"],
            "ts": ["2011-01-01"] * 3,
            "event": ["View", "addtocart", "transaction"],
        }
    )
    assert validate_table(raw, "events")["event"].tolist() == ["view", "cart", "purchase"]
    raw["event"] = ["view", "like", "cart"]
    with pytest.raises(
        DataQualityError, match="values other than view, cart, purchase at data line 2"
    ):
        validate_table(raw, "events")


def test_catalog_fills_and_duplicates() -> None:
    raw = pd.DataFrame({"sku": ["A", "B"], "category": ["x", None], "price": [1, 2]})
    out = validate_table(raw, "catalog")
    assert out["active"].tolist() == [True, True] and out["active"].dtype == bool
    assert out["cost"].isna().all()
    raw = pd.DataFrame({"sku": ["A", "B", "A"], "category": "x", "price": 1.0})
    with pytest.raises(
        DataQualityError, match="duplicate sku values \\['A'\\] at data lines 1, 3"
    ) as info:
        validate_table(raw, "catalog")
    assert info.value.bad_keys == ["A"]


def test_bool_parsing() -> None:
    raw = pd.DataFrame(
        {
            "date": ["2024-06-18", "2024-06-17 13:00"],
            "event": ["618", "618"],
            "is_promo": ["Yes", "0"],
        }
    )
    out = validate_table(raw, "calendar")
    assert out["is_promo"].tolist() == [True, False]
    assert out["date"].tolist()[1] == pd.Timestamp("2024-06-17")
    raw["is_promo"] = ["yes", "maybe"]
    with pytest.raises(DataQualityError, match="is_promo' has values that are not true/false"):
        validate_table(raw, "calendar")


def test_not_a_frame() -> None:
    with pytest.raises(SchemaError, match="must be a pandas DataFrame, got list"):
        validate_table([1, 2], "transactions")  # type: ignore[arg-type]


_cell = st.one_of(
    st.none(),
    st.text(max_size=8),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.datetimes(
        min_value=pd.Timestamp("1700-01-01").to_pydatetime(),
        max_value=pd.Timestamp("2200-01-01").to_pydatetime(),
    ),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(table=st.sampled_from(sorted(SCHEMAS)), rows=st.integers(0, 4), data=st.data())
def test_garbage_raises_only_ecomml_errors(table: str, rows: int, data: st.DataObject) -> None:
    names = get_schema(table).names + ["junk"]
    cols = data.draw(
        st.one_of(
            st.just(names),  # all columns present: the values are what gets tested
            st.lists(st.sampled_from(names), min_size=1, max_size=8, unique=True),
        )
    )
    raw = pd.DataFrame(
        {c: data.draw(st.lists(_cell, min_size=rows, max_size=rows)) for c in cols}, dtype=object
    )
    try:
        out = validate_table(raw, table)
    except EcommlError:
        return
    for col in out.columns:
        assert out[col].dtype == get_schema(table).column(col).pandas_dtype


def test_max_ts_forms() -> None:
    raw = _tx(ts=["2011-01-01", "2011-01-02", "2011-01-03"])
    aware = pd.Timestamp("2011-01-02", tz="UTC")
    with pytest.raises(DataQualityError, match="data line 3"):
        validate_table(raw, "transactions", max_ts=aware)
    with pytest.raises(ConfigError, match="max_ts 'tomorrow' is not a date"):
        validate_table(raw, "transactions", max_ts="tomorrow")


def test_order_with_two_customers_is_refused() -> None:
    import pandas as pd

    from ecomml.data import validate_table
    from ecomml.exceptions import DataQualityError

    df = pd.DataFrame(
        {
            "order_id": ["1", "1", "2"],
            "customer_id": ["a", "b", None],
            "sku": ["x", "x", "y"],
            "ts": ["2011-01-01", "2011-01-02", "2011-01-02"],
            "quantity": [1, 1, 1],
            "price": [1.0, 1.0, 1.0],
        }
    )
    with pytest.raises(
        DataQualityError,
        match=r"order_id values \['1'\] each belong to more than "
        r"one customer_id \(data lines 1, 2\)",
    ) as info:
        validate_table(df, "transactions", source="x.csv")
    assert info.value.bad_rows == [1, 2]
    # a guest line (missing customer) in a known customer's order is not a clash
    df.loc[1, "customer_id"] = None
    assert len(validate_table(df, "transactions", source="x.csv")) == 3
