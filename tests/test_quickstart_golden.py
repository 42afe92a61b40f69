"""Golden comparison of the main job's outputs (issue 16: the task contract redesign must
leave every output of ``quickstart`` unchanged: same columns, same rows, numbers to 1e-9).

The digest in ``tests/data/golden/quickstart_small_shop.json`` was written by the code
before the redesign. Regenerate it only for an intended change of outputs:
``python tests/_golden.py`` is not a script; use ``write_digest(path, digest_outputs(out))``.
"""

from __future__ import annotations

import json
from pathlib import Path

from ecomml.data.synth import make_shop
from tests._golden import compare_digests, digest_outputs

GOLDEN = Path(__file__).parent / "data" / "golden" / "quickstart_small_shop.json"


def test_quickstart_outputs_equal_the_golden_digest(tmp_path: Path) -> None:
    from ecomml.data.shop import ShopData
    from ecomml.quickstart import run_quickstart

    s = make_shop(n_customers=250, n_skus=80, days=240, seed=3)
    shop = ShopData(s.transactions, s.events, s.catalog, s.calendar, source="test shop")
    run_quickstart(shop, out_dir=tmp_path / "out", track=False)
    diffs = compare_digests(json.loads(GOLDEN.read_text()), digest_outputs(tmp_path / "out"))
    assert not diffs, "\n".join(diffs[:20])
