"""An inter-process lock on a file (POSIX ``flock``), with a timeout and a named holder.

Used around the short critical sections where two ecomml jobs could interleave: the
swap of a model directory and the update of a materialization manifest. The lock file
holds the holder's pid and host, so a timeout says who is in the way. It is removed on
release; a lock file left by a killed job is harmless (``flock`` locks die with their
process) and is taken over by the next job.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

from ecomml.exceptions import LockTimeoutError

__all__ = ["LockTimeoutError", "file_lock", "lock_holder"]

#: Seconds a job waits for another job's lock before giving up.
DEFAULT_TIMEOUT = 120.0
_POLL = 0.05


def lock_holder(path: str | os.PathLike[str]) -> str:
    """Who holds (or last held) the lock at ``path``: ``"pid 123 on host"`` or ``"unknown"``."""
    try:
        info = json.loads(Path(path).read_text(encoding="utf-8"))
        return f"pid {int(info['pid'])} on {info.get('host', '?')}"
    except (OSError, ValueError, KeyError, TypeError):
        return "unknown"


@contextlib.contextmanager
def file_lock(path: str | os.PathLike[str], *, timeout: float = DEFAULT_TIMEOUT) -> Iterator[Path]:
    """Hold an exclusive lock on ``path`` (created if needed) for the ``with`` block.

    Parameters
    ----------
    path : the lock file; its parent directory is created.
    timeout : seconds to wait for another holder; ``0`` tries once.

    Raises
    ------
    LockTimeoutError
        The lock stayed held for ``timeout`` seconds; the message names the holder's pid.
    """
    import fcntl

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + max(float(timeout), 0.0)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as err:
                    if err.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                        raise
                    if time.monotonic() >= deadline:
                        raise LockTimeoutError(
                            f"{path}: locked by {lock_holder(path)} for more than {timeout:g}s "
                            "(another ecomml job is writing the same output). Wait for it to "
                            "finish, or remove the lock file if that process no longer exists."
                        ) from None
                    time.sleep(_POLL)
            # the previous holder may have removed the file between our open and our lock:
            # then we hold a lock on an orphan inode and must start over
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(path))
            except FileNotFoundError:
                same = False
            if not same:
                os.close(fd)
                fd = -1
                continue
            os.ftruncate(fd, 0)
            os.write(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname()}).encode())
            try:
                yield path
            finally:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()  # while still locked: waiters re-check the inode
            return
        finally:
            if fd >= 0:
                os.close(fd)  # closing releases the flock
