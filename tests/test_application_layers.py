"""The layers of Keras's applications against Keras: PreprocessInput against each family's
`preprocess_input`, LayerScale's weight and CustomScaleLayer's shape rule, their located
errors; and Normalization's adapt (netspec.adapt and a new training run) against Keras's
`layer.adapt`."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
import torch
from helpers import assert_located
from keras_oracle import copy_weights, keras, keras_model, layer_spec

import netspec
from netspec.loader import from_data
from netspec.training.engine.session import train

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

# keras.applications module -> the mode of its preprocess_input
FAMILIES = {
    "resnet50": "caffe",
    "resnet": "caffe",
    "vgg16": "caffe",
    "vgg19": "caffe",
    "resnet_v2": "tf",
    "mobilenet": "tf",
    "mobilenet_v2": "tf",
    "inception_v3": "tf",
    "inception_resnet_v2": "tf",
    "xception": "tf",
    "nasnet": "tf",
    "densenet": "torch",
}
FORMATS = {"channels_last": [5, 4, 3], "channels_first": [3, 5, 4]}


def images(shape: list[int], n: int = 2) -> np.ndarray:
    return np.random.default_rng(0).uniform(0, 255, size=(n, *shape)).astype(np.float32)


@pytest.mark.parametrize("data_format", list(FORMATS))
@pytest.mark.parametrize("family", list(FAMILIES))
def test_preprocess_input_matches_each_family(family, data_format):
    shape = FORMATS[data_format]
    spec = layer_spec("PreprocessInput", {"mode": FAMILIES[family]}, [shape])
    spec["data_format"] = data_format
    model = netspec.build(from_data(spec))
    x = images(shape)
    function = importlib.import_module(f"keras.applications.{family}").preprocess_input
    want = function(x.copy(), data_format=data_format)
    with torch.no_grad():
        out = model(torch.from_numpy(x)).numpy()
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, want, rtol=1e-6, atol=1e-5)


@pytest.mark.parametrize("family", ["efficientnet", "efficientnet_v2", "convnext", "mobilenet_v3"])
def test_families_without_preprocessing_are_the_identity(family):
    # The reference's table: these families need no PreprocessInput layer.
    x = images([4, 4, 3])
    function = importlib.import_module(f"keras.applications.{family}").preprocess_input
    np.testing.assert_array_equal(function(x.copy()), x)


def test_preprocess_input_casts_integer_images():
    spec = from_data(layer_spec("PreprocessInput", {"mode": "tf"}, [[1, 1, 3]], ["uint8"]))
    out = netspec.build(spec)(torch.tensor([[[[0, 255, 51]]]], dtype=torch.uint8))
    assert out.dtype == torch.float32
    np.testing.assert_allclose(out.numpy().ravel(), [-1.0, 1.0, -0.6], rtol=1e-6)


def test_layer_scale_weight_is_keras_gamma():
    from keras.src.applications.convnext import LayerScale

    layer = LayerScale(0.25, 6)
    layer.build((None, 6))
    args = {"init_values": 0.25, "projection_dim": 6}
    module = netspec.build(from_data(layer_spec("LayerScale", args, [[2, 6]]))).layers["layer"]
    named = [(n, tuple(p.shape), p.requires_grad) for n, p in module.named_parameters()]
    assert named == [("gamma", (6,), True)]
    assert [(tuple(w.shape), w.trainable) for w in layer.weights] == [((6,), True)]
    np.testing.assert_array_equal(module.gamma.detach().numpy(), layer.get_weights()[0])


def test_custom_scale_layer_matches_keras_in_a_residual_block():
    from keras.src.applications.inception_resnet_v2 import CustomScaleLayer

    spec = {
        "netspec": 1,
        "input_shape": [4, 4, 3],
        "layers": [
            {"type": "Conv2D", "name": "up", "filters": 3, "kernel_size": 1},
            {"type": "CustomScaleLayer", "name": "mix", "inputs": ["input", "up"], "scale": 0.17},
        ],
    }
    valid = from_data(spec)
    kmodel = keras_model(valid)
    assert isinstance(kmodel.get_layer("mix"), CustomScaleLayer)
    model = netspec.build(valid).eval()
    copy_weights(kmodel, model)
    x = images([4, 4, 3]) / 255
    with torch.no_grad():
        out = model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(out, keras.ops.convert_to_numpy(kmodel(x)), rtol=1e-5, atol=1e-6)


def _spec(layer: str, shape: str = "[4, 4, 3]") -> str:
    return f"netspec: 1\ninput_shape: {shape}\nlayers:\n  - type: {layer}\n"


TWO_INPUTS = """netspec: 1
inputs:
  a: {shape: [4, 3]}
  b: {shape: [4, 2]}
layers:
  - type: CustomScaleLayer
    inputs: [a, b]
    scale: 0.1
