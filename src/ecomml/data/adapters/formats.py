"""The known source layouts by name, and :func:`detect_format`, which guesses a file's
layout from its column names."""

from __future__ import annotations

from ecomml.data.adapters._layout import _resolve, _SourceFormat
from ecomml.data.adapters.cdnow import _CDNOW
from ecomml.data.adapters.online_retail import _ONLINE_RETAIL
from ecomml.data.schema import TRANSACTIONS

_FORMATS: dict[str, _SourceFormat] = {
    "online-retail": _ONLINE_RETAIL,
    "online-retail-ii": _ONLINE_RETAIL,  # both spellings are accepted under either name
    "cdnow": _CDNOW,
}


_ALIASES = {a for f in (_ONLINE_RETAIL, _CDNOW) for names in f.aliases.values() for a in names}


#: Accepted values of ``format``.
FORMATS: tuple[str, ...] = ("auto", "canonical", "online-retail", "online-retail-ii", "cdnow")


def normalize_format(name: str) -> str:
    """A format name as ecomml spells it: ``online_retail`` and ``Online-Retail`` are
    ``online-retail`` (YAML configs often use underscores)."""
    return str(name).strip().lower().replace("_", "-")


def detect_format(columns: list[str], *, table: str = "transactions") -> str:
    """Guess the format of a file from its column names.

    Parameters
    ----------
    columns : list of str
        The file's column names.
    table : str
        Canonical table being read; only ``transactions`` has non-canonical formats.

    Returns
    -------
    str
        ``"online-retail"``, ``"cdnow"`` or ``"canonical"`` (the fallback, so that
        validation names the missing canonical columns).
    """
    if table != "transactions":
        return "canonical"
    canon = set(TRANSACTIONS.required)
    scores = {"canonical": len(canon & {str(c).strip() for c in columns}) / len(canon)}
    for key in ("online-retail", "cdnow"):
        fmt = _FORMATS[key]
        found = _resolve(fmt, columns)
        own = [c for c in fmt.required if c in found and found[c] not in canon]
        scores[key] = len([c for c in fmt.required if c in found]) / len(fmt.required)
        if not own:  # only canonical names matched: that is the canonical format
            scores[key] = 0.0
    best = max(scores, key=lambda k: (scores[k], k == "canonical"))
    return best if scores[best] >= 0.5 else "canonical"
