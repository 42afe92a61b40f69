"""The package's floors as a contract the test suite checks (issue 16).

``lint-imports`` (import-linter) checks the ``layers`` contract in pyproject.toml; the
module graph has no import circles; no module imports a private name of another package.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "ecomml"
ROOT = SRC.parents[1]


def test_layers_contract_is_kept() -> None:
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.skip("import-linter is not installed (pip install -e '.[test]')")
    proc = subprocess.run([exe], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]


def test_no_import_circles_between_modules() -> None:
    grimp = pytest.importorskip("grimp")
    graph = grimp.build_graph("ecomml", cache_dir=None)
    mods = sorted(graph.modules)
    circles = []
    for m in mods:
        for dep in graph.find_modules_directly_imported_by(m):
            if dep != m and graph.chain_exists(importer=dep, imported=m, as_packages=False):
                # a chain back from dep to m closes a circle; packages' own __init__ re-exports
                # of their submodules are not circles of the code
                if not (dep.startswith(m + ".") or m.startswith(dep + ".")):
                    circles.append((m, dep))
    assert not circles, f"import circles: {circles[:10]}"


def _private_cross_package_imports() -> list[str]:
    bad = []
    for f in SRC.rglob("*.py"):
        mod_parts = f.relative_to(SRC.parent).with_suffix("").parts
        package = mod_parts[1] if len(mod_parts) > 2 else None
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom) or not node.module:
                continue
            parts = node.module.split(".")
            if parts[0] != "ecomml" or len(parts) < 2:
                continue
            target_pkg = parts[1]
            if target_pkg == package:
                continue
            # a private module of another package, or a private name from another package
            private_mod = any(p.startswith("_") and p != "__init__" for p in parts[2:])
            private_names = [
                a.name for a in node.names if a.name.startswith("_") and a.name != "__version__"
            ]
            # core private modules (ecomml._io, ecomml._validation, ecomml._lock) are the
            # package's own shared internals, meant for every layer
            if private_mod or private_names:
                bad.append(
                    f"{f.relative_to(SRC)}: from {node.module} import {', '.join(a.name for a in node.names)}"
                )
    return bad


def test_no_private_names_imported_across_packages() -> None:
    bad = _private_cross_package_imports()
    assert not bad, "\n".join(bad)
