"""Losses against real keras.losses (torch backend): every registered loss through its
`examples` (a new loss is covered as soon as it has some, and must have some), then the
stable forms, names and errors."""

import keras
import loss_inputs
import numpy as np
import pytest
import torch
from helpers import python_output
from pydantic import TypeAdapter, ValidationError

from netspec.training.spec.losses import LOSSES, LossField

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
ADAPTER = TypeAdapter(LossField)


def loss_of(value):
    return ADAPTER.validate_python(value)


def rng(seed=0):
    return np.random.default_rng(seed)


def ours(spec, y_pred, y_true, activation=None, **kwargs):
    fn = loss_of(spec).function(activation)
    out = fn(torch.as_tensor(y_pred), torch.as_tensor(y_true), **kwargs)
    return float(out)


def ours_array(spec, y_pred, y_true, sample_weight=None, activation=None):
    """The loss as an array: a scalar, or the values for reduction none."""
    fn = loss_of(spec).function(activation)
    weight = None if sample_weight is None else torch.as_tensor(sample_weight)
    out = fn(torch.as_tensor(y_pred), torch.as_tensor(y_true), sample_weight=weight)
    return out.detach().numpy()


def keras_value(obj, y_pred, y_true):
    return float(keras.ops.convert_to_numpy(obj(y_true, y_pred)))


def keras_array(obj, y_pred, y_true, sample_weight=None):
    return keras.ops.convert_to_numpy(obj(y_true, y_pred, sample_weight=sample_weight))


def softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return (e / e.sum(-1, keepdims=True)).astype("float32")


def close(a, b):
    assert a == pytest.approx(b, rel=1e-6, abs=1e-6)


CASES = [
    pytest.param(name, i, example, id=f"{name}-{i}")
    for name, cls in LOSSES.items()
    for i, example in enumerate(cls.examples)
]


@pytest.mark.parametrize("name", LOSSES.names())
def test_every_loss_has_examples(name):
    assert LOSSES.get(name).examples, f"{name} has no examples"


@pytest.mark.parametrize(("name", "index", "example"), CASES)
def test_keras_parity(name, index, example):
    """The loss of the example's arguments (and sample weights) equals
    keras.losses.<name>(**args) on its arrays, the values too for reduction none; a loss with a
    stable form also equals it there (probabilities inside Keras's clip)."""
    y_true, y_pred = loss_inputs.pair(example, batch=4, seed=index)
    weight = loss_inputs.weights(example, batch=4, seed=index)
    spec = {"type": name, **example["args"]}
    keras_loss = getattr(keras.losses, name)(**example["args"])
    expected = keras_array(keras_loss, y_pred, y_true, weight)
    got = ours_array(spec, y_pred, y_true, weight)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    stable_after = LOSSES.get(name).stable_after
    if stable_after and not example["args"].get("from_logits"):
        stable = ours_array(spec, y_pred, y_true, weight, stable_after)
        np.testing.assert_allclose(stable, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("name", "activation"),
    [("BinaryCrossentropy", "sigmoid"), ("CategoricalCrossentropy", "softmax")],
)
def test_logits_handed_in_give_kerass_from_logits_math(name, activation):
    """After the model's own sigmoid/softmax, the pre-activation output (`logits`) is used:
    the value is Keras's with from_logits=True on it."""
    r = rng(6)
    logits = r.normal(size=(4, 3, 6)).astype("float32") * 2
    if activation == "sigmoid":
        y_pred = (1 / (1 + np.exp(-logits))).astype("float32")
        y_true = r.integers(0, 2, size=logits.shape).astype("float32")
    else:
        y_pred = softmax(logits)
        y_true = np.eye(6, dtype="float32")[r.integers(0, 6, size=(4, 3))]
    expected = keras_value(getattr(keras.losses, name)(from_logits=True), logits, y_true)
    close(ours(name, y_pred, y_true, activation, logits=torch.as_tensor(logits)), expected)


@pytest.mark.parametrize(("alias", "name"), sorted(LOSSES.aliases().items()))
def test_every_alias_is_kerass_name_for_the_same_loss(alias, name):
    assert loss_of(alias).type == name
    assert keras.losses.get(name).fn is keras.losses.get(alias)


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
    with pytest.raises(ValidationError, match="did you mean 'huber'"):
        loss_of("hubber")
    with pytest.raises(ValidationError, match="takes the name 'MeanSquaredError'"):
        loss_of({"type": "mse"})
    with pytest.raises(ValidationError):
        loss_of({"type": "Huber", "delta": 0})


@pytest.mark.slow  # a fresh interpreter
def test_validation_does_not_import_torch():

    code = (
        "import sys; from pydantic import TypeAdapter;"
        "from netspec.training.spec.losses import LossField;"
        "TypeAdapter(LossField).validate_python('mse');"
        "assert 'torch' not in sys.modules"
    )
    python_output(code)
