"""One writer per run folder: an exclusive `flock` on `RUN/.lock`, held from before the folder
is checked until the last file is written (train and --resume alike).

The kernel drops the lock when its holder exits, however it exits (SIGKILL included), so a
stale lock never needs clearing by hand. The lock file itself is never deleted: deleting it
would let a second process lock a new file of the same name while the first still holds the
old one. It holds its current holder's pid, host, command and start time, for the message that
refuses a second writer. A default folder (`runs/NAME-TIME`) is created with `os.mkdir`, which
fails if the folder exists, so processes started in the same second get `-2`, `-3`, ...
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import sys
import time
from pathlib import Path

from ...errors import NetspecError

LOCK_NAME = ".lock"


class RunLock:
    """The open, locked `RUN/.lock`; `release()` (or process exit) unlocks it."""

    def __init__(self, folder: Path, fd: int):
        self.folder, self.fd = folder, fd

    def release(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)  # closing the file drops the flock
            self.fd = -1


def acquire(folder: Path, hint: str) -> RunLock:
    """Lock `folder` (which exists) or refuse at once, naming the holder; `hint` says what the
    user may do instead (choose another --out, wait)."""
    path = folder / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise NetspecError(f"{path}: cannot write the run's lock file: {exc.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _holder(fd)
        os.close(fd)
        raise NetspecError(
            f"{folder}: in use by another netspec process ({holder}); {hint}"
        ) from None
    except OSError as exc:
        os.close(fd)
        raise NetspecError(f"{path}: cannot lock the run folder: {exc.strerror}") from None
    _write_holder(fd)
    return RunLock(folder, fd)


def _write_holder(fd: int) -> None:
    info = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "command": " ".join(["netspec", *sys.argv[1:]]),
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    with contextlib.suppress(OSError):  # the message's details only: the lock is what counts
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)


def _holder(fd: int) -> str:
    """'pid N on HOST, `COMMAND`, since TIME', as far as the holder wrote it."""
    try:
        info = json.loads(os.pread(fd, 65536, 0).decode())
        return f"pid {info['pid']} on {info['host']}, `{info['command']}`, since {info['started']}"
    except (OSError, ValueError, KeyError, TypeError):  # the holder is writing it right now
        return "it is starting"


def create_default(parent: Path, name: str) -> Path:
    """A new, empty `parent/NAME-YYYYmmdd-HHMMSS` (`-2`, `-3`, ... if taken), created
    atomically: two runs started in the same second never share a folder."""
    make_folder(parent)
    stamp = f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"
    for n in range(1, 10_000):
        path = parent / (stamp if n == 1 else f"{stamp}-{n}")
        try:
            os.mkdir(path)
            return path
        except FileExistsError:
            continue
        except OSError as exc:
            raise NetspecError(f"{path}: cannot create the run folder: {exc.strerror}") from None
    raise NetspecError(f"{parent}: no free folder name for {stamp}")  # pragma: no cover


def make_folder(path: Path) -> None:
    """`path` and its parents as folders; a located error (one line) if that cannot be."""
    if path.is_symlink() and not path.exists():
        raise NetspecError(
            f"{path}: a symbolic link to a missing folder ({os.readlink(path)}): create that "
            "folder or choose another --out"
        )
    if path.exists() and not path.is_dir():
        raise NetspecError(f"{path} is a file: choose another --out; nothing was written")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise NetspecError(f"{path}: cannot create the run folder: {exc.strerror}") from None
