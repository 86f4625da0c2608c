"""curves.png's helper process (`training.output.plot_worker.CurvesWriter`): it draws the same
bytes as `curves_png` in-process, yields the cores to the trainer, and the trainer draws the
picture itself when the helper cannot."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest
from helpers import tiny_run_files

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


def test_a_picture_drawn_early_is_written_on_request(tmp_path: Path):
    path = tmp_path / "curves.png"
    with CurvesWriter() as curves:
        proc = curves.proc
        curves.draw(HISTORY, "run")  # the last epoch has ended: the helper draws now
        assert not path.exists()  # drawn, not written: the run's files keep their order
        curves.write(path, HISTORY, "run")
        assert curves.proc is None  # written by the helper, which was handed the path
    assert path.read_bytes() == curves_png(HISTORY, title="run")
    assert proc.wait(timeout=60) == 0


def test_a_history_changed_after_the_early_drawing_is_drawn_again(tmp_path: Path):
    path = tmp_path / "curves.png"
    changed = {**HISTORY, "loss": [0.9, 0.5, 0.3]}
    with CurvesWriter() as curves:
        curves.draw(HISTORY, "run")
        curves.write(path, changed, "run")
    assert path.read_bytes() == curves_png(changed, title="run")


def test_a_drawing_never_asked_for_is_never_written(tmp_path: Path):
    with CurvesWriter() as curves:  # the run stopped (Ctrl-C, an error) after its last epoch
        proc = curves.proc
        curves.draw(HISTORY, "run")
    assert proc.poll() is not None  # stopped and waited for
    assert list(tmp_path.iterdir()) == []


def test_a_trainer_killed_after_the_drawing_leaves_no_helper_behind():
    with CurvesWriter() as curves:
        proc = curves.proc
        curves.draw(HISTORY, "run")
        proc.stdin.close()  # what the kernel does to the pipe of a trainer killed by kill -9
        assert proc.wait(timeout=60) == 0  # the helper ends on its own
        curves.proc = None


def test_a_helper_gone_before_the_drawing_leaves_it_to_the_trainer(tmp_path: Path):
    path = tmp_path / "curves.png"
    with CurvesWriter() as curves:
        curves.proc.kill()
        curves.proc.wait()
        curves.draw(HISTORY, "run")  # a broken pipe: no helper any more
        assert curves.proc is None
        curves.write(path, HISTORY, "run")
    assert path.read_bytes() == curves_png(HISTORY, title="run")


def test_training_has_the_picture_drawn_before_its_last_checkpoint(tmp_path: Path, monkeypatch):
    """The session hands the final History to the helper when the last epoch ends, before
    that epoch's checkpoint is written; curves.png is still written after the weights."""
    import json

    from netspec.training.engine import session
    from netspec.training.output import plot_worker

    spec_path, data_path = tiny_run_files(tmp_path, train="{epochs: 2, batch_size: 8, seed: 0}")
    run = tmp_path / "run"
    drawn: list[tuple[dict, list]] = []

    class Recording(CurvesWriter):
        def draw(self, history, title):
            saved = json.loads((run / "history.json").read_text())  # the checkpoint so far
            drawn.append((json.loads(json.dumps(history)), saved["loss"]))
            super().draw(history, title)

    monkeypatch.setattr(plot_worker, "CurvesWriter", Recording)
    path, history = session.train(spec_path, data_path, out=run,
                                  device="cpu", echo=lambda *a, **k: None)  # fmt: skip
    assert len(drawn) == 1
    final, saved_loss = drawn[0]
    assert final == history and len(final["loss"]) == 2
    assert len(saved_loss) == 1  # epoch 2's checkpoint was not written yet
    assert (path / "curves.png").read_bytes() == curves_png(history, title="tiny")
    weights, curves = (path / "weights.safetensors").stat(), (path / "curves.png").stat()
    assert weights.st_mtime_ns <= curves.st_mtime_ns
