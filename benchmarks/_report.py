"""The end of a benchmark that prints a Markdown report: the command that reproduces it,
printed and (with ``--markdown FILE``) written, and the frames as Markdown tables."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import pandas as pd


def md(frame: pd.DataFrame, floatfmt: str = ".3f") -> str:
    """``frame`` as a Markdown table, without its index."""
    return frame.to_markdown(index=False, floatfmt=floatfmt)


def finish(text: list[str], script: str, argv: list[str] | None, markdown: Path | None) -> int:
    """Add the reproduce command of ``benchmarks/<script>`` to ``text``, print it all and
    write it to ``markdown`` when given; 0 for ``main``'s exit status."""
    cmd = f"nice .venv/bin/python benchmarks/{script} " + shlex.join(argv or sys.argv[1:])
    out = "\n".join([*text, "Reproduce:", "", "```bash", cmd.strip(), "```"])
    print(out)
    if markdown:
        markdown.write_text(out)
    return 0
