"""`netspec import` of keras.ops nodes of functional code (ops.reshape, ops.mean, ops.relu,
`x ** 2`, ...): each imported spec validates, has Keras's parameter count, and gives Keras's
predictions with the imported weights; an op without a counterpart is refused with its reason."""

import os

os.environ["KERAS_BACKEND"] = "torch"

import keras
import numpy as np
import pytest
import torch
from keras import layers, ops

import netspec
from netspec.compiler import param_counts
from netspec.errors import NetspecError
from netspec.keras_import import import_model
from netspec.keras_import.ops import op_entry
from netspec.training.output.runs import load_weights

# name -> (the op applied to a (batch, 6, 4) tensor, the layer type it imports as).
UNARY_OPS = {
    "reshape": (lambda x: ops.reshape(x, (-1, 24)), "Reshape"),
    "reshape_3d": (lambda x: ops.reshape(x, (-1, 2, 3, 4)), "Reshape"),
    "transpose": (lambda x: ops.transpose(x, (0, 2, 1)), "Permute"),
    "swapaxes": (lambda x: ops.swapaxes(x, -1, 1), "Permute"),
    "moveaxis": (lambda x: ops.moveaxis(ops.reshape(x, (-1, 2, 3, 4)), 1, 3), "Permute"),
    "cast_same_dtype": (lambda x: ops.cast(x, "float32"), "Identity"),
    "clip": (lambda x: ops.clip(x, -0.5, 1), "Lambda"),
    "expand_dims": (lambda x: ops.expand_dims(x, -1), "Lambda"),
    "squeeze": (lambda x: ops.squeeze(ops.mean(x, axis=1, keepdims=True), axis=1), "Lambda"),
    "mean_keepdims": (lambda x: ops.mean(x, axis=1, keepdims=True), "Lambda"),
    "sum_axes": (lambda x: ops.sum(x, axis=(1, 2), keepdims=True), "Lambda"),
    "max": (lambda x: ops.max(x, axis=-1), "Lambda"),
    "min": (lambda x: ops.min(x, axis=1), "Lambda"),
    "std": (lambda x: ops.std(x, axis=-1, keepdims=True), "Lambda"),
    "logsumexp": (lambda x: ops.logsumexp(x, axis=1), "Lambda"),
    "sqrt_abs": (lambda x: ops.sqrt(ops.abs(x)), "Lambda"),
    "exp": (lambda x: ops.exp(x), "Lambda"),
    "log": (lambda x: ops.log(ops.square(x) + 1.0), "Lambda"),
    "square": (lambda x: ops.square(x), "Lambda"),
    "erf": (lambda x: ops.erf(x), "Lambda"),
    "rsqrt": (lambda x: ops.rsqrt(ops.abs(x) + 1.0), "Lambda"),
    "relu": (lambda x: ops.relu(x), "Activation"),
    "sigmoid": (lambda x: ops.sigmoid(x), "Activation"),
    "tanh": (lambda x: ops.tanh(x), "Activation"),
    "softmax": (lambda x: ops.softmax(x), "Activation"),
    "softmax_axis": (lambda x: ops.softmax(x, axis=1), "Activation"),
    "log_softmax": (lambda x: ops.log_softmax(x, axis=1), "Activation"),
    "gelu_approximate": (lambda x: ops.gelu(x), "Activation"),
    "gelu_exact": (lambda x: ops.gelu(x, approximate=False), "Activation"),
    "silu": (lambda x: ops.silu(x), "Activation"),
    "leaky_relu": (lambda x: ops.leaky_relu(x, negative_slope=0.1), "Activation"),
    "elu": (lambda x: ops.elu(x, alpha=0.5), "Activation"),
    "hard_sigmoid": (lambda x: ops.hard_sigmoid(x), "Activation"),
    "maximum_number": (lambda x: ops.maximum(0.5, x), "Lambda"),
    "minimum_number": (lambda x: ops.minimum(x, -0.25), "Lambda"),
    "power": (lambda x: x**2, "Lambda"),
    "rpower": (lambda x: 2.0**x, "Lambda"),
    "negative": (lambda x: -x, "Lambda"),
    "floor_divide": (lambda x: x // 0.5, "Lambda"),
    "clip_via_ops": (lambda x: ops.minimum(ops.maximum(x, -1.0), 1.0), "Lambda"),
}
# name -> (the op on two tensors of shapes `a` and `b`, shapes, the layer type it imports as).
BINARY_OPS = {
    "matmul": (ops.matmul, (6, 4), (4, 5), "Dot"),
    "maximum": (ops.maximum, (6, 4), (6, 4), "Maximum"),
    "minimum": (ops.minimum, (6, 4), (6, 4), "Minimum"),
    "add_broadcast": (lambda a, b: a + b, (6, 4), (1, 4), "Lambda"),
    "divide": (lambda a, b: a / b, (6, 4), (6, 4), "Lambda"),
    "power_tensors": (lambda a, b: ops.abs(a * b) ** b, (6, 4), (6, 4), "Lambda"),
}


def import_and_compare(tmp_path, model: keras.Model, imported_as: str) -> None:
    """Import `model`; the spec validates, the op became `imported_as`, the parameter counts
    and the predictions (with the imported weights) are Keras's."""
    model.save(tmp_path / "m.keras")
    result = import_model(tmp_path / "m.keras", tmp_path / "m.yaml")
    valid = netspec.load(result.spec)
    assert imported_as in {layer.type for layer in valid.spec.layers}
    assert sum(t + f for t, f in param_counts(valid.graph).values()) == model.count_params()
    module = netspec.build(valid, device="cpu").eval()
    load_weights(module, result.weights, graph=valid.graph)
    rng = np.random.default_rng(0)
    xs = [rng.normal(size=(3, *t.shape[1:])).astype("float32") for t in model.inputs]
    with torch.no_grad():
        got = module(*[torch.from_numpy(x) for x in xs]).numpy()
    want = model.predict(xs if len(xs) > 1 else xs[0], verbose=0)
    assert got.shape == want.shape
    assert np.linalg.norm(got - want) <= 1e-5 * np.linalg.norm(want)


@pytest.mark.parametrize("op", sorted(UNARY_OPS))
def test_unary_op_matches_keras(tmp_path, op):
    keras.utils.set_random_seed(0)
    fn, imported_as = UNARY_OPS[op]
    inputs = keras.Input((6, 4))
    y = fn(layers.Dense(4)(inputs))
    outputs = layers.Dense(3)(y)  # the op's output goes on through a layer with weights
    import_and_compare(tmp_path, keras.Model(inputs, outputs), imported_as)


@pytest.mark.parametrize("op", sorted(BINARY_OPS))
def test_binary_op_matches_keras(tmp_path, op):
    keras.utils.set_random_seed(0)
    fn, a_shape, b_shape, imported_as = BINARY_OPS[op]
    a, b = keras.Input(a_shape), keras.Input(b_shape)
    y = fn(a, b)  # on the inputs themselves: their weights come after the op
    import_and_compare(tmp_path, keras.Model([a, b], layers.Dense(2)(y)), imported_as)


def test_unsupported_op_gives_its_reason(tmp_path):
    inputs = keras.Input((6, 4))
    y = ops.stack([inputs, ops.relu(inputs)], axis=1)
    keras.Model(inputs, ops.argsort(y, axis=-1)).save(tmp_path / "m.keras")
    with pytest.raises(NetspecError) as info:
        import_model(tmp_path / "m.keras", tmp_path / "m.yaml")
    message = str(info.value)
    assert (
        "layer 'stack' (Stack): keras.ops.Stack is not supported by netspec import yet" in message
    )
    assert "keras.ops.Argsort is not supported by netspec import yet" in message
    assert not (tmp_path / "m.yaml").exists()


@pytest.mark.parametrize(
    ("op", "reason"),
    [
        (lambda x: ops.reshape(x, (3, -1)), "newshape [3, -1] on [None, 6, 4]: only (-1,"),
        (lambda x: ops.reshape(x, (-1, 12)), "newshape [-1, 12] on [None, 6, 4]: only (-1,"),
        (lambda x: ops.transpose(x), "axes=None: the batch axis would move"),
        (lambda x: ops.transpose(x, (1, 0, 2)), "not a permutation keeping the batch axis"),
        (lambda x: ops.mean(x), "axis=None (every axis, the batch axis included)"),
        (lambda x: ops.sum(x, axis=0), "axis 0 is the batch axis"),
        (lambda x: ops.expand_dims(x, 0), "axis 0 is the batch axis"),
        (lambda x: ops.round(x, decimals=2), "decimals=2"),
        (lambda x: ops.swapaxes(x, 0, 1), "not a permutation keeping the batch axis"),
        (lambda x: ops.cast(x, "float16"), "a cast from float32 to float16"),
        (lambda x: ops.matmul(x[:, None], ops.swapaxes(x[:, None], 2, 3)), "matmul other than"),
    ],
)
def test_refused_op_arguments_give_their_reason(op, reason):
    inputs = keras.Input((6, 4))
    model = keras.Model(inputs, op(inputs))
    found = op_entry(model.get_config()["layers"][-1])  # the op: the last node
    assert isinstance(found, str) and reason in found, found
