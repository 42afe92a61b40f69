"""The recommender base class: id maps, batched top-K, cold start, safe artifacts."""

from __future__ import annotations

import abc
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ecomml._estimator import EcommlEstimator
from ecomml._state import read_model_json
from ecomml._validation import check_cutoff, check_fitted, day_after_last
from ecomml.exceptions import (
    ConfigError,
    DataQualityError,
    ModelLoadError,
    UnknownEntityError,
    short_repr,
)
from ecomml.recommend.interactions import check_interactions
from ecomml.recommend.topk import BLOCK_CELLS, dense_top_k, flatten, top_k

__all__ = [
    "COLD_START",
    "RECOMMEND_COLUMNS",
    "BaseRecommender",
    "Codes",
    "KeptItemsRecommender",
    "customers_from",
]

COLD_START = "popular-cold-start"
RECOMMEND_COLUMNS = ["customer_id", "sku", "rank", "score", "source"]
_PARAMS_FILE = "recommender.json"


@dataclass
class Codes:
    """Interactions mapped to matrix indices (private to the models)."""

    users: np.ndarray  # int64 row per interaction
    items: np.ndarray  # int64 column per interaction
    weight: np.ndarray  # float64
    age_days: np.ndarray | None  # days before the cutoff (float), None without ts
    purchase: np.ndarray  # bool
    n_users: int
    n_items: int

    def matrix(
        self, values: np.ndarray | None = None, *, mask: np.ndarray | None = None
    ) -> sp.csr_matrix:
        """Sum ``values`` (default weights) per (user, item) into a CSR matrix."""
        vals = self.weight if values is None else values
        u, i = self.users, self.items
        if mask is not None:
            u, i, vals = u[mask], i[mask], vals[mask]
        m = sp.csr_matrix((vals.astype(np.float64), (u, i)), shape=(self.n_users, self.n_items))
        m.sum_duplicates()
        m.eliminate_zeros()
        return m

    def customers_per_item(self, mask: np.ndarray | None = None) -> np.ndarray:
        """Distinct customers per item among the interactions (those under ``mask``)."""
        m = self.matrix(np.ones(len(self.users)), mask=mask)
        m.data[:] = 1.0
        return np.asarray(m.sum(axis=0)).ravel()


def customers_from(customers: Any) -> pd.Series:
    """Customer ids from None, a list/array/Series or a frame with ``customer_id``."""
    if isinstance(customers, pd.DataFrame):
        if "customer_id" not in customers.columns:
            from ecomml.exceptions import SchemaError

            raise SchemaError(
                f"customers frame needs a 'customer_id' column; found {short_repr(list(customers.columns))}",
                missing=["customer_id"],
                columns=list(customers.columns),
            )
        customers = customers["customer_id"]
    if isinstance(customers, str):
        customers = [customers]
    s = pd.Series(list(customers), dtype=object)
    if s.isna().any():
        raise DataQualityError("customers contains missing ids; drop them first")
    return s.astype(str).drop_duplicates().reset_index(drop=True)


