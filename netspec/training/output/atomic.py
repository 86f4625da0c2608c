"""Atomic file writes (standard library only: the curves helper process loads this file by path,
without importing netspec).

Test hook: with `NETSPEC_TEST_KILL_AT=NAME:WHEN[:N]` in the environment (WHEN `before` or
`after`, N counting from 1, default 1), the process SIGKILLs itself just before (or just after)
the N-th rename onto a file called NAME, e.g. `checkpoint.safetensors:after:2`. The kill tests
use it to stop `netspec train` at every write point; unset, it costs one dictionary lookup.
"""

from __future__ import annotations

import os
import signal
import tempfile
from collections.abc import Callable
from pathlib import Path

TMP_SUFFIX = ".tmp"
_renames: dict[str, int] = {}


class CannotWrite(OSError):
    """A write that failed (disk full, no permission, read-only file system), named by its
    target (`filename`), not by the temporary file: the target is as it was before."""


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to a temporary file beside `path`, flush it to disk, then rename it over
    `path`: a reader (or a crash) sees the old file or the new one, never part of one."""
    write_atomic_with(path, lambda tmp: tmp.write_bytes(data))


def write_atomic_with(path: Path, write: Callable[[Path], object]) -> None:
    """As `write_atomic`, for a writer that takes a file name (safetensors' `save_file`
    streams the tensors to disk, where `save` would first build the whole file in memory)."""
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TMP_SUFFIX)
    except OSError as exc:  # no such folder, no permission, read-only file system
        raise CannotWrite(exc.errno, exc.strerror, str(path)) from None
    os.close(fd)
    try:
        write(Path(tmp))
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())  # on disk before the rename: no empty file after a crash
        _test_kill(path.name, "before")
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError) and not isinstance(exc, CannotWrite):  # disk full, ...
            raise CannotWrite(exc.errno, exc.strerror or str(exc), str(path)) from None
        raise
    fsync_dir(path.parent)  # the rename itself on disk
    _test_kill(path.name, "after")


def fsync_dir(folder: Path) -> None:
    """Flush a directory's entries (a rename or a new file in it) to disk."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:  # pragma: no cover - a platform without directory handles
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - file systems that refuse fsync on directories
        pass
    finally:
        os.close(fd)


def _test_kill(name: str, when: str) -> None:
    target = os.environ.get("NETSPEC_TEST_KILL_AT")
    if not target:
        return
    parts = target.split(":")
    if parts[0] != name or parts[1:2] != [when]:
        return
    _renames[f"{name}:{when}"] = count = _renames.get(f"{name}:{when}", 0) + 1
    if count == (int(parts[2]) if len(parts) > 2 else 1):
        os.kill(os.getpid(), signal.SIGKILL)
