"""Cleaning canonical transactions: an explicit policy, every rule counted, nothing silent.

:func:`clean_transactions` applies the rules of a :class:`CleaningPolicy`, in this
order, to a canonical transactions frame, and returns the cleaned frame with a
:class:`CleaningReport` holding rows and units per rule:

1. ``duplicates`` - exact duplicate rows are dropped (export artefacts).
2. ``sku_case`` - SKUs are upper-cased (Online Retail has ``47566b`` and ``47566B``).
3. ``bad_debt`` - "Adjust bad debt" invoices (order ids starting with ``A``) are dropped.
4. ``non_product`` - postage, carriage, fees, vouchers, samples, adjustments and other
   non-product codes (by code, code pattern or description) are dropped.
5. ``zero_quantity`` - lines with quantity 0 are dropped.
6. ``stock_adjustment`` - negative quantities at price <= 0 outside a cancellation
   order (damaged, lost, "check") are stock write-offs, not customer returns: dropped.
7. ``non_positive_price`` - sales (quantity > 0) at price <= 0 are dropped from demand.
   Returns keep their price.
8. ``reversed_orders`` - a sale line cancelled exactly (same customer, sku, quantity
   and price) within ``reversal_window`` never became demand: the sale and its
   cancellation are both dropped (rows counts both lines).
9. ``returns_linked`` / ``returns_unmatched`` - the other returns are kept (negative
   quantity) and ``return_of`` is set to the order_id of the latest earlier sale of
   the same customer, sku and price, when there is one.
10. ``missing_customer`` - lines without a customer id are kept (demand uses them;
    customer models exclude them); counted only.

Everything is vectorised (pandas ``merge_asof``); the one loop, in rule 8, runs
over matching rounds (a handful), not rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd

from ecomml.data.schema import STRING_DTYPE, TRANSACTIONS, validate_table

_ARROW = pd.StringDtype("pyarrow")  # Arrow kernels for string tests; results stay STRING_DTYPE

__all__ = [
    "NON_PRODUCT_CODES",
    "NON_PRODUCT_CODE_PATTERNS",
    "NON_PRODUCT_DESCRIPTIONS",
    "CleaningPolicy",
    "CleaningReport",
    "RuleResult",
    "clean_events",
    "clean_transactions",
]

#: Online Retail stock codes that are not products (compared upper-case).
NON_PRODUCT_CODES: tuple[str, ...] = (
    "POST", "DOT", "M", "C2", "D", "S", "BANK CHARGES", "AMAZONFEE", "CRUK", "PADS", "B",
)  # fmt: skip

#: Regexes (case-insensitive, full match) for non-product codes, e.g. gift vouchers.
NON_PRODUCT_CODE_PATTERNS: tuple[str, ...] = (r"gift_\d{4}_\d+",)

#: Regexes (case-insensitive, searched in the stripped description) for non-product
#: lines. Anchored where a product name could contain the word ("FRENCH CARRIAGE
#: LANTERN" is a product, "Next Day Carriage" is not).
NON_PRODUCT_DESCRIPTIONS: tuple[str, ...] = (
    r"^(?:next day )?carriage$",
    r"postage",
    r"\bfees?\b",
    r"\bvouchers?\b",
    r"\badjust(?:ment|ed)?\b",
    r"^bank charges?$",
    r"\bcommission\b",
    r"\bsamples?\b",
    r"^manual$",
    r"^discount$",
)


@dataclass(frozen=True)
class CleaningPolicy:
    """The cleaning rules and their parameters (see the module docstring for the order).

    Parameters
    ----------
    drop_duplicates : bool
        Drop exact duplicate rows.
    upper_case_skus : bool
        Upper-case SKUs so ``47566b`` and ``47566B`` are one product.
    bad_debt_prefix : str or None
        Order-id prefix of bad-debt adjustments to drop (``None``: keep them).
    non_product_codes : tuple of str
        SKUs that are not products (compared upper-case).
    non_product_code_patterns : tuple of str
        Regexes a whole SKU may match to be a non-product (case-insensitive).
    non_product_descriptions : tuple of str
        Regexes searched in descriptions (case-insensitive) marking non-products.
    drop_zero_quantity : bool
        Drop lines with quantity 0.
    cancel_prefix : str or None
        Order-id prefix of cancellation orders (Online Retail ``"C"``). Negative lines
        at price <= 0 outside such orders are stock write-offs. ``None``: every
        negative line is a return.
    drop_stock_adjustments : bool
        Drop those write-offs.
    drop_non_positive_price : bool
        Drop sales at price <= 0.
    reversal_window : timedelta or None
        A sale cancelled exactly within this time is dropped with its cancellation;
        ``None`` disables the rule.
    link_returns : bool
        Set ``return_of`` on returns.
    """

    drop_duplicates: bool = True
    upper_case_skus: bool = True
    bad_debt_prefix: str | None = "A"
    non_product_codes: tuple[str, ...] = NON_PRODUCT_CODES
    non_product_code_patterns: tuple[str, ...] = NON_PRODUCT_CODE_PATTERNS
    non_product_descriptions: tuple[str, ...] = NON_PRODUCT_DESCRIPTIONS
    drop_zero_quantity: bool = True
    cancel_prefix: str | None = "C"
    drop_stock_adjustments: bool = True
    drop_non_positive_price: bool = True
    reversal_window: timedelta | None = timedelta(days=1)
    link_returns: bool = True


@dataclass(frozen=True)
class RuleResult:
    """What one cleaning rule did.

    Parameters
    ----------
    rule : str
        Rule name, e.g. ``"duplicates"``.
    action : {"dropped", "changed", "kept"}
        Whether the rows left the data, were modified, or were kept and counted.
    rows : int
        Rows affected.
    units : float
        Sum of ``abs(quantity)`` over those rows.
    description : str
        One-line explanation.
    """

    rule: str
    action: str
    rows: int
    units: float
    description: str


@dataclass(frozen=True)
class CleaningReport:
    """Rows and units per cleaning rule, plus before/after totals.

    Print it with Rich (``rich.print(report)``), or export with :meth:`to_frame`
    and :meth:`to_dict`.
    """

    table: str
    rows_in: int
    rows_out: int
    rules: tuple[RuleResult, ...] = ()
    top_non_product: tuple[tuple[str, str, int, float], ...] = ()
    params: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def unchanged(cls, frame: pd.DataFrame, table: str = "transactions") -> CleaningReport:
        """A report for data that was not cleaned."""
        return cls(table=table, rows_in=len(frame), rows_out=len(frame))

    @property
    def rows_dropped(self) -> int:
        """Rows removed by all rules."""
        return self.rows_in - self.rows_out

    def rule(self, name: str) -> RuleResult:
        """The result of rule ``name`` (``LookupError`` if it did not run)."""
        for r in self.rules:
            if r.rule == name:
                return r
        raise LookupError(f"no cleaning rule {name!r}; rules run: {[r.rule for r in self.rules]}")

    def to_frame(self) -> pd.DataFrame:
        """One row per rule: ``rule, action, rows, units, description``."""
        return pd.DataFrame(
            [vars(r) for r in self.rules],
            columns=["rule", "action", "rows", "units", "description"],
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the report."""
        return {
            "table": self.table,
            "rows_in": self.rows_in,
            "rows_out": self.rows_out,
            "rows_dropped": self.rows_dropped,
            "rules": [vars(r) | {"units": float(r.units)} for r in self.rules],
            "top_non_product": [
                {"sku": s, "description": d, "rows": n, "units": float(u)}
                for s, d, n, u in self.top_non_product
            ],
            "params": self.params,
        }

    def __rich__(self) -> Any:
        from rich.table import Table

        t = Table(
            title=f"Cleaning {self.table}: {self.rows_in:,} rows in, {self.rows_out:,} out",
            title_justify="left",
        )
        for col, kw in (
            ("rule", {}),
            ("action", {}),
            ("rows", {"justify": "right"}),
            ("units", {"justify": "right"}),
            ("what", {}),
        ):
            t.add_column(col, **kw)  # type: ignore[arg-type]
        for r in self.rules:
            t.add_row(r.rule, r.action, f"{r.rows:,}", f"{r.units:,.0f}", r.description)
        if self.top_non_product:
            top = ", ".join(f"{s} ({n:,})" for s, _, n, _ in self.top_non_product[:8])
            t.caption = f"top non-product codes: {top}"
            t.caption_justify = "left"
        return t


