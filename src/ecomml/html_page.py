"""A self-contained HTML page of facts, tables and PNGs: the reports people open from an
MLflow artifact view or an e-mail attachment.

Images are embedded as base64 data URIs, so the page needs no files beside it. Used by
the experiment report, ``ecomml abtest analyze`` and ``ecomml promo``.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from ecomml._io import atomic_write_text

__all__ = ["html_table", "render_page", "write_page"]

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


def html_table(df: pd.DataFrame) -> str:
    """``df`` as an escaped HTML table (floats to 4 significant digits, dates as dates)."""

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


def render_page(
    title: str,
    *,
    facts: Sequence[tuple[str, str]] = (),
    sections: Sequence[tuple[str, pd.DataFrame | str]] = (),
    plots: Mapping[str, str | Path] | None = None,
) -> str:
    """The page's HTML: the title, a table of ``facts`` (name, value), each section (a
    heading with a table, or with a paragraph of text) and the PNG ``plots`` (name ->
    file), embedded."""
    from ecomml import __version__

    rows = "".join(
        f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>"
        for k, v in (*facts, ("ecomml", __version__))
    )
    parts = [f"<h1>{html.escape(title)}</h1><table>{rows}</table>"]
    for heading, body in sections:
        content = (
            html_table(body) if isinstance(body, pd.DataFrame) else f"<p>{html.escape(body)}</p>"
        )
        parts.append(f"<h2>{html.escape(heading)}</h2>{content}")
    imgs = []
    for name, path in (plots or {}).items():
        data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
        imgs.append(
            f"<figure><img alt='{html.escape(name)}' src='data:image/png;base64,{data}'>"
            f"<figcaption>{html.escape(name)}</figcaption></figure>"
        )
    parts.append(f"<h2>Plots</h2>{''.join(imgs) or '<p>no plots</p>'}")
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
        f"{''.join(parts)}<script>{_CHECK}</script></body></html>"
    )


def write_page(path: str | Path, title: str, **kw: object) -> Path:
    """Write :func:`render_page`'s page atomically; returns its path."""
    return atomic_write_text(path, render_page(title, **kw))  # type: ignore[arg-type]