"""


@pytest.mark.parametrize(
    ("text", "path", "needle", "message"),
    [
        (
            _spec("LayerScale\n    init_values: 0.1\n    projection_dim: 4"),
            "layers[0].projection_dim",
            "projection_dim: 4",
            "differs from the input's last axis 3",
        ),
        (TWO_INPUTS, "layers[0].inputs", "inputs: [a, b]", "shapes must be equal"),
        (
            _spec("PreprocessInput", "[4, 4, 4]"),
            "layers[0].mode",
            "type: PreprocessInput",
            "3 (RGB) channels",
        ),
        (
            _spec("PreprocessInput\n    mode: torch\n    data_format: channels_first", "[4, 3]"),
            "layers[0].type",
            "type: PreprocessInput",
            "rank 4",
        ),
        (_spec("PreprocessInput\n    mode: keras"), "layers[0].mode", "mode: keras", "caffe"),
    ],
    ids=["layer-scale-dim", "custom-scale-shapes", "caffe-channels", "rank", "mode"],
)
def test_located_errors(text, path, needle, message):
    assert_located(text, path, needle, message)


# ------------------------------------------------------------------------------- adapt


def keras_adapted(args: dict, data: np.ndarray):
    """A Keras Normalization adapted on `data`: its weights, and its output on `data`."""
    layer = keras.layers.Normalization(**args)
    layer.adapt(data)
    return layer.get_weights(), keras.ops.convert_to_numpy(layer(data))


def assert_weights(module, weights) -> None:
    mean, variance, count = weights
    np.testing.assert_allclose(module.mean.detach().numpy(), mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(module.variance.detach().numpy(), variance, rtol=1e-5, atol=1e-6)
    assert module.count.item() == count == 0  # Keras's adapt leaves count at 0


RESCALE = {"type": "Rescaling", "name": "rescale", "scale": 0.02, "offset": -1.0}


@pytest.mark.parametrize(
    ("args", "shape", "rescale"),
    [
        ({}, [3], False),
        ({"axis": None}, [4, 3], False),
        ({"axis": 1}, [4, 3], False),
        ({"axis": [1, -1]}, [2, 4, 3], False),
        ({"axis": 2, "invert": True}, [2, 4, 3], False),
        ({}, [5], True),
        ({"axis": 1}, [3, 2], True),
    ],
    ids=["last", "none", "axis-1", "two-axes", "middle-invert", "rescaled", "rescaled-axis-1"],
)
def test_adapt_matches_keras(args, shape, rescale):
    x = np.random.default_rng(3).normal(2.0, 3.0, size=(29, *shape)).astype(np.float32)
    layers = [RESCALE] if rescale else []
    layers.append({"type": "Normalization", "name": "norm", **args})
    spec = from_data({"netspec": 1, "input_shape": shape, "layers": layers})
    model = netspec.build(spec)
    assert netspec.adapt(model, spec, x, batch_size=8) == ["norm"]  # uneven batches: 8*3 + 5
    data = x * 0.02 - 1.0 if rescale else x
    weights, want = keras_adapted(args, data)
    assert_weights(model.layers["norm"], weights)
    with torch.no_grad():
        out = model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-5)
    assert netspec.adapt(model, spec, x) == []  # adapted already: left as it is


def test_adapt_later_layers_see_the_adapted_earlier_ones():
    x = np.random.default_rng(4).normal(5.0, 2.0, size=(40, 3)).astype(np.float32)
    given = {"type": "Normalization", "name": "given", "mean": 1.0, "variance": 4.0}
    layers = [given, {"type": "Normalization", "name": "first"}]
    layers.append({"type": "Normalization", "name": "second", "axis": None})
    spec = from_data({"netspec": 1, "input_shape": [3], "layers": layers})
    model = netspec.build(spec)
    assert netspec.adapt(model, spec, x, batch_size=16) == ["first", "second"]
    first, after_first = keras_adapted({}, (x - 1.0) / 2.0)
    second, _ = keras_adapted({"axis": None}, after_first)
    assert_weights(model.layers["first"], first)
    assert_weights(model.layers["second"], second)


TRAINED = """netspec: 1
name: adapted
input_shape: [4]
layers:
  - {type: Rescaling, scale: 0.5, offset: 1.0}
  - {type: Normalization, name: norm}
  - {type: Dense, units: 1}
compile: {optimizer: sgd, loss: mse}
train: {epochs: 1, batch_size: 6, validation_split: 0.25}
"""


@pytest.mark.slow
def test_a_new_training_run_adapts_on_its_training_samples(tmp_path):
    rng = np.random.default_rng(5)
    x = rng.normal(3.0, 2.0, size=(20, 4)).astype(np.float32)
    np.savez(tmp_path / "data.npz", x=x, y=rng.normal(size=(20, 1)).astype(np.float32))
    (tmp_path / "spec.yaml").write_text(TRAINED)
    run, _ = train(
        tmp_path / "spec.yaml", tmp_path / "data.npz", out=tmp_path / "runs", echo=lambda s: None
    )
    weights, _ = keras_adapted({}, x[:15] * 0.5 + 1.0)  # without the validation holdout
    assert_weights(netspec.load_run(run).layers["norm"], weights)