def _non_product_mask(df: pd.DataFrame, policy: CleaningPolicy) -> np.ndarray:
    sku = df["sku"].astype(_ARROW).str.upper()
    codes = [c.upper() for c in policy.non_product_codes]
    mask: np.ndarray = sku.isin(codes).fillna(False).to_numpy(bool)
    if policy.non_product_code_patterns:
        code_rx = re.compile(
            "|".join(f"(?:{p})" for p in policy.non_product_code_patterns), flags=re.IGNORECASE
        )
        hit = {c for c in sku.dropna().unique() if code_rx.fullmatch(c)}
        mask |= sku.isin(hit).fillna(False).to_numpy(bool)
    if policy.non_product_descriptions and "description" in df.columns:
        desc_rx = re.compile(
            "|".join(f"(?:{p})" for p in policy.non_product_descriptions), flags=re.IGNORECASE
        )
        desc = df["description"].astype(_ARROW).str.strip()
        hit = {d for d in desc.dropna().unique() if desc_rx.search(d)}  # each text once
        mask |= desc.isin(hit).fillna(False).to_numpy(bool)
    return mask


def _top_codes(
    df: pd.DataFrame, mask: np.ndarray, n: int = 10
) -> tuple[tuple[str, str, int, float], ...]:
    if not mask.any():
        return ()
    sub = df.loc[mask]
    desc = sub["description"] if "description" in sub.columns else pd.Series("", index=sub.index)
    g = pd.DataFrame(
        {"sku": sub["sku"], "description": desc.fillna(""), "units": sub["quantity"].abs()}
    ).groupby("sku", sort=False)
    top = (
        g.agg(rows=("units", "size"), units=("units", "sum"), description=("description", "first"))
        .sort_values("rows", ascending=False)
        .head(n)
    )
    return tuple(
        (str(s), str(r.description).strip(), int(r.rows), float(r.units)) for s, r in top.iterrows()
    )


