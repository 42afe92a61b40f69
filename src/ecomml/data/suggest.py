"""Which of a file's columns is which canonical column: suggested by content and name.

A column of dates is ``ts`` whatever it is called; whole small numbers are a
``quantity``; amounts with cents are a ``price``; text ids that repeat are ``order_id``,
``customer_id`` or ``sku``, told apart by their names. Used to suggest a ``--map`` when
required columns are missing (``OrderDate`` is then ``ts``, never ``order_id``).
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd

__all__ = ["suggest_mapping"]

#: name fragments (lower case, no separators) that point at each canonical column
_NAME_HINTS: dict[str, tuple[str, ...]] = {
    "order_id": ("order", "invoice", "receipt", "basket", "transaction", "txn", "订单", "单号"),
    "customer_id": (
        "customer",
        "cust",
        "client",
        "member",
        "buyer",
        "user",
        "account",
        "会员",
        "客户",
    ),
    "sku": ("sku", "product", "item", "stock", "article", "goods", "code", "商品", "货号"),
    "ts": ("date", "time", "ts", "day", "created", "日期", "时间"),
    "quantity": ("qty", "quantity", "units", "count", "pieces", "数量", "件数"),
    "price": ("price", "unitprice", "cost", "amount", "value", "单价", "价格", "金额"),
    "event": ("event", "action", "type", "behavior", "behaviour", "行为"),
    "category": ("category", "cat", "class", "group", "dept", "类目", "品类"),
    "date": ("date", "day", "日期"),
}
_KIND = {"ts": "date", "date": "date", "quantity": "count", "price": "amount"}
_SAMPLE = 500


def _norm(name: str) -> str:
    return re.sub(r"[\s_\-.]", "", str(name)).lower()


def _kind(s: pd.Series) -> str:
    """``date``, ``count`` (whole numbers), ``amount`` (other numbers) or ``id`` (text)."""
    v = s.dropna().head(_SAMPLE)
    if v.empty:
        return "empty"
    if pd.api.types.is_datetime64_any_dtype(v.dtype):
        return "date"
    num = pd.to_numeric(v, errors="coerce") if not pd.api.types.is_bool_dtype(v) else v * np.nan
    if num.notna().mean() >= 0.95:
        whole = np.isclose(num.dropna(), np.round(num.dropna())).mean() >= 0.98
        return "count" if whole else "amount"
    text = v.astype(str)
    if text.str.contains(r"\d{1,4}[-/.年]\d{1,2}[-/.月]\d{1,4}", regex=True).mean() >= 0.9:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if pd.to_datetime(text.str[:10], errors="coerce", format="mixed").notna().mean() >= 0.9:
                return "date"
        return "date" if text.str.contains("年").any() else "id"
    return "id"


def _name_score(column: str, canonical: str) -> float:
    name = _norm(column)
    return max((len(h) for h in _NAME_HINTS.get(canonical, ()) if h in name), default=0) / 10


def suggest_mapping(frame: pd.DataFrame, missing: list[str], spare: list[str]) -> dict[str, str]:
    """``{canonical: source column}`` for the ``missing`` canonical columns, chosen among
    the ``spare`` source columns by what they hold and what they are called; each source
    column is suggested at most once, and only where content and name agree enough."""
    kinds = {c: _kind(frame[c]) for c in spare if c in frame.columns}
    scores: list[tuple[float, str, str]] = []
    for canon in missing:
        want = _KIND.get(canon, "id")
        for col, kind in kinds.items():
            named = _name_score(col, canon)
            elsewhere = max((_name_score(col, c) for c in _NAME_HINTS if c != canon), default=0)
            if want == "id":  # ids may be numbers (invoice 536365, customer 17850)
                fits = kind == "id" or (kind == "count" and named > 0)
            elif want == "amount":
                fits = kind in ("amount", "count")
            else:
                fits = kind == want
            if not fits:
                continue
            score = 1.0 + named - 0.5 * elsewhere
            if want == "amount" and kind == "amount":
                score += 0.3  # prices have cents; counts rarely do
            if want == "id":
                v = frame[col].dropna().head(_SAMPLE * 4)
                score += 0.2 if len(v) > v.nunique() else 0.0  # order, customer, SKU ids repeat
                if named == 0:
                    score -= 0.9  # an id column without a telling name: a weak guess
            scores.append((score, canon, col))
    out: dict[str, str] = {}
    used: set[str] = set()
    for score, canon, col in sorted(scores, key=lambda t: -t[0]):
        if canon in out or col in used or score < 1.0:
            continue
        out[canon] = col
        used.add(col)
    return out
