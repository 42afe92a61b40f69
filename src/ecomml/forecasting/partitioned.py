"""``PartitionedForecaster``: one forecaster per partition of the SKUs (e.g. per category).

Trained locally with :meth:`PartitionedForecaster.fit` (one partition after another) or
on a Spark cluster with :func:`ecomml.spark.training.train_partitioned_forecaster` (the
partitions in parallel); both give the same model. At predict time each SKU goes to
its partition's model; SKUs of a partition that had no model at training go to the
partition with the most SKUs (``default_partition_``). Saved with
:func:`ecomml.modelstore.save_model`: every partition is a normal model folder inside
the model folder (its own safe formats, e.g. a LightGBM text model), so
``ecomml predict forecast`` and :func:`ecomml.spark.score_forecast` accept it.

No pyspark import here: a saved model loads anywhere.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Self

import numpy as np
import pandas as pd

from ecomml._estimator import estimator
from ecomml._state import read_model_json
from ecomml._validation import check_fitted, check_frame
from ecomml.exceptions import ConfigError, DataQualityError
from ecomml.forecasting._base import ForecasterInterface

__all__ = ["PartitionedForecaster", "partition_key"]

_META = "partitioned.json"


def partition_key(values: pd.Series) -> pd.Series:
    """The partition label of each row: the value as a string, ``"unknown"`` when missing."""
    return values.astype(object).where(values.notna(), "unknown").astype(str)


@estimator
class PartitionedForecaster(ForecasterInterface):
    """One forecaster per value of ``partition_col`` (a SKU attribute such as ``category``).

    Parameters
    ----------
    freq : {"W", "D"}
    horizon : int
        Periods to forecast.
    model : str
        Forecaster of every partition (``lgbm``, ``auto`` or a baseline name; see
        :func:`ecomml.forecasting.auto.make_forecaster`).
    partition_col : str
        Column of the training panel that names each SKU's partition.
    params : dict or None
        Keyword arguments of every partition's forecaster (e.g. ``n_estimators``).
    min_skus : int
        Partitions with fewer SKUs are pooled into one ``"_pooled"`` partition.

    Attributes
    ----------
    models_ : dict
        Partition -> fitted forecaster.
    sku_partition_ : Series
        SKU -> partition at training time.
    default_partition_ : str
        Where SKUs of unseen partitions go (the one with the most SKUs).
    """

    freq: str = "W"
    horizon: int = 8
    model: str = "lgbm"
    partition_col: str = "category"
    params: dict[str, Any] | None = None
    min_skus: int = 20

    # ------------------------------------------------------------------ helpers
    def make_member(self) -> Any:
        """A fresh (unfitted) forecaster for one partition."""
        from ecomml.forecasting.auto import make_forecaster

        return make_forecaster(
            self.model, freq=self.freq, horizon=self.horizon, **dict(self.params or {})
        )

    def assign(self, panel: pd.DataFrame) -> pd.Series:
        """The training partition of every row of ``panel`` (small partitions pooled)."""
        if self.partition_col not in panel.columns:
            raise ConfigError(
                f"partition column {self.partition_col!r} is not in the panel (columns "
                f"{list(panel.columns)}); pass a catalog with it, or choose another "
                "partition_col"
            )
        part = partition_key(panel[self.partition_col])
        n = panel.assign(_p=part.to_numpy()).groupby("_p")["sku"].nunique()
        small = set(n.index[n < int(self.min_skus)])
        if small and len(small) < len(n):
            part = part.where(~part.isin(small), "_pooled")
        return part

    # ------------------------------------------------------------------ fit / predict
    def fit(self, panel: pd.DataFrame, y: Any = None, **fit_params: Any) -> Self:
        """Fit one forecaster per partition of ``panel`` (``sku, ds, y, <partition_col>``)."""
        check_frame(panel, required=["sku", "ds", "y"], name="panel")
        self.make_member()._check_params()
        part = self.assign(panel)
        models = {}
        for name in sorted(part.unique()):
            sub = panel.loc[part.to_numpy() == name]
            models[str(name)] = self.make_member().fit(sub, **fit_params)
        return self._set_fitted(models, panel, part)

    def _set_fitted(self, models: dict[str, Any], panel: pd.DataFrame, part: pd.Series) -> Self:
        """Set the fitted attributes from fitted members (also used by Spark training)."""
        if not models:
            raise DataQualityError("no partition to train: the panel is empty")
        skus = pd.DataFrame({"sku": panel["sku"].astype(str).to_numpy(), "p": part.to_numpy()})
        skus = skus.drop_duplicates("sku", keep="last").sort_values("sku", kind="mergesort")
        sku_partition = pd.Series(skus["p"].to_numpy(), index=skus["sku"].to_numpy())
        sizes = sku_partition.value_counts()
        sizes = sizes[sizes.index.isin(list(models))]
        default = (
            str(sorted(sizes[sizes == sizes.max()].index)[0]) if len(sizes) else next(iter(models))
        )
        return self._set_members(models, sku_partition, default)

    def _set_members(
        self, models: dict[str, Any], sku_partition: pd.Series, default_partition: str
    ) -> Self:
        """Set the members, the routing and what the members tell of the whole (after
        training and after loading)."""
        self.models_ = dict(sorted(models.items()))
        self.sku_partition_ = sku_partition
        self.default_partition_ = default_partition
        first = next(iter(self.models_.values()))
        self.freq_ = first.freq_
        self.last_ds_ = max(m.last_ds_ for m in self.models_.values())
        self.n_skus_ = int(sum(m.n_skus_ for m in self.models_.values()))
        return self

    def route(self, skus: pd.Series, partition: pd.Series | None = None) -> np.ndarray:
        """The model each SKU is forecast with: its training partition, else its
        ``partition_col`` value, else :attr:`default_partition_`."""
        check_fitted(self, ["models_"])
        s = skus.astype(str)
        out = s.map(self.sku_partition_)
        if partition is not None:
            p = partition_key(partition).where(lambda v: v.isin(list(self.models_)))
            out = out.fillna(pd.Series(p.to_numpy(), index=out.index))
        out = out.where(out.isin(list(self.models_)), self.default_partition_)
        return out.astype(str).to_numpy()

    def _predict(self, df: pd.DataFrame, start: Any, calendar: Any, new_skus: Any) -> pd.DataFrame:
        """Each SKU of ``df`` forecast by its partition's model (:meth:`route`)."""
        check_frame(df, required=["sku", "ds", "y"], name="history")
        col = self.partition_col
        where = self.route(df["sku"], df[col] if col in df.columns else None)
        new_where = None
        if new_skus is not None and len(new_skus):
            new_where = self.route(
                new_skus["sku"], new_skus[col] if col in new_skus.columns else None
            )
        frames = []
        for name, member in self.models_.items():
            sub = df.loc[where == name]
            ns = None if new_where is None or new_skus is None else new_skus.loc[new_where == name]
            if sub.empty and (ns is None or ns.empty):
                continue
            if sub.empty:  # only never-sold SKUs: forecast them beside a placeholder
                sub = _placeholder(df)
            fc = member.predict(sub, start=start, calendar=calendar, new_skus=ns)
            frames.append(fc.loc[fc["sku"] != _PLACEHOLDER])
        if not frames:
            raise DataQualityError("nothing to forecast: the history has no SKU")
        out = pd.concat(frames, ignore_index=True)
        return out.sort_values(["sku", "ds"], kind="mergesort").reset_index(drop=True)

    def _check_params(self) -> None:
        self.make_member()._check_params()

    # ------------------------------------------------------------------ artifacts
    def save_artifacts(self, path: str | os.PathLike[str]) -> None:
        """Every partition as a normal model folder under ``partitions/``, plus the
        routing (``sku_partition.parquet``) and ``partitioned.json``."""
        from ecomml.modelstore import save_model

        check_fitted(self, ["models_"])
        d = Path(path)
        d.mkdir(parents=True, exist_ok=True)
        dirs = {}
        for i, (name, member) in enumerate(self.models_.items()):
            rel = f"partitions/{i:04d}"
            save_model(member, d / rel, task="forecast", extra={"partition": name})
            dirs[name] = rel
        pd.DataFrame(
            {"sku": self.sku_partition_.index.astype(str), "partition": self.sku_partition_.values}
        ).to_parquet(d / "sku_partition.parquet", index=False)
        meta = {
            "params": self.get_params(),
            "partitions": dirs,
            "default_partition": self.default_partition_,
        }
        (d / _META).write_text(json.dumps(meta, indent=2, sort_keys=True, default=str))

    @classmethod
    def load_artifacts(cls, path: str | os.PathLike[str]) -> PartitionedForecaster:
        """Rebuild the model; every partition folder is verified by its own manifest."""
        from ecomml.modelstore import load_model

        d = Path(path)
        meta = read_model_json(d, _META)
        model = cls(**meta["params"])
        models = {
            name: load_model(d / rel, task="forecast").model
            for name, rel in meta["partitions"].items()
        }
        sp = pd.read_parquet(d / "sku_partition.parquet")
        sku_partition = pd.Series(
            sp["partition"].astype(str).to_numpy(), index=sp["sku"].astype(str).to_numpy()
        )
        return model._set_members(models, sku_partition, str(meta["default_partition"]))


_PLACEHOLDER = "\x00ecomml-placeholder"


def _placeholder(df: pd.DataFrame) -> pd.DataFrame:
    """One zero-demand period of a placeholder SKU, in the history's first period."""
    ds = pd.to_datetime(df["ds"]).min()
    return pd.DataFrame({"sku": [_PLACEHOLDER], "ds": [ds], "y": [0.0]})
