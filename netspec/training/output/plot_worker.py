"""curves.png drawn by a helper process that starts with the training command.

Importing matplotlib and drawing a first figure costs about half a second of one core, which a
short run on a small machine would feel; while the trainer imports torch (one core, a second or
two) the helper imports matplotlib and warms its fonts up on another, so the trainer waits only
for the final picture's drawing (0.05-0.15 s). The helper runs at niceness +10: where the cores
are contended (other jobs, torch's threads) the trainer goes first (measured: 0.1 s less per
3 s run on 2 busy cores). The helper's memory is its own, not the trainer's. If the helper
cannot start or fails, the trainer draws the picture itself.

The helper is `plots.py` run as a script (`plots._serve`). Protocol, one JSON object a line on
the helper's stdin: `{"history", "title"}` asks for a drawing, made in memory at once (the
trainer sends it when the last epoch has ended, so the picture is drawn while the last
checkpoint is written); `{"path"}` asks for the latest drawing to be written there, atomically:
the helper answers `done` and exits 0. curves.png is thus written in the run's order (after the
weights, before run.json's end), only drawn earlier. Stdin closed without a path (training
failed or was stopped before the end) makes it exit quietly, writing nothing.
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
        self._drawing = ""  # the drawing request the helper has, if any

    def __enter__(self) -> CurvesWriter:
        try:
            self.proc = subprocess.Popen(
                self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )  # fmt: skip
        except OSError:
            self.proc = None
        return self

    def draw(self, history: dict, title: str | None) -> None:
        """Have the helper draw the picture of this final `history` now; `write` then only
        writes it (or draws anew if the history it is given differs)."""
        request = _drawing(history, title)
        if self.proc is not None and self._send(request):
            self._drawing = request

    def write(self, path: Path, history: dict, title: str | None) -> None:
        """Write `path` (by the helper, else here)."""
        if self.proc is not None and self._by_helper(path, history, title):
            return
        from .atomic import write_atomic
        from .plots import curves_png

        write_atomic(path, curves_png(history, title=title))

    def _send(self, *lines: str) -> bool:
        assert self.proc is not None and self.proc.stdin is not None  # a pipe
        try:
            self.proc.stdin.write("".join(f"{line}\n" for line in lines).encode())
            self.proc.stdin.flush()
        except OSError:  # the helper is gone: the trainer draws
            self._stop()
            return False
        return True

    def _by_helper(self, path: Path, history: dict, title: str | None) -> bool:
        request = _drawing(history, title)
        lines = [] if request == self._drawing else [request]
        if not self._send(*lines, json.dumps({"path": str(path)})):
            return False
        proc, self.proc = self.proc, None
        assert proc is not None and proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.close()
            done = proc.stdout.readline() == b"done\n"  # written: its exit is not awaited
        except OSError:
            done = False
        if not done:
            proc.kill()
            proc.wait()
        return done and path.is_file()

    def _stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def __exit__(self, *exc) -> None:
        self._stop()  # training ended without a picture to write


def _drawing(history: dict, title: str | None) -> str:
    """A drawing request: one line of JSON (NaN and infinities as JSON's extensions)."""
    return json.dumps({"history": history, "title": title})
