"""LocallyConnected1D/2D (Keras 2's layers; Keras 3 has none) against a NumPy transcription of
Keras 2's `backend.local_conv` and `backend.bias_add`, with weights given in Keras 2's layout;
weight shapes and parameter counts from Keras 2's documentation; located errors."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from helpers import errors_of
from keras_oracle import layer_spec

import netspec
from netspec.compiler import param_counts
from netspec.layers import LAYERS, Context
from netspec.loader import from_data
from netspec.torch.weights import load_keras_weights

ACTIVATIONS = {None: lambda y: y, "relu": lambda y: np.maximum(y, 0), "tanh": np.tanh}


def keras2_local_conv(x, kernel, kernel_size, strides, output_shape, channels_first):
    """Keras 2's `backend.local_conv`, loop for loop: one slice per output position, each
    reshaped to (1, batch, features) in the input's layout order, then a batch_dot."""
    xs = []
    for position in itertools.product(*(range(n) for n in output_shape)):
        slices = [slice(None)] + ([slice(None)] if channels_first else [])
        slices += [
            slice(p * s, p * s + k) for p, s, k in zip(position, strides, kernel_size, strict=True)
        ]
        slices += [] if channels_first else [slice(None)]
        xs.append(x[tuple(slices)].reshape(1, x.shape[0], kernel.shape[1]))
    aggregate = np.concatenate(xs, axis=0)  # (positions, batch, features)
    out = np.einsum("pbk,pkf->pbf", aggregate, kernel)
    out = out.reshape(*output_shape, x.shape[0], kernel.shape[-1])
    n = len(output_shape)
    spatial = list(range(n))
    perm = [n, n + 1, *spatial] if channels_first else [n, *spatial, n + 1]
    return out.transpose(perm)


def keras2_bias_add(y, bias, channels_first):
    """Keras 2's `backend.bias_add` for a bias of rank ndim(y) - 1: reshaped, not transposed."""
    if channels_first:
        return y + bias.reshape((1, bias.shape[-1], *bias.shape[:-1]))
    return y + bias.reshape((1, *bias.shape))


EXAMPLES = [
    pytest.param(name, i, example, id=f"{name}-{i}")
    for name in ("LocallyConnected1D", "LocallyConnected2D")
    for i, example in enumerate(LAYERS.get(name).examples)
]


@pytest.mark.parametrize(("name", "index", "example"), EXAMPLES)
def test_matches_keras2_reference(name, index, example):
    spec = from_data(
        layer_spec(name, example["args"], example["inputs"], None, example.get("data_format"))
    )
    node = spec.graph.nodes[0]
    layer = node.layer
    channels_first = (layer.data_format or spec.graph.data_format) == "channels_first"
    model = netspec.build(spec, seed=0).eval()
    rng = np.random.default_rng(index)
    weights = [
        rng.standard_normal(w.shape).astype(np.float32)
        for w in layer.weights(node.input_shapes, Context(spec.graph.data_format))
    ]
    load_keras_weights(model, {"layer": weights})
    x = rng.standard_normal((3, *example["inputs"][0])).astype(np.float32)
    with torch.no_grad():
        y = model(torch.from_numpy(x)).double().numpy()

    kernel, strides = layer.windows()
    out_spatial = node.output[1:] if channels_first else node.output[:-1]
    expected = keras2_local_conv(
        x.astype(np.float64), weights[0], kernel, strides, out_spatial, channels_first
    )
    if layer.use_bias:
        expected = keras2_bias_add(expected, weights[1], channels_first)
    expected = ACTIVATIONS[layer.activation and layer.activation.type](expected)
    assert y.shape == expected.shape
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)


def build_one(layer: dict, shape: list, data_format: str = "channels_last"):
    spec = {"netspec": 1, "data_format": data_format, "input_shape": shape, "layers": [layer]}
    return from_data(spec).graph, netspec.build(spec, seed=0)


def test_keras2_documented_shapes_and_counts_2d():
    # Keras 2's docstring: LocallyConnected2D(64, (3, 3)) on (32, 32, 3) -> (30, 30, 64),
    # (30*30)*(3*3*3*64) + (30*30)*64 parameters.
    graph, model = build_one(
        {"type": "LocallyConnected2D", "filters": 64, "kernel_size": 3}, [32, 32, 3]
    )
    assert graph.nodes[0].output == (30, 30, 64)
    assert param_counts(graph)["locally_connected2d"] == (30 * 30 * 27 * 64 + 30 * 30 * 64, 0)
    module = model.layers["locally_connected2d"]
    assert tuple(module.kernel.shape) == (900, 27, 64)  # Keras 2's layout, stored as is
    assert tuple(module.bias.shape) == (30, 30, 64)


