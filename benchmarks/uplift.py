"""Uplift targeting on the Hillstrom e-mail test: ecomml's meta-learners against
scikit-uplift and causalml, same splits, same run.

For each e-mail (Mens, Womens) against no e-mail and each outcome (visit, conversion,
spend), ``--splits`` random halves (stratified by arm) are the training and held-out
customers. Every method ranks the held-out customers; the table gives the mean (and sd)
over splits of

* ``qini_auc``/``uplift_auc``: area between the curve and random over the perfect
  ranking's (0/1 outcomes; scikit-uplift's ``qini_auc_score``/``uplift_auc_score``, which
  ecomml's own functions equal: checked in this run);
* ``auuc``: area between the uplift curve and random per customer² (outcome units; the
  one measure for spend).

Methods: ecomml ``UpliftModel`` (learner auto, s, t, x, dr); scikit-uplift ``TwoModels``
(vanilla and ``ddr_control``), ``SoloModel`` and ``ClassTransformation`` (0/1 outcomes);
causalml ``BaseXRegressor`` and ``BaseDRRegressor``; the targeting a shop would otherwise
use: by churn risk (lowest expected outcome without the e-mail) and by likely response
(highest expected outcome with it), both from ecomml's arm models; random is 0. Every
LightGBM inside any method has the same settings (ecomml's defaults); peers get the text
columns one-hot encoded.

Reproduce: ``python benchmarks/uplift.py --markdown BENCH.md`` (needs the ``bench`` extra
for the peers; reads ../shared/data/hillstrom; about 5 minutes).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _datasets import shared_data  # noqa: E402

from ecomml.campaigns import UpliftModel, auuc, qini_auc, uplift_auc  # noqa: E402

FEATURES = ["recency", "history", "mens", "womens", "zip_code", "newbie", "channel"]
OUTCOMES = ["visit", "conversion", "spend"]
LGB = {"n_estimators": 200, "learning_rate": 0.03, "num_leaves": 15, "min_child_samples": 100,
       "verbose": -1, "n_jobs": 1, "random_state": 0}  # fmt: skip

Ranker = Callable[[pd.DataFrame, np.ndarray, np.ndarray, pd.DataFrame], np.ndarray]


def _ecomml(learner: str) -> Ranker:
    def rank(X: pd.DataFrame, t: np.ndarray, y: np.ndarray, Xt: pd.DataFrame) -> np.ndarray:
        return UpliftModel(learner=learner).fit(X, t, y).predict(Xt)

    return rank


def _arm_model(which: str) -> Ranker:
    """Churn-risk (``which="risk"``) or likely-response targeting from ecomml's arm models."""

    def rank(X: pd.DataFrame, t: np.ndarray, y: np.ndarray, Xt: pd.DataFrame) -> np.ndarray:
        out = UpliftModel(learner="t").fit(X, t, y).predict_outcomes(Xt)
        return (-out["outcome_control"] if which == "risk" else out["outcome_treated"]).to_numpy()

    return rank


def _lgbm(binary: bool) -> object:
    import lightgbm as lgb

    return lgb.LGBMClassifier(**LGB) if binary else lgb.LGBMRegressor(**LGB)


def _sklift(kind: str) -> Ranker:
    def rank(X: pd.DataFrame, t: np.ndarray, y: np.ndarray, Xt: pd.DataFrame) -> np.ndarray:
        from sklift.models import ClassTransformation, SoloModel, TwoModels

        binary = bool(np.isin(y, (0, 1)).all())
        if kind == "solo":
            m = SoloModel(_lgbm(binary))
        elif kind == "class-transformation":
            m = ClassTransformation(_lgbm(True))
        else:
            m = TwoModels(_lgbm(binary), _lgbm(binary), method=kind)
        m.fit(X, y, t)
        return np.asarray(m.predict(Xt), dtype=float).ravel()

    return rank


def _causalml(kind: str) -> Ranker:
    def rank(X: pd.DataFrame, t: np.ndarray, y: np.ndarray, Xt: pd.DataFrame) -> np.ndarray:
        import lightgbm as lgb
        from causalml.inference.meta import BaseDRRegressor, BaseXRegressor

        cls = BaseXRegressor if kind == "x" else BaseDRRegressor
        m = cls(learner=lgb.LGBMRegressor(**LGB))
        p = np.full(len(t), t.mean())
        m.fit(X.to_numpy(float), t.astype(int), y, p=p)
        return np.asarray(m.predict(Xt.to_numpy(float), p=np.full(len(Xt), t.mean()))).ravel()

    return rank


