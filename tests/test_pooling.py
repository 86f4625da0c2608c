"""Pooling layers against a NumPy reference of TensorFlow's semantics (padding never counts),
every example at several sizes (uneven `same` padding included, where Keras's torch backend
differs), the examples left out of the Keras comparison, aliases, and located errors."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from helpers import assert_located
from keras_oracle import copy_weights, keras_model, keras_predict, layer_spec

import netspec
from netspec.layers import LAYERS
from netspec.loader import from_data

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
POOLING = [f"{kind}Pooling{n}D" for kind in ("Max", "Average") for n in (1, 2, 3)]
GLOBAL = [f"Global{kind}Pooling{n}D" for kind in ("Max", "Average") for n in (1, 2, 3)]


def reference_pool(x, mode, pool, strides, same, channels_first):
    """Loop over output positions; each window is clipped to the input (TensorFlow's `same`:
    the odd padding element at the end, padded positions left out of max and mean)."""
    if not channels_first:
        x = np.moveaxis(x, -1, 1)
    spatial = x.shape[2:]
    outs, befores = [], []
    for n, k, s in zip(spatial, pool, strides, strict=True):
        if same:
            out = -(-n // s)
            befores.append(max(0, (out - 1) * s + k - n) // 2)
        else:
            out = (n - k) // s + 1
            befores.append(0)
        outs.append(out)
    y = np.empty(x.shape[:2] + tuple(outs), dtype=np.float64)
    reduce = np.max if mode == "max" else np.mean
    for pos in itertools.product(*(range(o) for o in outs)):
        window = tuple(
            slice(max(p * s - b, 0), min(p * s - b + k, n))
            for p, s, b, k, n in zip(pos, strides, befores, pool, spatial, strict=True)
        )
        axes = tuple(range(2, x.ndim))
        y[(slice(None), slice(None), *pos)] = reduce(x[(slice(None), slice(None), *window)], axes)
    return y if channels_first else np.moveaxis(y, 1, -1)


def run_example(name, example, batch, var, seed=0):
    spec = from_data(
        layer_spec(name, example["args"], example["inputs"], None, example.get("data_format"))
    )
    layer = spec.graph.nodes[0].layer
    shape = [batch, *(var if d is None else d for d in example["inputs"][0])]
    x = torch.randn(shape, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        y = netspec.build(spec).eval()(x)
    fmt = layer.data_format or spec.graph.data_format
    return spec, layer, x, y, fmt == "channels_first"


EXAMPLES = [
    pytest.param(name, i, example, id=f"{name}-{i}")
    for name in POOLING
    for i, example in enumerate(LAYERS.get(name).examples)
]


@pytest.mark.parametrize(("name", "index", "example"), EXAMPLES)
@pytest.mark.parametrize(("batch", "var"), [(2, 5), (1, 2)])
def test_pooling_matches_reference(name, index, example, batch, var):
    _, layer, x, y, channels_first = run_example(name, example, batch, var)
    pool, strides = layer.windows()
    expected = reference_pool(
        x.double().numpy(), layer.mode, pool, strides, layer.padding == "same", channels_first
    )
    np.testing.assert_allclose(y.double().numpy(), expected, rtol=1e-5, atol=1e-6)


LEFT_OUT = [
    pytest.param(name, i, example, id=f"{name}-{i}")
    for name in POOLING
    for i, example in enumerate(LAYERS.get(name).examples)
    if example.get("keras_parity", True) is False
]


def test_only_uneven_average_examples_are_left_out_of_keras_parity():
    assert {p.values[0] for p in LEFT_OUT} == {
        "AveragePooling1D",
        "AveragePooling2D",
        "AveragePooling3D",
    }
    for param in LEFT_OUT:
        args = param.values[2]["args"]
        assert args.get("padding") == "same"


@pytest.mark.parametrize(("name", "index", "example"), LEFT_OUT)
def test_left_out_examples_do_differ_on_kerass_torch_backend(name, index, example):
    """The reason for leaving them out: Keras's torch backend averages replicated edges there
    (once it stops, these examples can rejoin the Keras comparison)."""
    spec, _, x, y, _ = run_example(name, example, 2, 3, seed=1)
    keras_out = keras_predict(keras_model(spec), [x.numpy()])
    assert keras_out.shape == tuple(y.shape)
    assert not np.allclose(keras_out, y.numpy(), atol=1e-4)


def test_uneven_same_average_by_hand():
    # 4 steps, pool 3, stride 2: padding (0, 1); windows [0, 1, 2] and [2, 3] (+ one pad).
    spec = {
        "netspec": 1,
        "input_shape": [4, 1],
        "layers": [{"type": "AvgPool1D", "pool_size": 3, "strides": 2, "padding": "same"}],
    }
    y = netspec.build(spec)(torch.tensor([[[1.0], [2.0], [3.0], [10.0]]]))
    torch.testing.assert_close(y, torch.tensor([[[2.0], [6.5]]]))  # torch-Keras: 7.667


@pytest.mark.parametrize("name", GLOBAL)
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_global_pooling_matches_numpy(name, keepdims, data_format):
    rank = int(name[-2])
    shape = [3, *[4, 2, 3][:rank]] if data_format == "channels_first" else [*[4, 2, 3][:rank], 3]
    spec = {
        "netspec": 1,
        "data_format": data_format,
        "input_shape": shape,
        "layers": [{"type": name, "keepdims": keepdims}],
    }
    x = torch.randn(2, *shape)
    axes = (
        tuple(range(2, 2 + rank)) if data_format == "channels_first" else tuple(range(1, 1 + rank))
    )
    fn = np.max if "Max" in name else np.mean
    expected = fn(x.numpy(), axis=axes, keepdims=keepdims)
    np.testing.assert_allclose(netspec.build(spec)(x).numpy(), expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    ("alias", "canonical"),
    [
        *[(f"MaxPool{n}D", f"MaxPooling{n}D") for n in (1, 2, 3)],
        *[(f"AvgPool{n}D", f"AveragePooling{n}D") for n in (1, 2, 3)],
        *[(f"GlobalMaxPool{n}D", f"GlobalMaxPooling{n}D") for n in (1, 2, 3)],
        *[(f"GlobalAvgPool{n}D", f"GlobalAveragePooling{n}D") for n in (1, 2, 3)],
    ],
)
def test_aliases(alias, canonical):
    assert LAYERS.get(alias) is LAYERS.get(canonical)


def test_integer_inputs_pool_in_float32():
    spec = {
        "netspec": 1,
        "input_shape": [4, 4, 1],
        "input_dtype": "int32",
        "layers": [{"type": "AveragePooling2D"}],
    }
    assert from_data(spec).graph.nodes[0].dtype == "float32"
    y = netspec.build(spec)(torch.arange(16, dtype=torch.int32).reshape(1, 4, 4, 1))
    assert y.dtype == torch.float32
    torch.testing.assert_close(y[0, :, :, 0], torch.tensor([[2.5, 4.5], [10.5, 12.5]]))


def test_channels_last_pooling_returns_a_contiguous_result_without_copying_the_input():
    spec = {"netspec": 1, "input_shape": [8, 8, 4], "layers": [{"type": "MaxPooling2D"}]}
    y = netspec.build(spec)(torch.randn(2, 8, 8, 4))
    assert y.shape == (2, 4, 4, 4) and y.is_contiguous()


# ------------------------------------------------------------------------------ located errors


ERRORS = [
    pytest.param(
        "input_shape: [4, 4]\nlayers:\n  - type: MaxPooling2D\n",
        "layers[0].type",
        "type: MaxPooling2D",
        "rank 4",
        id="wrong-rank",
    ),
    pytest.param(
        "input_shape: [3, 8, 2]\nlayers:\n  - type: AvgPool2D\n    pool_size: 4\n",
        "layers[0].pool_size",
        "pool_size: 4",
        "larger than the input's size 3",
        id="pool-larger-than-input",
    ),
    pytest.param(
        "input_shape: [6, 2]\nlayers:\n  - type: MaxPooling1D\n    pool_size: [2, 2]\n",
        "layers[0].pool_size",
        "pool_size: [2, 2]",
        "takes an int or a list of 1",
        id="pool-size-length",
    ),
    pytest.param(
        "input_shape: [6, 6, 2]\nlayers:\n  - type: MaxPooling2D\n    strides: 0\n",
        "layers[0].strides",
        "strides: 0",
        "greater than 0",
        id="zero-strides",
    ),
    pytest.param(
        "input_shape: [6, 6, 2]\nlayers:\n  - type: MaxPooling2D\n    padding: full\n",
        "layers[0].padding",
        "padding: full",
        "valid",
        id="padding",
    ),
    pytest.param(
        "input_shape: [6, 2]\nlayers:\n  - type: GlobalAveragePooling2D\n",
        "layers[0].type",
        "type: GlobalAveragePooling2D",
        "rank 4",
        id="global-wrong-rank",
    ),
]


@pytest.mark.parametrize(("body", "path", "needle", "message"), ERRORS)
def test_located_errors(body, path, needle, message):
    text = "netspec: 1\n" + body
    assert_located(text, path, needle, message)


@pytest.mark.parametrize("keepdims", [False, True])
def test_global_average_pooling_1d_uses_the_timestep_mask_as_keras(keepdims):
    spec = from_data(
        {
            "netspec": 1,
            "input_shape": [6],
            "input_dtype": "int64",
            "layers": [
                {"type": "Embedding", "input_dim": 9, "output_dim": 4, "mask_zero": True},
                {"type": "GlobalAveragePooling1D", "keepdims": keepdims},
                {"type": "Dense", "units": 2},
            ],
        }
    )
    kmodel = keras_model(spec)
    model = netspec.build(spec, seed=0).eval()
    copy_weights(kmodel, model)
    x = torch.tensor([[3, 1, 0, 0, 0, 0], [0, 5, 0, 8, 2, 0], [1, 2, 3, 4, 5, 6]])
    with torch.no_grad():
        y = model(x).numpy()
    np.testing.assert_allclose(y, keras_predict(kmodel, [x.numpy()]), rtol=1e-5, atol=1e-6)
    # the padded steps do not count: the mean of the valid steps' embeddings
    pooled = netspec.build({**spec.spec.model_dump(exclude_none=True), "layers": spec.layers[:2]})
    embedded = pooled.layers["embedding"](x).detach()
    with torch.no_grad():
        out = pooled(x).reshape(3, 4)
    torch.testing.assert_close(out[0], embedded[0, :2].mean(0))
    torch.testing.assert_close(out[1], embedded[1, [1, 3, 4]].mean(0))
    torch.testing.assert_close(out[2], embedded[2].mean(0))


def test_masked_global_average_pooling_1d_channels_first_is_refused_when_called():
    spec = {
        "netspec": 1,
        "input_shape": [5],
        "input_dtype": "int64",
        "layers": [
            {"type": "Embedding", "input_dim": 9, "output_dim": 4, "mask_zero": True},
            {"type": "GlobalAveragePooling1D", "data_format": "channels_first"},
        ],
    }
    with pytest.raises(ValueError, match="channels_first"):
        netspec.build(spec)(torch.tensor([[1, 2, 0, 0, 0]]))


# A pool far larger than the input, with `same` padding: TensorFlow's windows clip to the
# input, so this is pooling over (nearly) the whole input; torch refuses padding over half the
# pool, and padding to the pool's size would take memory by the pool's cube.
BIG_POOLS = [
    ("MaxPooling3D", 5, 1, [2, 2, 2, 1]),
    ("AveragePooling3D", 5, 1, [2, 2, 2, 1]),
    ("MaxPooling2D", [7, 2], [1, 3], [3, 4, 2]),
    ("AveragePooling2D", [6, 1], 1, [2, 3, 1]),
    ("MaxPooling1D", 9, 2, [4, 3]),
    ("AveragePooling1D", 4, 3, [2, 1]),
    ("MaxPooling3D", 10**6, 10**6, [2, 3, 2, 1]),
    ("AveragePooling3D", 10**6, 1, [2, 3, 2, 1]),
]


@pytest.mark.parametrize(("name", "pool", "strides", "shape"), BIG_POOLS)
def test_same_pooling_with_a_pool_larger_than_the_input(name, pool, strides, shape):
    args = {"pool_size": pool, "strides": strides, "padding": "same"}
    spec, layer, x, y, _ = run_example(name, {"args": args, "inputs": [shape]}, 2, 1)
    pool, strides = layer.windows()
    expected = reference_pool(x.double().numpy(), layer.mode, pool, strides, True, False)
    np.testing.assert_allclose(y.double().numpy(), expected, rtol=1e-5, atol=1e-6)
    if layer.mode == "max" and max(pool) < 100:  # Keras's torch backend: max only (see above)
        np.testing.assert_allclose(keras_predict(keras_model(spec), [x.numpy()]), y, atol=1e-6)
