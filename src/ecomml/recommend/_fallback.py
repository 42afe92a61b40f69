"""How much history the pipeline's ranker needs, and when the simple blend replaces it.

Pure functions used by :class:`~ecomml.recommend.RecommenderPipeline` (issue 17, item 5:
"never worse than its own parts"). The ranker learns from a label window of
``horizon`` days at the end of the training history; it needs history before that
window to compute its candidates and features from. A label window is kept only when
at least :data:`HISTORY_PER_LABEL_DAY` days of history per label day lie before it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

__all__ = [
    "BLEND",
    "FALLBACKS",
    "HISTORY_PER_LABEL_DAY",
    "MIN_LABEL_DAYS",
    "RANKER",
    "choice_message",
    "choose",
    "ranker_horizon",
]

BLEND = "blend"
RANKER = "ranker"
FALLBACKS = ("auto", "never")
#: days of history wanted before the label cutoff per day of label window
HISTORY_PER_LABEL_DAY = 2
#: shortest label window worth training a ranker on (or ``horizon_days`` if shorter)
MIN_LABEL_DAYS = 14
#: what the blend is, in the words of the console summary
BLEND_NAME = "buy-again + popularity blend"


def ranker_horizon(history_days: float, horizon_days: int) -> int | None:
    """The label window (days) the ranker can use with ``history_days`` of history.

    At most ``horizon_days``, and at most ``history_days / (1 + HISTORY_PER_LABEL_DAY)``
    so the ranker's label cutoff leaves twice the window of history before it; None when
    that is shorter than ``min(MIN_LABEL_DAYS, horizon_days)`` (too little history).

    Examples
    --------
    >>> ranker_horizon(700, 91), ranker_horizon(122, 91), ranker_horizon(30, 91)
    (91, 40, None)
    """
    want = int(horizon_days)
    fits = math.floor(max(float(history_days), 0.0) / (1 + HISTORY_PER_LABEL_DAY))
    h = min(want, fits)
    return h if h >= min(MIN_LABEL_DAYS, want) and h >= 1 else None


def choose(ranker_score: float, blend_score: float) -> str:
    """:data:`RANKER` when it beats the blend on validation, else :data:`BLEND` (ties go
    to the simpler blend; a missing score loses)."""
    if not math.isfinite(ranker_score):
        return BLEND
    if not math.isfinite(blend_score):
        return RANKER
    return RANKER if ranker_score > blend_score else BLEND


def choice_message(choice: str, validation: Mapping[str, float], *, new_items: bool) -> str:
    """One console line: which model serves the lists and the validation scores behind it."""
    key = "new_ndcg@20" if new_items else "ndcg@20"
    what = "never-bought lists: " if new_items else ""
    r, b = validation.get(f"ranker_{key}"), validation.get(f"blend_{key}")
    if r is None or b is None:
        return f"{what}the model uses the {choice}"
    scores = f"NDCG@20 {r:.3f} vs {b:.3f}"
    if choice == BLEND:
        return f"{what}ranker lost to the {BLEND_NAME} on validation ({scores}): the model uses the blend"
    return f"{what}ranker beat the {BLEND_NAME} on validation ({scores}): the model uses the ranker"
