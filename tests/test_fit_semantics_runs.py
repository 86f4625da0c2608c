"""fit's run-level semantics: TerminateOnNaN against Keras's (the same batch, the same
history), the CLI's exit on it with the run kept; checkpoint `keep` and
`restore_best_weights`; a resume exact with all of them (a convolutional model)."""

from __future__ import annotations

import json
import os

os.environ["KERAS_BACKEND"] = "torch"

import keras
import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from typer.testing import CliRunner

import netspec
from netspec.cli import app
from netspec.loader import loads
from netspec.training.engine.callbacks import ModelCheckpoint, NanWatch, NonFiniteLoss
from netspec.training.engine.data import Split
from netspec.training.engine.session import train
from netspec.training.engine.trainer import Trainer
from netspec.training.spec.monitor import Monitor
from tests.keras_oracle import copy_weights, keras_model

QUIET = {"echo": lambda line: None}

# SGD too fast for this regression: the loss overflows to inf at the 7th batch of epoch 2
DIVERGES = """netspec: 1
name: diverge
input_shape: [2]
layers:
  - {type: Dense, name: out, units: 1}
compile: {optimizer: {type: SGD, learning_rate: 1.5}, loss: mse}
train: {epochs: 6, batch_size: 4, shuffle: false, seed: 0}
"""


def _regression(n: int = 32) -> tuple[np.ndarray, np.ndarray]:
    x = np.random.default_rng(0).normal(size=(n, 2)).astype("float32") * 3
    return x, x.sum(1, keepdims=True)


def test_terminate_on_nan_stops_at_keras_s_batch():
    spec = loads(DIVERGES)
    x, y = _regression()
    keras.utils.set_random_seed(0)
    oracle = keras_model(spec)
    model = netspec.build(spec, seed=0)
    copy_weights(oracle, model)
    oracle.compile(keras.optimizers.SGD(1.5), "mse")
    expected = oracle.fit(x, y, epochs=6, batch_size=4, shuffle=False, verbose=0,
                          callbacks=[keras.callbacks.TerminateOnNaN()]).history  # fmt: skip
    trainer = Trainer(model, spec, {"train": Split([x], [y])})
    with pytest.raises(NonFiniteLoss, match=r"epoch 2, batch 7: the loss is NaN or infinite"):
        trainer.fit()
    assert trainer.step == int(oracle.optimizer.iterations) == 15
    assert len(trainer.history["loss"]) == len(expected["loss"]) == 2
    np.testing.assert_allclose(trainer.history["loss"][0], expected["loss"][0], rtol=1e-5)
    assert not np.isfinite(trainer.history["loss"][1]) and not np.isfinite(expected["loss"][1])


def test_without_terminate_on_nan_training_goes_on():
    spec = loads(DIVERGES.replace("seed: 0}", "seed: 0, terminate_on_nan: false}"))
    x, y = _regression()
    trainer = Trainer(netspec.build(spec, seed=0), spec, {"train": Split([x], [y])})
    assert len(trainer.fit()["loss"]) == 6


