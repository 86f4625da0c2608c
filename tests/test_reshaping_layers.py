"""ZeroPadding, Cropping and UpSampling against NumPy references: every example (np.pad,
slicing, np.repeat, and half-pixel bilinear / bicubic interpolation matrices written out here),
dtypes, views, and located errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from helpers import errors_of
from keras_oracle import layer_spec

import netspec
from netspec.layers import LAYERS
from netspec.layers.spatial import pairs
from netspec.loader import from_data

NAMES = [
    *(f"ZeroPadding{n}D" for n in (1, 2, 3)),
    *(f"Cropping{n}D" for n in (1, 2, 3)),
    *(f"UpSampling{n}D" for n in (1, 2, 3)),
]
TORCH = {"float32": torch.float32, "int32": torch.int32, "int64": torch.int64,
         "uint8": torch.uint8, "bool": torch.bool}  # fmt: skip


def interpolation_matrix(n: int, f: int, mode: str) -> np.ndarray:
    """(n * f, n) weights of torch's / Keras-torch's resize with align_corners=False: source
    coordinate (o + 0.5) / f - 0.5; bilinear clamps it at 0, bicubic (a = -0.75) clamps taps."""
    m = np.zeros((n * f, n))
    a = -0.75
    for o in range(n * f):
        src = (o + 0.5) / f - 0.5
        if mode == "bilinear":
            src = max(src, 0.0)
            i = math.floor(src)
            t = src - i
            m[o, min(i, n - 1)] += 1 - t
            m[o, min(i + 1, n - 1)] += t
        else:
            i = math.floor(src)
            t = src - i
            near = lambda x: ((a + 2) * x - (a + 3)) * x * x + 1  # noqa: E731
            far = lambda x: ((a * x - 5 * a) * x + 8 * a) * x - 4 * a  # noqa: E731
            weights = (far(t + 1), near(t), near(1 - t), far(2 - t))
            for tap, w in zip(range(i - 1, i + 3), weights, strict=True):
                m[o, min(max(tap, 0), n - 1)] += w
    return m


def reference(layer, x: np.ndarray, channels_first: bool, spatial_rank: int) -> np.ndarray:
    axes = list(range(2, 2 + spatial_rank)) if channels_first else list(range(1, 1 + spatial_rank))
    name = layer.type
    if name.startswith("ZeroPadding"):
        widths = [(0, 0)] * x.ndim
        for axis, pair in zip(axes, pairs(layer.padding, spatial_rank), strict=True):
            widths[axis] = pair
        return np.pad(x, widths)
    if name.startswith("Cropping"):
        index = [slice(None)] * x.ndim
        for axis, (a, b) in zip(axes, pairs(layer.cropping, spatial_rank), strict=True):
            index[axis] = slice(a, x.shape[axis] - b)
        return x[tuple(index)]
    factors = layer.factors()
    if getattr(layer, "interpolation", "nearest") == "nearest":
        for axis, f in zip(axes, factors, strict=True):
            x = np.repeat(x, f, axis=axis)
        return x
    y = x.astype(np.float64)
    for axis, f in zip(axes, factors, strict=True):
        m = interpolation_matrix(x.shape[axis], f, layer.interpolation)
        y = np.moveaxis(np.tensordot(m, y, axes=(1, axis)), 0, axis)
    if x.dtype == np.uint8 and layer.interpolation == "bicubic":
        y = np.clip(y, 0, 255)
    return np.round(y).astype(x.dtype) if x.dtype.kind in "iu" else y


EXAMPLES = [
    pytest.param(name, i, example, id=f"{name}-{i}")
    for name in NAMES
    for i, example in enumerate(LAYERS.get(name).examples)
]


@pytest.mark.parametrize(("name", "index", "example"), EXAMPLES)
@pytest.mark.parametrize("var", [3, 5])
def test_matches_numpy(name, index, example, var):
    spec = from_data(
        layer_spec(
            name,
            example["args"],
            example["inputs"],
            example.get("dtypes"),
            example.get("data_format"),
        )  # fmt: skip
    )
    node = spec.graph.nodes[0]
    layer = node.layer
    dtype = TORCH[node.input_dtypes[0]]
    shape = (2, *(var if d is None else d for d in example["inputs"][0]))
    gen = torch.Generator().manual_seed(index)
    if dtype.is_floating_point:
        x = torch.randn(shape, generator=gen)
    else:
        x = torch.randint(0, 2 if dtype == torch.bool else 200, shape, generator=gen).to(dtype)
    y = netspec.build(spec)(x)
    assert y.dtype == dtype  # these layers keep their input's dtype
    channels_first = layer.channels_first(type("Ctx", (), {"data_format": spec.graph.data_format}))
    expected = reference(layer, x.numpy(), channels_first, layer.rank)
    assert y.shape == expected.shape
    if dtype.is_floating_point:
        np.testing.assert_allclose(y.numpy(), expected, rtol=1e-5, atol=1e-5)
    else:
        # float32 interpolation, then rounded: allow one unit where a value sits near .5
        assert np.abs(y.numpy().astype(np.int64) - expected.astype(np.int64)).max() <= 1


def one_layer(layer: dict, shape: list, data_format="channels_last", dtype="float32"):
    return netspec.build(
        {
            "netspec": 1,
            "data_format": data_format,
            "input_shape": shape,
            "input_dtype": dtype,
            "layers": [layer],
        }  # fmt: skip
    )


def test_cropping_is_a_view():
    x = torch.randn(2, 5, 6, 3)
    y = one_layer({"type": "Cropping2D", "cropping": [[1, 2], [0, 3]]}, [5, 6, 3])(x)
    assert y.untyped_storage().data_ptr() == x.untyped_storage().data_ptr()
    torch.testing.assert_close(y, x[:, 1:3, 0:3])


def test_cropping_a_variable_axis_to_nothing_fails_in_forward():
    model = one_layer({"type": "Cropping1D", "cropping": [1, 2]}, [None, 3])
    assert model(torch.randn(1, 4, 3)).shape == (1, 1, 3)
    with pytest.raises(ValueError, match="leaves nothing"):
        model(torch.randn(1, 3, 3))


def test_upsampling_bilinear_by_hand():
    # rows [0, 1] upsampled by 2, half-pixel centres: 0, 0.25, 0.75, 1
    model = one_layer({"type": "UpSampling2D", "size": [2, 1], "interpolation": "bilinear"},
                      [2, 1, 1])  # fmt: skip
    y = model(torch.tensor([0.0, 1.0]).reshape(1, 2, 1, 1))
    torch.testing.assert_close(y.flatten(), torch.tensor([0.0, 0.25, 0.75, 1.0]))


def test_nearest_keeps_integers_and_bool():
    x = torch.tensor([[[[True], [False]]]])
    y = one_layer({"type": "UpSampling2D"}, [1, 2, 1], dtype="bool")(x)
    assert y.dtype == torch.bool and y.shape == (1, 2, 4, 1)


# ------------------------------------------------------------------------------ located errors


ERRORS = [
    ("input_shape: [4, 4]\nlayers:\n  - {type: ZeroPadding2D}\n", "layers[0].type", "rank 4"),
    ("input_shape: [4, 4, 2, 1]\nlayers:\n  - {type: Cropping2D}\n", "layers[0].type", "rank 4"),
    ("input_shape: [4]\nlayers:\n  - {type: UpSampling1D}\n", "layers[0].type", "rank 3"),
    (
        "input_shape: [4, 5, 2]\nlayers:\n  - {type: Cropping2D, cropping: [[1, 1], [3, 2]]}\n",
        "layers[0].cropping",
        "leaves nothing of size 5",
    ),
    (
        "input_shape: [3, 2]\nlayers:\n  - {type: Cropping1D, cropping: [2, 1]}\n",
        "layers[0].cropping",
        "leaves nothing of size 3",
    ),
    (
        "input_shape: [3, 2, 2]\nlayers:\n  - {type: ZeroPadding2D, padding: [1, 2, 3]}\n",
        "layers[0].padding",
        "a list of 2",
    ),
    (
        "input_shape: [3, 2]\nlayers:\n  - {type: ZeroPadding1D, padding: -1}\n",
        "layers[0].padding",
        "greater than or equal to 0",
    ),
    (
        "input_shape: [3, 2, 2]\nlayers:\n  - {type: UpSampling2D, size: [2, 2, 2]}\n",
        "layers[0].size",
        "a list of 2",
    ),
    (
        "input_shape: [3, 2, 2]\nlayers:\n  - {type: UpSampling2D, interpolation: lanczos3}\n",
        "layers[0].interpolation",
        "bicubic",
    ),
    (
        "input_shape: [3, 2, 2, 1]\nlayers:\n  - {type: UpSampling3D, size: 0}\n",
        "layers[0].size",
        "greater than 0",
    ),
]


@pytest.mark.parametrize(("body", "path", "message"), ERRORS)
def test_located_errors(body, path, message):
    diagnostics = errors_of("netspec: 1\n" + body)
    assert [d.path for d in diagnostics] == [path], diagnostics
    assert message in diagnostics[0].message, diagnostics[0].message
    assert diagnostics[0].line == 4
