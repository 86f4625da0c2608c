"""Identity, EinsumDense, Resizing, CenterCrop and the adaptive pooling layers beyond their
registry examples: EinsumDense's shapes for many equations against Keras's, its located errors
and its initializer's einsum fans; Resizing's interpolations, aspect-ratio crop and padding,
antialiasing and integer images, and CenterCrop on images larger and smaller than its window,
against Keras's layers (torch backend) value for value; adaptive pooling of integer inputs;
masks through Identity, refused by EinsumDense."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
import torch
from helpers import assert_located
from keras_oracle import copy_weights, keras_model, keras_predict

import netspec
from netspec.compiler import activation_elements
from netspec.errors import SpecError
from netspec.layers import Context
from netspec.loader import from_data

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def one_layer(layer: dict, shape: list, dtype: str = "float32", data_format=None) -> dict:
    spec = {"netspec": 1, "input_shape": shape, "input_dtype": dtype, "layers": [layer]}
    if data_format is not None:
        spec["data_format"] = data_format
    return spec


def run(spec: dict, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return netspec.build(spec, seed=0).eval()(x)


def keras_run(layer: keras.layers.Layer, x: torch.Tensor) -> np.ndarray:
    return keras.ops.convert_to_numpy(layer(x.numpy()))


def yaml_layer(layer: str, shape: str = "[4, 3]") -> str:
    return f"netspec: 1\ninput_shape: {shape}\nlayers:\n  - type: {layer}\n"


# ---------------------------------------------------------------------------------- EinsumDense

# (equation, output_shape, bias_axes, input shape): Keras's kernel / bias shapes and outputs.
EINSUM_CASES = [
    ("ab,bc->ac", 6, "c", [5]),
    ("abc,cd->abd", [None, 7], "d", [3, 4]),
    ("abc,cd->abd", [3, 7], "bd", [3, 4]),
    ("abc,cde->abde", [None, 2, 3], "e", [4, 5]),
    ("abc,cde->abde", [4, 2, 3], "db", [4, 5]),
    ("abcd,cde->abe", [2, 6], "e", [2, 3, 4]),  # two contracted axes
    ("abc,bd->ad", [5], "d", [3, 4]),  # c summed over
    ("abc,dc->abd", [3, 7], "bd", [3, 4]),  # kernel axes in another order
    ("abc,bc->abc", [3, 4], "c", [3, 4]),  # an input axis kept and in the kernel
    ("ab,b->ab", [4], "b", [4]),
    ("ab,b->a", [], None, [4]),
    ("...b,bc->...c", 5, "c", [4]),
    ("...b,bc->...c", 5, "c", [2, 4]),
    ("...ab,bc->...ac", [3, 5], "ac", [2, 3, 4]),
    ("...ab,bc->...ac", [None, 5], "c", [2, 3, 4]),
    ("ab...,bc->ac...", [5], "c", [4, 2, 3]),
    ("abc...,bcd->ad...", [5], "d", [4, 2, 3]),
    ("abc...,bcd->acd...", [2, 5], "cd", [4, 2]),
]


@pytest.mark.parametrize(("equation", "output_shape", "bias_axes", "shape"), EINSUM_CASES)
def test_einsum_dense_weights_and_outputs_match_keras(equation, output_shape, bias_axes, shape):
    layer = {"type": "EinsumDense", "equation": equation, "output_shape": output_shape}
    if bias_axes:
        layer.update(bias_axes=bias_axes, bias_initializer="random_normal")
    spec = from_data(one_layer(layer, shape))
    kmodel = keras_model(spec)
    klayer = kmodel.get_layer("einsum_dense")
    node = spec.graph.nodes[0]
    weights = node.layer.weights(node.input_shapes, Context())
    assert [w.shape for w in weights] == [tuple(w.shape) for w in klayer.weights]
    assert sum(w.size for w in weights) == klayer.count_params()
    model = netspec.build(spec, seed=0).eval()
    copy_weights(kmodel, model)
    x = torch.randn(3, *shape)
    with torch.no_grad():
        out = model(x).numpy()
    want = keras_predict(kmodel, [x.numpy()])
    np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-5)
    assert len(node.output) + 1 == out.ndim
    assert all(s is None or s == n for s, n in zip(node.output, out.shape[1:], strict=True))


def test_einsum_dense_keeps_the_order_of_a_left_ellipsis():
    """Keras 3.15's static shape reverses the axes of a left `...` (inserting each at 1); its
    einsum keeps them in order, as netspec's static shape does."""
    layer = {"type": "EinsumDense", "equation": "...b,bc->...c", "output_shape": 5}
    spec = from_data(one_layer(layer, [2, 3, 4]))
    assert spec.graph.nodes[0].output == (2, 3, 5)
    assert run(one_layer(layer, [2, 3, 4]), torch.ones(1, 2, 3, 4)).shape == (1, 2, 3, 5)
    kmodel = keras_model(spec)
    assert tuple(kmodel.outputs[0].shape) == (None, 3, 2, 5)  # Keras's static shape
    assert keras_predict(kmodel, [np.ones((1, 2, 3, 4), "float32")]).shape == (1, 2, 3, 5)


