"""``ecomml uplift train|predict``: whom a past campaign's offer changed, and whom to send
the next one.

``train`` reads a randomised campaign (one row per customer: whether they got the offer,
what they did afterwards, their features before it), holds out a share of the customers,
fits :class:`~ecomml.campaigns.uplift.UpliftModel` on the rest and judges it on the
held-out ones against targeting by churn risk, by likely response and at random (Qini
curves, AUUC); then refits on every customer and saves the model folder. ``predict``
scores customers and decides who gets the offer: ``uplift × margin - cost > 0``, the best
first, within an optional budget.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ecomml._io import atomic_dir, atomic_write_json, atomic_write_table, check_output_name
from ecomml.campaigns.uplift import UpliftModel, encode_treatment
from ecomml.campaigns.uplift_metrics import auuc, qini_auc, uplift_at_share
from ecomml.exceptions import ConfigError, DataQualityError, ModelLoadError
from ecomml.task import Action, Option, Report, Say, Shown, Written

if TYPE_CHECKING:
    from ecomml.data.shop import ShopData
    from ecomml.features.store import FeatureStore

__all__ = [
    "ACTIONS",
    "PREDICT_COLUMNS",
    "RUNNERS",
    "load_uplift_model",
    "score_shop_customers",
    "target_offers",
]

META_FILE = "campaign.json"
#: the columns ``ecomml uplift predict`` writes after the id columns
PREDICT_COLUMNS = [
    "uplift", "outcome_control", "outcome_treated", "incremental_value", "send_offer", "rank",
]  # fmt: skip

_DATA_HELP = "One row per customer: CSV, Parquet or Excel."
_MARGIN = Option("margin", "--margin", 1.0, "Value of one unit of the outcome to the shop (e.g. "
                 "the margin of a conversion, or the margin rate of revenue).")  # fmt: skip
_COST = Option("cost", "--cost", 0.0, "Cost of sending one offer (discount, fees).")

ACTIONS: tuple[Action, ...] = (
    Action("train", """Learn whom a past randomised campaign changed. Holds out --holdout of
    the customers, fits the uplift model (T-, X- or DR-learner on LightGBM; auto picks one on
    a validation split of the rest) and compares it on the held-out customers with targeting
    by churn risk, by likely response and at random (Qini curves, AUUC); then refits on
    everyone and saves the model folder (--model-dir) with its evaluation.

    From the shop: --data holds the assignments only (--id, default customer_id, and
    --treatment); with --transactions and --start, each customer's features are the feature
    store's customer views as of --start and the outcomes (converted, orders, revenue) their
    purchases in the --window days after it. Such a model also scores the churn list
    (`ecomml predict churn --campaign-model DIR`).""", (
        Option("data_file", "--data", ..., _DATA_HELP + " With --start: the assignments (id and "
               "treatment), the rest comes from the shop.", Path, file="in"),
        Option("treatment", "--treatment", ..., "Column saying whether the customer got the "
               "offer (0/1, or the arm's name).", str),
        Option("outcome", "--outcome", ..., "Outcome column (0/1 conversion, visits, spend...); "
               "with --start one of converted, orders, revenue.", str),
        Option("start", "--start", None, "Campaign send date: features from the shop's "
               "customer views before it, outcomes from --transactions in the --window after "
               "it.", "date"),
        Option("window", "--window", 14, "Days after --start the outcomes count.", min=1),
        Option("features", "--features", None, "Feature columns, comma-separated (default: "
               "every column but the treatment, the outcome, --id and --exclude).", str),
        Option("model_dir", "--model-dir", Path("models") / "uplift", "Model folder.", Path,
               file="out"),
        Option("control", "--control", None, "The control's (no offer) value in --treatment.",
               str),
        Option("treated", "--treated", None, "With several treated arms: the one to model.",
               str),
        Option("id", "--id", None, "Customer id column (never a feature).", str),
        Option("exclude", "--exclude", None, "Columns that are not features, comma-separated "
               "(other outcomes, dates).", str),
        Option("learner", "--learner", "auto", "s, t, x, dr or auto."),
        Option("holdout", "--holdout", 0.3, "Share of customers held out for the evaluation."),
        Option("n_estimators", "--n-estimators", 200, "Boosting rounds of each model.", min=1),
        Option("seed", "--seed", 0, "Seed of the split and the models."),
        _MARGIN,
        _COST,
        Option("plots_dir", "--plots-dir", None, "PNG folder (default <model-dir>/plots).", Path),
    )),
    Action("predict", """Score customers with an uplift model and decide who gets the offer:
    send where uplift x --margin - --cost > 0, best first, at most --budget offers.

    Columns: the id column (or row, the row number in --data), uplift, outcome_control,
    outcome_treated, incremental_value, send_offer, rank (1 = the best customer to send
    to). No per-customer interval is given: the meta-learners have none.

    A model trained from the shop (--start) scores the shop's customers as of --cutoff
    (give --transactions); --data then only picks the customers (its --id column).""", (
        Option("model", "--model", ..., "Model folder from `ecomml uplift train`.", Path,
               file="in"),
        Option("data_file", "--data", None, _DATA_HELP, Path, file="in"),
        Option("cutoff", "--cutoff", None, "As-of date of the features (models trained with "
               "--start).", "date"),
        Option("output", "--output", ..., "Output file: .csv or .parquet.", Path, short="-o",
               file="out"),
        _MARGIN,
        _COST,
        Option("budget", "--budget", None, "At most this many offers.", int, min=0),
    )),
)  # fmt: skip


def _names(text: str | None) -> list[str]:
    return [p.strip() for p in (text or "").split(",") if p.strip()]


def _read(path: Path, what: str, numeric: list[str], text: list[str]) -> pd.DataFrame:
    from ecomml.data import read_frame

    return read_frame(path, what=f"{what} {path}", text=text, numeric=numeric)


def target_offers(
    uplift: np.ndarray, *, margin: float = 1.0, cost: float = 0.0, budget: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(incremental value, send, rank)`` per customer: the value is ``uplift × margin``;
    send where it beats ``cost``, best first, at most ``budget`` offers; rank 1 is the
    best customer to send to (ties keep file order)."""
    value = np.asarray(uplift, dtype="float64") * float(margin)
    order = np.argsort(-value, kind="mergesort")
    rank = np.empty(len(value), dtype="int64")
    rank[order] = np.arange(1, len(value) + 1)
    send = value - float(cost) > 0
    if budget is not None:
        send &= rank <= int(budget)
    return value, send, rank


