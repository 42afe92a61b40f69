"""Pure metric functions, one module per task family.

* ``ecomml.metrics.forecast`` - WAPE, MASE, RMSSE, pinball loss, interval coverage.
* ``ecomml.metrics.classification`` - ROC/PR-AUC, Brier, calibration, gains and lift.
* ``ecomml.metrics.ranking`` - Recall/NDCG/MAP@K, hit rate, coverage, novelty.

Every function takes arrays or long frames and returns floats or small frames; none
reads files, the clock or MLflow.
"""

from __future__ import annotations

__all__: list[str] = []
