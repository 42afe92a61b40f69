"""Top-K: the sparse path (stored entries + a shared fill) gives the dense path's lists."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from ecomml.recommend import (
    BuyAgainRecommender,
    ItemKNNRecommender,
    PopularityRecommender,
)
from ecomml.recommend._base import BaseRecommender
from ecomml.recommend.topk import dense_top_k, sparse_top_k, unique_sorted
from tests.recommend.conftest import CUTOFF


def _dense_lists(dense: np.ndarray, k: int) -> list[list[tuple[int, float]]]:
    items, vals = dense_top_k(dense, k)
    return [
        [(int(i), float(v)) for i, v in zip(ri, rv, strict=True) if np.isfinite(v)]
        for ri, rv in zip(items, vals, strict=True)
    ]


def _sparse_lists(
    scores: sp.csr_matrix, k: int, fill: np.ndarray | None, exclude: sp.csr_matrix | None
) -> list[list[tuple[int, float]]]:
    rows, items, vals, ranks = sparse_top_k(scores, k, fill=fill, exclude=exclude)
    out: list[list[tuple[int, float]]] = [[] for _ in range(scores.shape[0])]
    for r, i, v, rank in zip(rows, items, vals, ranks, strict=True):
        assert rank == len(out[r]) + 1
        out[r].append((int(i), float(v)))
    return out


@st.composite
def _problems(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray, int]:
    n = draw(st.integers(1, 6))
    m = draw(st.integers(1, 12))
    # few distinct values, so ties at the list boundary are common
    level = st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.0])
    stored = np.array(draw(st.lists(st.booleans(), min_size=n * m, max_size=n * m))).reshape(n, m)
    values = np.array(draw(st.lists(level, min_size=n * m, max_size=n * m))).reshape(n, m)
    fill = None
    if draw(st.booleans()):
        fill = np.array(draw(st.lists(level, min_size=m, max_size=m)))
    seen = np.array(draw(st.lists(st.booleans(), min_size=n * m, max_size=n * m))).reshape(n, m)
    return stored, values, fill, seen, draw(st.integers(1, m + 2))


@settings(max_examples=300, deadline=None)
@given(_problems())
def test_sparse_top_k_equals_dense(problem) -> None:  # noqa: ANN001
    stored, values, fill, seen, k = problem
    dense = np.tile(fill if fill is not None else -np.inf, (stored.shape[0], 1)).astype(float)
    dense = np.where(stored, values, dense)
    dense[seen] = -np.inf
    scores = sp.csr_matrix(np.where(stored, values, 0.0))
    # an explicit stored zero must still be a stored entry
    r, c = np.nonzero(stored)
    scores = sp.csr_matrix((values[r, c], (r, c)), shape=stored.shape)
    exclude = sp.csr_matrix(seen.astype(float))
    assert _sparse_lists(scores, k, fill, exclude) == _dense_lists(dense, k)


def test_dense_top_k_breaks_ties_by_lower_index() -> None:
    scores = np.array([[1.0, 2.0, 2.0, 2.0, 0.0], [-np.inf, 1.0, 1.0, -np.inf, 1.0]])
    items, vals = dense_top_k(scores, 2)
    assert items.tolist() == [[1, 2], [1, 2]]
    assert vals.tolist() == [[2.0, 2.0], [1.0, 1.0]]


@pytest.mark.parametrize(
    "make",
    [
        lambda: PopularityRecommender(window_days=60),
        lambda: BuyAgainRecommender(),
        lambda: BuyAgainRecommender(fill_popular=False),
        lambda: ItemKNNRecommender(similarity="bm25", n_neighbors=10),
        lambda: ItemKNNRecommender(similarity="cosine", n_neighbors=5),
    ],
    ids=["pop", "buy-again", "buy-again-only", "bm25", "cosine"],
)
@pytest.mark.parametrize("exclude_seen", [True, False])
@pytest.mark.parametrize("always_sparse", [True, False])
def test_generators_sparse_path_equals_dense_path(
    make, exclude_seen: bool, always_sparse: bool, interactions: pd.DataFrame,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # noqa: ANN001  # fmt: skip
    if always_sparse:  # at this size the library would rank most batches as dense blocks
        monkeypatch.setattr(ItemKNNRecommender, "_dense_reach", np.inf)
        monkeypatch.setattr(BaseRecommender, "_dense_share", np.inf)
    model = make().fit(interactions, cutoff=CUTOFF)
    customers = [*interactions["customer_id"].unique()[:60], "never-seen"]
    fast = model.recommend(customers, 15, exclude_seen=exclude_seen)
    if always_sparse:
        assert model._sparse_scores(model.state_, np.arange(3)) is not None
    monkeypatch.setattr(type(model), "_sparse_scores", lambda self, state, rows: None)
    monkeypatch.setattr(type(model), "_cold_fill", lambda self: None)
    slow = model.recommend(customers, 15, exclude_seen=exclude_seen)
    pd.testing.assert_frame_equal(fast, slow)


def test_nan_scores_are_never_recommended() -> None:
    scores = np.array([[np.nan, 1.0, np.nan, 0.5], [np.nan, np.nan, np.nan, 2.0]])
    items, vals = dense_top_k(scores, 3)
    kept = [[int(i) for i, v in zip(ri, rv, strict=True) if np.isfinite(v)]
            for ri, rv in zip(items, vals, strict=True)]  # fmt: skip
    assert kept == [[1, 3], [3]]


def test_recommend_all_on_a_100k_sku_catalogue_stays_small() -> None:
    """The sparse path never builds a customers x SKUs block: recommending 20 SKUs to 5,000
    customers over 100,000 SKUs peaks under 120 MiB (about 50-70 measured; the dense path
    peaked at 460)."""
    import tracemalloc

    rng = np.random.default_rng(0)
    n_rows, n_skus = 60_000, 100_000
    # every SKU bought once (the catalogue), then popular SKUs bought again
    sku = np.concatenate([np.arange(n_skus), rng.zipf(1.3, n_rows) % n_skus])
    cust = rng.integers(0, 5_000, len(sku))
    inter = pd.DataFrame(
        {
            "customer_id": pd.Series(cust).map("C{:05d}".format),
            "sku": pd.Series(sku).map("S{:06d}".format),
            "ts": pd.Timestamp("2024-01-01")
            + pd.to_timedelta(rng.integers(0, 300 * 86400, len(sku)), "s"),
            "event": "purchase",
            "weight": 1.0,
        }
    )
    for model in (PopularityRecommender(), BuyAgainRecommender()):
        model.fit(inter, cutoff="2024-11-01")
        tracemalloc.start()
        recs = model.recommend(None, 20, exclude_seen=True)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert len(model.sku_index_) == n_skus
        assert len(recs) == 20 * len(model.customer_index_)
        assert peak < 120 * 2**20, f"{type(model).__name__}: peak {peak / 2**20:.0f} MiB"


@settings(max_examples=40, deadline=None)
@given(
    n_items=st.integers(1, 60),
    n_users=st.integers(1, 40),
    density=st.floats(0.02, 0.6),
    k=st.integers(1, 6),
    binary=st.booleans(),
    seed=st.integers(0, 10_000),
)
def test_compiled_item_neighbours_equal_the_exact_ones(
    n_items: int, n_users: int, density: float, k: int, binary: bool, seed: int
) -> None:
    """implicit's all_pairs_knn plus the tie repair give exactly the neighbours of the
    blockwise product: the same SKUs (ties to the lower index) and the same values, also
    on binary data full of ties and with a k far below the row length."""
    from ecomml.recommend.candidates import _top_k_rows, bm25_weight, item_neighbours

    rng = np.random.default_rng(seed)
    x = sp.random(n_items, n_users, density=density, random_state=rng, format="csr")
    if binary:
        x.data[:] = 1.0
    for m in (x, sp.csr_matrix(bm25_weight(x))):
        fast, exact = item_neighbours(m, k), _top_k_rows(m, k)
        assert (fast != exact).nnz == 0
        assert np.array_equal(fast.indptr, exact.indptr)
        assert np.array_equal(fast.indices, exact.indices)


def test_ease_ranks_only_the_skus_it_models(interactions) -> None:  # noqa: ANN001
    """With ``max_items`` below the catalogue, EASE ranks a block as wide as the SKUs it
    models: the same lists as the catalogue-wide block with the others at ``-inf``."""
    import types
    import warnings

    from ecomml.exceptions import EcommlWarning
    from ecomml.recommend import EASERecommender

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EcommlWarning)  # "models the 40 most popular"
        narrow = EASERecommender(max_items=40).fit(interactions, cutoff=CUTOFF)
        wide = EASERecommender(max_items=40).fit(interactions, cutoff=CUTOFF)
    assert narrow._block_width() == 40 < len(narrow.sku_index_)
    wide._dense_top_k = types.MethodType(BaseRecommender._dense_top_k, wide)  # type: ignore[method-assign]
    who = narrow.customer_index_[:60]
    for exclude in (False, True):
        pd.testing.assert_frame_equal(
            narrow.recommend(who, 50, exclude_seen=exclude),
            wide.recommend(who, 50, exclude_seen=exclude),
        )


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(-(2**62), 2**62), max_size=300))
def test_unique_sorted_is_numpys_unique(values: list[int]) -> None:
    a = np.asarray(values, dtype=np.int64)
    np.testing.assert_array_equal(unique_sorted(a), np.unique(a))
