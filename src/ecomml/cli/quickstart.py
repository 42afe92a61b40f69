"""``ecomml quickstart``: the whole pipeline on the built-in sample shop or a user's export."""

from __future__ import annotations


def quickstart() -> None:
    """Run the main job end to end."""