def test_einsum_dense_null_output_axis_takes_the_input_size():
    """Keras's static shape leaves a null output axis variable although the input has it; netspec
    gives the forward's size (README, differences), so a Reshape after it is checked."""
    spec = from_data(one_layer({"type": "EinsumDense", "equation": "abc,cd->abd",
                                "output_shape": [None, 6]}, [4, 3]))  # fmt: skip
    assert spec.graph.nodes[0].output == (4, 6)
    assert tuple(keras_model(spec).outputs[0].shape) == (None, None, 6)
    with torch.no_grad():
        assert netspec.build(spec)(torch.zeros(2, 4, 3)).shape == (2, 4, 6)
    reshaped = {"netspec": 1, "input_shape": [1, 1], "layers": [
        {"type": "EinsumDense", "equation": "abc,cd->abd", "output_shape": [None, 5]},
        {"type": "Reshape", "target_shape": [3, 4]}]}  # fmt: skip
    with pytest.raises(SpecError, match="layers\\[1\\]"):
        from_data(reshaped)


@pytest.mark.parametrize(
    ("initializer", "fans"),
    [("glorot_uniform", (64, 48)), ("he_uniform", (64, 48)), ("lecun_uniform", (64, 48))],
)
def test_einsum_kernel_initializer_uses_the_einsum_fans(initializer, fans):
    """Keras 3.15 gives VarianceScaling initializers the kernel's input axes (c) and output
    axes (d, e) of 'abc,cde->abde': fans (64, 48), not compute_fans's (6 * 64, 6 * 8)."""
    layer = {"type": "EinsumDense", "equation": "abc,cde->abde", "output_shape": [2, 6, 8],
             "kernel_initializer": initializer}  # fmt: skip
    spec = one_layer(layer, [2, 64])
    kernel = netspec.build(spec, seed=0).layers["einsum_dense"].kernel.detach()
    assert kernel.shape == (64, 6, 8)
    fan_in, fan_out = fans
    scale = {"glorot_uniform": 2 / (fan_in + fan_out), "he_uniform": 2 / fan_in}.get(
        initializer, 1 / fan_in
    )
    limit = math.sqrt(3 * scale)
    assert kernel.abs().max() <= limit
    assert kernel.abs().max() > 0.98 * limit
    klayer = keras.layers.EinsumDense("abc,cde->abde", (2, 6, 8), kernel_initializer=initializer)
    klayer.build((None, 2, 64))
    kmax = np.abs(keras.ops.convert_to_numpy(klayer.kernel)).max()
    assert 0.98 * limit < kmax <= limit


