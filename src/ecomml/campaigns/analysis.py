"""An A/B test's table in, one row per metric and variant (and segment) out.

:func:`analyze_experiment` checks the table (one clear line per problem, naming the
column), runs the tests of :mod:`ecomml.campaigns.abtest` for every variant against the
control, adjusts the p-values for the number of comparisons and checks the sample ratio.
"""

from __future__ import annotations

import reprlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ecomml.campaigns.abtest import (
    DEFAULT_TAU,
    FIELDS,
    adjust_pvalues,
    cupac_predictions,
    cuped_test,
    ratio_test,
    sequential_test,
    srm_test,
    welch_test,
)
from ecomml.exceptions import ConfigError, DataQualityError

__all__ = ["ALL_SEGMENTS", "RESULT_COLUMNS", "SRM_ALARM", "AbTestResult", "analyze_experiment"]

#: the output's leading columns (``segment`` after ``variant`` when segments are asked for)
RESULT_COLUMNS: tuple[str, ...] = (
    "metric", "variant", "control", "n_control", "n_variant", "mean_control", "mean_variant",
    "diff", "diff_low", "diff_high", "rel_lift", "rel_lift_low", "rel_lift_high", "p_value",
    "method",
)  # fmt: skip
#: more columns after them: the standard error, the adjusted p-value, CUPED's variance
#: reduction, the looks of the sequential test and the sample-ratio check
_EXTRA = ("se", "p_value_adj", "variance_reduction", "looks", "srm_p_value")
#: the segment value of the rows over all units
ALL_SEGMENTS = "(all)"
#: the sample-ratio-mismatch p-value below which the split is called broken
SRM_ALARM = 0.001


@dataclass
class AbTestResult:
    """The results table, the units per variant and the sample-ratio check (overall)."""

    table: pd.DataFrame
    counts: dict[str, int]
    srm_p_value: float
    warnings: list[str] = field(default_factory=list)

    @property
    def srm(self) -> bool:
        """True when the split of units is implausible under the planned shares."""
        return bool(self.srm_p_value < SRM_ALARM)


def _column(frame: pd.DataFrame, col: str, option: str, source: str) -> None:
    if col not in frame.columns:
        cols = reprlib.repr(list(map(str, frame.columns)))
        raise ConfigError(f"{source}: {option} {col}: no such column (columns: {cols})")


def _numeric(frame: pd.DataFrame, col: str, option: str, source: str, *, what: str) -> None:
    _column(frame, col, option, source)
    s = frame[col]
    if not (pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)):
        s = pd.to_numeric(s, errors="coerce") if pd.api.types.is_bool_dtype(s) is False else s
        bad = frame.loc[s.isna() & frame[col].notna(), col].head(3).tolist()
        if bad or not pd.api.types.is_numeric_dtype(s):
            raise DataQualityError(
                f"{source}: {what} column {col!r} is not numeric (values like "
                f"{reprlib.repr(bad)}); give a numeric column to {option}"
            )
    if frame[col].isna().any():
        n = int(frame[col].isna().sum())
        hint = (" (pre-period covariates must be known for every unit; fill them, e.g. with 0 "
                "for no history)" if what == "covariate" else
                " (a unit without an outcome: fill it, e.g. 0 for no purchase, or drop the unit)")  # fmt: skip
        raise DataQualityError(f"{source}: {what} column {col!r} has {n:,} empty values{hint}")