METHODS: dict[str, tuple[Ranker, bool, bool]] = {
    # name: (ranker, one-hot features, binary outcomes only)
    "ecomml auto": (_ecomml("auto"), False, False),
    "ecomml S": (_ecomml("s"), False, False),
    "ecomml T": (_ecomml("t"), False, False),
    "ecomml X": (_ecomml("x"), False, False),
    "ecomml DR": (_ecomml("dr"), False, False),
    "sklift TwoModels": (_sklift("vanilla"), True, False),
    "sklift TwoModels ddr_control": (_sklift("ddr_control"), True, False),
    "sklift SoloModel": (_sklift("solo"), True, False),
    "sklift ClassTransformation": (_sklift("class-transformation"), True, True),
    "causalml X (LightGBM)": (_causalml("x"), True, False),
    "causalml DR (LightGBM)": (_causalml("dr"), True, False),
    "target by churn risk": (_arm_model("risk"), False, False),
    "target by likely response": (_arm_model("response"), False, False),
}


def _available(name: str) -> bool:
    mod = "sklift" if name.startswith("sklift") else "causalml" if "causalml" in name else None
    if mod is None:
        return True
    try:
        __import__(mod)
    except ImportError:
        return False
    return True


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--splits", type=int, default=3)
    ap.add_argument("--markdown", type=Path, default=None, help="also write the table here")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    df = pd.read_parquet(shared_data() / "hillstrom" / "hillstrom.parquet")
    methods = {k: v for k, v in METHODS.items() if _available(k)}
    missing = sorted(set(METHODS) - set(methods))
    rows, checked = [], 0
    for arm in ("Mens E-Mail", "Womens E-Mail"):
        d = df.loc[df["segment"].isin([arm, "No E-Mail"])].reset_index(drop=True)
        t = (d["segment"] == arm).to_numpy(int)
        X = d[FEATURES]
        onehot = pd.get_dummies(X, columns=["zip_code", "channel"], dtype=float)
        for split in range(args.splits):
            rng = np.random.default_rng(100 + split)
            test = np.zeros(len(t), dtype=bool)
            for a in (0, 1):
                idx = np.flatnonzero(t == a)
                test[rng.choice(idx, len(idx) // 2, replace=False)] = True
            for outcome in OUTCOMES:
                y = d[outcome].to_numpy(float)
                binary = outcome != "spend"
                for name, (rank, hot, binary_only) in methods.items():
                    if binary_only and not binary:
                        continue
                    F = onehot if hot else X
                    t0 = time.perf_counter()
                    s = rank(F[~test], t[~test], y[~test], F[test])
                    sec = time.perf_counter() - t0
                    yt, tt = y[test], t[test]
                    row = {"arm": arm.split()[0], "outcome": outcome, "split": split,
                           "method": name, "auuc": auuc(yt, tt, s), "seconds": sec}  # fmt: skip
                    if binary:
                        row |= {
                            "qini_auc": qini_auc(yt, tt, s),
                            "uplift_auc": uplift_auc(yt, tt, s),
                        }
                        if "sklift" not in missing and checked < 4:
                            from sklift.metrics import qini_auc_score, uplift_auc_score

                            assert np.isclose(row["qini_auc"], qini_auc_score(yt, s, tt))
                            assert np.isclose(row["uplift_auc"], uplift_auc_score(yt, s, tt))
                            checked += 1
                    rows.append(row)
            print(f"{arm} split {split} done", file=sys.stderr)
    res = pd.DataFrame(rows)
    agg = res.groupby(["arm", "outcome", "method"], sort=False).agg(
        qini_auc=("qini_auc", "mean"), qini_sd=("qini_auc", "std"), auuc=("auuc", "mean"),
        auuc_sd=("auuc", "std"), seconds=("seconds", "mean"),
    ).reset_index()  # fmt: skip
    lines = [f"Hillstrom, {args.splits} random halves per arm (train / held out), mean (sd); "
             f"qini_auc for 0/1 outcomes, auuc in outcome units per customer; random = 0."]  # fmt: skip
    if missing:
        lines.append(f"not installed here (skipped): {', '.join(missing)}")
    if checked:
        lines.append(f"ecomml's qini_auc/uplift_auc equal scikit-uplift's on {checked} checks.")
    lines += [
        "",
        "| arm | outcome | method | qini_auc | auuc | seconds |",
        "|---|---|---|---|---|---|",
    ]
    for r in agg.itertuples(index=False):
        q = "" if np.isnan(r.qini_auc) else f"{r.qini_auc:.4f} ({r.qini_sd:.4f})"
        lines.append(f"| {r.arm} | {r.outcome} | {r.method} | {q} | {r.auuc:.5f} ({r.auuc_sd:.5f}) "
                     f"| {r.seconds:.1f} |")  # fmt: skip
    # a summary: each method's mean rank over the 6 arm x outcome cells (1 = best auuc)
    cells = agg.pivot_table(index=["arm", "outcome"], columns="method", values="auuc")
    ranks = cells.rank(axis=1, ascending=False).mean().sort_values()
    lines += ["", "Mean rank by auuc over the arm x outcome cells (1 = best):", ""]
    lines += [f"- {m}: {v:.2f}" for m, v in ranks.items()]
    text = "\n".join(lines)
    print(text)
    if args.markdown:
        args.markdown.write_text(text + "\n")


if __name__ == "__main__":
    main()