EINSUM_ERRORS = [
    ("ab,bc->ac,d", 4, None, "[3]", "equation", "invalid einsum equation"),
    ("a...,ab->b...", 4, None, "[3]", "equation", "invalid einsum equation"),
    ("ab,bc->ac...", 4, None, "[3]", "equation", "invalid einsum equation"),
    ("aab,bc->ac", 4, None, "[3, 3]", "equation", "names an axis twice"),
    ("ab,bc->acd", [4, 2], None, "[3]", "equation", "output axis 'd'"),
    ("ab,bcd->ac", 4, None, "[3]", "equation", "kernel axis 'd'"),
    ("ab,bc->ac", 4, "d", "[3]", "bias_axes", "bias axis 'd' is not in the output"),
    ("ab,bc->ac", 4, None, "[3, 2]", "equation", "names 2 axes"),
    ("...abc,cd->...abd", 4, None, "[3]", "equation", "more than the input"),
    ("abc,cd->bd", [4], None, "[3, 2]", "equation", "'a' is the batch axis"),
    ("ab,ab->ab", [3], None, "[3]", "equation", "'a' is the batch axis"),
    ("abc,cd->abd", [4], None, "[3, 2]", "output_shape", "output_shape has 1 entries"),
    ("abc,cd->abd", [3, 4, 5], None, "[3, 2]", "output_shape", "needs 2"),
    ("...b,bc->...c", [4, 5], None, "[2]", "output_shape", "without the ellipsis's axes"),
    ("abc,cd->abd", [7, 4], None, "[3, 2]", "output_shape", "gives 7 for axis 'b'"),
    ("abc,cd->abd", [7, 4], None, "[null, 2]", "output_shape", "has as None"),
    ("abc,cd->abd", [3, None], None, "[3, 2]", "output_shape", "kernel's axis 'd'"),
    ("ab,bc->ac", 4, None, "[null]", "type", "kernel's axis 'b'"),  # variable contracted axis
    ("ab,bc->ac", 4, "a", "[3]", "bias_axes", "bias axis 'a' has no known size"),
    ("abc,cd->abd", [None, 4], "bd", "[3, 2]", "bias_axes", "bias axis 'b'"),
]


@pytest.mark.parametrize(
    ("equation", "output_shape", "bias_axes", "shape", "field", "message"), EINSUM_ERRORS
)
def test_einsum_dense_located_errors(equation, output_shape, bias_axes, shape, field, message):
    text = yaml_layer("EinsumDense", shape) + f"    equation: '{equation}'\n"
    text += f"    output_shape: {output_shape}\n".replace("None", "null")
    if bias_axes:
        text += f"    bias_axes: {bias_axes}\n"
    needle = "type: EinsumDense" if field == "type" else f"{field}:"
    assert_located(text, f"layers[0].{field}", needle, message)


def test_einsum_dense_refuses_a_mask_identity_carries_it():
    """Keras's EinsumDense does not support masking (it would drop the mask): a located error."""
    text = """\
netspec: 1
input_shape: [6]
input_dtype: int64
layers:
  - {type: Embedding, input_dim: 5, output_dim: 4, mask_zero: true}
  - {type: Identity}
  - {type: EinsumDense, equation: "abc,cd->abd", output_shape: [null, 3]}
"""
    assert_located(text, "layers[2]", "EinsumDense", "reaches EinsumDense")


# -------------------------------------------------------------------------------------- Identity


def test_identity_carries_the_mask_to_an_lstm_as_keras():
    embed = {"type": "Embedding", "input_dim": 9, "output_dim": 4, "mask_zero": True}
    spec = from_data(
        {
            "netspec": 1,
            "input_shape": [7],
            "input_dtype": "int64",
            "layers": [embed, {"type": "Identity"}, {"type": "LSTM", "units": 3}],
        }
    )
    kmodel = keras_model(spec)
    model = netspec.build(spec, seed=0).eval()
    copy_weights(kmodel, model)
    x = torch.tensor([[1, 2, 3, 0, 0, 0, 0], [4, 0, 5, 6, 0, 1, 0]])
    with torch.no_grad():
        out = model(x).numpy()
    np.testing.assert_allclose(out, keras_predict(kmodel, [x.numpy()]), rtol=1e-5, atol=1e-6)


