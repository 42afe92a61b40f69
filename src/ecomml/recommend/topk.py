"""Top-K per customer, from a dense score block or from sparse scores plus a shared fill.

Both give the same lists for the same scores: the ``k`` best items of each row by score,
ties broken by the lower item index, items scored ``-inf`` (or NaN) left out.

A generator whose scores are a few entries per customer on top of one shared vector
(popularity, buy-again over popularity, item neighbours over zero) hands
:func:`sparse_top_k` the entries and the vector: its cost grows with the entries and
``k``, never with customers x SKUs.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["dense_top_k", "sparse_top_k", "fill_order"]


def dense_top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Items ``(n, kk)`` and their scores for each row of ``scores``, best first.

    ``kk = min(k, n_items)``; a row with fewer finite scores is padded with ``-inf``
    entries, which callers drop. Ties go to the lower item index.
    """
    n, n_items = scores.shape
    kk = min(int(k), n_items)
    if n == 0 or kk == 0:
        return np.zeros((n, kk), dtype=np.int64), np.zeros((n, kk))
    s = np.where(np.isnan(scores), -np.inf, scores)
    if kk < n_items:
        part = np.argpartition(-s, kk - 1, axis=1)[:, :kk]
        thr = np.take_along_axis(s, part, axis=1).min(axis=1)
        above = s > thr[:, None]
        need = kk - above.sum(axis=1)
        tied = s == thr[:, None]
        # the lowest-index tied items fill the places left
        chosen = above | (tied & (np.cumsum(tied, axis=1) <= need[:, None]))
        items = np.nonzero(chosen)[1].reshape(n, kk)
    else:
        items = np.tile(np.arange(n_items), (n, 1))
    vals = np.take_along_axis(s, items, axis=1)
    order = np.argsort(-vals, axis=1, kind="stable")  # index order kept among ties
    return np.take_along_axis(items, order, axis=1), np.take_along_axis(vals, order, axis=1)


def fill_order(fill: np.ndarray) -> np.ndarray:
    """Item indices by fill score, best first, ties to the lower index."""
    return np.lexsort((np.arange(len(fill)), -np.nan_to_num(fill, nan=-np.inf)))


def sparse_top_k(
    scores: sp.csr_matrix,
    k: int,
    *,
    fill: np.ndarray | None = None,
    exclude: sp.csr_matrix | None = None,
    order: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Top-``k`` of rows scored ``scores[u, i]`` where stored, else ``fill[i]`` (else
    ``-inf``), leaving out the stored entries of ``exclude``.

    Returns ``(row, item, score, rank)`` arrays, rows in order, ``rank`` from 1; the same
    lists :func:`dense_top_k` gives on the dense block. ``order`` is :func:`fill_order`
    of ``fill`` (pass it to reuse it across batches).
    """
    scores = sp.csr_matrix(scores)
    n, n_items = scores.shape
    coo = scores.tocoo()
    rows, items, vals = coo.row.astype(np.int64), coo.col.astype(np.int64), coo.data
    stored = rows * n_items + items
    excluded = np.zeros(0, dtype=np.int64)
    if exclude is not None and exclude.nnz:
        ex = sp.csr_matrix(exclude).tocoo()
        excluded = np.unique(ex.row.astype(np.int64) * n_items + ex.col)
        keep = ~np.isin(stored, excluded, assume_unique=False)
        rows, items, vals = rows[keep], items[keep], vals[keep]
    if fill is not None and n_items:
        if order is None:
            order = fill_order(fill)
        # each row needs at most k fill items beyond those it stores or excludes
        busy = np.bincount(scores.tocoo().row, minlength=n)
        if len(excluded):
            busy = busy + np.bincount(excluded // n_items, minlength=n)
        take = np.minimum(int(k) + busy, n_items)
        start = np.repeat(np.cumsum(take) - take, take)
        f_rows = np.repeat(np.arange(n, dtype=np.int64), take)
        f_items = order[np.arange(int(take.sum())) - start]
        f_keys = f_rows * n_items + f_items
        taken = np.isin(f_keys, stored) | np.isin(f_keys, excluded)
        rows = np.concatenate([rows, f_rows[~taken]])
        items = np.concatenate([items, f_items[~taken]])
        vals = np.concatenate([vals, fill[f_items[~taken]]])
    ok = np.isfinite(vals)
    rows, items, vals = rows[ok], items[ok], vals[ok]
    by = np.lexsort((items, -vals, rows))
    rows, items, vals = rows[by], items[by], vals[by]
    first = np.searchsorted(rows, rows, side="left")
    rank = np.arange(len(rows)) - first + 1
    top = rank <= int(k)
    return rows[top], items[top], vals[top], rank[top]
