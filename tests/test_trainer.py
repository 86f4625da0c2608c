"""The trainer: resumable checkpoints (--resume equals the uninterrupted run), best.safetensors,
callbacks, schedules in a run, several inputs and outputs, loss_weights, .npy directories,
precision and torch.compile (tiny models, CPU)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import python_output
from safetensors.torch import load_file
from typer.testing import CliRunner

import netspec
from netspec.cli import app
from netspec.errors import NetspecError
from netspec.training.engine.data import load_data
from netspec.training.engine.loop import evaluate, fit
from netspec.training.engine.session import train
from netspec.training.spec.overrides import load_with_overrides

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()

# Dropout (torch's generator), a seeded Dropout (its own generator), BatchNormalization (moving
# statistics), shuffling (numpy's generator), Adam's state: everything a resume must restore.
BASE = """netspec: 1
name: tiny
input_shape: [4]
layers:
  - {type: Dense, units: 16, activation: relu}
  - {type: BatchNormalization}
  - {type: Dropout, rate: 0.2}
  - {type: Dropout, rate: 0.1, seed: 7}
  - {type: Dense, units: 3, activation: softmax}
compile:
  optimizer: OPTIMIZER
  loss: sparse_categorical_crossentropy
  metrics: [accuracy]
train: {epochs: 4, batch_size: 16, seed: 0, validation_split: 0.25TRAIN}
"""
SCHEDULE = (
    "{type: Adam, learning_rate: {type: CosineDecay, initial_learning_rate: 0.05, decay_steps: 20}}"
)
PLATEAU = (
    ", reduce_lr_on_plateau: {monitor: val_loss, patience: 0, factor: 0.5, min_delta: 1.0},"
    " early_stopping: {monitor: val_accuracy, patience: 10, restore_best_weights: true}"
)


def spec_text(optimizer: str = "{type: Adam, learning_rate: 0.01}", train: str = "") -> str:
    return BASE.replace("OPTIMIZER", optimizer).replace("TRAIN", train)


@pytest.fixture()
def data(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(120, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int64") + (x[:, 1] > 1).astype("int64")
    path = tmp_path / "d.npz"
    np.savez(path, x=x, y=y, x_test=x[:30], y_test=y[:30])
    return path


def write(tmp_path, text: str, name: str = "tiny.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def same_weights(a: Path, b: Path) -> None:
    wa, wb = load_file(str(a)), load_file(str(b))
    assert wa.keys() == wb.keys()
    for key in wa:
        assert torch.equal(wa[key], wb[key]), key


@pytest.mark.parametrize(
    "optimizer,extra",
    [(SCHEDULE, ""), ("{type: SGD, momentum: 0.9}", PLATEAU)],
    ids=["schedule", "callbacks"],
)
@pytest.mark.slow  # training runs
def test_resume_equals_the_uninterrupted_run(tmp_path, data, optimizer, extra):
    spec = write(tmp_path, spec_text(optimizer, extra))
    quiet = {"echo": lambda line: None}
    whole, history = train(spec, data, out=tmp_path / "whole", **quiet)
    part, _ = train(spec, data, out=tmp_path / "part", overrides=["train.epochs=2"], **quiet)
    meta = json.loads((part / "checkpoint.json").read_text())
    assert meta["epoch"] == 2 and meta["finished"]
    _, resumed = train(None, None, resume=part, overrides=["train.epochs=4"], **quiet)
    assert resumed == history
    same_weights(whole / "weights.safetensors", part / "weights.safetensors")
    assert json.loads((part / "history.json").read_text()) == history
    if extra:
        assert "learning_rate" in history and min(history["learning_rate"]) < 0.01
        same_weights(whole / "best.safetensors", part / "best.safetensors")


@pytest.mark.slow  # a training run
def test_the_run_folder(tmp_path, data):
    spec = write(tmp_path, spec_text(train=PLATEAU))
    run, history = train(spec, data, out=tmp_path / "run", echo=lambda line: None)
    names = {p.name for p in run.iterdir()}
    assert names == {
        "run.json", "spec.yaml", "weights.safetensors", "best.safetensors",
        "checkpoint.safetensors", "checkpoint.json", "history.json", "history.csv", "curves.png",
        ".lock",
    }  # fmt: skip
    info = json.loads((run / "run.json").read_text())
    assert info["data"] == str(data.resolve()) and info["final_epoch"] == len(history["loss"])
    assert (run / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # best.safetensors holds the epoch with the highest val_accuracy (early_stopping's monitor)
    model = netspec.load_run(run)
    netspec.training.output.runs.load_weights(model, run / "best.safetensors")
    parsed = load_with_overrides(run / "spec.yaml")
    val = load_data(data, parsed)["train"].take(slice(90, 120))
    assert evaluate(model, parsed, val)["accuracy"] == pytest.approx(max(history["val_accuracy"]))
    # restore_best_weights: the final weights are the best epoch's too
    same_weights(run / "weights.safetensors", run / "best.safetensors")
    # nothing pickled: the checkpoint is safetensors with JSON metadata
    meta = json.loads((run / "checkpoint.json").read_text())
    assert {"epoch", "step", "history", "shuffle_rng", "optimizer", "info"} <= set(meta)
    assert meta["info"]["data"] == str(data.resolve())


@pytest.mark.slow  # training runs
def test_resume_errors(tmp_path, data):
    spec = write(tmp_path, spec_text())
    run, _ = train(spec, data, out=tmp_path / "run", echo=lambda line: None)
    with pytest.raises(NetspecError, match="finished after 4 epochs; pass --epochs N"):
        train(None, None, resume=run)
    with pytest.raises(NetspecError, match="holds no run to resume"):
        train(None, None, resume=tmp_path)
    assert not (tmp_path / ".lock").exists()
    result = runner.invoke(app, ["train", "--resume", str(run), "--out", str(tmp_path / "x")])
    assert result.exit_code == 1 and "stays in its folder" in result.stderr
    result = runner.invoke(app, ["train"])
    assert result.exit_code == 1 and "--resume RUN" in result.stderr
    (run / "checkpoint.safetensors").write_bytes(b"garbage")
    result = runner.invoke(app, ["train", "--resume", str(run), "--epochs", "5"])
    assert result.exit_code == 1 and "not a netspec checkpoint" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.slow  # training runs
def test_checkpoint_every(tmp_path, data):
    spec = write(tmp_path, spec_text(train=", checkpoint: {every: 0}"))
    run, _ = train(spec, data, out=tmp_path / "none", echo=lambda line: None)
    assert not (run / "checkpoint.safetensors").exists()
    assert len(json.loads((run / "history.json").read_text())["loss"]) == 4  # at the end
    spec = write(tmp_path, spec_text(train=", checkpoint: {every: 3}"))
    run, _ = train(spec, data, out=tmp_path / "three", echo=lambda line: None)
    # every 3 epochs, and at the end (epoch 4)
    assert json.loads((run / "checkpoint.json").read_text())["epoch"] == 4


def _wait_for_epoch(run: Path, epoch: int, proc, limit: float = 120.0) -> int:
    began = time.monotonic()
    while time.monotonic() - began < limit:
        try:
            done = json.loads((run / "checkpoint.json").read_text())["epoch"]
        except (OSError, ValueError):
            done = 0
        if done >= epoch or proc.poll() is not None:
            return done
        time.sleep(0.01)
    raise AssertionError("the training process made no checkpoint in time")


def _default_sigint() -> None:
    # A shell that starts a job in the background without job control makes it ignore SIGINT,
    # and an ignored signal stays ignored across exec: the CLI under test gets Ctrl-C's default.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _cli(*args: str, **kwargs):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, str(ROOT / "cli.py"), *args], env=env, text=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, preexec_fn=_default_sigint, **kwargs,
    )  # fmt: skip


@pytest.mark.slow  # CLI processes
def test_a_killed_run_resumes_exactly(tmp_path):
    """SIGKILL at an arbitrary moment: every file left is whole, and --resume gives the
    uninterrupted run's weights and history bit for bit."""
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2000, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")
    data = tmp_path / "d.npz"
    np.savez(data, x=x, y=y)
    spec = write(tmp_path, spec_text().replace("epochs: 4", "epochs: 40"))
    proc = _cli("train", str(spec), "--data", str(data), "--out", str(tmp_path / "killed"), "-q")
    done = _wait_for_epoch(tmp_path / "killed", 3, proc)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert 3 <= done < 40, "the run ended before it could be killed: make it longer"
    for f in (tmp_path / "killed").iterdir():  # whole files only (temporaries aside)
        if f.name.endswith(".json"):
            json.loads(f.read_text())
        elif f.name.endswith(".safetensors"):
            load_file(str(f))
    resumed = _cli("train", "--resume", str(tmp_path / "killed"), "-q")
    whole = _cli("train", str(spec), "--data", str(data), "--out", str(tmp_path / "whole"), "-q")
    for p in (resumed, whole):
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    same_weights(tmp_path / "whole/weights.safetensors", tmp_path / "killed/weights.safetensors")
    history = [json.loads((tmp_path / r / "history.json").read_text()) for r in ("whole", "killed")]
    assert history[0] == history[1]


