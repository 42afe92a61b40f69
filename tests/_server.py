"""A REST model server for tests: start a command that serves on a free loopback port,
wait for ``/ping``, post ``dataframe_split`` requests, and always stop the whole process
group (``tests/test_serving.py``, ``tests/test_walkthrough.py``)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["free_port", "invoke", "running_server"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def running_server(
    cmd: Sequence[str], port: int, log_path: Path, *, env: dict[str, str] | None = None,
    cwd: Path | None = None, timeout: float = 120,
) -> Iterator[str]:  # fmt: skip
    """Run ``cmd`` (a server listening on ``port``) and yield its base URL once ``/ping``
    answers; the server's output goes to ``log_path``; it is always stopped."""
    log = log_path.open("w")
    proc = subprocess.Popen(list(cmd), stdout=log, stderr=subprocess.STDOUT, env=env, cwd=cwd,
                            start_new_session=True)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                log.flush()
                raise AssertionError(
                    f"server exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}"
                )
            with contextlib.suppress(urllib.error.URLError, ConnectionError, TimeoutError):
                with urllib.request.urlopen(f"{base}/ping", timeout=2) as r:
                    if r.status == 200:
                        break
            if time.monotonic() > deadline:
                raise AssertionError(f"the server did not answer /ping within {timeout:.0f} s")
            time.sleep(0.5)
        yield base
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        log.close()


def invoke(base: str, frame: pd.DataFrame, params: dict[str, Any] | None = None) -> Any:
    """POST ``frame`` (and ``params``) to ``/invocations``: the predictions as a frame, or
    ``(status, body)`` for an HTTP error."""
    split = json.loads(frame.to_json(orient="split", index=False, date_format="iso"))
    body: dict[str, Any] = {"dataframe_split": split}
    if params:
        body["params"] = params
    req = urllib.request.Request(
        f"{base}/invocations",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return pd.DataFrame(json.loads(r.read())["predictions"])
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()
