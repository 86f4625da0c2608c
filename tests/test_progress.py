"""The training display (`netspec.training.output.progress`) on a real rich console, and curves.png
(`netspec.training.output.plots`) decoded back into pixels."""

from __future__ import annotations

import io
import math
import re
import sys
import time

import numpy as np
import pytest

from netspec.training.output.plots import _figure, curves_png
from netspec.training.output.progress import _REFRESH_S, EpochProgress, epoch_line, format_logs

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
LOGS = [
    {"loss": 0.5, "accuracy": 0.75, "val_loss": 0.625, "val_accuracy": 0.7},
    {"loss": 0.25, "accuracy": 0.875, "val_loss": 0.375, "val_accuracy": 0.8125},
]


def _console():
    from rich.console import Console

    return Console(file=io.StringIO(), force_terminal=True, width=120)


def _screen(console) -> str:
    """What the console was sent, without the control codes and with each run of whitespace
    made one space (a long line folds its logs onto an indented next line)."""
    text = _ANSI.sub("", console.file.getvalue())
    return re.sub(r"\s+", " ", text)


def _train(progress: EpochProgress, epochs=2, batches=4, batch=8, pause=0.0) -> None:
    for epoch in range(epochs):
        progress.start_epoch(epoch)
        for b in range(batches):
            progress.step(batch, 1.0 / (b + 1), lambda: {"accuracy": 0.5})
            time.sleep(pause)
        progress.end_epoch(epoch, LOGS[epoch], 1234.4)


def test_epoch_line_format():
    line = epoch_line(0, 5, {"loss": 0.12344, "accuracy": 0.9, "val_loss": 0.5}, 1234.4)
    assert (
        line == "Epoch 1/5 - loss: 0.1234 - accuracy: 0.9000 - val_loss: 0.5000 - 1,234 samples/s"
    )


def test_not_live_echoes_one_line_per_epoch():
    lines: list[str] = []
    with EpochProgress(2, 32, 8, live=False, echo=lines.append) as progress:
        _train(progress)
        progress.message("Epoch 2: ReduceLROnPlateau reducing learning rate to 0.001")
    assert lines == [
        "Epoch 1/2 - loss: 0.5000 - accuracy: 0.7500 - val_loss: 0.6250 - val_accuracy: 0.7000"
        " - 1,234 samples/s",
        "Epoch 2/2 - loss: 0.2500 - accuracy: 0.8750 - val_loss: 0.3750 - val_accuracy: 0.8125"
        " - 1,234 samples/s",
        "Epoch 2: ReduceLROnPlateau reducing learning rate to 0.001",
    ]


def test_live_leaves_each_epochs_line_with_its_logs():
    console = _console()
    with EpochProgress(2, 32, 8, live=True, console=console, echo=pytest.fail) as progress:
        _train(progress, pause=0.002)
    screen = _screen(console)
    for epoch, logs in enumerate(LOGS):
        final = re.search(
            rf"Epoch {epoch + 1}/2 ━+ 4/4 \d+:\d\d:\d\d 1,234 samples/s ([^E]*)", screen
        )
        assert final, screen
        assert final.group(1).strip() == " - ".join(f"{k}: {v:.4f}" for k, v in logs.items())
    # while it ran: the running mean loss of the first batch and the metrics from logs()
    assert "1/4 -:--:--" in screen
    assert "loss: 1.0000 - accuracy: 0.5000" in screen
    assert "-:--:--" in screen  # the time-remaining column, before the speed is known
    assert "samples/s" in screen


def test_live_message_and_close_mid_epoch():
    console = _console()
    progress = EpochProgress(3, 100, 10, live=True, console=console, start_epoch=1)
    progress.step(10, 2.0)  # no start_epoch: the loop resumed at epoch 1, shown as 2/3
    progress.message("Epoch 2: ReduceLROnPlateau reducing learning rate to 0.001")
    progress.close()
    progress.close()  # idempotent
    screen = _screen(console)
    assert "Epoch 2: ReduceLROnPlateau reducing learning rate to 0.001" in screen
    assert re.search(r"Epoch 2/3 \S+ 1/10 .* loss: 2\.0000", screen), screen


def test_small_values_use_keras_scientific_format():
    assert format_logs({"loss": 0.5, "learning_rate": 1e-5, "zero": 0.0}) == (
        "loss: 0.5000 - learning_rate: 1.0000e-05 - zero: 0.0000e+00"
    )


def test_live_long_logs_go_below_the_bar_at_full_width():
    from rich.console import Console

    console = Console(file=io.StringIO(), force_terminal=True, width=80)
    logs = {f"metric_{i}": (i + 1) / 8 for i in range(8)}
    with EpochProgress(1, 8, 8, live=True, console=console) as progress:
        progress.end_epoch(0, logs, 10.0)
    lines = [line.rstrip() for line in _ANSI.sub("", console.file.getvalue()).splitlines()]
    assert re.fullmatch(r"Epoch 1/1 ━+ 1/1 0:00:00 10 samples/s", lines[-3]), lines
    assert lines[-2].startswith("metric_0: 0.1250 - metric_1: 0.2500 - metric_2: 0.3750 - ")
    assert "metric_7: 1.0000" in _screen(console)
    assert "…" not in _screen(console)


