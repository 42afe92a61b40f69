"""Print the RELIABILITY.md "Bad input" table from ``cases.yaml`` and the real messages.

Each error row shows the exact one-line message of ``ecomml data validate`` on the file
(run from this folder, so messages name the file as the user typed it); each accepted
file shows its documented cleaning. Usage:

    python tests/data/bad/render_table.py > /tmp/table.md
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import yaml
from typer.testing import CliRunner

from ecomml.cli.main import app

HERE = Path(__file__).resolve().parent
GOOD_TX = "leading_zero_ids.csv"  # a valid transactions file, for the --map-file cases


SIDE = {"forecasts", "on_hand", "customers", "boost"}


def _side_message(case: dict) -> str:
    """The message of the CLI's reader of a side input (the same the command prints)."""
    from ecomml.exceptions import EcommlError
    from ecomml.inventory.commands import read_side_file
    from ecomml.recommend.task import RecommendTask

    path = Path(case["file"])
    try:
        if case["table"] in ("forecasts", "on_hand"):
            read_side_file(path, case["table"].replace("_", "-"))
        else:  # what `ecomml predict recommend --customers/--boost` reads
            given = {"customers": None, "boost": None, case["table"]: path}
            RecommendTask().score_options(
                {**given, "k": 10, "exclude_purchased": False, "max_per_category": None}
            )
    except EcommlError as err:
        return str(err)
    raise AssertionError(f"{path} was read without error")


def _args(case: dict, folder: Path) -> list[str]:
    name, table = case["file"], case["table"]
    if table == "mapping":
        return ["data", "validate", GOOD_TX, "--map-file", name]
    if name == "huge_field.csv":
        path = folder / name
        path.write_text(
            "order_id,customer_id,sku,ts,quantity,price,description\n"
            "1,c1,A,2011-01-01 10:00,2,2.5," + "x" * 10_000_000 + "\n"
        )
        return ["data", "validate", os.path.relpath(path), "--table", table]
    return ["data", "validate", name, "--table", table]


def rows() -> list[str]:
    cases = yaml.safe_load((HERE / "cases.yaml").read_text(encoding="utf-8"))
    out = []
    runner = CliRunner()
    cwd = Path.cwd()
    os.chdir(HERE)
    try:
        with tempfile.TemporaryDirectory(dir=HERE.parent) as tmp:
            for case in cases:
                if case["exit"] == 1:
                    if case["table"] in SIDE:
                        what = _side_message(case)
                    else:
                        res = runner.invoke(app, _args(case, Path(tmp)))
                        what = res.stderr.strip().removeprefix("error: ")
                        what = what.replace(str(Path(tmp).name) + "/", "").replace("../", "")
                    what = f"`{what}`" if "`" not in what else what
                else:
                    what = "accepted: " + case["cleaned"]
                note = "".join(
                    f" ({cmd}: exit {o['exit']}, {o.get('cleaned', '')})"
                    for cmd, o in (case.get("overrides") or {}).items()
                )
                file = case["file"] + (" (generated)" if case["file"] == "huge_field.csv" else "")
                out.append(
                    f"| {case['case']} | `{file}` | {what.replace('|', '&#124;')}{note} | "
                    f"{case['exit']} |"
                )
    finally:
        os.chdir(cwd)
    return out


if __name__ == "__main__":
    print("| Case | File in `tests/data/bad/` | What happens | Exit |")
    print("|---|---|---|---|")
    print("\n".join(rows()))
