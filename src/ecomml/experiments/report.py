"""A self-contained HTML page per experiment run: config, leaderboard, per-fold metrics, plots.

Images are embedded as base64 data URIs, so the page opens anywhere (an MLflow artifact
view, an e-mail attachment) without the files beside it.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from ecomml._io import atomic_write_text

if TYPE_CHECKING:
    from ecomml.experiments.config import ExperimentConfig

__all__ = ["write_report", "render_report"]

_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1100px}
table{border-collapse:collapse;margin:1em 0;font-size:0.9em}
th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}
img{max-width:100%;border:1px solid #ddd;margin:0.5em 0}
code{background:#f6f6f6;padding:1px 4px}
"""


# After load, <body data-images="loaded/total">: lets a headless browser check the plots decode.
_CHECK = (
    "window.addEventListener('load',function(){var i=document.images,n=0;"
    "for(var k=0;k<i.length;k++){if(i[k].complete&&i[k].naturalWidth>0){n++;}}"
    "document.body.setAttribute('data-images',n+'/'+i.length);});"
)


def _table(df: pd.DataFrame) -> str:
    def fmt(v: object) -> str:
        if isinstance(v, float):
            return f"{v:.4g}"
        if isinstance(v, pd.Timestamp):
            return str(v.date())
        return str(v)

    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(fmt(v))}</td>" for v in row) + "</tr>"
        for row in df.itertuples(index=False)
    )
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    return f"<div style='overflow-x:auto'>{table}</div>"


def render_report(
    *,
    title: str,
    config: ExperimentConfig,
    points: pd.DataFrame,
    folds: pd.DataFrame,
    plots: dict[str, Path],
) -> str:
    """The HTML text of the report (see :func:`write_report`)."""
    from ecomml import __version__

    metric_cols = [c for c in config.metrics if c in points.columns]
    lead = points[[c for c in ("point", "label", *metric_cols) if c in points.columns]]
    imgs = []
    for name, path in plots.items():
        data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
        imgs.append(
            f"<figure><img alt='{html.escape(name)}' src='data:image/png;base64,{data}'>"
            f"<figcaption>{html.escape(name)}</figcaption></figure>"
        )
    info = [
        ("task", config.task),
        ("model", config.model),
        ("cutoff (exclusive)", str(config.cutoff.date())),
        ("folds", str(config.folds)),
        ("primary metric", config.primary_metric),
        ("config", str(config.path.name) if config.path else "(in memory)"),
        ("ecomml", __version__),
    ]
    rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>" for k, v in info)
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><table>{rows}</table>"
        f"<h2>Leaderboard</h2>{_table(lead)}"
        f"<h2>Best run, per fold</h2>{_table(folds)}"
        f"<h2>Plots</h2>{''.join(imgs) or '<p>no plots</p>'}"
        f"<script>{_CHECK}</script></body></html>"
    )


def write_report(
    path: str | Path,
    *,
    title: str,
    config: ExperimentConfig,
    points: pd.DataFrame,
    folds: pd.DataFrame,
    plots: dict[str, Path],
) -> Path:
    """Write the self-contained HTML report atomically; returns its path."""
    text = render_report(title=title, config=config, points=points, folds=folds, plots=plots)
    return atomic_write_text(path, text)
