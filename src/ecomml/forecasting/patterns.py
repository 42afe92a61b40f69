"""Demand-pattern classification (Syntetos & Boylan 2005): smooth, erratic,
intermittent, lumpy by the average inter-demand interval (ADI) and the squared
coefficient of variation of non-zero demand sizes (CV²)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ecomml._validation import check_frame

__all__ = ["ADI_CUTOFF", "CV2_CUTOFF", "PATTERNS", "classify_demand", "classify_matrix"]

ADI_CUTOFF = 1.32
CV2_CUTOFF = 0.49
PATTERNS = ("smooth", "erratic", "intermittent", "lumpy")


def _label(adi: np.ndarray, cv2: np.ndarray) -> np.ndarray:
    frequent = adi < ADI_CUTOFF
    stable = np.nan_to_num(cv2, nan=0.0) < CV2_CUTOFF
    return np.where(
        frequent,
        np.where(stable, "smooth", "erratic"),
        np.where(stable, "intermittent", "lumpy"),
    ).astype(object)


def classify_matrix(Y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pattern, ADI and CV² per row of a dense ``(n_sku, n_periods)`` matrix (NaN =
    before the SKU existed). A SKU with no sale gets ADI = inf and pattern ``lumpy``."""
    ok = ~np.isnan(Y)
    n = ok.sum(axis=1).astype(np.float64)
    pos = np.where(ok, Y, 0.0) > 0
    nz = pos.sum(axis=1).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        adi = np.where(nz > 0, n / np.maximum(nz, 1), np.inf)
        size = np.where(pos, Y, np.nan)
        m = np.nanmean(np.where(nz[:, None] > 0, size, 0.0), axis=1) if Y.size else n
        v = np.nanvar(size, axis=1, ddof=1) if Y.shape[1] > 1 else np.full(len(Y), np.nan)
        v = np.where(nz > 1, v, np.nan)
        cv2 = v / (m * m)
    return _label(adi, cv2), adi, cv2


def classify_demand(
    df: pd.DataFrame, *, id_col: str = "sku", target_col: str = "y"
) -> pd.DataFrame:
    """Classify each series of a dense long panel (zeros included, from its first sale).

    Returns
    -------
    DataFrame
        ``sku, adi, cv2, pattern``; ADI = periods / periods with demand, CV² of the
        non-zero sizes (NaN with fewer than two); cut-offs 1.32 and 0.49 (a NaN CV²
        counts as stable).
    """
    check_frame(df, required=[id_col, target_col], name="panel")
    g = df.groupby(id_col, sort=True)[target_col]
    n = g.size().astype(np.float64)
    nz_vals = df.loc[df[target_col] > 0].groupby(id_col)[target_col]
    nz = nz_vals.size().reindex(n.index).fillna(0.0)
    mean = nz_vals.mean().reindex(n.index)
    var = nz_vals.var(ddof=1).reindex(n.index)
    adi = np.where(nz > 0, n / nz.clip(lower=1), np.inf)
    cv2 = (var / mean**2).to_numpy()
    return pd.DataFrame(
        {id_col: n.index, "adi": adi, "cv2": cv2, "pattern": _label(adi, cv2)}
    ).reset_index(drop=True)
