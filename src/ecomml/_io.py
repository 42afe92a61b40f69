"""Atomic writes: a crash or a concurrent writer never leaves a half-written output.

Everything ecomml writes (Parquet, CSV, JSON, PNG, model folders) goes through these
helpers. A file is written to a hidden temporary name in the destination directory
(``.{name}.{pid}.{random}.tmp``: dot-prefixed and ending in ``.tmp``, so neither the
final name nor a glob such as ``*.parquet`` ever shows it, even to DuckDB or pathlib,
which do list dot files), fsynced, renamed over the target with ``os.replace`` (atomic
on POSIX) and the directory entry is fsynced. A folder is built the same way and then
exchanged with the old one in one step (``renameat2(RENAME_EXCHANGE)`` on Linux, two
renames under a lock elsewhere), so readers see the old folder or the new one, never a
mix and never nothing.

A job killed with SIGKILL leaves its hidden temporary behind; the next write to the same
target removes it once the pid in its name is gone and no process holds its ``flock``.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import secrets
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ecomml._lock import DEFAULT_TIMEOUT, file_lock

__all__ = [
    "OUTPUT_SUFFIXES",
    "atomic_dir",
    "atomic_path",
    "atomic_write_json",
    "atomic_write_table",
    "atomic_write_text",
    "check_output_name",
    "fsync_dir",
    "is_temp_name",
    "refuse_overwrite",
    "remove_stale_temps",
]

#: the table file names the writers take (``atomic_write_table``, ``runner.write_output``)
OUTPUT_SUFFIXES: tuple[str, ...] = (".csv", ".parquet", ".pq")

_TMP_SUFFIX = ".tmp"
_TEMP_RE = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.(?P<rand>[A-Za-z0-9_]{8})\.tmp$")


def _fsync(path: str | os.PathLike[str]) -> None:
    """fsync the file or directory at ``path``."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: str | os.PathLike[str]) -> None:
    """Flush a directory entry to disk so a rename survives a power loss (POSIX only)."""
    if os.name != "posix":
        return
    _fsync(path)


def _fsync_tree(root: Path) -> None:
    """fsync every file and directory under ``root`` (bottom-up), then ``root`` itself."""
    for dirpath, _dirs, files in os.walk(root, topdown=False):
        for f in files:
            p = Path(dirpath) / f
            if not p.is_symlink():
                _fsync(p)
        fsync_dir(dirpath)


def is_temp_name(name: str) -> bool:
    """Whether ``name`` is one of the hidden temporaries these helpers create."""
    return _TEMP_RE.match(name) is not None


def _temp_name(target: Path) -> str:
    return f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}{_TMP_SUFFIX}"


