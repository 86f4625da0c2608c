"""Normalization layers beyond the registry's inference-mode examples: BatchNormalization in
training mode against Keras (outputs and moving statistics, the biased variance), the frozen
layer, penalties; LayerNormalization and RMSNormalization on axes that are not the last ones
(where Keras 3.15's torch backend is wrong) against a reference; located errors."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import torch
from keras_oracle import copy_weights, keras_model, keras_predict, layer_spec

import netspec
from netspec.errors import SpecError
from netspec.loader import from_data

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def one_layer(layer_type: str, args: dict, shape: list, data_format: str | None = None):
    return from_data(layer_spec(layer_type, args, [shape], data_format=data_format))


def keras_layer_of(kmodel):
    return kmodel.get_layer("layer")


def numpy(t) -> np.ndarray:
    return keras.ops.convert_to_numpy(t) if not isinstance(t, torch.Tensor) else t.detach().numpy()


# ------------------------------------------------------------------------ BatchNormalization


@pytest.mark.parametrize(
    ("args", "shape", "data_format", "axis"),
    [
        ({}, [5], None, 1),
        ({"momentum": 0.9}, [4, 3, 6], None, 3),
        ({"axis": 1, "epsilon": 1e-5}, [3, 4, 5], "channels_first", 1),
        ({"axis": 2, "center": False, "momentum": 0.5}, [2, 3, 4], None, 2),
    ],
)
def test_batch_norm_training_step_matches_keras(args, shape, data_format, axis):
    spec = one_layer("BatchNormalization", args, shape, data_format)
    kmodel = keras_model(spec)
    klayer = keras_layer_of(kmodel)
    # Non-trivial moving statistics, gamma and beta, the same on both sides.
    rng = np.random.default_rng(0)
    initial = [rng.uniform(0.5, 2.0, w.shape).astype("float32") for w in klayer.weights]
    klayer.set_weights(initial)
    model = netspec.build(spec, seed=0)
    copy_weights(kmodel, model)
    x = torch.randn(8, *shape) * 3 + 1
    out = model.train()(x)
    want = keras_predict(kmodel, [x.numpy()], training=True)
    np.testing.assert_allclose(out.detach().numpy(), want, rtol=1e-4, atol=1e-4)
    module = model.layers["layer"]
    for name in ("moving_mean", "moving_variance"):
        np.testing.assert_allclose(
            getattr(module, name).detach().numpy(), numpy(getattr(klayer, name)), rtol=1e-5
        )
    # Keras's update, with the biased batch variance (torch's BatchNorm uses the unbiased one).
    dims = tuple(i for i in range(x.ndim) if i != axis)
    m = args.get("momentum", 0.99)
    biased = x.var(dim=dims, unbiased=False).numpy()
    expected = initial[-1] * m + biased * (1 - m)
    np.testing.assert_allclose(module.moving_variance.detach().numpy(), expected, rtol=1e-5)


def test_batch_norm_inference_uses_moving_statistics_and_gradients_flow():
    model = netspec.build(one_layer("BatchNormalization", {}, [3]), seed=0)
    module = model.layers["layer"]
    with torch.no_grad():
        module.moving_mean.copy_(torch.tensor([1.0, 2.0, 3.0]))
        module.moving_variance.copy_(torch.tensor([4.0, 1.0, 0.25]))
    x = torch.randn(5, 3)
    expected = (x - module.moving_mean) / torch.sqrt(module.moving_variance + 1e-3)
    torch.testing.assert_close(model.eval()(x), expected)
    assert not module.moving_mean.requires_grad and module.gamma.requires_grad
    y = model.train()(x.requires_grad_())
    y.square().sum().backward()
    assert x.grad is not None and module.gamma.grad is not None
    assert module.moving_mean.grad is None


def test_frozen_batch_norm_runs_in_inference_mode_while_training():
    spec = one_layer("BatchNormalization", {"trainable": False}, [4])
    kmodel = keras_model(spec)
    model = netspec.build(spec, seed=0)
    copy_weights(kmodel, model)
    x = torch.randn(6, 4) + 2
    before = model.layers["layer"].moving_mean.clone()
    out = model.train()(x)
    torch.testing.assert_close(model.layers["layer"].moving_mean, before)
    want = keras_predict(kmodel, [x.numpy()], training=True)
    np.testing.assert_allclose(out.detach().numpy(), want, rtol=1e-5, atol=1e-5)
    from netspec.compiler import param_counts

    assert param_counts(spec.graph)["layer"] == (0, 16)


def test_gamma_beta_penalties_and_constraints_match_keras():
    args = {
        "gamma_regularizer": {"type": "L2", "l2": 0.1},
        "beta_regularizer": {"type": "L1", "l1": 0.2},
        "gamma_constraint": {"type": "NonNeg"},
        "gamma_initializer": "random_normal",
        "beta_initializer": "random_normal",
    }
    for layer_type in ("BatchNormalization", "LayerNormalization", "GroupNormalization"):
        extra = {"groups": 2} if layer_type == "GroupNormalization" else {}
        spec = one_layer(layer_type, {**args, **extra}, [6])
        kmodel = keras_model(spec)
        model = netspec.build(spec, seed=0)
        copy_weights(kmodel, model)
        keras_predict(kmodel, [np.zeros((1, 6), "float32")])
        keras_loss = sum(float(numpy(loss)) for loss in kmodel.losses)
        assert model.regularization_loss().item() == pytest.approx(keras_loss, rel=1e-5)
        model.apply_constraints()
        assert (model.layers["layer"].gamma >= 0).all()


# --------------------------------------------------------- axes that are not the last ones


def reference_norm(x: np.ndarray, axes: tuple, eps: float, rms: bool = False) -> np.ndarray:
    if rms:
        return x / np.sqrt(np.mean(x**2, axis=axes, keepdims=True) + eps)
    mean, var = x.mean(axis=axes, keepdims=True), x.var(axis=axes, keepdims=True)
    return (x - mean) / np.sqrt(var + eps)


def keras_is_fixed() -> bool:
    """Whether this Keras normalizes a non-trailing axis right on torch (keras-team/keras#23510
    lets the backend decline it; Keras 3.15 hands it to F.layer_norm on the wrong axis)."""
    x = np.random.default_rng(0).standard_normal((2, 4, 4)).astype("float32")
    try:
        out = numpy(keras.layers.LayerNormalization(axis=1)(x))
    except Exception:
        return False
    return np.allclose(out, reference_norm(x, (1,), 1e-3), atol=1e-5)


@pytest.mark.parametrize(
    ("layer_type", "args", "shape", "axes"),
    [
        ("LayerNormalization", {"axis": 1}, [3, 4], (1,)),
        ("LayerNormalization", {"axis": [1, 2]}, [3, 4, 5], (1, 2)),
        ("LayerNormalization", {"axis": [1, 3], "epsilon": 1e-5}, [3, 4, 5], (1, 3)),
        ("LayerNormalization", {"axis": -2}, [4, 4], (1,)),
        ("RMSNormalization", {"axis": 1}, [3, 4], (1,)),
        ("RMSNormalization", {"axis": [1, 2]}, [3, 4, 2], (1, 2)),
    ],
)
def test_normalization_on_leading_axes(layer_type, args, shape, axes):
    spec = one_layer(layer_type, args, shape)
    model = netspec.build(spec, seed=0).eval()
    x = torch.randn(2, *shape)
    eps = args.get("epsilon", 1e-6 if layer_type == "RMSNormalization" else 1e-3)
    want = reference_norm(x.numpy(), axes, eps, rms=layer_type == "RMSNormalization")
    np.testing.assert_allclose(model(x).detach().numpy(), want, rtol=1e-5, atol=1e-5)
    if keras_is_fixed():
        kmodel = keras_model(spec)
        copy_weights(kmodel, model)
        np.testing.assert_allclose(
            model(x).detach().numpy(), keras_predict(kmodel, [x.numpy()]), rtol=1e-5, atol=1e-5
        )


def test_group_norm_is_instance_norm_with_one_group_per_channel():
    spec = one_layer("GroupNormalization", {"groups": -1}, [5, 3])
    x = torch.randn(2, 5, 3)
    out = netspec.build(spec, seed=0).eval()(x)
    want = reference_norm(x.numpy(), (1,), 1e-3)
    np.testing.assert_allclose(out.detach().numpy(), want, rtol=1e-5, atol=1e-5)


def test_unit_normalization_rows_have_unit_norm():
    model = netspec.build(one_layer("UnitNormalization", {"axis": [1, 2]}, [3, 4]), seed=0)
    out = model(torch.randn(5, 3, 4))
    torch.testing.assert_close(out.square().sum(dim=(1, 2)), torch.ones(5))
    assert model(torch.zeros(1, 3, 4)).abs().sum() == 0


# ---------------------------------------------------------------------------- located errors


def located(layer: dict, shape: list) -> list[tuple[str, str]]:
    spec = {"netspec": 1, "input_shape": shape, "layers": [layer]}
    with pytest.raises(SpecError) as info:
        from_data(spec)
    return [(d.path, d.message) for d in info.value.diagnostics]


@pytest.mark.parametrize(
    ("layer", "shape", "path", "message"),
    [
        ({"type": "BatchNormalization", "axis": 3}, [4, 5], "layers[0].axis", "out of range"),
        ({"type": "BatchNormalization", "axis": 0}, [4], "layers[0].axis", "batch axis"),
        ({"type": "BatchNormalization", "axis": -3}, [4, 5], "layers[0].axis", "batch axis"),
        ({"type": "BatchNormalization"}, [4, None], "layers[0].axis", "known size on axis 2"),
        ({"type": "BatchNormalization", "momentum": 1.5}, [4], "layers[0].momentum", "1"),
        ({"type": "LayerNormalization", "axis": [1, 1]}, [4, 5], "layers[0].axis", "twice"),
        ({"type": "LayerNormalization", "axis": 1}, [None, 5], "layers[0].axis", "known size"),
        ({"type": "GroupNormalization"}, [6], "layers[0].groups", "must divide the 6"),
        ({"type": "GroupNormalization", "groups": 4}, [6], "layers[0].groups", "must divide"),
        ({"type": "GroupNormalization", "groups": 0}, [6], "layers[0].groups", "positive or -1"),
        ({"type": "GroupNormalization", "groups": 2, "axis": 0}, [6], "layers[0].axis", "batch"),
        ({"type": "UnitNormalization", "axis": 2}, [6], "layers[0].axis", "out of range"),
        ({"type": "RMSNormalization", "axis": [-1, 3]}, [4, 6], "layers[0].axis", "range"),
    ],
)
def test_located_errors(layer, shape, path, message):
    errors = located(layer, shape)
    assert len(errors) == 1, errors
    assert errors[0][0] == path, errors
    assert message in errors[0][1], errors


def test_batch_norm_training_on_one_value_per_channel_matches_keras():
    spec = one_layer("BatchNormalization", {"beta_initializer": "random_normal"}, [5])
    kmodel = keras_model(spec)
    model = netspec.build(spec, seed=0)
    copy_weights(kmodel, model)
    x = torch.randn(1, 5)
    out = model.train()(x)
    want = keras_predict(kmodel, [x.numpy()], training=True)
    np.testing.assert_allclose(out.detach().numpy(), want, rtol=1e-5, atol=1e-5)
    klayer = keras_layer_of(kmodel)
    module = model.layers["layer"]
    for name in ("moving_mean", "moving_variance"):
        np.testing.assert_allclose(
            getattr(module, name).detach().numpy(), numpy(getattr(klayer, name)), rtol=1e-5
        )
