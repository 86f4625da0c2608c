"""Losses against real keras.losses (torch backend) on random inputs of several shapes."""

import keras
import numpy as np
import pytest
import torch
from helpers import python_output
from pydantic import TypeAdapter, ValidationError

from netspec.training.spec.losses import LOSSES, LossField

ADAPTER = TypeAdapter(LossField)
SHAPES = [(8, 5), (4, 3, 6), (16, 1)]


def loss_of(value):
    return ADAPTER.validate_python(value)


def rng(seed=0):
    return np.random.default_rng(seed)


def ours(spec, y_pred, y_true, activation=None, **kwargs):
    fn = loss_of(spec).function(activation)
    out = fn(torch.as_tensor(y_pred), torch.as_tensor(y_true), **kwargs)
    return float(out)


def keras_value(obj, y_pred, y_true):
    return float(keras.ops.convert_to_numpy(obj(y_true, y_pred)))


def probs(r, shape):
    return r.uniform(0.02, 0.98, size=shape).astype("float32")


def softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return (e / e.sum(-1, keepdims=True)).astype("float32")


def close(a, b):
    assert a == pytest.approx(b, rel=1e-6, abs=1e-6)


REGRESSION = [
    ("mse", keras.losses.MeanSquaredError()),
    ("MeanSquaredError", keras.losses.MeanSquaredError()),
    ("mae", keras.losses.MeanAbsoluteError()),
    ("mape", keras.losses.MeanAbsolutePercentageError()),
    ("msle", keras.losses.MeanSquaredLogarithmicError()),
    ("huber", keras.losses.Huber()),
    ({"type": "Huber", "delta": 0.3}, keras.losses.Huber(delta=0.3)),
    ("log_cosh", keras.losses.LogCosh()),
    ("poisson", keras.losses.Poisson()),
    ("cosine_similarity", keras.losses.CosineSimilarity()),
    ({"type": "CosineSimilarity", "axis": 0}, keras.losses.CosineSimilarity(axis=0)),
    ("hinge", keras.losses.Hinge()),
    ("squared_hinge", keras.losses.SquaredHinge()),
]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(("spec", "reference"), REGRESSION, ids=lambda v: str(v)[:30])
def test_regression_losses(spec, reference, shape):
    r = rng(1)
    y_pred = r.normal(size=shape).astype("float32") * 2
    y_true = r.normal(size=shape).astype("float32")
    if spec in ("poisson", "msle"):
        y_pred, y_true = np.abs(y_pred) + 0.1, np.abs(y_true)
    close(ours(spec, y_pred, y_true), keras_value(reference, y_pred, y_true))


@pytest.mark.parametrize("name", ["hinge", "squared_hinge"])
def test_hinge_binary_labels(name):
    r = rng(2)
    y_pred = r.normal(size=(8, 3)).astype("float32")
    y_true = r.integers(0, 2, size=(8, 3)).astype("float32")
    reference = keras.losses.get(name)
    expected = float(np.mean(keras.ops.convert_to_numpy(reference(y_true, y_pred))))
    close(ours(name, y_pred, y_true), expected)


@pytest.mark.parametrize("shape", SHAPES)
def test_kl_divergence(shape):
    r = rng(3)
    y_pred, y_true = softmax(r.normal(size=shape)), softmax(r.normal(size=shape))
    close(ours("kld", y_pred, y_true), keras_value(keras.losses.KLDivergence(), y_pred, y_true))


