"""curves.png drawn by a helper process that starts with the training command.

Importing matplotlib and drawing a first figure costs about half a second of one core, which a
short run on a small machine would feel; while the trainer imports torch (one core, a second or
two) the helper imports matplotlib and warms its fonts up on another, so the trainer waits only
for the final picture's drawing (0.05-0.15 s). The helper runs at niceness +10: where the cores
are contended (other jobs, torch's threads) the trainer goes first (measured: 0.1 s less per
3 s run on 2 busy cores). The helper's memory is its own, not the trainer's. If the helper
cannot start or fails, the trainer draws the picture itself.

The helper is `plots.py` run as a script (`plots._serve`). Protocol: the parent writes one JSON
object `{"path", "history", "title"}` to the helper's stdin and closes it; the helper writes
`path` atomically and exits 0. An empty stdin (training failed before the end) makes it exit
quietly.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

# plots.py as a script: the helper imports matplotlib, not netspec (a quarter second)
COMMAND = [sys.executable, str(Path(__file__).resolve().with_name("plots.py"))]


class CurvesWriter:
    """`with CurvesWriter() as curves: ... curves.write(path, history, title)`."""

    def __init__(self, command: list[str] | None = None):
        self.command = command or COMMAND
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> CurvesWriter:
        try:
            self.proc = subprocess.Popen(
                self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )  # fmt: skip
        except OSError:
            self.proc = None
        return self

    def write(self, path: Path, history: dict, title: str | None) -> None:
        """Write `path` (by the helper, else here)."""
        if self.proc is not None and self._by_helper(path, history, title):
            return
        from .atomic import write_atomic
        from .plots import curves_png

        write_atomic(path, curves_png(history, title=title))

    def _by_helper(self, path: Path, history: dict, title: str | None) -> bool:
        request = json.dumps({"path": str(path), "history": history, "title": title})
        proc, self.proc = self.proc, None
        if proc is None:  # the caller checked: a helper was started
            return False
        assert proc.stdin is not None and proc.stdout is not None  # both are pipes
        try:
            proc.stdin.write(request.encode())
            proc.stdin.close()
            done = proc.stdout.readline() == b"done\n"  # written: its exit is not awaited
        except OSError:
            done = False
        if not done:
            proc.kill()
            proc.wait()
        return done and path.is_file()

    def __exit__(self, *exc) -> None:
        if self.proc is not None:  # training ended without a picture to draw
            self.proc.kill()
            self.proc.wait()
            self.proc = None
