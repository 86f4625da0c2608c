"""Noise layers in training mode (the registry's parity tests only see inference, where they
are the identity): statistics against Keras's formulas, mask shapes, seeded reproducibility;
and their located errors."""

from __future__ import annotations

import math

import pytest
import torch

import netspec
from netspec.errors import SpecError
from netspec.loader import from_data


def build(layer: dict, shape: list, data_format: str = "channels_last"):
    spec = {"netspec": 1, "input_shape": shape, "data_format": data_format, "layers": [layer]}
    return netspec.build(spec, seed=0)


@pytest.mark.parametrize(
    "layer",
    [
        {"type": "GaussianNoise", "stddev": 0.5},
        {"type": "GaussianDropout", "rate": 0.3},
        {"type": "AlphaDropout", "rate": 0.3},
        {"type": "SpatialDropout1D", "rate": 0.3},
    ],
)
def test_identity_at_inference(layer):
    model = build(layer, [20, 10]).eval()
    x = torch.randn(4, 20, 10)
    assert torch.equal(model(x), x)


def test_gaussian_noise_statistics():
    x = torch.randn(50, 2000)
    noise = build({"type": "GaussianNoise", "stddev": 0.3}, [2000]).train()(x) - x
    assert abs(noise.mean().item()) < 0.01
    assert noise.std().item() == pytest.approx(0.3, rel=0.02)


def test_gaussian_dropout_statistics():
    rate = 0.4
    x = torch.rand(50, 2000) + 1
    factor = build({"type": "GaussianDropout", "rate": rate}, [2000]).train()(x) / x
    assert factor.mean().item() == pytest.approx(1.0, abs=0.01)
    assert factor.std().item() == pytest.approx(math.sqrt(rate / (1 - rate)), rel=0.02)


def test_alpha_dropout_keeps_selu_statistics():
    rate = 0.2
    x = torch.randn(100, 2000)  # zero mean, unit variance: what SELU keeps
    y = build({"type": "AlphaDropout", "rate": rate}, [2000]).train()(x)
    assert y.mean().item() == pytest.approx(0.0, abs=0.02)
    assert y.var().item() == pytest.approx(1.0, abs=0.03)
    alpha_p = -1.6732632423543772 * 1.0507009873554805
    a = ((1 - rate) * (1 + rate * alpha_p**2)) ** -0.5
    b = -a * alpha_p * rate
    dropped = torch.isclose(y, torch.tensor(a * alpha_p + b))
    assert dropped.float().mean().item() == pytest.approx(rate, abs=0.01)
    torch.testing.assert_close(y[~dropped], a * x[~dropped] + b)


def test_alpha_dropout_noise_shape_is_broadcast():
    layer = {"type": "AlphaDropout", "rate": 0.5, "noise_shape": [None, 1, None], "seed": 1}
    x = torch.zeros(4, 6, 30)  # zero input: a kept value is b, a dropped one a * alpha_p + b
    y = build(layer, [6, 30]).train()(x)
    assert (y == y[:, :1]).all()
    assert len(y.unique()) == 2


@pytest.mark.parametrize(
    ("layer_type", "shape", "data_format", "mask_axes"),
    [
        ("SpatialDropout1D", [7, 40], "channels_last", (0, 2)),
        ("SpatialDropout1D", [7, 40], "channels_first", (0, 2)),  # Keras's 1D: always last
        ("SpatialDropout2D", [5, 6, 40], "channels_last", (0, 3)),
        ("SpatialDropout2D", [40, 5, 6], "channels_first", (0, 1)),
        ("SpatialDropout3D", [3, 2, 4, 40], "channels_last", (0, 4)),
        ("SpatialDropout3D", [40, 3, 2, 4], "channels_first", (0, 1)),
    ],
)
def test_spatial_dropout_drops_whole_feature_maps(layer_type, shape, data_format, mask_axes):
    rate = 0.5
    model = build({"type": layer_type, "rate": rate}, shape, data_format).train()
    x = torch.rand(8, *shape) + 1
    y = model(x)
    kept = y != 0
    # The mask is constant along every axis but the batch and the channels.
    for axis in range(1, x.ndim):
        if axis not in mask_axes:
            assert (kept == kept.narrow(axis, 0, 1)).all(), axis
    torch.testing.assert_close(y[kept], x[kept] / (1 - rate))
    assert 0.3 < kept.float().mean().item() < 0.7


@pytest.mark.parametrize(
    "layer",
    [
        {"type": "GaussianNoise", "stddev": 0.5, "seed": 4},
        {"type": "GaussianDropout", "rate": 0.5, "seed": 4},
        {"type": "AlphaDropout", "rate": 0.5, "seed": 4},
        {"type": "SpatialDropout2D", "rate": 0.5, "seed": 4},
    ],
)
def test_seeded_noise_is_reproducible(layer):
    x = torch.rand(3, 4, 5, 6)
    first, second = (build(layer, [4, 5, 6]).train() for _ in range(2))
    a = first(x)
    torch.testing.assert_close(a, second(x))  # same seed, same noise
    assert not torch.equal(a, first(x))  # the stream moves on
    assert not torch.equal(a, x)


def test_integer_inputs_become_float32():
    layers = [{"type": "GaussianNoise", "stddev": 0.1}]
    spec = {"netspec": 1, "input_shape": [3], "input_dtype": "int32", "layers": layers}
    model = netspec.build(spec, seed=0)
    x = torch.tensor([[1, 2, 3]], dtype=torch.int32)
    assert model.eval()(x).dtype == torch.float32
    assert model.train()(x).dtype == torch.float32


@pytest.mark.parametrize(
    ("layer", "shape", "path", "message"),
    [
        ({"type": "SpatialDropout1D", "rate": 0.5}, [4], "layers[0].type", "rank 3"),
        ({"type": "SpatialDropout2D", "rate": 0.5}, [4, 4], "layers[0].type", "rank 4"),
        ({"type": "SpatialDropout3D", "rate": 0.5}, [4, 4, 4], "layers[0].type", "rank 5"),
        ({"type": "SpatialDropout2D", "rate": 1.0}, [4, 4, 4], "layers[0].rate", "less than 1"),
        ({"type": "GaussianNoise", "stddev": 1.5}, [4], "layers[0].stddev", "1"),
        ({"type": "GaussianDropout", "rate": 1}, [4], "layers[0].rate", "less than 1"),
        (
            {"type": "AlphaDropout", "rate": 0.1, "noise_shape": [None, 3]},
            [4],
            "layers[0].noise_shape",
            "must be null, 1 or",
        ),
        ({"type": "AlphaDropout", "rate": 0.1, "seed": -1}, [4], "layers[0].seed", "0"),
    ],
)
def test_located_errors(layer, shape, path, message):
    with pytest.raises(SpecError) as info:
        from_data({"netspec": 1, "input_shape": shape, "layers": [layer]})
    errors = [(d.path, d.message) for d in info.value.diagnostics]
    assert len(errors) == 1 and errors[0][0] == path and message in errors[0][1], errors