def _group_codes(df: pd.DataFrame, cols: list[str]) -> np.ndarray:
    """One int64 code per distinct combination of ``cols`` (fast ``merge_asof`` keys)."""
    codes: np.ndarray = df.groupby(cols, sort=False, dropna=False).ngroup().to_numpy(np.int64)
    return codes


def _match_reversals(df: pd.DataFrame, window: timedelta) -> tuple[np.ndarray, np.ndarray]:
    """Pair cancellations with the sale line they reverse exactly, one to one.

    Returns positions (into ``df``) of matched sales and matched cancellations.
    """
    known = df["customer_id"].notna().to_numpy()
    q = df["quantity"].to_numpy()
    key = _group_codes(df.assign(_units=np.abs(q)), ["customer_id", "sku", "_units", "price"])
    base = pd.DataFrame({"_pos": np.arange(len(df)), "ts": df["ts"].to_numpy(), "_key": key})
    sales = base[known & (q > 0)].sort_values("ts", kind="stable")
    rets = base[known & (q < 0)].sort_values("ts", kind="stable")
    got_s: list[np.ndarray] = []
    got_r: list[np.ndarray] = []
    # Each round matches every cancellation to its latest earlier identical sale; a
    # sale claimed twice keeps its earliest cancellation and the rest try again.
    for _ in range(50):
        if sales.empty or rets.empty:
            break
        m = pd.merge_asof(
            rets.rename(columns={"_pos": "_rpos"}),
            sales.rename(columns={"_pos": "_spos"}),
            on="ts",
            by="_key",
            direction="backward",
            tolerance=pd.Timedelta(window),
            allow_exact_matches=True,
        ).dropna(subset=["_spos"])
        m = m.drop_duplicates("_spos", keep="first")
        if m.empty:
            break
        s_pos = m["_spos"].to_numpy(dtype=np.int64)
        r_pos = m["_rpos"].to_numpy(dtype=np.int64)
        got_s.append(s_pos)
        got_r.append(r_pos)
        sales = sales[~sales["_pos"].isin(s_pos)]
        rets = rets[~rets["_pos"].isin(r_pos)]
    empty = np.array([], dtype=np.int64)
    return (np.concatenate(got_s) if got_s else empty, np.concatenate(got_r) if got_r else empty)


