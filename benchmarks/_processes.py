"""Measuring a child process and its children: the benchmarks that time fresh processes
(``spark.py``, ``churn_scoring.py``) sample their peak memory and stop them with these."""

from __future__ import annotations

from typing import Any

__all__ = ["kill_tree", "tree_rss"]


def tree_rss(proc: Any) -> int:
    """Resident bytes of the psutil process ``proc`` and all its children (0 once gone)."""
    import psutil

    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def kill_tree(pid: int) -> None:
    """Kill process ``pid`` and its children, children first."""
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [*root.children(recursive=True), root]
    except psutil.Error:
        return
    for p in procs:
        try:
            p.kill()
        except psutil.Error:
            pass