def test_identity_returns_its_input_itself():
    x = torch.randint(0, 9, (2, 3, 4), dtype=torch.int32)
    with torch.no_grad():
        assert netspec.build(one_layer({"type": "Identity"}, [3, 4], "int32"))(x) is x


# -------------------------------------------------------------------------------------- Resizing

RESIZE_CASES = [
    {"interpolation": "bilinear"},
    {"interpolation": "nearest"},
    {"interpolation": "bicubic"},
    {"interpolation": "bilinear", "antialias": True},
    {"interpolation": "bicubic", "antialias": True},
    {"interpolation": "nearest", "antialias": True},  # ignored, as Keras
    {"crop_to_aspect_ratio": True},
    {"crop_to_aspect_ratio": True, "interpolation": "nearest"},
    {"pad_to_aspect_ratio": True, "fill_value": 0.25},
    {"pad_to_aspect_ratio": True, "interpolation": "bicubic"},
]
RESIZE_SIZES = [((9, 6), (4, 5)), ((3, 4), (8, 7)), ((5, 11), (5, 2)), ((7, 7), (3, 10))]


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("dtype", ["float32", "uint8", "int32"])
@pytest.mark.parametrize(
    "args", RESIZE_CASES, ids=lambda a: ",".join(f"{k}={v}" for k, v in a.items())
)  # noqa: E501
def test_resizing_matches_keras(args, dtype, data_format):
    gen = torch.Generator().manual_seed(0)
    for (h, w), (height, width) in RESIZE_SIZES:
        image = (h, w, 2) if data_format == "channels_last" else (2, h, w)
        x = torch.randint(0, 256, (2, *image), generator=gen)
        x = (
            x.to(torch.uint8 if dtype == "uint8" else torch.int32)
            if dtype != "float32"
            else x / 255
        )
        layer = {"type": "Resizing", "height": height, "width": width, **args}
        out = run(one_layer(layer, [None, None, None], dtype, data_format), x)
        klayer = keras.layers.Resizing(height, width, data_format=data_format, **args)
        want = keras_run(klayer, x)
        assert out.dtype == x.dtype
        np.testing.assert_allclose(out.numpy(), want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ("    height: 2\n    width: 2\n    crop_to_aspect_ratio: true\n"
         "    pad_to_aspect_ratio: true\n", "pad_to_aspect_ratio", "only one of"),
        ("    height: 2\n    width: 2\n    interpolation: lanczos3\n", "interpolation", "bilinear"),
        ("    height: 2\n    width: 2\n    fill_mode: reflect\n", "fill_mode", "constant"),
        ("    height: 0\n    width: 2\n", "height", "greater than 0"),
    ],
)  # fmt: skip
def test_resizing_located_errors(body, field, message):
    text = yaml_layer("Resizing", "[4, 4, 3]") + body
    assert_located(text, f"layers[0].{field}", f"{field}:", message)


@pytest.mark.parametrize("kind", ["Resizing", "CenterCrop"])
def test_image_layers_need_rank_4(kind):
    text = yaml_layer(kind, "[4, 3]") + "    height: 2\n    width: 2\n"
    assert_located(text, "layers[0].type", f"type: {kind}", "rank 4")