def test_the_cli_exits_1_and_keeps_the_run(tmp_path):
    (tmp_path / "s.yaml").write_text(DIVERGES)
    x, y = _regression()
    np.savez(tmp_path / "d.npz", x=x, y=y)
    run = tmp_path / "run"
    args = ["train", str(tmp_path / "s.yaml"), "--data", str(tmp_path / "d.npz"), "--out"]
    result = CliRunner().invoke(app, [*args, str(run)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert (
        "epoch 2, batch 7: the loss is NaN or infinite; training stopped "
        f"(train.terminate_on_nan); {run} keeps its history and its last checkpoint, from "
        "before this epoch (no weights.safetensors): continue with `netspec train --resume "
        f"{run} --set compile.optimizer.learning_rate=...` at a lower rate"
        in " ".join(result.stderr.split())
    )
    history = json.loads((run / "history.json").read_text())
    assert len(history["loss"]) == 2 and history["loss"][1] is None  # JSON has no inf
    assert json.loads((run / "checkpoint.json").read_text())["epoch"] == 1
    assert not (run / "weights.safetensors").exists()


# `mode: max` on the loss: the best epochs are the first ones (the loss goes down)
KEEP = """netspec: 1
name: keep
input_shape: [4]
layers:
  - {type: Dense, units: 6, activation: relu}
  - {type: Dense, units: 3, activation: softmax}
compile: {optimizer: {type: Adam, learning_rate: 0.01}, loss: sparse_categorical_crossentropy}
train:
  epochs: 5
  batch_size: 16
  seed: 0
  checkpoint: {monitor: loss, mode: max, keep: 2, restore_best_weights: true}
"""


def test_keep_the_k_best_and_restore_the_best(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(48, 4)).astype("float32")
    np.savez(tmp_path / "d.npz", x=x, y=(x[:, 0] > 0).astype("int64"))
    (tmp_path / "s.yaml").write_text(KEEP)
    run, history = train(tmp_path / "s.yaml", tmp_path / "d.npz", out=tmp_path / "r", **QUIET)
    losses = history["loss"]
    best = sorted(range(5), key=lambda e: -losses[e])[:2]
    names = sorted(f"weights.{e + 1:02d}-{losses[e]:.4f}.safetensors" for e in best)
    assert sorted(p.name for p in (run / "best").iterdir()) == names
    first = load_file(str(run / "best" / names[0]))
    for other in ("best.safetensors", "weights.safetensors"):
        tensors = load_file(str(run / other))
        assert all(torch.equal(tensors[k], first[k]) for k in first), other
    last = load_file(str(run / "checkpoint.safetensors"))  # the checkpoint keeps the last epoch
    assert not torch.equal(last["model.layers.dense.kernel"], first["layers.dense.kernel"])


def test_keep_needs_a_monitor():
    text = KEEP.replace("monitor: loss, mode: max, ", "")
    with pytest.raises(netspec.errors.NetspecError, match="checkpoint.keep needs a monitor"):
        loads(text)


CNN = """netspec: 1
name: tiny_cnn
data_format: channels_last
input_shape: [6, 6, 1]
layers:
  - {type: Conv2D, filters: 4, kernel_size: [3, 3], padding: same, activation: relu}
  - {type: Dropout, rate: 0.2, seed: 3}
  - {type: Flatten}
  - {type: Dense, units: 3, activation: softmax}
compile: {optimizer: {type: Adam, learning_rate: 0.01}, loss: sparse_categorical_crossentropy}
train:
  epochs: 4
  batch_size: 16
  seed: 0
  validation_split: 0.25
  class_weight: {0: 0.5, 2: 2.0}
  checkpoint: {monitor: val_loss, mode: max, keep: 2, restore_best_weights: true}
"""


@pytest.mark.slow  # three training runs
def test_a_resume_is_exact_with_class_weight_keep_and_restore(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(64, 6, 6, 1)).astype("float32")
    y = (x[:, 0, 0, 0] > 0).astype("int64") + (x[:, 1, 1, 0] > 0.5).astype("int64")
    np.savez(tmp_path / "d.npz", x=x, y=y)
    spec = tmp_path / "cnn.yaml"
    spec.write_text(CNN)
    whole, history = train(spec, tmp_path / "d.npz", out=tmp_path / "whole", **QUIET)
    part, _ = train(spec, tmp_path / "d.npz", out=tmp_path / "part",
                    overrides=["train.epochs=2"], **QUIET)  # fmt: skip
    _, resumed = train(None, None, resume=part, overrides=["train.epochs=4"], **QUIET)
    assert resumed == history
    files = [sorted(p.name for p in (r / "best").iterdir()) for r in (whole, part)]
    assert files[0] == files[1] and len(files[0]) == 2
    for name in ("weights.safetensors", "best.safetensors", f"best/{files[0][0]}"):
        a, b = load_file(str(whole / name)), load_file(str(part / name))
        assert all(torch.equal(a[k], b[k]) for k in a), name


@pytest.mark.parametrize("bad", [0, 5, 21, 22])
def test_the_deferred_nan_check_names_the_first_bad_batch(bad):
    """The accelerator's path (checks every few steps, read when ready), run on the CPU:
    the first non-finite batch exactly, whether found by a check or by the epoch's flush."""
    watch = NanWatch(torch.device("cpu"), every=4)
    watch.exact = False
    losses = [torch.tensor(float(i)) for i in range(23)]
    losses[bad] = torch.tensor(float("nan"))
    losses[min(bad + 1, 22)] = torch.tensor(float("inf"))
    stopped = next((i for i, loss in enumerate(losses) if watch.add(i, loss)), None)
    assert watch.flush() == bad
    assert stopped is None if bad >= 20 else bad <= stopped < bad + 4


def test_a_resume_drops_the_kept_files_written_after_its_checkpoint(tmp_path):
    """Epochs after the checkpoint are trained again: their files go (the ones they write
    again come back the same)."""
    (tmp_path / "best").mkdir()
    for name in ("weights.01-0.5000.safetensors", "weights.03-0.4000.safetensors"):
        (tmp_path / "best" / name).write_bytes(b"")
    callback = ModelCheckpoint(Monitor("loss", False), None, tmp_path, keep=2)
    callback.load_state_dict({"best": 0.5, "kept": [[0, 0.5, "weights.01-0.5000.safetensors"]]})
    assert [p.name for p in (tmp_path / "best").iterdir()] == ["weights.01-0.5000.safetensors"]
    with pytest.raises(netspec.errors.NetspecError, match="best.kept holds"):
        callback.load_state_dict({"best": 0.5, "kept": [[0, 0.5, "../spec.yaml"]]})