def _features(frame: pd.DataFrame, o: Mapping[str, Any], src: str) -> list[str]:
    skip = {o["treatment"], o["outcome"], *([o["id"]] if o["id"] else []), *_names(o["exclude"])}
    for col in skip - {None}:
        if col not in frame.columns:
            raise DataQualityError(
                f"{src}: no column {col!r}; its columns are {list(frame.columns)}"
            )
    feats = _names(o["features"]) or [c for c in frame.columns if c not in skip]
    missing = [c for c in feats if c not in frame.columns]
    if missing:
        raise DataQualityError(
            f"{src}: --features {missing} are not columns: {list(frame.columns)}"
        )
    if not feats:
        raise ConfigError(f"{src}: no feature columns left; name them with --features")
    return feats


def _evaluate(
    model: UpliftModel, X: pd.DataFrame, t: np.ndarray, y: np.ndarray
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Held-out scores of the model and of the targeting it should beat."""
    out = model.predict_outcomes(X)
    scores = {
        f"uplift ({model.learner_}-learner)": out["uplift"].to_numpy(),
        "churn risk (lowest outcome without offer)": -out["outcome_control"].to_numpy(),
        "likely response (highest outcome with offer)": out["outcome_treated"].to_numpy(),
    }
    if model.learner_ != "t":  # the arm models alone are the two-model baseline
        scores["two models (T-learner)"] = (
            out["outcome_treated"] - out["outcome_control"]
        ).to_numpy()
    rows = []
    binary = bool(np.isin(y, (0.0, 1.0)).all())
    for name, s in scores.items():
        rows.append({"targeting": name, "auuc": auuc(y, t, s),
                     "qini_auc": qini_auc(y, t, s) if binary else float("nan"),
                     "uplift_top30": uplift_at_share(y, t, s, 0.3)})  # fmt: skip
    rows.append({"targeting": "random", "auuc": 0.0, "qini_auc": 0.0 if binary else float("nan"),
                 "uplift_top30": float(y[t == 1].mean() - y[t == 0].mean())})  # fmt: skip
    return pd.DataFrame(rows), scores


def _table(
    o: Mapping[str, Any], shop: Callable[[Any], ShopData], say: Say
) -> tuple[pd.DataFrame, list[str], str | None, dict[str, Any]]:
    """The training table, its feature columns, its id column and what the model folder
    records about where they came from (a file as it is, or the shop at ``--start``)."""
    src = str(o["data_file"])
    if o["start"] is None:
        frame = _read(
            o["data_file"],
            "--data",
            [o["outcome"]],
            [o["treatment"], *([o["id"]] if o["id"] else [])],
        )
        return frame, _features(frame, o, src), o["id"], {}
    from ecomml.campaigns.uplift_data import DEFAULT_VIEWS, OUTCOMES, shop_campaign
    from ecomml.features.store import store_from_shop

    if o["outcome"] not in OUTCOMES:
        raise ConfigError(
            f"with --start, --outcome is one of {', '.join(OUTCOMES)}; got {o['outcome']!r}"
        )
    idc = o["id"] or "customer_id"
    assignments = _read(o["data_file"], "--data", [], [idc, o["treatment"]])
    for col in (idc, o["treatment"]):
        if col not in assignments.columns:
            raise DataQualityError(
                f"{src}: no column {col!r}; its columns are {list(assignments.columns)}"
            )
    start = pd.Timestamp(o["start"])
    say("reading the shop")
    shop_data = shop(start + pd.Timedelta(days=int(o["window"])))
    say("computing features and outcomes")
    frame, feats = shop_campaign(shop_data, store_from_shop(shop_data), assignments, id_col=idc,
                                 start=start, window_days=o["window"], source=src)  # fmt: skip
    if o["features"]:
        feats = _features(frame, {**o, "id": idc}, src)
    views = list(DEFAULT_VIEWS)
    return (
        frame,
        feats,
        idc,
        {"views": views, "start": str(start.date()), "window": int(o["window"])},
    )


def _train(o: Mapping[str, Any], shop: Callable[[Any], ShopData], say: Say) -> Report:
    from ecomml.campaigns.plots import plot_qini
    from ecomml.plots import save_figure

    if not 0 < float(o["holdout"]) < 1:
        raise ConfigError(f"--holdout must be between 0 and 1, got {o['holdout']}")
    src = str(o["data_file"])
    say("reading data")
    frame, feats, idc, origin = _table(o, shop, say)
    keep, t, control, treated = encode_treatment(
        frame[o["treatment"]], control=o["control"], treated=o["treated"], source=src
    )
    data = frame.loc[keep].reset_index(drop=True)
    y = data[o["outcome"]].to_numpy("float64")
    if not np.any(y):
        raise DataQualityError(f"{src}: outcome {o['outcome']!r} is zero for every customer")
    X = data[feats]
    params = {"learner": o["learner"], "n_estimators": o["n_estimators"], "random_state": o["seed"]}
    rng = np.random.default_rng(o["seed"])
    test = np.zeros(len(t), dtype=bool)
    for arm in (0.0, 1.0):  # the same share of each arm held out
        idx = np.flatnonzero(t == arm)
        test[rng.choice(idx, int(round(len(idx) * float(o["holdout"]))), replace=False)] = True
    say(f"fitting on {int((~test).sum()):,} customers, evaluating on {int(test.sum()):,}")
    held = UpliftModel(**params).fit(X[~test], t[~test], y[~test])
    table, scores = _evaluate(held, X[test], t[test], y[test])
    plots_dir = Path(o["plots_dir"] or Path(o["model_dir"]) / "plots")
    say("refitting on every customer")
    model = UpliftModel(**{**params, "learner": held.learner_}).fit(X, t, y)
    effect = float(y[t == 1].mean() - y[t == 0].mean())
    meta = {
        "kind": "uplift", "data": src, "treatment": o["treatment"], "control": control,
        "treated": treated, "outcome": o["outcome"], "id": idc, "features": feats, **origin,
        "n_customers": int(len(t)), "n_treated": int(t.sum()), "average_effect": effect,
        "holdout": float(o["holdout"]), "learner": held.learner_, "validation": held.validation_,
        "evaluation": table.to_dict(orient="records"),
    }  # fmt: skip

    def fill(tmp: Path) -> None:
        model.save_artifacts(tmp)
        atomic_write_json(tmp / META_FILE, meta)

    say("saving the model")
    model_dir = atomic_dir(o["model_dir"], fill)
    plots = {"qini.png": save_figure(plot_qini(y[test], t[test], scores, o["outcome"]),
                                     plots_dir / "qini.png")}  # fmt: skip
    mine = table.iloc[0]
    metrics = {"holdout_auuc": float(mine["auuc"]), "holdout_uplift_top30": float(mine["uplift_top30"]),
               "average_effect": effect}  # fmt: skip
    if np.isfinite(mine["qini_auc"]):
        metrics["holdout_qini_auc"] = float(mine["qini_auc"])
    metrics |= {f"validation_auuc_{k}": float(v) for k, v in held.validation_.items()}
    fmt = {"targeting": "{}", "auuc": "{:.5f}", "qini_auc": "{:.4f}", "uplift_top30": "{:.4f}"}
    picked = f" (picked on validation AUUC: {', '.join(f'{k} {v:.4g}' for k, v in held.validation_.items())})"
    shown: list[Any] = [
        Shown(table, f"Held-out targeting of {treated!r} vs {control!r} on {o['outcome']} "
              f"({int(test.sum()):,} customers)", fmt, left=("targeting",)),
        f"average effect of the offer: {effect:+.4g} {o['outcome']} per customer; learner "
        f"{held.learner_}{picked if held.validation_ else ''}",
        f"model saved to {model_dir}",
    ]  # fmt: skip
    run_params = {k: o[k] for k in ("treatment", "outcome", "learner", "holdout", "seed")}
    run_params |= {"control": control, "treated": treated, "features": ",".join(feats)}
    return Report(Written([model_dir / META_FILE], plots, metrics), run_params, "train", shown)


def load_uplift_model(path: Path) -> tuple[UpliftModel, dict[str, Any]]:
    """The model and the campaign description saved by ``ecomml uplift train``."""
    from ecomml._state import read_model_json

    path = Path(path)
    if not (path / META_FILE).is_file():
        raise ModelLoadError(
            f"{path}: not an uplift model folder (no {META_FILE}); train one with `ecomml uplift "
            "train --data FILE --treatment COL --outcome COL --model-dir DIR`"
        )
    return UpliftModel.load_artifacts(path), read_model_json(path, META_FILE)


def score_shop_customers(
    model: UpliftModel, meta: Mapping[str, Any], store: FeatureStore, cutoff: pd.Timestamp,
    customers: pd.Series | None = None,
) -> pd.DataFrame:  # fmt: skip
    """``customer_id, outcome_control, outcome_treated, uplift`` as of ``cutoff`` for a model
    trained from the shop (``--start``): every customer the views know, or ``customers``."""
    from ecomml.campaigns.uplift_data import customer_features

    if "views" not in meta:
        raise ConfigError(
            "this uplift model learnt from the columns of a file, not from the shop's customer "
            "views: score it with --data FILE, or train it with --transactions and --start"
        )
    if customers is None:
        known = store.get_features(list(meta["views"]), cutoff=cutoff)
        customers = known["customer_id"]
    feats = customer_features(store, customers, cutoff, meta["views"])
    out = model.predict_outcomes(feats)
    return pd.concat([feats[["customer_id"]], out.reset_index(drop=True)], axis=1)


def _predict(o: Mapping[str, Any], shop: Callable[[Any], ShopData], say: Say) -> Report:
    check_output_name(o["output"])
    say("loading the model")
    model, meta = load_uplift_model(o["model"])
    idc = meta.get("id")
    frame = None
    if o["data_file"] is not None:
        say("reading data")
        frame = _read(o["data_file"], "--data", [], [idc] if idc else [])
        if idc and idc not in frame.columns:
            raise DataQualityError(
                f"--data {o['data']}: no id column {idc!r} (the model was trained with --id {idc})"
            )
    if "views" in meta:
        if o["cutoff"] is None:
            raise ConfigError(
                "this model scores the shop's customers: give --cutoff DATE and --transactions"
            )
        from ecomml.features.store import store_from_shop

        cut = pd.Timestamp(o["cutoff"])
        say("reading the shop")
        store = store_from_shop(shop(cut))
        say("scoring")
        scored = score_shop_customers(model, meta, store, cut,
                                      None if frame is None else frame[idc])  # fmt: skip
        ids, out = (
            scored[["customer_id"]].rename(columns={"customer_id": idc}),
            scored.drop(columns="customer_id"),
        )
    else:
        if frame is None:
            raise ConfigError(
                "--data FILE is required: the customers to score, with the columns the model learnt from"
            )
        say("scoring")
        out = model.predict_outcomes(frame).reset_index(drop=True)
        ids = (
            frame[[idc]].reset_index(drop=True)
            if idc
            else pd.DataFrame({"row": np.arange(len(frame))})
        )
    value, send, rank = target_offers(out["uplift"].to_numpy(), margin=o["margin"], cost=o["cost"],
                                      budget=o["budget"])  # fmt: skip
    table = pd.concat([ids, out.reset_index(drop=True)], axis=1).assign(
        incremental_value=value, send_offer=send, rank=rank
    )[[*ids.columns, *PREDICT_COLUMNS]]
    say("writing")
    path = atomic_write_table(o["output"], table)
    n_send = int(send.sum())
    total = float(value[send].sum() - o["cost"] * n_send)
    line = (f"{len(table):,} customers scored: send the offer to {n_send:,} (expected net "
            f"value {total:,.2f} = incremental {meta['outcome']} x margin - cost) -> {path}")  # fmt: skip
    metrics = {"customers": float(len(table)), "offers": float(n_send), "expected_net_value": total}
    params = {
        "model": str(o["model"]),
        "margin": o["margin"],
        "cost": o["cost"],
        "budget": o["budget"],
    }
    return Report(Written([path], {}, metrics), params, "predict", [line])


#: each command's function: ``(options, shop, progress) -> Report`` (``shop(cutoff)`` reads
#: the shop, only for a campaign given by its send date)
RUNNERS = {"train": _train, "predict": _predict}
