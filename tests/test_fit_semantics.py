"""fit's Keras semantics against Keras 3's own fit: sample_weight (per output, validation's
too), class_weight, each output's loss in the history (`cls_loss`, `val_reg_loss`); and the
errors Keras raises for class_weight."""

from __future__ import annotations

import os

os.environ["KERAS_BACKEND"] = "torch"

import keras
import numpy as np
import pytest
import yaml

import netspec
from netspec.errors import NetspecError
from netspec.loader import loads
from netspec.training.engine.data import load_data
from netspec.training.engine.loop import evaluate, fit
from tests.keras_oracle import copy_weights, keras_model

CLASSIFIER = """netspec: 1
name: weighted
input_shape: [4]
layers:
  - {type: Dense, name: hidden, units: 6, activation: tanh}
  - {type: Dense, name: out, units: 3, activation: softmax}
compile:
  optimizer: {type: SGD, learning_rate: 0.2}
  loss: LOSS
  metrics: [accuracy, {type: Precision, class_id: 1}]
  weighted_metrics: [accuracy]
train: {epochs: 2, batch_size: 8, shuffle: false, seed: 0}
"""

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
train: {epochs: 2, batch_size: 8, seed: 0, shuffle: false, validation_split: 0.25}
"""


def _precision() -> keras.metrics.Metric:
    return keras.metrics.Precision(class_id=1, name="precision")  # not Keras's precision_1


def _models(text: str):
    """(spec, netspec model, Keras model), both with the Keras model's initial weights."""
    spec = loads(text)
    keras.utils.set_random_seed(0)
    oracle = keras_model(spec)
    model = netspec.build(spec, seed=0)
    copy_weights(oracle, model)
    return spec, model, oracle


def _same(history: dict, keras_history: dict, rtol: float = 2e-5) -> None:
    assert set(history) == set(keras_history)
    for key, values in keras_history.items():
        np.testing.assert_allclose(history[key], values, rtol=rtol, atol=1e-6, err_msg=key)


def _classes(n: int, rng) -> tuple[np.ndarray, np.ndarray]:
    x = rng.normal(size=(n, 4)).astype("float32")
    return x, (x[:, 0] > 0).astype("int64") + (x[:, 1] > 0.5).astype("int64")


@pytest.fixture()
def classes():
    rng = np.random.default_rng(4)
    x, y = _classes(44, rng)  # 44: a last batch of 4
    xv, yv = _classes(20, rng)
    return x, y, xv, yv, rng.uniform(0, 2, 44).astype("float32"), rng.uniform(0, 2, 20)


def test_sample_weight_history_matches_keras(tmp_path, classes):
    x, y, xv, yv, sw, swv = classes
    spec, model, oracle = _models(CLASSIFIER.replace("LOSS", "sparse_categorical_crossentropy"))
    path = tmp_path / "d.npz"
    np.savez(path, x=x, y=y, x_val=xv, y_val=yv, sample_weight=sw, sample_weight_val=swv)
    history = fit(model, spec, load_data(path, spec))
    oracle.compile(optimizer=keras.optimizers.SGD(0.2), loss="sparse_categorical_crossentropy",
                   metrics=["accuracy", _precision()], weighted_metrics=["accuracy"])  # fmt: skip
    expected = oracle.fit(x, y, sample_weight=sw, validation_data=(xv, yv, swv), epochs=2,
                          batch_size=8, shuffle=False, verbose=0).history  # fmt: skip
    _same(history, expected)
    # evaluate weighs the split's samples too (Keras's evaluate(sample_weight=))
    got = evaluate(model, spec, load_data(path, spec)["val"])
    want = oracle.evaluate(xv, yv, sample_weight=swv, batch_size=8, verbose=0, return_dict=True)
    _same({k: [v] for k, v in got.items()}, {k: [v] for k, v in want.items()})


@pytest.mark.parametrize("one_hot", [False, True])
def test_class_weight_matches_keras(tmp_path, classes, one_hot):
    """class_weight: the class is the label (sparse) or its argmax (one-hot); a class not
    listed weighs 1; the validation data stays unweighted."""
    x, y, xv, yv, _, _ = classes
    loss = "categorical_crossentropy" if one_hot else "sparse_categorical_crossentropy"
    text = CLASSIFIER.replace("LOSS", loss).replace("seed: 0}", "seed: 0, class_weight: "
                                                    "{0: 0.5, 2: 3.0}}")  # fmt: skip
    spec, model, oracle = _models(text)
    if one_hot:
        y, yv = np.eye(3, dtype="float32")[y], np.eye(3, dtype="float32")[yv]
    np.savez(tmp_path / "d.npz", x=x, y=y, x_val=xv, y_val=yv)
    history = fit(model, spec, load_data(tmp_path / "d.npz", spec))
    oracle.compile(optimizer=keras.optimizers.SGD(0.2), loss=loss,
                   metrics=["accuracy", _precision()], weighted_metrics=["accuracy"])  # fmt: skip
    expected = oracle.fit(x, y, class_weight={0: 0.5, 2: 3.0}, validation_data=(xv, yv),
                          epochs=2, batch_size=8, shuffle=False, verbose=0).history  # fmt: skip
    _same(history, expected)


