"""Training: `netspec train`, `evaluate` and `predict` on .npz data (tiny models, CPU)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import netspec
from netspec.cli import app
from netspec.errors import NetspecError
from netspec.training.engine.data import Split, holdout, load_data
from netspec.training.engine.loop import evaluate, fit, predict
from netspec.training.spec.overrides import load_with_overrides

SPEC = """netspec: 1
name: tiny
input_shape: [4]
layers:
  - {type: Dense, units: 8, activation: relu, kernel_regularizer: {type: L2, l2: 0.01},
     kernel_constraint: {type: MaxNorm, max_value: 0.5},
     activity_regularizer: {type: L1, l1: 0.001}}
  - {type: Dropout, rate: 0.1}
  - {type: Dense, units: 3, activation: softmax}
compile: {optimizer: {type: Adam, learning_rate: 0.01}, loss: sparse_categorical_crossentropy,
          metrics: [accuracy]}
train: {epochs: 5, batch_size: 16, seed: 0}
"""

runner = CliRunner()


@pytest.fixture()
def files(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(96, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int64") + (x[:, 1] > 1).astype("int64")
    spec = tmp_path / "tiny.yaml"
    spec.write_text(SPEC)
    data = tmp_path / "d.npz"
    np.savez(data, x=x, y=y, x_test=x[:32], y_test=y[:32])
    return spec, data


def _run(spec_path, data_path, *sets):
    spec = load_with_overrides(spec_path, list(sets))
    data = load_data(data_path, spec)
    model = netspec.build(spec, seed=spec.train.seed)
    return spec, model, data, fit(model, spec, data)


def test_loss_goes_down_and_seed_repeats(files):
    spec, model, _, history = _run(*files)
    assert history["loss"][-1] < history["loss"][0]
    assert set(history) == {"loss", "accuracy"}
    _, model2, _, history2 = _run(*files)
    assert history == history2
    for a, b in zip(model.state_dict().values(), model2.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_validation_split_takes_the_last_samples():
    x = np.arange(10, dtype="float32")[:, None]
    train, val = holdout(Split([x], [x]), 0.2)
    assert val.x[0][:, 0].tolist() == [8.0, 9.0] and len(train) == 8


def test_val_history(files):
    _, _, _, history = _run(*files, "train.validation_split=0.25", "train.epochs=2")
    assert len(history["val_loss"]) == 2 and "val_accuracy" in history


def test_penalties_are_in_the_reported_loss(files):
    spec = load_with_overrides(files[0], ["train.batch_size=96"])
    data = load_data(files[1], spec)
    manual = netspec.build(spec, seed=0)
    manual.eval()  # no dropout: compare with evaluate (same weights, no step)
    x = torch.from_numpy(data["train"].x[0])
    y = torch.from_numpy(data["train"].y[0])
    out = manual(x)
    expected = torch.nn.functional.nll_loss(out.log(), y) + manual.losses()
    reported = evaluate(manual, spec, data["train"])["loss"]
    assert reported == pytest.approx(float(expected), rel=1e-5)
    assert float(manual.losses()) > 0


def test_constraints_hold_and_frozen_layers_stay(files, tmp_path):
    spec, model, _, _ = _run(*files)
    key, param, info = model.keras_weights()[0]
    assert key == "layers.dense.kernel"
    kernel = info.keras_view(param)  # Keras layout (in, out): MaxNorm bounds each column
    assert float(kernel.norm(dim=0).max()) <= 0.5 + 1e-5
    frozen = tmp_path / "frozen.yaml"
    frozen.write_text(
        SPEC.replace("{type: Dense, units: 3,", "{type: Dense, units: 3, trainable: false,")
    )
    spec = load_with_overrides(frozen)
    model = netspec.build(spec, seed=0)
    before = model.layers["dense_1"].kernel.detach().clone()
    fit(model, spec, load_data(files[1], spec))
    assert torch.equal(before, model.layers["dense_1"].kernel)


def test_data_errors_are_clear(tmp_path, files):
    spec, _ = files
    bad = tmp_path / "bad.npz"
    np.savez(bad, x=np.zeros((10, 8, 8)), y=np.zeros(10, dtype="int64"))
    result = runner.invoke(app, ["train", str(spec), "--data", str(bad)])
    assert result.exit_code == 1
    assert "x has shape (10, 8, 8); input 'input' expects (N, 4)" in result.stderr
    assert "Traceback" not in result.output
    floats = tmp_path / "floats.npz"
    np.savez(floats, x=np.zeros((10, 4)), y=np.zeros(10))
    result = runner.invoke(app, ["train", str(spec), "--data", str(floats)])
    assert result.exit_code == 1 and "expects integer labels" in result.stderr
    empty = tmp_path / "empty.npz"  # Keras: "num_samples should be a positive integer"
    np.savez(empty, x=np.zeros((0, 4)), y=np.zeros(0, dtype="int64"))
    result = runner.invoke(app, ["train", str(spec), "--data", str(empty)])
    assert result.exit_code == 1 and f"{empty}: x, y hold no samples" in result.stderr
    both = tmp_path / "both.npz"
    np.savez(both, x=np.zeros((4, 4)), x_train=np.zeros((4, 4)))
    with pytest.raises(NetspecError, match="both 'x' and 'x_train'"):
        load_data(both, load_with_overrides(spec))


@pytest.mark.parametrize(
    "labels, message",
    [
        ([0, 1, 3, 2], "y holds class labels from 0 to 3; output 'dense_1' has 3 classes"),
        ([0, -1, 2, 1], "y holds class labels from -1 to 2; output 'dense_1' has 3 classes"),
    ],
)
def test_class_labels_out_of_range_fail_before_training(tmp_path, files, labels, message):
    # an index outside the classes would pick another class's probability, with no error
    spec, _ = files
    data = tmp_path / "labels.npz"
    np.savez(data, x=np.zeros((4, 4), "float32"), y=np.array(labels))
    out = tmp_path / "run"
    result = runner.invoke(app, ["train", str(spec), "--data", str(data), "--out", str(out)])
    assert result.exit_code == 1, result.output
    assert message in result.stderr and "(labels 0 to 2)" in result.stderr
    assert not out.exists()  # refused before the run folder


@pytest.mark.parametrize("label", [3, -1])
def test_keras_fails_mid_run_on_the_same_labels(label):
    # the oracle of README's difference: Keras's loss raises at the batch, netspec before
    import keras

    loss = keras.losses.SparseCategoricalCrossentropy()
    with pytest.raises(IndexError, match="out of bounds"):
        loss(np.array([label, 0]), np.full((2, 3), 1 / 3, "float32"))


@pytest.mark.slow  # a training run
def test_without_a_loss_train_says_so_and_predict_needs_no_labels(tmp_path, files):
    spec, data = files
    bare = tmp_path / "bare.yaml"  # the layers only: no compile section
    bare.write_text(SPEC.split("compile:")[0])
    result = runner.invoke(app, ["train", str(bare), "--data", str(data)])
    assert result.exit_code == 1
    # said before the class labels are checked against a loss that is not there
    assert "training needs a loss: add `compile: {loss: ...}`" in result.stderr, result.stderr
    empty = tmp_path / "empty.yaml"  # a mapping of outputs to losses that names none
    empty.write_text(SPEC.split("compile:")[0] + "compile: {loss: {}}\n")
    result = runner.invoke(app, ["train", str(empty), "--data", str(data)])
    assert (
        result.exit_code == 1
        and "training needs a loss: add `compile: {loss: ...}`" in result.stderr
    )
    out = tmp_path / "run"
    args = ["train", str(spec), "--data", str(data), "--out", str(out), "--epochs", "1"]
    assert runner.invoke(app, args).exit_code == 0
    pred = tmp_path / "p.npz"
    weights = str(out / "weights.safetensors")
    args = ["predict", str(bare), "--weights", weights, "--data", str(data), "-o", str(pred)]
    result = runner.invoke(app, args)  # the labels (y) are neither needed nor checked
    assert result.exit_code == 0, result.output
    assert np.load(pred)["y"].shape == (32, 3)  # the test split


@pytest.mark.slow  # a training run
def test_a_diverged_run_writes_strict_json(tmp_path, files):
    # NaN is not JSON (RFC 8259; jq and JavaScript refuse it): history.json and
    # `evaluate --json` write null for it
    spec, _ = files
    data = tmp_path / "nan.npz"
    np.savez(data, x=np.full((8, 4), np.nan, "float32"), y=np.zeros(8, "int64"))
    out = tmp_path / "run"
    args = ["train", str(spec), "--data", str(data), "--out", str(out), "--allow-nonfinite"]
    # TerminateOnNaN off: the run goes on to write its NaN epochs
    result = runner.invoke(app, [*args, "--set", "train.terminate_on_nan=false"])
    assert result.exit_code == 0, result.output

    def refuse(constant):
        raise ValueError(f"not JSON: {constant}")

    history = json.loads((out / "history.json").read_text(), parse_constant=refuse)
    assert history["loss"] == [None] * 5
    args = ["evaluate", str(spec), "--weights", str(out / "weights.safetensors")]
    result = runner.invoke(app, [*args, "--data", str(data), "--json", "--allow-nonfinite"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout, parse_constant=refuse)["loss"] is None


def test_a_corrupt_archive_is_a_located_error(tmp_path, files):
    spec, good = files
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[:300])  # no zip directory: zipfile's own error
    corrupt = tmp_path / "corrupt.npz"
    raw = bytearray(good.read_bytes())
    start = raw.index(b"\x93NUMPY")  # the first member's data (stored, uncompressed)
    raw[start + 200 : start + 220] = bytes(20)  # its CRC no longer matches
    corrupt.write_bytes(bytes(raw))
    for path in (truncated, corrupt):
        result = runner.invoke(app, ["train", str(spec), "--data", str(path)])
        assert result.exit_code == 1, result.output
        assert f"{path}: cannot read data:" in result.stderr
        assert "Traceback" not in result.output


def test_bad_overrides(files):
    spec, data = files
    result = runner.invoke(
        app, ["train", str(spec), "--data", str(data), "--set", "train.epochs=x"]
    )
    assert result.exit_code == 1
    assert "--set train.epochs=x: train.epochs:" in result.stderr
    result = runner.invoke(app, ["train", str(spec), "--data", str(data), "--epochs", "0"])
    assert result.exit_code == 1 and "train.epochs" in result.stderr


@pytest.mark.slow  # a training run
def test_run_folder_evaluate_and_predict(files, tmp_path):
    spec, data = files
    out = tmp_path / "run"
    result = runner.invoke(
        app, ["train", str(spec), "--data", str(data), "--out", str(out), "--epochs", "2"]
    )
    assert result.exit_code == 0, result.output
    assert "Epoch 2/2 - loss:" in result.stdout
    for name in ("weights.safetensors", "history.json", "history.csv", "spec.yaml"):
        assert (out / name).is_file()
    assert len(json.loads((out / "history.json").read_text())["loss"]) == 2
    model = netspec.load_run(out)
    parsed = load_with_overrides(spec)
    test = load_data(data, parsed)["test"]
    expected = evaluate(model, parsed, test)
    weights = str(out / "weights.safetensors")
    result = runner.invoke(
        app, ["evaluate", str(spec), "--weights", weights, "--data", str(data), "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == pytest.approx(expected)
    pred = tmp_path / "p.npz"
    args = ["predict", str(spec), "--weights", weights, "--data", str(data), "-o", str(pred)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    np.testing.assert_allclose(np.load(pred)["y"], predict(model, parsed, test)[0], rtol=1e-6)
    # where the predictions cannot go: a located error, exit 1, no traceback
    (tmp_path / "taken.npz").mkdir()
    for bad, message in [
        (tmp_path / "nowhere" / "p.npz", f"no such directory: {tmp_path / 'nowhere'}"),
        (tmp_path / "taken.npz", "cannot write predictions: Is a directory"),
    ]:
        result = runner.invoke(app, [*args[:-1], str(bad)])
        assert result.exit_code == 1 and message in result.stderr, result.output
        assert "Traceback" not in result.output
    result = runner.invoke(app, ["train", "--resume", str(tmp_path / "nothing")])
    assert result.exit_code == 1 and "nothing: no such run folder" in result.stderr


@pytest.mark.slow  # training runs
def test_an_existing_run_is_never_overwritten(files, tmp_path):
    spec, data = files
    out = tmp_path / "run"
    args = ["train", str(spec), "--data", str(data), "--out", str(out), "--epochs", "1"]
    assert runner.invoke(app, args).exit_code == 0
    before = (out / "weights.safetensors").read_bytes()
    again = runner.invoke(app, [*args[:-1], "2"])
    assert again.exit_code == 1
    assert "already holds a run" in again.stderr
    assert (out / "weights.safetensors").read_bytes() == before