def test_keras2_documented_shapes_and_counts_1d():
    # Keras 2's docstring: LocallyConnected1D(64, 3) on (10, 32) -> (8, 64).
    graph, model = build_one(
        {"type": "LocallyConnected1D", "filters": 64, "kernel_size": 3}, [10, 32]
    )
    assert graph.nodes[0].output == (8, 64)
    assert param_counts(graph)["locally_connected1d"] == (8 * 96 * 64 + 8 * 64, 0)
    assert tuple(model.layers["locally_connected1d"].kernel.shape) == (8, 96, 64)


def test_channels_first_output_and_glorot_fans():
    graph, model = build_one(
        {"type": "LocallyConnected2D", "filters": 5, "kernel_size": [2, 3], "strides": [2, 1]},
        [3, 6, 7],
        "channels_first",
    )
    assert graph.nodes[0].output == (5, 3, 5)
    kernel = model.layers["locally_connected2d"].kernel
    # Keras's fans of a (positions, features, filters) kernel: receptive field = positions.
    limit = math.sqrt(6 / ((18 + 5) * 15))
    assert kernel.abs().max() <= limit and kernel.abs().max() > 0.8 * limit
    y = model(torch.randn(2, 3, 6, 7))
    assert y.shape == (2, 5, 3, 5)


def test_penalties_gradients_and_constraints_see_keras_layout():
    layer = {
        "type": "LocallyConnected1D",
        "filters": 2,
        "kernel_size": 2,
        "kernel_regularizer": {"type": "L2", "l2": 0.1},
        "kernel_constraint": {"type": "MaxNorm", "max_value": 0.5, "axis": [0, 1]},
    }
    _, model = build_one(layer, [5, 3])
    module = model.layers["locally_connected1d"]
    torch.testing.assert_close(model.regularization_loss(), 0.1 * module.kernel.square().sum())
    model(torch.randn(4, 5, 3)).sum().backward()
    assert module.kernel.grad is not None and module.bias.grad is not None
    with torch.no_grad():
        module.kernel.mul_(10)
    model.apply_constraints()
    norms = module.kernel.detach().square().sum(dim=(0, 1)).sqrt()
    assert (norms <= 0.5 + 1e-6).all()


# ------------------------------------------------------------------------------ located errors


ERRORS = [
    pytest.param(
        "input_shape: [6, 2]\nlayers:\n  - {type: LocallyConnected1D, filters: 2, kernel_size: 2,"
        " padding: same}\n",
        "layers[0].padding",
        "implementation 2 or 3",
        id="padding-same",
    ),
    pytest.param(
        "input_shape: [null, 2]\nlayers:\n  - {type: LocallyConnected1D, filters: 2, "
        "kernel_size: 2}\n",
        "layers[0].type",
        "must be known",
        id="variable-steps",
    ),
    pytest.param(
        "input_shape: [4, 4, null]\nlayers:\n  - {type: LocallyConnected2D, filters: 2, "
        "kernel_size: 2}\n",
        "layers[0].type",
        "must be known",
        id="variable-channels",
    ),
    pytest.param(
        "input_shape: [4, 2, 3]\nlayers:\n  - {type: LocallyConnected2D, filters: 2, "
        "kernel_size: 3}\n",
        "layers[0].kernel_size",
        "larger than the input's size 2",
        id="kernel-larger-than-input",
    ),
    pytest.param(
        "input_shape: [4, 4, 3]\nlayers:\n  - {type: LocallyConnected1D, filters: 2, "
        "kernel_size: 2}\n",
        "layers[0].type",
        "rank 3",
        id="wrong-rank",
    ),
    pytest.param(
        "input_shape: [4, 4, 3]\nlayers:\n  - {type: LocallyConnected2D, filters: 2, "
        "kernel_size: [2, 2, 2]}\n",
        "layers[0].kernel_size",
        "a list of 2",
        id="kernel-size-length",
    ),
    pytest.param(
        "input_shape: [4, 4, 3]\nlayers:\n  - {type: LocallyConnected2D, filters: 2, "
        "kernel_size: 2, implementation: 2}\n",
        "layers[0].implementation",
        "1",
        id="implementation",
    ),
]


@pytest.mark.parametrize(("body", "path", "message"), ERRORS)
def test_located_errors(body, path, message):
    diagnostics = errors_of("netspec: 1\n" + body)
    assert [d.path for d in diagnostics] == [path], diagnostics
    assert message in diagnostics[0].message, diagnostics[0].message
    assert diagnostics[0].line == 4