def _multi_data(n: int = 40) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(3)
    return {
        "x_a": rng.normal(size=(n, 3)).astype("float32"),
        "x_b": rng.normal(size=(n, 2)).astype("float32"),
        "y_cls": rng.integers(0, 3, size=n),
        "y_reg": rng.normal(size=(n, 1)).astype("float32"),
    }


@pytest.mark.parametrize("weighted", [False, True])
def test_each_outputs_loss_is_in_the_history_as_keras_names_it(tmp_path, weighted):
    """Keras 3 logs `<output>_loss` (unweighted by loss_weights) for each output with a loss,
    and their `val_` twins; with per-output sample weights too."""
    arrays = _multi_data()
    sws = {"cls": np.linspace(0.2, 2, 40).astype("float32"), "reg": np.linspace(2, 0.1, 40)}
    if weighted:
        arrays |= {f"sample_weight_{k}": v for k, v in sws.items()}
    np.savez(tmp_path / "d.npz", **arrays)
    spec, model, oracle = _models(MULTI)
    history = fit(model, spec, load_data(tmp_path / "d.npz", spec))
    assert list(history)[:3] == ["loss", "cls_loss", "reg_loss"]
    oracle.compile(optimizer=keras.optimizers.SGD(0.05),
                   loss={"cls": "sparse_categorical_crossentropy", "reg": "mse"},
                   loss_weights={"cls": 1.0, "reg": 0.5},
                   metrics={"cls": ["accuracy"], "reg": ["mae"]})  # fmt: skip
    expected = oracle.fit(
        [arrays["x_a"], arrays["x_b"]], [arrays["y_cls"], arrays["y_reg"]],
        sample_weight=[sws["cls"], sws["reg"]] if weighted else None, epochs=2, batch_size=8,
        shuffle=False, validation_split=0.25, verbose=0,
    ).history  # fmt: skip
    assert "val_reg_loss" in expected
    _same(history, expected)
    got = evaluate(model, spec, load_data(tmp_path / "d.npz", spec)["train"])
    want = oracle.evaluate(
        [arrays["x_a"], arrays["x_b"]], [arrays["y_cls"], arrays["y_reg"]],
        sample_weight=[sws["cls"], sws["reg"]] if weighted else None, batch_size=8, verbose=0,
        return_dict=True,
    )  # fmt: skip
    _same({k: [v] for k, v in got.items()}, {k: [v] for k, v in want.items()})


def test_class_weight_refusals_are_keras_s(tmp_path, classes):
    x, y, *_ = classes
    weighted = "train: {class_weight: {0: 2.0}}"
    multi = MULTI.replace("train: {", "train: {class_weight: {0: 2.0}, ")
    arrays = _multi_data()
    np.savez(tmp_path / "m.npz", **arrays)
    spec = loads(multi)
    with pytest.raises(NetspecError, match="only supported for a model with a single output"):
        fit(netspec.build(spec, seed=0), spec, load_data(tmp_path / "m.npz", spec))
    spec = loads(CLASSIFIER.replace("LOSS", "sparse_categorical_crossentropy").split("train:")[0]
                 + weighted)  # fmt: skip
    np.savez(tmp_path / "d.npz", x=x, y=y, sw=np.ones(len(x)))
    with pytest.raises(NetspecError, match="has sample weights.*Keras cannot take both"):
        fit(netspec.build(spec, seed=0), spec, load_data(tmp_path / "d.npz", spec))


def test_class_weight_keys_are_class_indices():
    text = CLASSIFIER.replace("LOSS", "mse").replace("seed: 0}", "seed: 0, class_weight: ")
    with pytest.raises(NetspecError, match="class_weight"):
        loads(text + "{cat: 1.0}}")
    assert loads(text + "{0: 1, 1: 5.0}}").train.class_weight == {0: 1.0, 1: 5.0}
    assert yaml.safe_load("{0: 1}") == {0: 1}  # YAML's integer keys
