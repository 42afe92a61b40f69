"""Top-K per customer, from a dense score block or from sparse scores plus a shared fill.

Both give the same lists for the same scores: the ``k`` best items of each row by score,
ties broken by the lower item index, items scored ``-inf`` (or NaN) left out.

A generator whose scores are a few entries per customer on top of one shared vector
(popularity, buy-again over popularity, item neighbours over zero) hands :func:`top_k`
the entries and the vector: it ranks them as entries (cost grows with the entries and
``k``, never with customers x SKUs) or, where they fill much of the block, as bounded
dense blocks, which is faster there.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["dense_top_k", "flatten", "sparse_top_k", "top_k", "unique_sorted"]

#: cells of one dense score block (~160 MB of float64)
BLOCK_CELLS = 20_000_000


def unique_sorted(a: np.ndarray) -> np.ndarray:
    """``np.unique(a)`` by a sort: NumPy 2's hash-based unique of integers is ~30x slower
    than sorting them (3 s against 0.1 s for 3M int64 keys)."""
    s = np.sort(np.asarray(a))
    if len(s) < 2:
        return s
    keep = np.empty(len(s), dtype=bool)
    keep[0] = True
    np.not_equal(s[1:], s[:-1], out=keep[1:])
    return s[keep]


def dense_top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Items ``(n, kk)`` and their scores for each row of ``scores``, best first.

    ``kk = min(k, n_items)``; a row with fewer finite scores is padded with ``-inf``
    entries, which callers drop. Ties go to the lower item index.
    """
    n, n_items = scores.shape
    kk = min(int(k), n_items)
    if n == 0 or kk == 0:
        return np.zeros((n, kk), dtype=np.int64), np.zeros((n, kk))
    s = scores  # NaN sorts after every number: it is only ever padding, dropped by callers
    if kk < n_items:
        items = np.argpartition(-s, kk - 1, axis=1)[:, :kk]
        thr = np.take_along_axis(s, items, axis=1).min(axis=1)
        # rows with more items tied at the threshold than places: the lowest indices win
        tie = np.flatnonzero(np.count_nonzero(s >= thr[:, None], axis=1) > kk)
        if len(tie):
            st, th = s[tie], thr[tie][:, None]
            above = st > th
            tied = st == th
            need = kk - above.sum(axis=1)
            chosen = above | (tied & (np.cumsum(tied, axis=1) <= need[:, None]))
            items[tie] = np.nonzero(chosen)[1].reshape(len(tie), kk)
    else:
        items = np.tile(np.arange(n_items), (n, 1))
    items.sort(axis=1)  # index order first, so the stable sort below breaks ties by it
    vals = np.take_along_axis(s, items, axis=1)
    order = np.argsort(-vals, axis=1, kind="stable")  # index order kept among ties
    return np.take_along_axis(items, order, axis=1), np.take_along_axis(vals, order, axis=1)


