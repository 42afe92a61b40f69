"""The churn model is never worse than its own parts on its validation window: the blend
weight of classifier and BG/NBD is the one with the lowest validation Brier score."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ecomml.churn.model import BLEND_WEIGHTS, validated_weight


def _brier(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.mean((p - y) ** 2))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 1), st.floats(0, 1), st.floats(0, 1)), min_size=1,
             max_size=60),
)  # fmt: skip
def test_the_blend_is_never_worse_than_either_part(rows: list[tuple[int, float, float]]) -> None:
    y, pc, pb = (np.array(c, dtype=float) for c in zip(*rows, strict=True))
    w = validated_weight(y, pc, pb)
    assert w in BLEND_WEIGHTS
    blend = _brier(y, w * pc + (1 - w) * pb)
    assert blend <= min(_brier(y, pc), _brier(y, pb)) + 1e-12


def test_a_perfect_part_takes_all_the_weight() -> None:
    y = np.array([0, 1, 1, 0, 1], dtype=float)
    noise = np.full(5, 0.5)
    assert validated_weight(y, y, noise) == 1.0
    assert validated_weight(y, noise, y) == 0.0
    assert validated_weight(y, y, y) == 1.0  # a tie keeps the classifier