@pytest.mark.slow  # a CLI process
def test_ctrl_c_keeps_the_checkpoint(tmp_path):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2000, 4)).astype("float32")
    data = tmp_path / "d.npz"
    np.savez(data, x=x, y=(x[:, 0] > 0).astype("int64"))
    spec = write(tmp_path, spec_text().replace("epochs: 4", "epochs: 500"))
    proc = _cli("train", str(spec), "--data", str(data), "--out", str(tmp_path / "run"))
    _wait_for_epoch(tmp_path / "run", 1, proc)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert f"netspec train --resume {tmp_path / 'run'}" in err
    assert "Traceback" not in err


MULTI = """netspec: 1
name: two_heads
inputs: {a: {shape: [3]}, b: {shape: [2]}}
outputs: [cls, reg]
layers:
  - {type: Concatenate, name: both, inputs: [a, b]}
  - {type: Dense, name: hidden, units: 8, activation: relu}
  - {type: Dense, name: cls, units: 3, activation: softmax, inputs: hidden}
  - {type: Dense, name: reg, units: 1, inputs: hidden}
compile:
  optimizer: {type: SGD, learning_rate: 0.05}
  loss: {cls: sparse_categorical_crossentropy, reg: mse}
  loss_weights: {cls: 1.0, reg: 0.5}
  metrics: {cls: [accuracy], reg: [mae]}
train: {epochs: 2, batch_size: 8, seed: 0, shuffle: false}
"""


