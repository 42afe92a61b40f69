"""Golden comparison of the main job's outputs (issue 16: the task contract redesign must
leave every output of ``quickstart`` unchanged: same columns, same rows, numbers to 1e-9).

The digest in ``tests/data/golden/quickstart_small_shop.json`` was written by the code
before the redesign, and rewritten since for intended changes only: issue 23 (the inventory
classes keyed by ``sku``, the plan at the classes' per-cell service targets) and issue 17
(the recommender serves the buy-again + popularity blend where its ranker loses on
validation, as on this shop; then every top-K list breaks ties by the lower SKU index, the
same on the sparse and dense paths, and with that tie rule the fit validation keeps the
ranker on this shop), and issue 20 (the plan's levels from exact negative binomial pmfs of
the lead-time demand instead of Monte-Carlo paths: the inventory plan only) and issue 19
(three new backtest-metric columns: the q50 column's MASE and the randomized-PIT shares).
Regenerate it only for an intended change of outputs:
``python tests/_golden.py`` is not a script; use ``write_digest(path, digest_outputs(out))``.
"""

from __future__ import annotations

import json
from pathlib import Path

from ecomml.data.synth import make_shop
from tests._golden import compare_digests, digest_outputs

GOLDEN = Path(__file__).parent / "data" / "golden" / "quickstart_small_shop.json"


def test_quickstart_outputs_equal_the_golden_digest(tmp_path: Path, mlflow_uri: str) -> None:
    """The main job's outputs equal the digest, and the run is logged to MLflow (this is
    also the fast twin of test_pipeline's slow-marked quickstart test)."""
    import mlflow

    from ecomml.data.shop import ShopData
    from ecomml.features.materialize import read_manifest
    from ecomml.quickstart import default_cutoff, run_quickstart

    s = make_shop(n_customers=250, n_skus=80, days=240, seed=3)
    shop = ShopData(s.transactions, s.events, s.catalog, s.calendar, source="test shop")
    res = run_quickstart(shop, out_dir=tmp_path / "out")
    diffs = compare_digests(json.loads(GOLDEN.read_text()), digest_outputs(tmp_path / "out"))
    assert not diffs, "\n".join(diffs[:20])

    assert res.cutoff == default_cutoff(s.transactions)
    manifest = read_manifest(tmp_path / "out" / "features")
    assert set(manifest["views"]) == set(res.view_rows)
    run = mlflow.get_run(res.run_id)
    assert run.data.tags["ecomml.feature_manifest_hash"]
    assert run.data.params["cutoff"] == str(res.cutoff.date())
    arts = {a.path for a in mlflow.MlflowClient().list_artifacts(res.run_id, "plots")}
    assert "plots/daily_sales.png" in arts
    assert not list((tmp_path / "out").rglob("*.tmp*"))

    # each model is saved (to predict with afterwards) and registered (to serve)
    from ecomml.runner import load_task_model

    assert set(res.models) == {"churn", "forecast", "recommend"}
    client = mlflow.MlflowClient()
    for task, path in res.models.items():
        assert load_task_model(path, task).metadata["task"] == task
        assert client.search_model_versions(f"name = 'ecomml-{task}'")

    # one run's inventory files agree: keyed by sku, same classes and service targets
    import pandas as pd

    classes = pd.read_parquet(tmp_path / "out" / "inventory" / "classes.parquet")
    plan = pd.read_parquet(tmp_path / "out" / "inventory" / "plan.parquet")
    both = plan.merge(classes, on="sku", suffixes=("_plan", "_classes"))
    assert len(both) == len(classes) > 0
    for col in ("abc", "xyz", "service_target"):
        assert (both[f"{col}_plan"] == both[f"{col}_classes"]).all(), col