def _check(
    frame: pd.DataFrame, variant_col: str, control: str, metrics: Sequence[str],
    covariates: Sequence[str], ratios: Sequence[tuple[str, str]], segment_col: str | None,
    time_col: str | None, source: str,
) -> pd.DataFrame:  # fmt: skip
    """The checked table with the variant (and segment) as text and numbers as float."""
    if not metrics and not ratios:
        raise ConfigError("give at least one metric: --metrics m1,m2 (or --ratio num/den)")
    _column(frame, variant_col, "--variant", source)
    variants = frame[variant_col]
    if variants.isna().any():
        raise DataQualityError(
            f"{source}: variant column {variant_col!r} has {int(variants.isna().sum()):,} "
            "empty values; every unit must have its assigned variant"
        )
    text = variants.astype(str)
    levels = sorted(text.unique())
    if len(levels) < 2:
        raise DataQualityError(
            f"{source}: variant column {variant_col!r} has one level only "
            f"({reprlib.repr(levels)}); an A/B test needs the control and at least one variant"
        )
    if str(control) not in levels:
        raise ConfigError(
            f"{source}: --control {control!r} is not a value of {variant_col!r} "
            f"(values: {reprlib.repr(levels)})"
        )
    out = pd.DataFrame({variant_col: text.to_numpy()}, index=frame.index)
    for col in metrics:
        _numeric(frame, col, "--metrics", source, what="metric")
        if not frame[col].astype(float).any():
            raise DataQualityError(
                f"{source}: metric column {col!r} is zero for every unit; nothing to compare"
            )
    for col in covariates:
        _numeric(frame, col, "--covariates", source, what="covariate")
    for num, den in ratios:
        for col in (num, den):
            _numeric(frame, col, "--ratio", source, what="ratio")
        for v, part in frame.groupby(text)[den]:
            if not part.astype(float).sum() > 0:
                raise DataQualityError(
                    f"{source}: ratio denominator {den!r} sums to 0 in variant {v!r}"
                )
    for col in {*metrics, *covariates, *(c for r in ratios for c in r)}:
        out[col] = frame[col].astype(float)
    if segment_col is not None:
        _column(frame, segment_col, "--segment", source)
        out["_segment"] = frame[segment_col].astype(str).where(frame[segment_col].notna(), "NA")
    if time_col is not None:
        _column(frame, time_col, "--time", source)
        t = frame[time_col]
        if not pd.api.types.is_numeric_dtype(t):
            t = pd.to_datetime(t, errors="coerce")
            if t.isna().any():
                raise DataQualityError(
                    f"{source}: --time column {time_col!r} has {int(t.isna().sum()):,} empty "
                    "or unreadable dates"
                )
            t = t.dt.floor("D")
        out["_time"] = t
    return out


def _rows(
    df: pd.DataFrame, variant_col: str, control: str, metrics: Sequence[str],
    covariates: Sequence[str], ratios: Sequence[tuple[str, str]], *, sequential: bool,
    alpha: float, tau: float, cupac: bool = False,
) -> list[dict[str, Any]]:  # fmt: skip
    """One row per metric x variant x method on the units of ``df``."""
    groups = {str(k): g for k, g in df.groupby(variant_col, sort=True)}
    ctrl = groups.get(str(control))
    rows: list[dict[str, Any]] = []
    if ctrl is None or len(ctrl) < 2:
        return rows
    predicted = {}  # CUPAC's covariate per metric, out of fold over all the arms
    if cupac and len(covariates) >= 2 and len(df) >= 50:
        x = df[list(covariates)].to_numpy(float)
        predicted = {m: pd.Series(cupac_predictions(df[m].to_numpy(float), x), index=df.index)
                     for m in metrics}  # fmt: skip
    for variant, g in groups.items():
        if variant == str(control) or len(g) < 2:
            continue
        base = {"variant": variant, "control": str(control)}
        for m in metrics:
            rows.append({**base, "metric": m, "method": "welch",
                         **welch_test(ctrl[m], g[m], alpha=alpha)})  # fmt: skip
            if covariates:
                res = cuped_test(ctrl[m], g[m], ctrl[list(covariates)], g[list(covariates)],
                                 alpha=alpha)  # fmt: skip
                rows.append({**base, "metric": m, "method": "cuped", **res})
            if m in predicted:
                p = predicted[m]
                res = cuped_test(ctrl[m], g[m], p[ctrl.index], p[g.index], alpha=alpha)
                rows.append({**base, "metric": m, "method": "cupac", **res})
            if sequential:
                looks = {}
                if "_time" in df:
                    looks = {"looks_control": ctrl["_time"].to_numpy(),
                             "looks_variant": g["_time"].to_numpy()}  # fmt: skip
                res = sequential_test(ctrl[m], g[m], alpha=alpha, tau=tau, **looks)
                rows.append({**base, "metric": m, "method": "sequential", **res})
        for num, den in ratios:
            res = ratio_test(ctrl[num], ctrl[den], g[num], g[den], alpha=alpha)
            rows.append({**base, "metric": f"{num}/{den}", "method": "delta", **res})
    return rows