# ------------------------------------------------------------------------------------ CenterCrop


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("dtype", ["float32", "uint8"])
def test_center_crop_matches_keras_on_larger_and_smaller_images(dtype, data_format):
    """One spec with variable sizes: each call crops or (smaller on an axis) smart-resizes as
    Keras decides per call; the output is float32 (Keras casts the images)."""
    height, width = 4, 5
    layer = {"type": "CenterCrop", "height": height, "width": width}
    spec = one_layer(layer, [None, None, None], dtype, data_format)
    model = netspec.build(spec, seed=0).eval()
    klayer = keras.layers.CenterCrop(height, width, data_format=data_format)
    gen = torch.Generator().manual_seed(0)
    for h, w in [(4, 5), (9, 8), (6, 11), (3, 7), (8, 2), (2, 3), (1, 1)]:
        image = (h, w, 3) if data_format == "channels_last" else (3, h, w)
        x = torch.randint(0, 256, (2, *image), generator=gen)
        x = x.to(torch.uint8) if dtype == "uint8" else x / 255
        with torch.no_grad():
            out = model(x)
        assert out.dtype == torch.float32
        np.testing.assert_allclose(out.numpy(), keras_run(klayer, x), rtol=1e-5, atol=1e-5)


def test_center_crop_of_a_larger_image_is_a_view():
    x = torch.randn(2, 6, 7, 3)
    out = run(one_layer({"type": "CenterCrop", "height": 3, "width": 3}, [6, 7, 3]), x)
    assert out.data_ptr() == x[:, 1:, 2:].data_ptr()
    torch.testing.assert_close(out, x[:, 1:4, 2:5])


# ------------------------------------------------------------------------------ Adaptive pooling


@pytest.mark.parametrize("rank", [1, 2, 3])
@pytest.mark.parametrize("mode", ["Average", "Max"])
def test_adaptive_pooling_of_integers_is_float32_pooling(mode, rank):
    """Keras's torch backend refuses integer inputs; netspec pools them as float32."""
    shape = [5, 4, 6][:rank] + [2]
    layer = {"type": f"Adaptive{mode}Pooling{rank}D", "output_size": 3}
    x = torch.randint(0, 50, (2, *shape), dtype=torch.int32)
    out = run(one_layer(layer, shape, "int32"), x)
    klayer = getattr(keras.layers, layer["type"])(3)
    assert out.dtype == torch.float32
    np.testing.assert_allclose(out.numpy(), keras_run(klayer, x.float()), rtol=1e-6)


@pytest.mark.parametrize(
    ("kind", "size", "shape", "path", "message"),
    [
        ("AdaptiveMaxPooling2D", "[2, 2, 2]", "[4, 4, 3]", "output_size", "at most 2 items"),
        ("AdaptiveAveragePooling1D", "[2, 2]", "[4, 3]", "output_size", "at most 1 item"),
        ("AdaptiveAveragePooling3D", "0", "[4, 4, 4, 3]", "output_size", "greater than 0"),
        ("AdaptiveMaxPooling3D", "2", "[4, 4, 3]", "type", "rank 5"),
    ],
)
def test_adaptive_pooling_located_errors(kind, size, shape, path, message):
    text = yaml_layer(kind, shape) + f"    output_size: {size}\n"
    needle = f"type: {kind}" if path == "type" else "output_size:"
    assert_located(text, f"layers[0].{path}", needle, message)


def test_einsum_dense_computes_integer_inputs_as_float32():
    """Keras's einsum refuses an int input with a float kernel; netspec casts it, as Dense."""
    layer = {"type": "EinsumDense", "equation": "abc,cd->abd", "output_shape": [None, 3]}
    x = torch.randint(0, 9, (2, 4, 5))
    out = run(one_layer(layer, [4, 5], "int64"), x)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, run(one_layer(layer, [4, 5]), x.float()))


def test_resizing_counts_its_padded_copy_in_the_memory_estimate():
    """A 1 x 8 image resized to 8 x 1 with pad_to_aspect_ratio is first padded to 63 x 8."""
    base = {"type": "Resizing", "height": 8, "width": 1}
    plain, _ = activation_elements(from_data(one_layer(base, [1, 8, 2])).graph)
    layer = {**base, "pad_to_aspect_ratio": True}
    padded, _ = activation_elements(from_data(one_layer(layer, [1, 8, 2])).graph)
    assert padded - plain == 63 * 8 * 2