def _flock_nb(path: Path) -> bool:
    """Try to lock ``path`` without waiting; True if we could (so nobody holds it)."""
    import fcntl

    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    finally:
        os.close(fd)  # releases the probe lock
    return True


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True  # another thread of this process may be writing it
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temps(target: str | os.PathLike[str]) -> list[Path]:
    """Remove the hidden temporaries that killed jobs left beside ``target``.

    A temporary is stale when the process in its name no longer exists and nobody holds
    its lock; live writers' temporaries are never touched. Returns what was removed.
    """
    target = Path(target)
    removed: list[Path] = []
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return removed
    for entry in entries:
        m = _TEMP_RE.match(entry.name)
        if m is None or m["name"] != target.name:
            continue
        p = Path(entry.path)
        if _pid_alive(int(m["pid"])) or not _flock_nb(p):
            continue
        with contextlib.suppress(OSError):
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(p)
            else:
                p.unlink()
            removed.append(p)
    return removed


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str], *, suffix: str | None = None) -> Iterator[Path]:
    """Yield a hidden temporary path beside ``target``; on success it replaces ``target``.

    On an exception the temporary file is removed and ``target`` is left untouched.
    The temporary always ends in ``.tmp`` (``suffix`` is accepted for compatibility and
    ignored), so writers must name their format explicitly rather than infer it from
    the file name.
    """
    import fcntl

    del suffix
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(target)
    tmp_path = target.with_name(_temp_name(target))
    fd = os.open(tmp_path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # marks the temporary as being written
        old: Path | None = None
        try:
            yield tmp_path
            if tmp_path.is_dir():
                # a writer that makes a folder of parts (Spark) replaced the file
                _fsync_tree(tmp_path)
                old = _swap_in(tmp_path, target, lock_timeout=DEFAULT_TIMEOUT)
            else:
                _fsync(tmp_path)  # by name: the writer may have replaced the file
                os.replace(tmp_path, target)
                fsync_dir(target.parent)
        except BaseException:
            if old is None:
                if tmp_path.is_dir() and not tmp_path.is_symlink():
                    shutil.rmtree(tmp_path, ignore_errors=True)
                else:
                    with contextlib.suppress(FileNotFoundError, PermissionError):
                        tmp_path.unlink()
            raise
    finally:
        os.close(fd)
    if old is not None:
        _remove(old)


def atomic_write_text(target: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``target`` atomically."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(target)


def atomic_write_json(target: str | os.PathLike[str], obj: Any) -> Path:
    """Write ``obj`` as pretty JSON to ``target`` atomically."""
    return atomic_write_text(target, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def atomic_write_table(
    target: str | os.PathLike[str], frame: Any, *, fmt: str | None = None
) -> Path:
    """Write a pandas frame atomically as Parquet, or as CSV (``fmt="csv"``, or by default
    when ``target`` ends in ``.csv``).

    Parquet timestamps are stored in microseconds (what DuckDB and Spark both read; Spark
    refuses pandas' default nanoseconds), so one file feeds either engine. CSV text cells
    that a spreadsheet would run as a formula are neutralised (:func:`csv_safe`); Parquet
    keeps every value exactly.
    """
    target = Path(target)
    with atomic_path(target) as tmp:
        if (fmt or ("csv" if target.suffix.lower() == ".csv" else "parquet")) == "csv":
            csv_safe(frame).to_csv(tmp, index=False)
        else:
            frame.to_parquet(
                tmp, index=False, coerce_timestamps="us", allow_truncated_timestamps=True
            )
    return target


#: first characters that make Excel, LibreOffice or Google Sheets read a cell as a formula
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(frame: Any) -> Any:
    """``frame`` with text cells that start like a formula (``=``, ``+``, ``-``, ``@``, tab,
    carriage return) prefixed by a single quote, the OWASP defence against CSV injection:
    a customer id ``=HYPERLINK(...)`` opens in Excel as text, not as a link. Numbers and
    other columns are untouched; a frame with nothing to change is returned as is."""
    out = None
    for col in frame.columns:
        s = frame[col]
        if (
            s.dtype != object
            and str(s.dtype) not in ("string", "str")
            and not str(s.dtype).startswith("string")
        ):
            continue
        text = s.astype("string")
        risky = text.str.startswith(_FORMULA_START).fillna(False).to_numpy(dtype=bool)
        if risky.any():
            if out is None:
                out = frame.copy()
            out[col] = s.where(~risky, "'" + text.astype(object))
    return frame if out is None else out


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic step (Linux ``renameat2``); False if unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    at_fdcwd, rename_exchange = -100, 2
    if fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(a))


def _remove(path: Path) -> None:
    """Remove a file or a folder tree, ignoring what is already gone."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _swap_in(tmp: Path, target: Path, *, lock_timeout: float) -> Path | None:
    """Put the complete folder ``tmp`` at ``target`` under the target's lock; return where
    the previous folder now is (to be removed), or None if there was none."""
    old: Path | None = None
    with file_lock(target.with_name(f".{target.name}.lock"), timeout=lock_timeout):
        if target.exists() or target.is_symlink():
            if _exchange(tmp, target):
                old = tmp  # the exchange left the previous folder at the temporary name
            else:
                old = target.with_name(_temp_name(target))
                os.replace(target, old)
                os.replace(tmp, target)
        else:
            os.replace(tmp, target)
        fsync_dir(target.parent)
    return old


def atomic_dir(
    target: str | os.PathLike[str],
    fill: Callable[[Path], None],
    *,
    lock_timeout: float = DEFAULT_TIMEOUT,
) -> Path:
    """Build a directory with ``fill(tmp_dir)`` and swap it in place of ``target``.

    The old directory, if any, stays readable until the new one is complete and
    fsynced; the two are then exchanged under a lock (``.{name}.lock`` beside it), so
    when two jobs write the same folder the later complete one wins and the folder is
    never a mix of both. The old folder is removed afterwards.
    """
    import fcntl

    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(target)
    tmp = target.with_name(_temp_name(target))
    tmp.mkdir()
    fd = os.open(tmp, os.O_RDONLY)
    old: Path | None = None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # marks the temporary as being written
        fill(tmp)
        _fsync_tree(tmp)
        old = _swap_in(tmp, target, lock_timeout=lock_timeout)
    except BaseException:
        if old is None:
            shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        os.close(fd)
    if old is not None:
        _remove(old)
    return target


def refuse_overwrite(*outputs: tuple[str, Any], inputs: Any = ()) -> None:
    """Refuse an output (``("--output", path)``) that is, or lies inside, one of a
    command's ``inputs`` (data files, a model folder...): writing it would destroy what the
    command reads. Inputs that are None or URIs (``runs:/``, ``s3a://``) are skipped."""
    from ecomml.exceptions import ConfigError

    local = [p for p in inputs if p is not None and ":/" not in str(p)[:12] and "://" not in str(p)]
    sources = [Path(p).expanduser().resolve() for p in local]
    for option, out in outputs:
        if out is None:
            continue
        target = Path(out).expanduser().resolve()
        for src in sources:
            if target == src or (src.is_dir() and target.is_relative_to(src)):
                raise ConfigError(
                    f"{option} {out} would overwrite the input {src} (it is the input file or "
                    "lies inside it); write the result to another path"
                )


def check_output_name(path: str | os.PathLike[str] | None, option: str = "--output") -> None:
    """Refuse an output file name the table writer cannot write (before any work)."""
    from ecomml.exceptions import InputFileError

    if path is not None and Path(path).suffix.lower() not in OUTPUT_SUFFIXES:
        raise InputFileError(f"{option} {path}: use a .csv or .parquet file name")