def multi_arrays(n: int = 40) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(3)
    return {
        "x_a": rng.normal(size=(n, 3)).astype("float32"),
        "x_b": rng.normal(size=(n, 2)).astype("float32"),
        "y_cls": rng.integers(0, 3, size=n),
        "y_reg": rng.normal(size=(n, 1)).astype("float32"),
    }


def test_several_inputs_and_outputs_with_loss_weights(tmp_path):
    spec_path = write(tmp_path, MULTI)
    arrays = multi_arrays()
    np.savez(tmp_path / "d.npz", **arrays)
    spec = load_with_overrides(spec_path)
    model = netspec.build(spec, seed=0)
    reference = netspec.build(spec, seed=0)
    history = fit(model, spec, load_data(tmp_path / "d.npz", spec))
    assert list(history) == ["loss", "cls_loss", "reg_loss", "cls_accuracy", "reg_mae"]
    # the same steps by hand: weighted losses, SGD, batches in order
    opt = torch.optim.SGD(reference.parameters(), lr=0.05)
    t = {k: torch.from_numpy(v) for k, v in arrays.items()}
    for _ in range(2):
        for i in range(0, 40, 8):
            cls, reg = reference(t["x_a"][i : i + 8], t["x_b"][i : i + 8])
            loss = torch.nn.functional.nll_loss(cls.log(), t["y_cls"][i : i + 8])
            loss = loss + 0.5 * torch.nn.functional.mse_loss(reg, t["y_reg"][i : i + 8])
            opt.zero_grad()
            loss.backward()
            opt.step()
    for a, b in zip(model.parameters(), reference.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_a_directory_of_npy_files_is_memory_mapped(tmp_path):
    spec_path = write(tmp_path, MULTI)
    folder = tmp_path / "arrays"
    folder.mkdir()
    arrays = multi_arrays()
    for key, value in arrays.items():
        np.save(folder / f"{key}.npy", value)
    np.savez(tmp_path / "d.npz", **arrays)
    spec = load_with_overrides(spec_path)
    loaded = load_data(folder, spec)
    assert all(isinstance(a, np.memmap) for a in loaded["train"].x + loaded["train"].y)
    results = []
    for source in (folder, tmp_path / "d.npz"):
        model = netspec.build(spec, seed=0)
        results.append(fit(model, spec, load_data(source, spec)))
    assert results[0] == results[1]


def test_metric_names_follow_keras(tmp_path, data):
    onehot = tmp_path / "onehot.npz"
    arrays = np.load(data)
    np.savez(onehot, x=arrays["x"], y=np.eye(3, dtype="float32")[arrays["y"]])
    text = spec_text().replace("sparse_categorical_crossentropy", "categorical_crossentropy")
    text = text.replace(
        "metrics: [accuracy]",
        "metrics: [acc, mae, {type: AUC, num_thresholds: 50}, {type: MeanSquaredError, name: err},"
        " top_k_categorical_accuracy]",
    )
    # Keras 3: a metric given as a string is named by that string; an object by its name
    spec = load_with_overrides(write(tmp_path, text), ["train.epochs=1"])
    history = fit(netspec.build(spec, seed=0), spec, load_data(onehot, spec))
    assert list(history) == [
        "loss", "acc", "mae", "auc", "err", "top_k_categorical_accuracy",
        "val_loss", "val_acc", "val_mae", "val_auc", "val_err", "val_top_k_categorical_accuracy",
    ]  # fmt: skip


def test_a_metric_that_cannot_fit_the_labels_fails_before_training(tmp_path, data):
    text = spec_text().replace("metrics: [accuracy]", "metrics: [accuracy, mae]")
    result = runner.invoke(app, ["train", str(write(tmp_path, text)), "--data", str(data)])
    assert result.exit_code == 1
    assert (
        f"{data}: compile.metrics: mae cannot compare labels of shape (N,) with output "
        "'dense_1' of shape (N, 3)" in result.stderr
    )
    assert "Traceback" not in result.output


def test_monitors_must_be_reported(tmp_path, data):
    text = spec_text(train=", early_stopping: {monitor: val_acuracy}")
    result = runner.invoke(app, ["train", str(write(tmp_path, text)), "--data", str(data)])
    assert result.exit_code == 1
    assert "train.early_stopping.monitor: 'val_acuracy' is not reported" in result.stderr
    assert "did you mean 'val_accuracy'" in result.stderr
    text = spec_text(SCHEDULE, ", reduce_lr_on_plateau: {patience: 1}")
    result = runner.invoke(app, ["train", str(write(tmp_path, text)), "--data", str(data)])
    assert result.exit_code == 1 and "cannot change a learning-rate schedule" in result.stderr
    assert not any(p.name == "runs" for p in tmp_path.iterdir())


@pytest.mark.slow  # training runs
def test_validation_split_is_ignored_with_validation_arrays(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")
    np.savez(tmp_path / "d.npz", x=x, y=y, x_val=x[:8], y_val=y[:8])
    spec = write(tmp_path, spec_text())
    lines: list[str] = []
    _, history = train(spec, tmp_path / "d.npz", out=tmp_path / "r", echo=lines.append)
    assert any("validation_split 0.25 ignored: the data has x_val/y_val" in s for s in lines)
    assert "val_loss" in history


def test_frozen_weights_are_not_constrained(tmp_path, data):
    text = spec_text().replace(
        "{type: Dense, units: 3, activation: softmax}",
        "{type: Dense, units: 3, activation: softmax, trainable: false, kernel_constraint: NonNeg}",
    )
    spec = load_with_overrides(write(tmp_path, text), ["train.epochs=1"])
    model = netspec.build(spec, seed=0)
    before = model.layers["dense_1"].kernel.detach().clone()
    assert float(before.min()) < 0
    fit(model, spec, load_data(data, spec))
    assert torch.equal(before, model.layers["dense_1"].kernel)  # Keras: not projected


def test_bf16_precision_trains(tmp_path, data):
    spec = load_with_overrides(write(tmp_path, spec_text()), ["train.epochs=3"])
    model = netspec.build(spec, seed=0)
    history = fit(model, spec, load_data(data, spec), precision="bf16")
    assert history["loss"][-1] < history["loss"][0]
    assert all(p.dtype == torch.float32 for p in model.parameters())  # autocast, fp32 weights
    with pytest.raises(NetspecError, match="16-mixed needs a CUDA device"):
        fit(model, spec, load_data(data, spec), precision="16-mixed")
    result = runner.invoke(
        app, ["train", str(tmp_path / "tiny.yaml"), "--data", str(data), "--precision", "8"]
    )
    assert result.exit_code == 1 and "expected one of 32, bf16, 16-mixed" in result.stderr


@pytest.mark.slow  # torch.compile
def test_compile_gives_the_eager_result(tmp_path, data):
    text = spec_text().replace(
        "  - {type: Dropout, rate: 0.2}\n  - {type: Dropout, rate: 0.1, seed: 7}\n", ""
    )
    spec = load_with_overrides(
        write(tmp_path, text), ["train.epochs=1", "train.validation_split=0.0"]
    )
    eager, compiled = netspec.build(spec, seed=0), netspec.build(spec, seed=0)
    h1 = fit(eager, spec, load_data(data, spec))
    h2 = fit(compiled, spec, load_data(data, spec), compile=True)
    assert h2["loss"] == pytest.approx(h1["loss"], rel=1e-4)
    for a, b in zip(eager.parameters(), compiled.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_set_reaches_into_a_metric_given_by_name(tmp_path):
    text = spec_text().replace(
        "metrics: [accuracy]", "metrics: [accuracy, top_k_categorical_accuracy]"
    )
    spec = load_with_overrides(write(tmp_path, text), ["compile.metrics.1.k=2"])
    metric = spec.compile.metrics[1]
    assert (metric.type, metric.k, metric.display_name()) == (
        "TopKCategoricalAccuracy",
        2,
        "top_k_categorical_accuracy",
    )


def _on_a_terminal(*args: str) -> str:
    """The output of the CLI run with a pseudo-terminal as its stdout."""
    import pty

    master, slave = pty.openpty()
    env = {**os.environ, "COLUMNS": "120"}
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "cli.py"), *args], stdout=slave, stderr=slave, env=env
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the terminal closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    proc.wait(timeout=120)
    os.close(master)
    assert proc.returncode == 0, b"".join(chunks).decode(errors="replace")
    return b"".join(chunks).decode(errors="replace")


@pytest.mark.slow  # a CLI process on a terminal
def test_progress_bar_on_a_terminal_and_lines_with_quiet(tmp_path, data):
    spec = str(write(tmp_path, spec_text()))
    live = _on_a_terminal("train", spec, "--data", str(data), "--out", str(tmp_path / "a"))
    assert "━" in live and "samples/s" in live  # rich's bar, with the rate
    assert "Epoch 4/4" in live and "val_accuracy:" in live
    quiet = _on_a_terminal("train", spec, "--data", str(data), "--out", str(tmp_path / "b"), "-q")
    assert "━" not in quiet
    lines = [line for line in quiet.splitlines() if line.startswith("Epoch ")]
    assert len(lines) == 4 and lines[-1].startswith("Epoch 4/4 - loss: ")


def test_compile_and_train_keys_get_located_did_you_mean(tmp_path):
    text = (
        "netspec: 1\ninput_shape: [4]\nlayers:\n  - {type: Dense, units: 2}\n"
        "compile: {optimizer: {type: Adam, learning_rat: 0.1}, loss: mse}\n"
        "train: {epoch: 5, early_stopping: {patiense: 2}}\n"
    )
    path = write(tmp_path, text)
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"{path}:5:35: compile.optimizer.learning_rat: unknown key 'learning_rat'; "
        "did you mean 'learning_rate'?",
        f"{path}:6:9: train.epoch: unknown key 'epoch'; did you mean 'epochs'?",
        f"{path}:6:36: train.early_stopping.patiense: unknown key 'patiense'; "
        "did you mean 'patience'?",
    ]


@pytest.mark.slow  # a fresh interpreter
def test_a_spec_without_training_sections_never_loads_the_training_vocabulary():
    code = (
        "import sys, netspec\n"
        "netspec.load('specs/mnist_mlp.yaml')\n"
        "print('netspec.training.spec.sections' in sys.modules)\n"
    )
    assert python_output(code) == "False"