def test_rank_matching_as_keras():
    r = rng(4)
    y_pred = r.normal(size=(8, 1)).astype("float32")
    y_true = r.normal(size=(8,)).astype("float32")
    close(ours("mse", y_pred, y_true), keras_value(keras.losses.MeanSquaredError(), y_pred, y_true))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("from_logits", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_binary_crossentropy(shape, from_logits, smoothing):
    r = rng(5)
    y_pred = r.normal(size=shape).astype("float32") if from_logits else probs(r, shape)
    y_true = r.integers(0, 2, size=shape).astype("float32")
    spec = {"type": "BinaryCrossentropy", "from_logits": from_logits, "label_smoothing": smoothing}
    ref = keras.losses.BinaryCrossentropy(from_logits=from_logits, label_smoothing=smoothing)
    close(ours(spec, y_pred, y_true), keras_value(ref, y_pred, y_true))
    # the stable form equals Keras's on ordinary probabilities
    close(ours(spec, y_pred, y_true, "sigmoid"), keras_value(ref, y_pred, y_true))


@pytest.mark.parametrize("shape", [(8, 5), (4, 3, 6)])
@pytest.mark.parametrize("from_logits", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_categorical_crossentropy(shape, from_logits, smoothing):
    r = rng(6)
    logits = r.normal(size=shape).astype("float32") * 2
    y_pred = logits if from_logits else softmax(logits)
    labels = r.integers(0, shape[-1], size=shape[:-1])
    y_true = np.eye(shape[-1], dtype="float32")[labels]
    spec = {
        "type": "CategoricalCrossentropy",
        "from_logits": from_logits,
        "label_smoothing": smoothing,
    }
    ref = keras.losses.CategoricalCrossentropy(from_logits=from_logits, label_smoothing=smoothing)
    expected = keras_value(ref, y_pred, y_true)
    close(ours(spec, y_pred, y_true), expected)
    close(ours(spec, y_pred, y_true, "softmax"), expected)
    if not from_logits:
        # logits handed in: Keras's from_logits math
        got = ours(spec, y_pred, y_true, "softmax", logits=torch.as_tensor(logits))
        close(got, expected)
    sparse_ref = keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits)
    sparse_spec = {"type": "SparseCategoricalCrossentropy", "from_logits": from_logits}
    for y in (labels, labels[..., None]):
        sparse_expected = keras_value(sparse_ref, y_pred, y)
        close(ours(sparse_spec, y_pred, y), sparse_expected)
        close(ours(sparse_spec, y_pred, y, "softmax"), sparse_expected)


def test_axis_argument():
    r = rng(7)
    y_pred = softmax(r.normal(size=(4, 6, 3)).transpose(0, 2, 1)).transpose(0, 2, 1)
    y_pred = np.ascontiguousarray(y_pred)
    y_true = np.eye(6, dtype="float32")[r.integers(0, 6, size=(4, 3))].transpose(0, 2, 1)
    spec = {"type": "CategoricalCrossentropy", "axis": 1}
    ref = keras.losses.CategoricalCrossentropy(axis=1)
    close(ours(spec, y_pred, y_true), keras_value(ref, y_pred, y_true))


def test_saturated_probabilities_stay_finite_and_exceed_keras_clip():
    y_true = np.array([[1.0, 0.0, 0.0]], dtype="float32")
    logits = torch.tensor([[-60.0, 40.0, 0.0]])
    p = torch.softmax(logits, -1)  # p[0] == 0 in float32
    keras_cce = keras_value(keras.losses.CategoricalCrossentropy(), p.numpy(), y_true)
    assert keras_cce == pytest.approx(-np.log(1e-7), rel=1e-3)  # clipped
    stable = ours("categorical_crossentropy", p, y_true, "softmax")
    assert np.isfinite(stable) and stable > keras_cce
    exact = ours("categorical_crossentropy", p, y_true, "softmax", logits=logits)
    assert exact == pytest.approx(100.0, rel=1e-6)
    # without the activation the loss is Keras's clipped one
    close(ours("categorical_crossentropy", p, y_true), keras_cce)
    # binary: sigmoid(40) == 1 in float32
    b_true = torch.tensor([[0.0]])
    b_logits = torch.tensor([[40.0]])
    b = torch.sigmoid(b_logits)
    stable_b = ours("bce", b, b_true, "sigmoid")
    assert np.isfinite(stable_b) and stable_b > -np.log(1e-7) + 1
    assert ours("bce", b, b_true, "sigmoid", logits=b_logits) == pytest.approx(40.0)
    # gradients stay finite
    q = p.clone().requires_grad_(True)
    loss_of("categorical_crossentropy").function("softmax")(q, torch.as_tensor(y_true)).backward()
    assert torch.isfinite(q.grad).all()


def test_names_and_objects():
    assert loss_of("mse").type == "MeanSquaredError"
    assert loss_of("MAE").type == "MeanAbsoluteError"
    assert loss_of("bce").type == "BinaryCrossentropy"
    assert loss_of("kld").type == "KLDivergence"
    for name in LOSSES.all_names():
        if (
            name in keras.losses.ALL_OBJECTS_DICT
            if hasattr(keras.losses, "ALL_OBJECTS_DICT")
            else True
        ):
            keras.losses.get(name)  # every netspec name is a Keras name
    with pytest.raises(ValidationError, match="did you mean 'huber'"):
        loss_of("hubber")
    with pytest.raises(ValidationError, match="takes the name 'MeanSquaredError'"):
        loss_of({"type": "mse"})
    with pytest.raises(ValidationError):
        loss_of({"type": "Huber", "delta": 0})


def test_validation_does_not_import_torch():

    code = (
        "import sys; from pydantic import TypeAdapter;"
        "from netspec.training.spec.losses import LossField;"
        "TypeAdapter(LossField).validate_python('mse');"
        "assert 'torch' not in sys.modules"
    )
    python_output(code)
