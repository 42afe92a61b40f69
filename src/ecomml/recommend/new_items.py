"""New SKUs for the customers whose taste they fit: cold-start candidates.

A SKU nobody has bought yet has no co-purchases, so no collaborative generator can
propose it. :class:`NewItemsRecommender` proposes the SKUs that appeared in the last
``new_days`` before the cutoff (first seen in the interactions, or launched by the
catalog's ``launched_at``) from what is known about them without sales:

- their catalogue attributes: the customer's share of interest in the SKU's category
  (smoothed towards the shop's), and how close its price is to what the customer pays in
  that category;
- early interest: distinct customers who viewed, carted or bought it per day since it
  appeared;
- the customer's own views and carts of it, which put it first.
"""

from __future__ import annotations

from typing import Any, Self

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ecomml._estimator import estimator
from ecomml.exceptions import ConfigError
from ecomml.recommend._base import Codes, KeptItemsRecommender

__all__ = ["NewItemsRecommender"]

#: category of SKUs without one: they form one group of their own
_NO_CATEGORY = "\x00none"
#: days added to a SKU's age in its interest rate (a SKU seen today is not infinitely hot)
_AGE_PRIOR_DAYS = 7.0


@estimator
class NewItemsRecommender(KeptItemsRecommender):
    """Recently launched SKUs scored by category fit, price fit and early interest.

    ``score(c, s) = a(c, k) * q(s) * f(c, s) + o(c, s)`` for a SKU ``s`` of category ``k``
    first seen at most ``new_days`` before the cutoff:

    - ``a(c, k)``: the customer's interaction weight in ``k`` over their total, shrunk
      towards the shop's share of ``k`` with the weight of ``smoothing``;
    - ``q(s) = (n_s + 1) / (age_s + 7)``: distinct customers with any interaction with it
      per day of age, as a share of the newest SKUs' best;
    - ``f(c, s) = exp(-d^2 / 2)``, ``d`` the distance of its log price from the customer's
      weighted mean log price in ``k`` over ``price_band`` (1 without a price or history
      in ``k``; ``price_band=None`` turns it off);
    - ``o(c, s) = 1 + log(1 + w)``: the customer's own interaction weight with ``s`` (0
      without), which ranks SKUs they already looked at first.

    Parameters
    ----------
    new_days : a SKU is new while its first interaction (or catalog ``launched_at``) is at
        most this many days before the cutoff.
    max_items : at most this many new SKUs are kept, the most interesting first.
    smoothing : weight of the shop's category shares in a customer's (in interaction
        weight units: one purchase is 10).
    price_band : width of the price fit in log price (None: no price fit).

    ``fit`` takes the catalog (``sku, category, price[, active, launched_at]``): its
    categories and prices are the SKUs' attributes, and active SKUs with ``launched_at``
    inside the window are proposed even before anyone interacted with them.
    """

    source_name = "new-items"

    new_days: float = 30.0
    max_items: int = 2000
    smoothing: float = 10.0
    price_band: float | None = 1.0

    # ------------------------------------------------------------------ fit
    def fit(
        self, interactions: pd.DataFrame, *, cutoff: Any = None, catalog: pd.DataFrame | None = None
    ) -> Self:
        """Learn from ``interactions`` (see :meth:`BaseRecommender.fit`) and ``catalog``."""
        self._check_params()
        self._catalog = _catalog_frame(catalog)
        self._launches: pd.Series | None = None  # set once the cutoff is known
        try:
            return super().fit(interactions, cutoff=cutoff)
        finally:
            del self._catalog, self._launches

    def _check_params(self) -> None:
        if not (isinstance(self.new_days, (int, float)) and self.new_days > 0):
            raise ConfigError(f"new_days must be a positive number, got {self.new_days!r}")
        if not (isinstance(self.max_items, (int, np.integer)) and self.max_items >= 1):
            raise ConfigError(f"max_items must be a positive integer, got {self.max_items!r}")
        if not (isinstance(self.smoothing, (int, float)) and self.smoothing > 0):
            raise ConfigError(f"smoothing must be a positive number, got {self.smoothing!r}")
        if self.price_band is not None and not (
            isinstance(self.price_band, (int, float)) and self.price_band > 0
        ):
            raise ConfigError(
                f"price_band must be a positive number or None, got {self.price_band!r}"
            )

    def _launched(self, cutoff: pd.Timestamp | None) -> pd.Series:
        """Catalog launch dates of active SKUs launched before ``cutoff`` (read once per
        fit: the SKU index and the ages both need them)."""
        if self._launches is None:
            self._launches = self._read_launches(cutoff)
        return self._launches

    def _read_launches(self, cutoff: pd.Timestamp | None) -> pd.Series:
        cat = self._catalog
        if cat is None or "launched_at" not in cat.columns or cutoff is None:
            return pd.Series(dtype="datetime64[ns]")
        when = pd.to_datetime(cat["launched_at"], errors="coerce", utc=True).dt.tz_localize(None)
        ok = when.notna() & (when < cutoff)
        if "active" in cat.columns:
            ok &= cat["active"].fillna(True).astype(bool)
        return pd.Series(when[ok].to_numpy(), index=cat.index[ok])

    def _more_skus(self, cutoff: pd.Timestamp | None) -> np.ndarray:
        launched = self._launched(cutoff)
        if cutoff is None or launched.empty:
            return np.zeros(0, dtype=object)
        recent = launched >= cutoff - pd.Timedelta(days=float(self.new_days))
        return launched.index[recent].to_numpy(dtype=object)

    def _fit(self, codes: Codes) -> None:
        n_items = len(self.sku_index_)
        # age of each SKU: days since its first interaction, or since the catalog launch
        age = np.full(n_items, np.inf)
        if codes.age_days is not None and len(codes.items):
            first = np.full(n_items, -np.inf)
            np.maximum.at(first, codes.items, codes.age_days)
            age = np.where(np.isfinite(first), first, np.inf)
        launched = self._launched(self.cutoff_)
        if len(launched):
            pos = self.sku_index_.get_indexer(launched.index)
            ok = pos >= 0
            days = (self.cutoff_ - pd.DatetimeIndex(launched.to_numpy()[ok])) / pd.Timedelta(days=1)
            age[pos[ok]] = np.asarray(days, dtype=float)
        new = np.flatnonzero(age <= float(self.new_days))
        interest = (self.item_popularity_[new] + 1.0) / (age[new] + _AGE_PRIOR_DAYS)
        if len(new) > self.max_items:
            best = np.argsort(-interest, kind="stable")[: int(self.max_items)]
            keep = np.sort(best)
            new, interest = new[keep], interest[keep]
        self.items_kept_ = new.astype(np.int64)
        self.interest_ = interest / max(float(interest.max(initial=0.0)), 1e-12)
        self.item_age_days_ = age
        # attributes: category codes and log prices of every indexed SKU
        category = self._categories()
        cats = pd.Index(np.sort(category.unique()))
        self.category_index_ = cats
        self.item_category_ = cats.get_indexer(category).astype(np.int64)
        self.log_price_ = self._log_prices()
        w = self.state_["weight"]
        per_cat = np.asarray((w @ self._category_matrix()).sum(axis=0)).ravel()
        self.category_share_ = per_cat / max(float(per_cat.sum()), 1e-12)

    def _categories(self) -> pd.Series:
        """Category of every indexed SKU (catalog first, then the interactions')."""
        out = pd.Series(np.nan, index=self.sku_index_, dtype=object)
        if hasattr(self, "sku_category_"):
            out = self.sku_category_.reindex(self.sku_index_).astype(object)
        cat = self._catalog
        if cat is not None and "category" in cat.columns:
            c = cat["category"].dropna().astype(str)
            out = c.reindex(self.sku_index_).astype(object).combine_first(out)
        return out.fillna(_NO_CATEGORY).astype(str)

    def _log_prices(self) -> np.ndarray:
        cat = self._catalog
        if cat is None or "price" not in cat.columns:
            return np.full(len(self.sku_index_), np.nan)
        p = pd.to_numeric(cat["price"], errors="coerce").reindex(self.sku_index_)
        p = p.where(p > 0)
        return np.log(p.to_numpy(dtype=float))

    def _category_matrix(self, values: np.ndarray | None = None) -> sp.csr_matrix:
        """SKUs x categories indicator (or ``values`` in each SKU's category column)."""
        n = len(self.item_category_)
        v = np.ones(n) if values is None else values
        return sp.csr_matrix(
            (v, (np.arange(n), self.item_category_)), shape=(n, len(self.category_index_))
        )

    # ------------------------------------------------------------------ score
    def _affinity(self, w: sp.csr_matrix) -> np.ndarray:
        """``a(c, k)`` for the customers in the rows of ``w``."""
        per_cat = np.asarray((w @ self._category_matrix()).todense())
        total = per_cat.sum(axis=1, keepdims=True)
        lam = float(self.smoothing)
        return (per_cat + lam * self.category_share_[None, :]) / (total + lam)

    def _price_fit(self, w: sp.csr_matrix) -> np.ndarray:
        """``f(c, s)`` for the kept SKUs."""
        kept = self.items_kept_
        lp = self.log_price_
        known = np.isfinite(lp)
        wk = w[:, known] if not known.all() else w
        ck = self._category_matrix()[known]
        weight = np.asarray((wk @ ck).todense())
        spend = np.asarray((wk @ ck.multiply(lp[known][:, None]).tocsr()).todense())
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = spend / weight  # NaN where the customer has no priced history in k
        mine = mean[:, self.item_category_[kept]]
        d = (lp[kept][None, :] - mine) / float(self.price_band)  # type: ignore[arg-type]
        return np.where(np.isfinite(d), np.exp(-0.5 * d * d), 1.0)

    def _kept_scores(self, state: dict[str, sp.csr_matrix], rows: np.ndarray) -> np.ndarray:
        kept = self.items_kept_
        w = state["weight"][rows]
        scores = self._affinity(w)[:, self.item_category_[kept]] * self.interest_[None, :]
        if self.price_band is not None and np.isfinite(self.log_price_[kept]).any():
            scores *= self._price_fit(w)
        own = w[:, kept].tocoo()
        scores[own.row, own.col] += 1.0 + np.log1p(np.maximum(own.data, 0.0))
        return scores

    def _cold_fill(self) -> np.ndarray | None:
        """Customers without history: new SKUs by the shop's category shares and interest."""
        out = np.full(len(self.sku_index_), -np.inf)
        kept = self.items_kept_
        out[kept] = self.category_share_[self.item_category_[kept]] * self.interest_
        return out

    # ------------------------------------------------------------------ artifacts
    def _arrays(self) -> dict[str, np.ndarray]:
        return {
            "items_kept_": self.items_kept_,
            "interest_": self.interest_,
            "item_age_days_": self.item_age_days_,
            "item_category_": self.item_category_,
            "log_price_": self.log_price_,
            "category_share_": self.category_share_,
            "category_index_": np.asarray(self.category_index_, dtype=str),
        }

    def _set_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        super()._set_arrays(arrays)
        self.category_index_ = pd.Index(arrays["category_index_"])


def _catalog_frame(catalog: pd.DataFrame | None) -> pd.DataFrame | None:
    """The catalog indexed by SKU id (last row of a repeated SKU wins)."""
    if catalog is None:
        return None
    if "sku" not in catalog.columns:
        from ecomml.exceptions import SchemaError

        raise SchemaError(
            "the catalog has no 'sku' column", missing=["sku"], columns=list(catalog.columns)
        )
    cat = catalog.assign(sku=catalog["sku"].astype(str)).drop_duplicates("sku", keep="last")
    return cat.set_index("sku")
