"""Rescaling and Normalization (Keras's preprocessing layers) against Keras: values (given
statistics, loaded weights, invert, several axes, channels_first scales), parameter counts,
and the located errors of arguments that do not fit the input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import assert_located
from keras_oracle import copy_weights, keras, keras_model, keras_param_counts, layer_spec

import netspec
from netspec.compiler import param_counts
from netspec.loader import from_data

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def compare(layer_type: str, args: dict, shape: list, data_format=None, weights=None):
    """netspec's and Keras's outputs of one layer on the same random input (Keras's weights
    set to `weights` first, then copied); returns both parameter counts."""
    spec = from_data(layer_spec(layer_type, args, [shape], data_format=data_format))
    kmodel = keras_model(spec)
    if weights is not None:
        kmodel.get_layer("layer").set_weights(weights)
    model = netspec.build(spec, seed=0).eval()
    copy_weights(kmodel, model)
    x = np.random.default_rng(0).normal(size=(3, *shape)).astype(np.float32) * 4
    with torch.no_grad():
        out = model(torch.from_numpy(x)).numpy()
    want = keras.ops.convert_to_numpy(kmodel(x))
    assert out.dtype == np.float32 and out.shape == want.shape
    np.testing.assert_allclose(out, want, rtol=1e-6, atol=1e-6)
    return param_counts(spec.graph)["layer"], keras_param_counts(kmodel)["layer"]


@pytest.mark.parametrize(
    ("args", "shape", "data_format"),
    [
        ({"scale": 0.5, "offset": -1.0}, [4, 3], None),
        ({"scale": [1.0, 2.0, 3.0]}, [2, 3], None),
        ({"scale": [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], "offset": [1.0, 0.0, 2.0]}, [2, 3], None),
        ({"scale": [2.0, 3.0], "offset": [1.0, 2.0, 3.0]}, [2, 4, 3], "channels_first"),
        ({"scale": [[2.0], [3.0]]}, [2, 4, 3], "channels_first"),  # (2, 1) -> (2, 1, 1)
    ],
)
def test_rescaling_matches_keras(args, shape, data_format):
    assert compare("Rescaling", args, shape, data_format) == ((0, 0), (0, 0))


def test_rescaling_casts_integers_to_float32():
    spec = from_data(layer_spec("Rescaling", {"scale": 0.5}, [[2]], ["uint8"]))
    out = netspec.build(spec)(torch.tensor([[2, 255]], dtype=torch.uint8))
    assert out.dtype == torch.float32
    assert out.tolist() == [[1.0, 127.5]]


@pytest.mark.parametrize(
    ("args", "shape"),
    [
        ({"mean": 3.0, "variance": 2.0}, [3]),
        ({"mean": [1.0, 2.0, 3.0], "variance": [1.0, 0.0, 4.0]}, [2, 3]),  # variance 0: eps
        ({"mean": [1.0, 2.0, 3.0], "variance": [1.0, 0.5, 4.0], "invert": True}, [2, 3]),
        ({"axis": None, "mean": -1.0, "variance": 0.25, "invert": True}, [2, 3]),
        ({"axis": [1, 3], "mean": [[1.0], [2.0]], "variance": [[4.0], [9.0]]}, [2, 5, 3]),
        ({"axis": [-1, 1], "mean": [1.0, 2.0, 3.0], "variance": [4.0, 9.0, 1.0]}, [2, 5, 3]),
        (
            {"axis": [1, 2], "mean": [[1, 2, 3], [4, 5, 6]], "variance": [[1, 2, 3], [4, 5, 6]]},
            [2, 3],
        ),
    ],
)
def test_normalization_with_given_statistics_matches_keras(args, shape):
    assert compare("Normalization", args, shape) == ((0, 0), (0, 0))


@pytest.mark.parametrize(
    ("args", "shape", "kept"),
    [
        ({}, [5, 3], (3,)),
        ({"invert": True}, [4], (4,)),
        ({"axis": None}, [2, 3], ()),
        ({"axis": [1, -1]}, [2, 4, 3], (2, 3)),
        ({"axis": 2, "invert": True}, [2, 4, 3], (4,)),
    ],
)
def test_normalization_weights_load_from_keras(args, shape, kept):
    rng = np.random.default_rng(1)
    mean = rng.normal(size=kept).astype(np.float32)
    variance = rng.uniform(0.1, 3.0, size=kept).astype(np.float32)
    counts = compare("Normalization", args, shape, weights=[mean, variance, np.int32(7)])
    size = int(np.prod(kept))
    assert counts == ((0, 2 * size + 1), (0, 2 * size + 1))


def test_normalization_weights_are_keras_initial_values():
    layer = keras.layers.Normalization()
    layer.build((None, 3))
    assert layer.count_params() == 7
    spec = from_data(layer_spec("Normalization", {}, [[3]]))
    module = netspec.build(spec).layers["layer"]
    assert [(n, tuple(p.shape), p.requires_grad) for n, p in module.named_parameters()] == [
        ("mean", (3,), False),
        ("variance", (3,), False),
        ("count", (), False),
    ]
    for p, w in zip(module.parameters(), layer.get_weights(), strict=True):
        np.testing.assert_array_equal(p.detach().numpy(), w)


def _spec(layer: str, shape: str = "[4, 3]") -> str:
    return f"netspec: 1\ninput_shape: {shape}\nlayers:\n  - type: {layer}\n"


@pytest.mark.parametrize(
    ("text", "path", "needle", "message"),
    [
        (_spec("Normalization\n    axis: 3"), "layers[0].axis", "axis: 3", "out of range"),
        (_spec("Normalization\n    axis: 0"), "layers[0].axis", "axis: 0", "batch axis"),
        (
            _spec("Normalization\n    axis: 1", "[null, 3]"),
            "layers[0].axis",
            "axis: 1",
            "known size",
        ),
        (_spec("Normalization\n    mean: 1.0"), "layers[0].variance", "type:", "together"),
        (_spec("Normalization\n    variance: 1.0"), "layers[0].mean", "type:", "together"),
        (
            _spec("Normalization\n    mean: [1.0, 2.0]\n    variance: [1.0, 2.0]"),
            "layers[0].mean",
            "mean:",
            "does not broadcast",
        ),
        (
            _spec("Normalization\n    mean: [[1.0, 2.0, 3.0]]\n    variance: [[1.0, 2.0, 3.0]]"),
            "layers[0].mean",
            "mean:",
            "does not broadcast",  # rank 2 > one kept axis
        ),
        (
            _spec("Normalization\n    mean: [1.0, 2.0, 3.0]\n    variance: 1.0"),
            "layers[0].variance",
            "variance:",
            "differs",
        ),
        (
            _spec("Normalization\n    mean: [[1.0], [2.0, 3.0]]\n    variance: 1.0"),
            "layers[0].mean",
            "mean:",
            "unequal shapes",
        ),
        (_spec("Rescaling\n    scale: [1.0, [2.0]]"), "layers[0].scale", "scale:", "unequal"),
        (_spec("Rescaling\n    scale: [1.0, 2.0]"), "layers[0].scale", "scale:", "broadcast"),
        (_spec("Rescaling\n    scale: []"), "layers[0].scale", "scale:", "empty"),
        (
            _spec("Rescaling\n    scale: 1.0\n    offset: [[[[1.0]]]]"),
            "layers[0].offset[0][0][0]",
            "offset:",
            "valid number",  # arrays of rank 3 at most
        ),
        (
            _spec("Rescaling\n    scale: 1.0\n    offset: [1.0, 2.0, 3.0]", "[3, null]"),
            "layers[0].offset",
            "offset:",
            "broadcast",
        ),
    ],
    ids=[
        "axis-out-of-range",
        "batch-axis",
        "unknown-kept-size",
        "mean-only",
        "variance-only",
        "mean-not-broadcast",
        "mean-rank",
        "variance-shape",
        "ragged",
        "mixed-nesting",
        "scale-not-broadcast",
        "scale-empty",
        "offset-rank-4",
        "offset-on-unknown-axis",
    ],
)
def test_located_errors(text, path, needle, message):
    assert_located(text, path, needle, message)
