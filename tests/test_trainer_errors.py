"""Models the trainer cannot train are refused before training, with the spec key named (an
RNN's return_state outputs as the model's output, a model without trainable weights), and
--compile runs with validation data (tiny models, CPU)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import netspec
from netspec.cli import app
from netspec.errors import NetspecError
from netspec.training.engine.data import Split, load_data
from netspec.training.engine.loop import fit
from netspec.training.engine.session import evaluate, predict, train
from netspec.training.output.runs import save_weights
from netspec.training.spec.overrides import load_with_overrides

runner = CliRunner()
QUIET = {"echo": lambda line: None}

STATES = """netspec: 1
name: states
input_shape: [5, 3]
layers:
  - {type: RNN_TYPE, name: rnn, units: 4, return_state: true}
OUTPUTScompile: {optimizer: adam, loss: mse}
train: {epochs: 1, batch_size: 8}
"""

FROZEN = """netspec: 1
name: frozen
input_shape: [4]
layers: LAYERS
compile: {optimizer: adam, loss: sparse_categorical_crossentropy, metrics: [accuracy]}
train: {epochs: 1, batch_size: 8}
"""
FROZEN_LAYERS = {
    "frozen": "[{type: Dense, units: 3, activation: softmax, trainable: false}]",
    "weightless": "[{type: Activation, activation: softmax}, {type: Dropout, rate: 0.1}]",
}


@pytest.fixture()
def sequences(tmp_path) -> Path:
    rng = np.random.default_rng(0)
    path = tmp_path / "seq.npz"
    np.savez(path, x=rng.random((16, 5, 3), dtype="float32"), y=rng.random((16, 4), "float32"))
    return path


@pytest.fixture()
def points(tmp_path) -> Path:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 4)).astype("float32")
    path = tmp_path / "points.npz"
    np.savez(path, x=x, y=(x[:, 0] > 0).astype("int64") + (x[:, 1] > 1))
    return path


@pytest.mark.parametrize("rnn", ["LSTM", "GRU", "SimpleRNN"])
def test_return_state_as_the_output_is_refused_with_the_pick(tmp_path, sequences, rnn):
    spec = tmp_path / "states.yaml"
    spec.write_text(STATES.replace("RNN_TYPE", rnn).replace("OUTPUTS", ""))
    result = runner.invoke(app, ["train", str(spec), "--data", str(sequences), "-q"])
    assert result.exit_code == 1, result.output
    count = 3 if rnn == "LSTM" else 2
    message = (
        f"{spec}:5:5: layers[0]: the model's output 'rnn' is this {rnn}'s {count} outputs "
        "(return_state: true), but a loss takes one tensor per output: pick one with "
        f"`outputs: rnn:0` (or 'rnn:1' ... 'rnn:{count - 1}')"
    )
    assert result.stderr.strip() == message
    assert not (tmp_path / "runs").exists()
    # validation refuses it, as `netspec validate` does: located, before any data
    with pytest.raises(NetspecError) as info:
        load_with_overrides(spec)
    assert str(info.value) == message


@pytest.mark.slow  # a training run
def test_a_picked_state_output_trains(tmp_path, sequences):
    spec = tmp_path / "states.yaml"
    spec.write_text(STATES.replace("RNN_TYPE", "LSTM").replace("OUTPUTS", "outputs: rnn:0\n"))
    _, history = train(spec, sequences, out=tmp_path / "run", **QUIET)
    assert len(history["loss"]) == 1 and np.isfinite(history["loss"][0])


@pytest.mark.parametrize("kind", sorted(FROZEN_LAYERS))
def test_nothing_to_train_is_refused_before_the_data(tmp_path, points, kind):
    spec = tmp_path / f"{kind}.yaml"
    spec.write_text(FROZEN.replace("LAYERS", FROZEN_LAYERS[kind]))
    missing = tmp_path / "no-such-data.npz"  # not read: the model is refused first
    result = runner.invoke(app, ["train", str(spec), "--data", str(missing), "-q"])
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("the model has no trainable weights; nothing to train")
    assert len(result.stderr.strip().splitlines()) == 1
    parsed = load_with_overrides(spec)
    with pytest.raises(NetspecError, match="no trainable weights"):
        fit(netspec.build(parsed, seed=0), parsed, load_data(points, parsed))
    # evaluate and predict run it
    weights = tmp_path / "w.safetensors"
    save_weights(weights, netspec.build(parsed, seed=0))
    assert {"loss", "accuracy"} <= set(evaluate(spec, weights, points))
    predict(spec, weights, points, tmp_path / "p.npz")
    assert np.load(tmp_path / "p.npz")["y"].shape == (32, 3 if kind == "frozen" else 4)


@pytest.mark.slow  # torch.compile's first compilation on the CPU
def test_compile_with_validation_data(tmp_path, points):
    """torch.compile's module wrapper has no truth value: the validation pass took it as
    `forward or model` and failed with 'NetspecModel does not support len()'."""
    spec = tmp_path / "tiny.yaml"
    text = FROZEN.replace("LAYERS", "[{type: Dense, units: 3, activation: softmax}]")
    spec.write_text(text.replace("batch_size: 8}", "batch_size: 8, validation_split: 0.25}"))
    _, history = train(spec, points, out=tmp_path / "run", compile=True, **QUIET)
    assert set(history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(np.isfinite(v[0]) for v in history.values())


def test_a_val_monitor_without_validation_data_names_the_data_file(tmp_path, points):
    """`val_` monitors pass validation (the data file may hold x_val/y_val); without
    validation data the run is refused before training, naming the file and the spec key."""
    spec = tmp_path / "watch.yaml"
    layers = "[{type: Dense, units: 3, activation: softmax}]"
    text = FROZEN.replace("LAYERS", layers).replace(
        "train: {epochs: 1, batch_size: 8}", "train: {epochs: 1, early_stopping: {}}"
    )
    spec.write_text(text)
    result = runner.invoke(app, ["train", str(spec), "--data", str(points), "-q"])
    assert result.exit_code == 1, result.output
    assert result.stderr == (
        f"{points}: has no validation data (x_val/y_val) and train.validation_split is 0, so "
        "train.early_stopping.monitor 'val_loss' would never be reported; add them or set "
        "train.validation_split\n"
    )
    assert not (tmp_path / "runs").exists()
    valid = load_with_overrides(spec)  # the library's fit refuses it too
    arrays = np.load(points)
    data = {"train": Split([arrays["x"]], [arrays["y"]])}
    with pytest.raises(NetspecError, match="^the data: has no validation data"):
        fit(netspec.build(valid, seed=0), valid, data)