def flatten(
    items: np.ndarray, vals: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(row, item, score, rank)`` of :func:`dense_top_k`'s ``(n, kk)`` lists, padding
    (non-finite scores) left out."""
    n, kk = items.shape
    ok = np.isfinite(vals).ravel()
    rows = np.repeat(np.arange(n), kk)[ok]
    ranks = np.tile(np.arange(1, kk + 1), n)[ok]
    return rows, items.ravel()[ok], vals.ravel()[ok], ranks


def top_k(
    scores: sp.csr_matrix,
    k: int,
    *,
    fill: np.ndarray | None = None,
    exclude: sp.csr_matrix | None = None,
    dense_share: float = 0.1,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`sparse_top_k`'s lists, ranked as dense blocks of at most
    :data:`BLOCK_CELLS` cells when more than ``dense_share`` of the block is stored."""
    scores = sp.csr_matrix(scores)
    n, n_items = scores.shape
    if scores.nnz <= dense_share * n * n_items:
        return sparse_top_k(scores, k, fill=fill, exclude=exclude)
    step = max(1, BLOCK_CELLS // max(n_items, 1))
    parts = []
    for a in range(0, n, step):
        block = scores[a : a + step]
        if fill is not None and not fill.any():  # unstored entries score 0
            dense = block.toarray()
        else:
            m, coo = block.shape[0], block.tocoo()
            dense = np.full((m, n_items), -np.inf) if fill is None else np.tile(fill, (m, 1))
            dense[coo.row, coo.col] = coo.data
        if exclude is not None:
            r, c = exclude[a : a + step].nonzero()
            dense[r, c] = -np.inf
        rows, items, vals, ranks = flatten(*dense_top_k(dense, k))
        parts.append((rows + a, items, vals, ranks))
    return tuple(np.concatenate(x) for x in zip(*parts, strict=True))  # type: ignore[return-value]


def sparse_top_k(
    scores: sp.csr_matrix,
    k: int,
    *,
    fill: np.ndarray | None = None,
    exclude: sp.csr_matrix | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Top-``k`` of rows scored ``scores[u, i]`` where stored, else ``fill[i]`` (else
    ``-inf``), leaving out the stored entries of ``exclude``.

    Returns ``(row, item, score, rank)`` arrays, rows in order, ``rank`` from 1; the same
    lists :func:`dense_top_k` gives on the dense block.
    """
    scores = sp.csr_matrix(scores)
    n, n_items = scores.shape
    coo = scores.tocoo()
    rows, items, vals = coo.row.astype(np.int64), coo.col.astype(np.int64), coo.data
    stored = rows * n_items + items
    excluded = np.zeros(0, dtype=np.int64)
    if exclude is not None and exclude.nnz:
        ex = sp.csr_matrix(exclude).tocoo()
        excluded = unique_sorted(ex.row.astype(np.int64) * n_items + ex.col)
        keep = ~np.isin(stored, excluded, assume_unique=False)
        rows, items, vals = rows[keep], items[keep], vals[keep]
    if fill is not None and n_items:
        # items by fill score, best first, ties to the lower index
        order = np.lexsort((np.arange(n_items), -np.nan_to_num(fill, nan=-np.inf)))
        # each row needs at most k fill items beyond those it stores or excludes
        busy = np.bincount(scores.tocoo().row, minlength=n)
        if len(excluded):
            busy = busy + np.bincount(excluded // n_items, minlength=n)
        # a row with k stored entries above every fill score takes no fill
        top = np.max(fill[np.isfinite(fill)], initial=-np.inf)
        strong = np.bincount(rows[vals > top], minlength=n) >= int(k)
        take = np.where(strong, 0, np.minimum(int(k) + busy, n_items))
        start = np.repeat(np.cumsum(take) - take, take)
        f_rows = np.repeat(np.arange(n, dtype=np.int64), take)
        f_items = order[np.arange(int(take.sum())) - start]
        f_keys = f_rows * n_items + f_items
        weak = stored[~strong[stored // n_items]] if len(stored) else stored
        taken = np.isin(f_keys, weak) | np.isin(f_keys, excluded)
        rows = np.concatenate([rows, f_rows[~taken]])
        items = np.concatenate([items, f_items[~taken]])
        vals = np.concatenate([vals, fill[f_items[~taken]]])
    ok = np.isfinite(vals)
    return _rank_entries(rows[ok], items[ok], vals[ok], n, n_items, int(k))


def _rank_entries(
    rows: np.ndarray, items: np.ndarray, vals: np.ndarray, n: int, n_items: int, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Top-``k`` of each row's (item, value) entries, as :func:`dense_top_k` ranks them.

    Rows are padded to a few widths (powers of two) and ranked as small dense blocks:
    the cost follows the entries, not rows x items.
    """
    m = sp.csr_matrix((vals, (rows, items)), shape=(n, n_items))  # no duplicate entries
    m.sort_indices()  # items ascending within a row: position order is index order
    count = np.diff(m.indptr)
    width = np.where(count > 0, 2 ** np.ceil(np.log2(np.maximum(count, 1))), 0).astype(np.int64)
    out_r, out_i, out_v, out_k = [], [], [], []
    for w in np.unique(width[width > 0]):
        rs = np.flatnonzero(width == w)
        pad = np.full((len(rs), int(w)), -np.inf)
        cnt = count[rs]
        offs = np.repeat(m.indptr[rs], cnt)
        local = np.arange(int(cnt.sum())) - np.repeat(np.cumsum(cnt) - cnt, cnt)
        line = np.repeat(np.arange(len(rs)), cnt)
        pad[line, local] = m.data[offs + local]
        cols = np.full((len(rs), int(w)), -1, dtype=np.int64)
        cols[line, local] = m.indices[offs + local]
        r, pos, v, rk = flatten(*dense_top_k(pad, k))
        out_r.append(rs[r])
        out_i.append(cols[r, pos])
        out_v.append(v)
        out_k.append(rk)
    if not out_r:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0), empty
    r, i, v, rk = (np.concatenate(x) for x in (out_r, out_i, out_v, out_k))
    by = np.lexsort((rk, r))
    return r[by], i[by], v[by], rk[by]
