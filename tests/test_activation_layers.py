"""The activation layers beyond their registry examples: defaults that differ from the
activation functions', PReLU's learned and shared alpha, Softmax over several axes, and
located errors."""

from __future__ import annotations

import pytest
import torch

import netspec
from netspec.errors import SpecError
from netspec.loader import from_data


def build(layer: dict, shape: list):
    return netspec.build({"netspec": 1, "input_shape": shape, "layers": [layer]}, seed=0)


def test_leaky_relu_layer_default_slope_is_keras_layer_default():
    x = torch.tensor([[-1.0, 2.0]])
    torch.testing.assert_close(build({"type": "LeakyReLU"}, [2])(x), torch.tensor([[-0.3, 2.0]]))
    act = build({"type": "Activation", "activation": "leaky_relu"}, [2])
    torch.testing.assert_close(act(x), torch.tensor([[-0.2, 2.0]]))


def test_relu_arguments():
    layer = {"type": "ReLU", "max_value": 2.0, "negative_slope": 0.5, "threshold": 1.0}
    x = torch.tensor([[-1.0, 0.5, 1.5, 3.0]])
    # Keras: x above the threshold (clipped at max_value), slope * (x - threshold) below.
    want = torch.tensor([[-1.0, -0.25, 1.5, 2.0]])
    torch.testing.assert_close(build(layer, [4])(x), want)


def test_prelu_learns_a_shared_alpha():
    model = build({"type": "PReLU", "shared_axes": [1, 2], "alpha_initializer": "ones"}, [4, 5, 3])
    module = model.layers["p_re_lu"]
    assert tuple(module.alpha.shape) == (1, 1, 3)
    with torch.no_grad():
        module.alpha.copy_(torch.tensor([0.1, 0.2, 0.3]).view(1, 1, 3))
    x = torch.randn(2, 4, 5, 3)
    y = model(x)
    torch.testing.assert_close(y, torch.where(x >= 0, x, x * module.alpha))
    y.sum().backward()
    torch.testing.assert_close(module.alpha.grad.view(3), x.clamp(max=0).sum(dim=(0, 1, 2)))


def test_softmax_over_several_axes_sums_to_one():
    out = build({"type": "Softmax", "axis": [1, 3]}, [3, 2, 4])(torch.randn(2, 3, 2, 4))
    torch.testing.assert_close(out.sum(dim=(1, 3)), torch.ones(2, 2))


@pytest.mark.parametrize(
    ("layer", "shape", "path", "message"),
    [
        ({"type": "ReLU", "negative_slope": -0.1}, [4], "layers[0].negative_slope", "0"),
        ({"type": "ReLU", "max_value": -1}, [4], "layers[0].max_value", "0"),
        ({"type": "ReLU", "threshold": -1}, [4], "layers[0].threshold", "0"),
        ({"type": "LeakyReLU", "negative_slope": -0.1}, [4], "layers[0].negative_slope", "0"),
        ({"type": "Softmax", "axis": 0}, [4], "layers[0].axis", "batch axis"),
        ({"type": "Softmax", "axis": [1, 3]}, [4, 2], "layers[0].axis", "out of range"),
        ({"type": "PReLU", "shared_axes": [3]}, [4, 2], "layers[0].shared_axes", "out of range"),
        ({"type": "PReLU", "shared_axes": 0}, [4, 2], "layers[0].shared_axes", "1"),
        ({"type": "PReLU"}, [None, 2], "layers[0].type", "one of shared_axes"),
    ],
)
def test_located_errors(layer, shape, path, message):
    with pytest.raises(SpecError) as info:
        from_data({"netspec": 1, "input_shape": shape, "layers": [layer]})
    errors = [(d.path, d.message) for d in info.value.diagnostics]
    assert any(p == path and message in m for p, m in errors), errors
