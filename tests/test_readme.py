"""The README's Python examples: every block parses, and every name it imports from ecomml
exists (a renamed or removed API fails here, not in a user's first hour). Running the blocks
end to end needs their data (orders files, Spark, a model registry) and is not done here."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def test_readme_has_python_examples() -> None:
    assert len(BLOCKS) >= 10


@pytest.mark.parametrize("n", range(len(BLOCKS)))
def test_readme_block_parses_and_its_ecomml_imports_exist(n: int) -> None:
    tree = ast.parse(BLOCKS[n], filename=f"README.md python block {n + 1}")
    names = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("ecomml"):
            module = importlib.import_module(node.module)
            for alias in node.names:
                found = hasattr(module, alias.name) or (
                    hasattr(module, "__path__")  # a package: the name may be a submodule
                    and importlib.util.find_spec(f"{node.module}.{alias.name}") is not None
                )
                assert found, f"README python block {n + 1}: {node.module} has no {alias.name}"
                names += 1
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("ecomml"):
                    importlib.import_module(alias.name)
                    names += 1
    assert names, f"README python block {n + 1} imports nothing from ecomml"