class BaseRecommender(EcommlEstimator, abc.ABC):
    """Shared machinery of every ecomml recommender.

    Subclasses implement ``_fit(codes)`` and ``_score(state, rows)``; ``fit`` maps raw
    ids to indices (``customer_index_``, ``sku_index_``), ``recommend`` returns a long
    frame ``customer_id, sku, rank, score, source`` and never exposes matrix rows.
    """

    #: ``source`` label of the recommendations this model makes
    source_name: str = "model"
    #: share of stored scores above which a sparse batch is ranked as dense blocks
    _dense_share = 0.1
    #: state built from a customer's history (see :meth:`_state`)
    _state_keys: tuple[str, ...] = ("weight",)

    # get_params, set_params (unknown names raise ConfigError), clone and repr come from
    # EcommlEstimator (scikit-learn's BaseEstimator)

    # ------------------------------------------------------------------ fit
    def fit(self, interactions: pd.DataFrame, *, cutoff: Any = None) -> Self:
        """Learn from ``interactions`` (``customer_id, sku[, ts, event, weight]``).

        ``cutoff`` is the as-of time for time-based scores (default: the day after the
        last ``ts``). Duplicate rows are summed.
        """
        df = check_interactions(interactions)
        if cutoff is not None:
            cut = check_cutoff(cutoff)
            if "ts" in df.columns and (df["ts"] >= cut).any():
                from ecomml.exceptions import LeakageError

                n = int((df["ts"] >= cut).sum())
                raise LeakageError(
                    f"interactions has {n} rows on or after cutoff {cut.date()}; filter them "
                    "first (build_interactions(..., cutoff=...) does)"
                )
        elif "ts" in df.columns:
            cut = day_after_last(df["ts"])
        else:
            cut = None
        self.cutoff_ = cut
        self.customer_index_ = pd.Index(np.sort(df["customer_id"].unique()), name="customer_id")
        skus = df["sku"].unique()
        more = self._more_skus(cut)
        if len(more):
            skus = np.union1d(skus.astype(object), np.asarray(more, dtype=object))
        self.sku_index_ = pd.Index(np.sort(skus), name="sku")
        codes = self._encode(df, self.customer_index_, cut)
        self.item_popularity_ = codes.customers_per_item()
        if "category" in df.columns:
            cat = df.dropna(subset=["category"]).drop_duplicates("sku", keep="last")
            self.sku_category_ = cat.set_index("sku")["category"].astype(str)
        self.state_ = self._state(codes)
        self._fit(codes)
        return self

    def _more_skus(self, cutoff: pd.Timestamp | None) -> np.ndarray:
        """SKUs to index besides those in the interactions (default none; a generator that
        can recommend SKUs nobody interacted with yet names them here)."""
        return np.zeros(0, dtype=object)

    def _encode(self, df: pd.DataFrame, customers: pd.Index, cutoff: pd.Timestamp | None) -> Codes:
        users = customers.get_indexer(df["customer_id"])
        items = self.sku_index_.get_indexer(df["sku"])
        ok = (users >= 0) & (items >= 0)
        age = None
        if "ts" in df.columns and cutoff is not None:
            age = (cutoff - df["ts"]).dt.total_seconds().to_numpy()[ok] / 86400.0
        return Codes(
            users=users[ok].astype(np.int64),
            items=items[ok].astype(np.int64),
            weight=df["weight"].to_numpy(dtype=float)[ok],
            age_days=age,
            purchase=(df["event"].to_numpy() == "purchase")[ok],
            n_users=len(customers),
            n_items=len(self.sku_index_),
        )

    def _state(self, codes: Codes) -> dict[str, sp.csr_matrix]:
        """Per-customer history matrices the scores need (default: summed weights)."""
        return {"weight": codes.matrix()}

    @abc.abstractmethod
    def _fit(self, codes: Codes) -> None:
        """Learn the model's parameters."""

    @abc.abstractmethod
    def _score(self, state: dict[str, sp.csr_matrix], rows: np.ndarray) -> np.ndarray:
        """Dense scores ``(len(rows), n_items)`` for the customers at ``rows`` of ``state``."""

    # ------------------------------------------------------------------ recommend
    def history_state(
        self, history: pd.DataFrame, *, cutoff: Any = None
    ) -> tuple[pd.Index, dict[str, sp.csr_matrix], int]:
        """Customer index and state from newer ``history`` (fold-in at predict time).

        Items the model never saw are ignored; returns their number of rows too.
        """
        check_fitted(self, ["state_"])
        df = check_interactions(history, name="history")
        if cutoff is not None:
            cut = check_cutoff(cutoff)
            if "ts" in df.columns:
                df = df.loc[df["ts"] < cut]
        elif "ts" in df.columns:
            cut = day_after_last(df["ts"])
        else:
            cut = self.cutoff_
        unknown = int((self.sku_index_.get_indexer(df["sku"]) < 0).sum())
        index = pd.Index(np.sort(df["customer_id"].unique()), name="customer_id")
        codes = self._encode(df, index, cut)
        return index, self._state(codes), unknown

    def recommend(
        self,
        customers: Any = None,
        k: int = 10,
        *,
        exclude_seen: bool = True,
        history: pd.DataFrame | None = None,
        cutoff: Any = None,
        batch_size: int = 1024,
        history_state: tuple[pd.Index, dict[str, sp.csr_matrix]] | None = None,
    ) -> pd.DataFrame:
        """Top-``k`` SKUs for each customer as a long frame.

        Parameters
        ----------
        customers : ids (list, Series, or a frame with ``customer_id``); None = every
            customer with history.
        k : list length.
        exclude_seen : drop SKUs the customer interacted with.
        history : newer interactions to score customers on (fold-in); default the
            training interactions.
        cutoff : as-of time of ``history``.
        batch_size : customers scored per matrix block (fewer for large catalogues).
        history_state : ``(index, state)`` from :meth:`history_state`, to reuse it.

        Returns
        -------
        DataFrame
            ``customer_id, sku, rank, score, source``; customers without history get the
            most popular SKUs with ``source = "popular-cold-start"``.
        """
        check_fitted(self, ["state_"])
        if not isinstance(k, (int, np.integer)) or k < 1:
            raise ConfigError(f"k must be a positive integer, got {k!r}")
        if history_state is not None:
            index, state = history_state
        elif history is None:
            index, state = self.customer_index_, self.state_
        else:
            index, state, _ = self.history_state(history, cutoff=cutoff)
        ids = pd.Series(index.to_numpy()) if customers is None else customers_from(customers)
        pos = index.get_indexer(ids)
        known = pos >= 0
        kids = ids.to_numpy()[known]
        frames = []
        if known.any():
            lists = self.top_lists(state, pos[known], k, exclude_seen, batch_size=batch_size)
            frames.append(self._frame(kids, *lists))
        if (~known).any():
            frames.append(self._cold_start(ids.to_numpy()[~known], k))
        if not frames:
            return pd.DataFrame({c: pd.Series(dtype=t) for c, t in _DTYPES.items()})
        out = pd.concat(frames, ignore_index=True)
        return out.astype(_DTYPES)

    def top_lists(
        self, state: dict[str, sp.csr_matrix], rows: np.ndarray, k: int,
        exclude_seen: bool = False, *, batch_size: int = 1024,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
        """Top-``k`` lists of the customers at positions ``rows`` of ``state`` as
        ``(row, item, score, rank)`` arrays (``row`` a position in ``rows``, ``item`` in
        :attr:`sku_index_`), scored in memory-bounded batches: what :meth:`recommend` and
        the pipeline's candidate union share, before any id is turned into a string."""
        rows = np.asarray(rows, dtype=np.int64)
        sparse = self._sparse_scores(state, rows[:0]) is not None
        # dense score blocks stay under ~160 MB whatever the catalogue size; sparse ones
        # hold a few entries per customer
        if sparse:  # about 1e7 entries per batch
            cap = int(1e7 // max(self._entries_per_row(state) + k, 1.0))
            step = max(1, min(int(batch_size) * 50, 50_000, cap))
        else:
            step = max(1, min(int(batch_size), BLOCK_CELLS // max(self._block_width(), 1)))
        parts = []
        for start in range(0, len(rows), step):
            block = rows[start : start + step]
            seen = state["weight"][block] if exclude_seen else None
            if sparse:
                scores, fill = self._sparse_scores(state, block)  # type: ignore[misc]
                r, i, v, rk = top_k(scores, k, fill=fill, exclude=seen,
                                    dense_share=self._dense_share)  # fmt: skip
            else:
                r, i, v, rk = flatten(*self._dense_top_k(state, block, k, seen))
            parts.append((r + start, i, v, rk))
        if not parts:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, np.zeros(0), empty
        return tuple(np.concatenate(x) for x in zip(*parts, strict=True))  # type: ignore[return-value]

    def _sparse_scores(
        self, state: dict[str, sp.csr_matrix], rows: np.ndarray
    ) -> tuple[sp.csr_matrix, np.ndarray | None] | None:
        """The scores of :meth:`_score` as stored entries plus a fill vector shared by
        every row (None for none: unstored items are not recommended), or None when the
        scores are dense by nature (factor models, EASE); whether it is None depends on the
        model and ``state``, never on ``rows``. Lists are the same either way; the sparse
        form never builds a customers x SKUs block."""
        return None

    def _block_width(self) -> int:
        """Columns of one dense score block (:meth:`_dense_top_k`): the catalogue."""
        return len(self.sku_index_)

    def _entries_per_row(self, state: dict[str, sp.csr_matrix]) -> float:
        """Stored scores per customer in :meth:`_sparse_scores`, on average (sizes the
        batches): their history by default."""
        w = state["weight"]
        return w.nnz / max(w.shape[0], 1)

    def _frame(
        self, ids: np.ndarray, rows: np.ndarray, items: np.ndarray, vals: np.ndarray,
        ranks: np.ndarray, source: str | None = None,
    ) -> pd.DataFrame:  # fmt: skip
        """The long frame of top-K lists given as ``(row, item, score, rank)`` arrays, a
        row being a position in ``ids``."""
        return pd.DataFrame(
            {
                "customer_id": ids[rows],
                "sku": self.sku_index_.to_numpy()[items],
                "rank": ranks,
                "score": vals,
                "source": source or self.source_name,
            }
        )

    def _dense_top_k(
        self, state: dict[str, sp.csr_matrix], rows: np.ndarray, k: int,
        seen: sp.csr_matrix | None,
    ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
        """Top-``k`` items and scores of the customers at ``rows`` from :meth:`_score`,
        ``seen`` items left out (scored ``-inf``)."""
        scores = np.asarray(self._score(state, rows), dtype=np.float64)
        if seen is not None:
            r, c = seen.nonzero()
            scores[r, c] = -np.inf
        return dense_top_k(scores, k)

    def cold_start_scores(self, customers: np.ndarray) -> np.ndarray:
        """Scores for customers without history: distinct-customer popularity."""
        return np.tile(self.item_popularity_.astype(float), (len(customers), 1))

    def _cold_fill(self) -> np.ndarray | None:
        """The scores every customer without history shares (None: they differ, see
        :meth:`cold_start_scores`)."""
        if type(self).cold_start_scores is not BaseRecommender.cold_start_scores:
            return None
        return self.item_popularity_.astype(float)

    def _cold_start(self, ids: np.ndarray, k: int) -> pd.DataFrame:
        fill = self._cold_fill()
        if fill is not None:  # one shared list: no customers x SKUs block
            empty = sp.csr_matrix((len(ids), len(self.sku_index_)))
            return self._frame(ids, *top_k(empty, k, fill=fill), COLD_START)
        frames = []
        for start in range(0, len(ids), 1024):
            chunk = ids[start : start + 1024]
            lists = flatten(*dense_top_k(self.cold_start_scores(chunk), k))
            frames.append(self._frame(chunk, *lists, COLD_START))
        return pd.concat(frames, ignore_index=True)

    # ------------------------------------------------------------------ similar items
    def similar_items(self, sku: Any, k: int = 10) -> pd.DataFrame:
        """SKUs most often bought by the same customers ("who bought this also bought").

        Cosine similarity of the SKUs' customer vectors (models with item factors use
        them instead). Returns ``sku, similar_sku, rank, score``.

        Raises
        ------
        UnknownEntityError
            ``sku`` was not in the training data.
        """
        check_fitted(self, ["state_"])
        i = self._item_pos(sku)
        sims = np.asarray(self._item_similarity(i), dtype=float).ravel()
        sims[i] = -np.inf
        kk = min(k, len(sims) - 1)
        if kk <= 0:
            return pd.DataFrame(columns=["sku", "similar_sku", "rank", "score"])
        top = np.argpartition(-sims, kk - 1)[:kk]
        top = top[np.argsort(-sims[top], kind="stable")]
        top = top[np.isfinite(sims[top]) & (sims[top] > 0)]
        return pd.DataFrame(
            {
                "sku": str(sku),
                "similar_sku": self.sku_index_.to_numpy()[top],
                "rank": np.arange(1, len(top) + 1),
                "score": sims[top],
            }
        )

    def _item_pos(self, sku: Any) -> int:
        i = int(self.sku_index_.get_indexer([str(sku)])[0])
        if i < 0:
            raise UnknownEntityError(
                f"SKU {str(sku)!r} is not in the training data ({len(self.sku_index_)} SKUs, "
                f"e.g. {short_repr(list(self.sku_index_[:3]))}); only SKUs bought or viewed "
                "before the cutoff have neighbours"
            )
        return i

    def _item_similarity(self, i: int) -> np.ndarray:
        x = self.state_["weight"].tocsc()
        col = x[:, i]
        norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=0)).ravel())
        dots = np.asarray((col.T @ x).todense()).ravel()
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(norms > 0, dots / (norms * max(norms[i], 1e-12)), 0.0)

    # ------------------------------------------------------------------ artifacts
    def _arrays(self) -> dict[str, np.ndarray]:
        """Fitted numeric arrays to save (besides id maps and state)."""
        return {}

    def _set_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        for k, v in arrays.items():
            setattr(self, k, v)

    def save_artifacts(self, path: str | os.PathLike[str]) -> None:
        """Write the fitted model as JSON, Parquet, ``.npy`` and ``.npz`` (no pickle)."""
        check_fitted(self, ["state_"])
        d = Path(path)
        d.mkdir(parents=True, exist_ok=True)
        meta = {
            "class": type(self).__name__,
            "params": self.get_params(),
            "cutoff": None if self.cutoff_ is None else self.cutoff_.isoformat(),
        }
        (d / _PARAMS_FILE).write_text(json.dumps(meta, indent=2, default=str))
        pd.DataFrame({"customer_id": self.customer_index_.to_numpy()}).to_parquet(
            d / "customers.parquet", index=False
        )
        skus = pd.DataFrame(
            {"sku": self.sku_index_.to_numpy(), "popularity": self.item_popularity_}
        )
        if hasattr(self, "sku_category_"):
            skus["category"] = self.sku_category_.reindex(skus["sku"]).to_numpy()
        skus.to_parquet(d / "skus.parquet", index=False)
        for name, m in self.state_.items():
            sp.save_npz(d / f"state_{name}.npz", m.tocsr())
        for name, arr in self._arrays().items():
            if sp.issparse(arr):
                sp.save_npz(d / f"sparse_{name}.npz", sp.csr_matrix(arr))
            else:
                np.save(d / f"array_{name}.npy", np.asarray(arr), allow_pickle=False)

    @classmethod
    def load_artifacts(cls, path: str | os.PathLike[str]) -> Self:
        """Rebuild a model written by :meth:`save_artifacts`."""
        d = Path(path)
        meta = read_model_json(d, _PARAMS_FILE)
        if meta.get("class") != cls.__name__:
            raise ModelLoadError(f"{d}: holds a {meta.get('class')}, not a {cls.__name__}")
        model = cls(**meta["params"])
        model.cutoff_ = None if meta["cutoff"] is None else pd.Timestamp(meta["cutoff"])
        cust = pd.read_parquet(d / "customers.parquet")["customer_id"].astype(str)
        model.customer_index_ = pd.Index(cust.to_numpy(), name="customer_id")
        skus = pd.read_parquet(d / "skus.parquet")
        model.sku_index_ = pd.Index(skus["sku"].astype(str).to_numpy(), name="sku")
        model.item_popularity_ = skus["popularity"].to_numpy(dtype=float)
        if "category" in skus.columns:
            model.sku_category_ = (
                pd.Series(skus["category"].to_numpy(), index=model.sku_index_).dropna().astype(str)
            )
        model.state_ = {
            p.stem[len("state_") :]: sp.load_npz(p).tocsr() for p in sorted(d.glob("state_*.npz"))
        }
        arrays: dict[str, Any] = {}
        for p in sorted(d.glob("array_*.npy")):
            arrays[p.stem[len("array_") :]] = np.load(p, allow_pickle=False)
        for p in sorted(d.glob("sparse_*.npz")):
            arrays[p.stem[len("sparse_") :]] = sp.load_npz(p).tocsr()
        model._set_arrays(arrays)
        return model


class KeptItemsRecommender(BaseRecommender):
    """A recommender that scores a subset of the catalogue, ``items_kept_`` (positions in
    :attr:`sku_index_`, ascending): the others score ``-inf``, and every score block is as
    wide as the subset, not the catalogue. Subclasses set ``items_kept_`` in ``_fit`` and
    implement :meth:`_kept_scores`."""

    items_kept_: np.ndarray

    @abc.abstractmethod
    def _kept_scores(self, state: dict[str, sp.csr_matrix], rows: np.ndarray) -> np.ndarray:
        """Scores ``(len(rows), len(items_kept_))`` of the kept SKUs."""

    def _score(self, state: dict[str, sp.csr_matrix], rows: np.ndarray) -> np.ndarray:
        part = self._kept_scores(state, rows)
        if len(self.items_kept_) == len(self.sku_index_):
            return part
        out = np.full((len(rows), len(self.sku_index_)), -np.inf)
        out[:, self.items_kept_] = part
        return out

    def _dense_top_k(
        self, state: dict[str, sp.csr_matrix], rows: np.ndarray, k: int,
        seen: sp.csr_matrix | None,
    ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
        """Top-K over the kept SKUs only. They are in index order, so ties still go to the
        lower SKU index."""
        kept = self.items_kept_
        if len(kept) == len(self.sku_index_):
            return super()._dense_top_k(state, rows, k, seen)
        scores = np.asarray(self._kept_scores(state, rows), dtype=np.float64)
        if seen is not None:
            where = np.full(len(self.sku_index_), -1)
            where[kept] = np.arange(len(kept))
            r, c = seen.nonzero()
            on = where[c] >= 0
            scores[r[on], where[c[on]]] = -np.inf
        items, vals = dense_top_k(scores, k)
        return kept[items], vals

    def _block_width(self) -> int:
        return max(len(self.items_kept_), 1)


_DTYPES = {
    "customer_id": "string",
    "sku": "string",
    "rank": "int64",
    "score": "float64",
    "source": "string",
}