@pytest.mark.parametrize("live", [False, True])
def test_step_is_throttled_and_cheap(live):
    """`logs()` runs only on a redraw (the first step, then at most one per _REFRESH_S), and a
    step that does not redraw makes no call but its clock read: counted by a profile hook, not
    timed (a redraw is thousands of calls)."""
    calls = []

    def logs():
        calls.append(1)
        return {"accuracy": 0.5}

    events = 0

    def count(frame, event, arg) -> None:
        nonlocal events
        events += 1

    progress = EpochProgress(1, 80_000, 8, live=live, console=_console(), echo=lambda _: None)
    progress.start_epoch(0)
    per_step = []
    began = time.monotonic()
    previous = sys.getprofile()
    sys.setprofile(count)
    try:
        for _ in range(10_000):
            redraws = len(calls)
            before = events
            progress.step(8, 0.5, logs)
            after = events
            if len(calls) == redraws:
                per_step.append(after - before)
    finally:
        sys.setprofile(previous)
    spent = time.monotonic() - began  # the redraws' bound: a slower run only allows more
    progress.close()
    assert (1 <= len(calls) <= 1 + spent / _REFRESH_S) if live else not calls
    # today 4 events live (step's call and return, time.monotonic's) and 2 quiet (step's): a
    # few more is still cheap, a redraw per step would be thousands
    assert max(per_step) <= (8 if live else 4), per_step


# curves.png

HISTORY = {
    "loss": [1.0, 0.7, 0.5, 0.4],
    "accuracy": [0.3, 0.5, 0.6, 0.7],
    "val_loss": [1.1, 0.8, 0.6, 0.5],
    "val_accuracy": [0.2, 0.4, 0.5, 0.6],
}


def _pixels(png: bytes) -> np.ndarray:
    from matplotlib.image import imread

    assert png.startswith(b"\x89PNG")
    return imread(io.BytesIO(png))


def test_curves_png_is_a_readable_picture():
    image = _pixels(curves_png(HISTORY, title="digits_cnn"))
    height, width = image.shape[:2]
    assert width == 1000 and 300 < height < 600
    assert image[..., :3].std() > 0.05  # not blank


@pytest.mark.slow  # matplotlib draws
def test_curves_one_subplot_per_quantity_loss_first():
    titles = [ax.get_title() for ax in _figure(HISTORY).axes if ax.get_visible()]
    assert titles == ["loss", "accuracy"]
    assert [ax.get_title() for ax in _figure({"loss": [1.0]}).axes] == ["loss"]
    history = {"learning_rate": [1e-3, 1e-4], "loss": [1.0, 0.5], "auc": [0.6, 0.7]}
    titles = [ax.get_title() for ax in _figure(history).axes if ax.get_visible()]
    assert titles == ["loss", "auc", "learning_rate"]
    rows = _pixels(curves_png(history)).shape[0]
    assert rows > _pixels(curves_png(HISTORY)).shape[0]  # three subplots take a second row


def test_curves_train_and_validation_share_a_subplot():
    loss = _figure(HISTORY).axes[0]
    assert [t.get_text() for t in loss.get_legend().get_texts()] == ["train", "validation"]
    assert loss.get_xlabel() == "epoch"
    assert list(loss.lines[0].get_xdata()) == [1, 2, 3, 4]
    assert all(float(t).is_integer() for t in loss.get_xticks())


@pytest.mark.slow  # matplotlib draws twice
def test_curves_deterministic():
    assert curves_png(HISTORY) == curves_png(HISTORY)
    assert b"Software" not in curves_png(HISTORY)


def test_curves_single_epoch_shows_a_point():
    fig = _figure({"loss": [0.5], "val_loss": [0.6]})
    line = fig.axes[0].lines[0]
    assert line.get_marker() == "o"
    assert [float(t) for t in fig.axes[0].get_xticks() if 0.5 <= t <= 1.5] == [1.0]
    assert _pixels(curves_png({"loss": [0.5]}))[..., :3].std() > 0.05


def test_curves_non_finite_values_are_gaps():
    history = {"loss": [1.0, math.nan, 0.5, math.inf, 0.25], "val_loss": [None, 1.0, 0.8, 0.6, 0.5]}
    y = _figure(history).axes[0].lines[0].get_ydata()
    assert np.isnan(y[1]) and np.isnan(y[3]) and y[4] == 0.25
    assert _pixels(curves_png(history)).shape[1] == 1000
    assert _pixels(curves_png({"loss": [math.nan, math.nan]})).shape[1] == 1000


def test_curves_validation_only_and_empty_history():
    fig = _figure({"val_loss": [0.5, 0.4], "loss": [0.6, 0.5], "val_mae": [2.0, 1.5]})
    assert [ax.get_title() for ax in fig.axes] == ["loss", "mae"]
    legend = fig.axes[1].get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["validation"]
    assert _pixels(curves_png({})).shape[1] == 1000