def _link_returns(df: pd.DataFrame) -> pd.Series:
    """``return_of`` of each return: the order_id of the latest earlier sale of the same
    customer, sku and price."""
    q = df["quantity"].to_numpy()
    known = df["customer_id"].notna().to_numpy()
    key = _group_codes(df, ["customer_id", "sku", "price"])
    base = pd.DataFrame({"_pos": np.arange(len(df)), "ts": df["ts"].to_numpy(), "_key": key})
    rets = base[known & (q < 0)].sort_values("ts", kind="stable")
    sales = base[known & (q > 0)].rename(columns={"_pos": "_spos"}).sort_values("ts", kind="stable")
    out = np.full(len(df), None, dtype=object)
    if not (rets.empty or sales.empty):
        m = pd.merge_asof(rets, sales, on="ts", by="_key", direction="backward")
        m = m.dropna(subset=["_spos"])
        orders = df["order_id"].to_numpy(dtype=object)
        out[m["_pos"].to_numpy(dtype=np.int64)] = orders[m["_spos"].to_numpy(dtype=np.int64)]
    return pd.Series(out, index=df.index, dtype=STRING_DTYPE)


def clean_transactions(
    df: pd.DataFrame, policy: CleaningPolicy | None = None
) -> tuple[pd.DataFrame, CleaningReport]:
    """Apply a :class:`CleaningPolicy` to canonical transactions.

    Parameters
    ----------
    df : pandas.DataFrame
        Canonical transactions (validated here if it is not already).
    policy : CleaningPolicy, optional
        Rules and parameters; default ``CleaningPolicy()``.

    Returns
    -------
    (pandas.DataFrame, CleaningReport)
        The cleaned frame (input order kept, fresh index, ``return_of`` set) and the
        per-rule counts.

    Examples
    --------
    >>> import pandas as pd
    >>> tx = pd.DataFrame({"order_id": ["1", "C2"], "customer_id": ["7", "7"],
    ...     "sku": ["A", "A"], "ts": pd.to_datetime(["2011-01-18 10:01", "2011-01-18 10:17"]),
    ...     "quantity": [74215.0, -74215.0], "price": [1.04, 1.04]})
    >>> out, report = clean_transactions(tx)
    >>> len(out), report.rule("reversed_orders").rows
    (0, 2)
    """
    policy = policy or CleaningPolicy()
    if tuple(df.dtypes.get(c) for c in TRANSACTIONS.required) != tuple(
        TRANSACTIONS.column(c).pandas_dtype for c in TRANSACTIONS.required
    ):
        df = validate_table(df, TRANSACTIONS, extra="keep")
    df = df.reset_index(drop=True)
    n = len(df)
    q = df["quantity"].to_numpy()
    p = df["price"].to_numpy()
    units = np.abs(q)
    alive = np.ones(n, dtype=bool)  # rules see only the rows earlier rules kept
    rules: list[RuleResult] = []

    def record(rule: str, action: str, mask: np.ndarray, what: str) -> None:
        rules.append(RuleResult(rule, action, int(mask.sum()), float(units[mask].sum()), what))

    def drop(mask: Any, rule: str, what: str) -> None:
        nonlocal alive
        mask = np.asarray(mask, dtype=bool) & alive
        record(rule, "dropped", mask, what)
        alive &= ~mask

    if policy.drop_duplicates:
        drop(df.duplicated(keep="first"), "duplicates", "exact duplicate rows")
    if policy.upper_case_skus:
        sku = df["sku"].astype(_ARROW)
        upper = sku.str.upper()
        changed = (upper != sku).fillna(False).to_numpy(bool) & alive
        record("sku_case", "changed", changed, "lower-case SKUs upper-cased")
        if changed.any():
            df["sku"] = upper.astype(STRING_DTYPE)
    oid = df["order_id"].astype(_ARROW)
    if policy.bad_debt_prefix:
        prefix = policy.bad_debt_prefix
        drop(
            oid.str.startswith(prefix).fillna(False).to_numpy(bool),
            "bad_debt",
            f"'{prefix}...' adjust-bad-debt invoices",
        )
    top: tuple[tuple[str, str, int, float], ...] = ()
    if (
        policy.non_product_codes
        or policy.non_product_code_patterns
        or policy.non_product_descriptions
    ):
        mask = _non_product_mask(df, policy) & alive
        top = _top_codes(df, mask)
        drop(mask, "non_product", "postage, fees, vouchers, samples, adjustments...")
    if policy.drop_zero_quantity:
        drop(q == 0, "zero_quantity", "lines with quantity 0")
    if policy.drop_stock_adjustments and policy.cancel_prefix:
        in_cancel = oid.str.startswith(policy.cancel_prefix).fillna(False).to_numpy(bool)
        drop(
            (q < 0) & (p <= 0) & ~in_cancel,
            "stock_adjustment",
            "negative lines at price <= 0 outside cancellations (write-offs)",
        )
    if policy.drop_non_positive_price:
        drop(
            (q > 0) & (p <= 0),
            "non_positive_price",
            "sales at price <= 0 (returns keep their price)",
        )
    if policy.reversal_window is not None:
        rows = np.flatnonzero(alive)
        s_pos, r_pos = _match_reversals(df.iloc[rows], policy.reversal_window)
        mask = np.zeros(n, dtype=bool)
        mask[rows[s_pos]] = True
        mask[rows[r_pos]] = True
        hours = pd.Timedelta(policy.reversal_window) / pd.Timedelta(hours=1)
        drop(
            mask,
            "reversed_orders",
            f"{len(s_pos):,} sales cancelled exactly within {hours:g} h, with their cancellations",
        )
    out = df.loc[alive].reset_index(drop=True)
    kept_units = units[alive]
    is_ret = out["quantity"].to_numpy() < 0
    if policy.link_returns:
        found = _link_returns(out)
        if "return_of" in out.columns:  # links given in the input win
            found = out["return_of"].astype(STRING_DTYPE).fillna(found)
        out["return_of"] = found
        linked = is_ret & out["return_of"].notna().to_numpy(bool)
        for rule, m, what in (
            ("returns_linked", linked, "returns linked to the sale they reverse (return_of)"),
            ("returns_unmatched", is_ret & ~linked, "returns with no earlier matching sale"),
        ):
            rules.append(RuleResult(rule, "kept", int(m.sum()), float(kept_units[m].sum()), what))
    elif "return_of" not in out.columns:
        out["return_of"] = pd.Series(pd.NA, index=out.index, dtype=STRING_DTYPE)
    miss = out["customer_id"].isna().to_numpy()
    rules.append(
        RuleResult(
            "missing_customer",
            "kept",
            int(miss.sum()),
            float(kept_units[miss].sum()),
            "lines without customer id (kept for demand)",
        )
    )
    report = CleaningReport(
        table="transactions",
        rows_in=n,
        rows_out=len(out),
        rules=tuple(rules),
        top_non_product=top,
        params=_params(policy),
    )
    return out, report


def _params(policy: CleaningPolicy) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in vars(policy).items():
        if isinstance(v, timedelta):
            v = str(pd.Timedelta(v))
        elif isinstance(v, tuple):
            v = list(v)
        out[k] = v
    return out


def clean_events(df: pd.DataFrame) -> tuple[pd.DataFrame, CleaningReport]:
    """Drop exact duplicate events (double-fired tracking calls) and report them.

    Returns
    -------
    (pandas.DataFrame, CleaningReport)
        Events without duplicates, and the count.
    """
    df = df.reset_index(drop=True)
    dup = df.duplicated(keep="first").to_numpy()
    out = df.loc[~dup].reset_index(drop=True)
    rule = RuleResult("duplicates", "dropped", int(dup.sum()), 0.0, "exact duplicate events")
    return out, CleaningReport(table="events", rows_in=len(df), rows_out=len(out), rules=(rule,))