def analyze_experiment(
    frame: pd.DataFrame,
    *,
    variant_col: str,
    control: str,
    metrics: Sequence[str] = (),
    covariates: Sequence[str] = (),
    ratios: Sequence[tuple[str, str]] = (),
    segment_col: str | None = None,
    time_col: str | None = None,
    sequential: bool = False,
    cupac: bool = True,
    alpha: float = 0.05,
    correction: str = "holm",
    tau: float = DEFAULT_TAU,
    expected_shares: Sequence[float] | None = None,
    source: str = "data",
) -> AbTestResult:
    """Every variant against ``control`` on every metric: one row per metric, variant
    (segment) and method.

    Parameters
    ----------
    frame
        One row per randomised unit.
    variant_col, control
        The assignment column and its control value (compared as text).
    metrics
        Outcome columns compared by their means (Welch): ``method="welch"``.
    covariates
        Pre-period columns: each metric also gets a CUPED row (``method="cuped"``).
    cupac
        With two or more covariates (and 50+ units), also a CUPAC row (``method="cupac"``):
        CUPED on a cross-fitted LightGBM prediction of the metric from the covariates.
    ratios
        ``(numerator, denominator)`` columns of ratio metrics (``metric="num/den"``,
        ``method="delta"``).
    segment_col
        Also every result within each value of this column (``segment``; the rows over
        all units say :data:`ALL_SEGMENTS`).
    time_col
        Each unit's assignment time: the sequential test's looks are its days.
    sequential
        Add an always-valid mSPRT row per metric (``method="sequential"``).
    alpha
        ``1 - alpha`` intervals; the p-values are two-sided.
    correction
        ``p_value_adj``: ``"holm"``, ``"bh"`` or ``"none"``, over the variants x metrics
        of each method (and segment). ``p_value`` stays unadjusted; intervals are not
        adjusted.
    tau
        The sequential test's mixture sd, in metric standard deviations.
    expected_shares
        The planned share of each variant, in sorted order of the variant values, for the
        sample-ratio check (default: equal).
    source
        The data's name in messages (its file).

    Raises
    ------
    ConfigError
        A column that does not exist, a control value that is not a variant, bad options.
    DataQualityError
        A variant column with one level, a metric that is not numeric, empty or all zero,
        covariates with empty values.
    """
    df = _check(frame, variant_col, control, metrics, covariates, ratios, segment_col,
                time_col, source)  # fmt: skip
    counts = {str(k): int(v) for k, v in df[variant_col].value_counts().sort_index().items()}
    if expected_shares is not None and len(expected_shares) != len(counts):
        raise ConfigError(
            f"--expected-shares gives {len(expected_shares)} shares for {len(counts)} variants "
            f"({', '.join(counts)})"
        )
    srm_p = srm_test(list(counts.values()), expected_shares)
    kw = dict(sequential=sequential, alpha=alpha, tau=tau, cupac=cupac)  # noqa: C408
    parts = [(ALL_SEGMENTS, df)]
    if segment_col is not None:
        parts += [(str(k), g) for k, g in df.groupby("_segment", sort=True)]
    rows: list[dict[str, Any]] = []
    warnings: list[str] = []
    for seg, g in parts:
        seg_rows = _rows(g, variant_col, control, metrics, covariates, ratios, **kw)  # type: ignore[arg-type]
        if not seg_rows:
            warnings.append(f"segment {seg!r}: fewer than 2 units in the control or a variant")
        seg_counts = g[variant_col].value_counts().reindex(list(counts), fill_value=0)
        seg_srm = srm_test(seg_counts.tolist(), expected_shares) if seg_counts.min() > 0 else np.nan
        for r in seg_rows:
            r.update(segment=seg, srm_p_value=seg_srm)
        rows += seg_rows
    table = pd.DataFrame(rows)
    lead = list(RESULT_COLUMNS)
    if segment_col is not None:
        lead.insert(2, "segment")
    for col in (*FIELDS, *_EXTRA):
        if col not in table:
            table[col] = np.nan
    table["p_value_adj"] = np.nan
    for _, idx in table.groupby(["method", "segment"]).groups.items():
        table.loc[idx, "p_value_adj"] = adjust_pvalues(table.loc[idx, "p_value"], correction)
    table = table[[*lead, *_EXTRA]]
    for col in ("n_control", "n_variant"):
        table[col] = table[col].astype("int64")
    return AbTestResult(table.reset_index(drop=True), counts, srm_p, warnings)
