"""curves.png's helper process (`training.output.plot_worker.CurvesWriter`): it draws the same
bytes as `curves_png` in-process, yields the cores to the trainer, and the trainer draws the
picture itself when the helper cannot."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from netspec.training.output.plot_worker import CurvesWriter
from netspec.training.output.plots import curves_png

pytestmark = pytest.mark.slow  # the helper process
HISTORY = {"loss": [0.9, 0.5, 0.4], "val_loss": [1.0, 0.7, 0.6], "accuracy": [0.5, 0.7, 0.8]}


def test_the_helper_draws_what_curves_png_draws(tmp_path: Path):
    path = tmp_path / "curves.png"
    with CurvesWriter() as curves:
        proc = curves.proc
        assert proc is not None
        assert curves._by_helper(path, HISTORY, "run")  # drawn by the helper, not here
    assert path.read_bytes() == curves_png(HISTORY, title="run")
    assert proc.wait(timeout=60) == 0
    assert [p.name for p in tmp_path.iterdir()] == ["curves.png"]  # no temporary file left


def test_the_helper_yields_the_cores_to_the_trainer():
    expected = min(19, os.getpriority(os.PRIO_PROCESS, 0) + 10)
    with CurvesWriter() as curves:
        pid, deadline = curves.proc.pid, time.monotonic() + 60
        nice = os.getpriority(os.PRIO_PROCESS, pid)
        while nice != expected and time.monotonic() < deadline:
            time.sleep(0.02)  # it lowers its own priority first thing
            nice = os.getpriority(os.PRIO_PROCESS, pid)
        assert nice == expected


def test_a_failed_helper_leaves_the_drawing_to_the_trainer(tmp_path: Path):
    path = tmp_path / "curves.png"
    failing = [sys.executable, "-c", "import sys; sys.stdin.read(); sys.exit(3)"]
    with CurvesWriter(command=failing) as curves:
        curves.write(path, HISTORY, "run")
    assert path.read_bytes() == curves_png(HISTORY, title="run")


def test_no_request_no_picture(tmp_path: Path):
    with CurvesWriter() as curves:
        proc = curves.proc
    assert curves.proc is None and proc.poll() is not None  # stopped and waited for
    assert list(tmp_path.iterdir()) == []
