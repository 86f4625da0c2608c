"""Convolution layers: sweeps of Keras's `same`, `causal` and transposed-window rules against Keras
(odd paddings, strides, dilations, output_padding, variable sizes, both data formats), no copies
around the torch kernels in channels_last, located errors, and a small conv net equal to Keras
end to end (values, penalties, constraints)."""

from __future__ import annotations

import itertools

import keras
import numpy as np
import pytest
import torch
from helpers import errors_of
from keras_oracle import copy_weights, keras_model, keras_predict
from torch.profiler import profile

import netspec
from netspec.loader import from_data
from netspec.torch.weights import load_keras_weights

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def one_layer(layer: dict, shape: list, data_format: str = "channels_last") -> dict:
    return {"netspec": 1, "data_format": data_format, "input_shape": shape, "layers": [layer]}


def check_against_keras(layer: dict, shape: list, data_format: str, sizes) -> None:
    """Static shape and values of a one-layer spec equal Keras's layer of the same arguments,
    for the spec's shape where known and each of `sizes` given to its variable axes."""
    spec = from_data(one_layer({**layer, "name": "layer"}, shape, data_format))
    static = spec.graph.nodes[0].output
    args = {k: v for k, v in layer.items() if k != "type"}
    klayer = getattr(keras.layers, layer["type"])(data_format=data_format, **args)
    assert tuple(klayer.compute_output_shape((None, *shape))) == (None, *static)
    model = netspec.build(spec, seed=0).eval()
    for size in sizes:
        x = np.random.default_rng(size).standard_normal((2, *(d or size for d in shape)))
        x = x.astype("float32")
        want = keras.ops.convert_to_numpy(klayer(x))
        load_keras_weights(model, {"layer": klayer.get_weights()})
        with torch.no_grad():
            got = model(torch.from_numpy(x)).numpy()
        assert got.shape == want.shape, (layer, shape, got.shape, want.shape)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5, err_msg=str(layer))


PADDINGS = ("valid", "same", "causal")
CONV1D = [
    (p, k, s, d)
    for p, k, s, d in itertools.product(PADDINGS, (1, 2, 3, 4), (1, 2, 3), (1, 2))
    if s == 1 or d == 1
]
TRANSPOSE = [
    (p, k, s, d, op)
    for p, k, s, d in itertools.product(PADDINGS[:2], (1, 2, 3, 4), (1, 2, 3), (1, 2))
    if s == 1 or d == 1
    for op in (None, *range(s))
]
FORMATS = ("channels_last", "channels_first")


@pytest.fixture
def one_thread():
    """Hundreds of tiny convolutions: on this project's 2 shared cores, torch's thread pool makes
    each take ~20 ms; one thread, microseconds."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_conv1d_windows_match_keras(one_thread):
    """Every padding, odd and even kernels, strides, dilations; a variable length takes one
    size per residue modulo the stride (Keras's `same` padding depends on it)."""
    for i, (padding, k, s, d) in enumerate(CONV1D):
        layer = {"type": "Conv1D", "filters": 2, "kernel_size": k, "strides": s,
                 "dilation_rate": d, "padding": padding}  # fmt: skip
        shape, sizes = ([(k - 1) * d + 2], [0]) if padding == "valid" else ([None], [5, 6, 7][:s])
        fmt = FORMATS[i % 2]
        shape = [*shape, 3] if fmt == "channels_last" else [3, *shape]
        check_against_keras(layer, shape, fmt, sizes)


@pytest.mark.slow  # hundreds of Keras layers
def test_conv1d_transpose_windows_match_keras(one_thread):
    """Every padding, kernel, stride, dilation and output_padding Keras accepts."""
    for i, (padding, k, s, d, op) in enumerate(TRANSPOSE):
        layer = {"type": "Conv1DTranspose", "filters": 2, "kernel_size": k, "strides": s,
                 "dilation_rate": d, "padding": padding, "output_padding": op}  # fmt: skip
        fmt = FORMATS[i % 2]
        check_against_keras(layer, [3, 2] if fmt == "channels_last" else [2, 3], fmt, [0])


UNEVEN = [
    ("Conv2D", dict(filters=3, kernel_size=[3, 4], strides=[2, 3]), [9, 10, 2]),
    ("Conv2D", dict(filters=2, kernel_size=[2, 5], dilation_rate=[3, 1]), [None, 8, 2]),
    ("Conv2D", dict(filters=2, kernel_size=3, strides=2), [None, None, 2]),
    ("Conv3D", dict(filters=2, kernel_size=[2, 3, 1], strides=[2, 1, 3]), [5, 4, None, 1]),
    ("DepthwiseConv2D", dict(kernel_size=4, strides=3, depth_multiplier=2), [None, 7, 2]),
    ("SeparableConv2D", dict(filters=3, kernel_size=[2, 3], strides=2), [6, None, 2]),
    ("Conv2DTranspose", dict(filters=2, kernel_size=[3, 4], strides=[2, 3]), [None, 3, 2]),
    ("Conv3DTranspose", dict(filters=2, kernel_size=3, strides=[1, 2, 3]), [2, 3, None, 1]),
]


@pytest.mark.parametrize(("kind", "args", "shape"), UNEVEN, ids=[u[0] for u in UNEVEN])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_uneven_same_padding_in_several_dimensions(kind, args, shape, data_format, one_thread):
    layer = {"type": kind, **args, "padding": "same"}
    if data_format == "channels_first":
        shape = [shape[-1], *shape[:-1]]
    check_against_keras(layer, shape, data_format, [5, 6])


# ----------------------------------------------------------------- layouts and memory formats

LAYOUT_CASES = [
    ({"type": "Conv1D", "filters": 6, "kernel_size": 3, "padding": "causal"}, [9, 4]),
    ({"type": "Conv2D", "filters": 6, "kernel_size": 3, "padding": "same"}, [8, 8, 4]),
    ({"type": "Conv3D", "filters": 6, "kernel_size": 3}, [5, 5, 5, 4]),
    ({"type": "DepthwiseConv1D", "kernel_size": 3, "depth_multiplier": 2}, [9, 4]),
    ({"type": "DepthwiseConv2D", "kernel_size": 3, "depth_multiplier": 2}, [8, 8, 4]),
    ({"type": "SeparableConv1D", "filters": 5, "kernel_size": 3}, [9, 4]),
    ({"type": "SeparableConv2D", "filters": 5, "kernel_size": 3, "padding": "same"}, [8, 8, 4]),
    ({"type": "Conv1DTranspose", "filters": 6, "kernel_size": 3, "strides": 2}, [9, 4]),
    ({"type": "Conv2DTranspose", "filters": 6, "kernel_size": 3, "strides": 2}, [8, 8, 4]),
    ({"type": "Conv3DTranspose", "filters": 6, "kernel_size": 2, "strides": 2}, [3, 3, 3, 4]),
]
COPIES = {"aten::copy_", "aten::contiguous", "aten::clone", "aten::pad", "aten::constant_pad_nd"}


def _in_kernel(event) -> bool:
    """Whether a profiled op runs inside torch's convolution (with one thread torch picks a
    depthwise kernel that copies its input itself: torch's choice, not the module's)."""
    parent = event.cpu_parent
    while parent is not None:
        if parent.name == "aten::_convolution":
            return True
        parent = parent.cpu_parent
    return False


@pytest.mark.parametrize(("layer", "shape"), LAYOUT_CASES, ids=[c[0]["type"] for c in LAYOUT_CASES])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_no_copies_around_the_torch_kernels(layer, shape, data_format):
    """channels_last inputs reach torch's kernels as channels-first views in channels_last
    memory format, kernels are stored as torch wants them: no copy of the input, the output or
    a kernel; the output comes back contiguous in the spec's layout."""
    if layer.get("padding") == "causal" and data_format == "channels_first":
        layer = {**layer, "padding": "valid"}  # causal pads explicitly, as Keras does
    if data_format == "channels_first":
        shape = [shape[-1], *shape[:-1]]
    model = netspec.build(one_layer(layer, shape, data_format), seed=0).eval()
    x = torch.randn(2, *shape)
    with torch.no_grad(), profile() as prof:
        y = model(x)
    copies = {e.name for e in prof.events() if e.name in COPIES and not _in_kernel(e)}
    if layer.get("padding") == "causal":
        copies -= {"aten::pad", "aten::constant_pad_nd", "aten::copy_"}  # the causal zeros
    if "Transpose" in layer["type"] and data_format == "channels_first":
        # torch's CPU deconvolution computes channels_last and copies its output to NCHW itself
        # (nn.ConvTranspose2d does the same); the module adds nothing to it
        copies -= {"aten::copy_", "aten::contiguous", "aten::clone"}
    assert not copies, copies
    assert y.is_contiguous()


def test_symmetric_same_padding_is_torchs_and_uneven_padding_is_explicit():
    def module(layer, shape):
        return netspec.build(one_layer(layer, shape), seed=0).layers["conv2d"]

    conv = {"type": "Conv2D", "filters": 2, "padding": "same"}
    symmetric = module({**conv, "kernel_size": 3}, [8, 8, 1])
    assert symmetric.padding == (1, 1) and symmetric.pads is None
    uneven = module({**conv, "kernel_size": [3, 4], "strides": 2}, [8, 9, 1])
    # rows: total (4 - 1) * 2 + 3 - 8 = 1, all at the end; cols: (5 - 1) * 2 + 4 - 9 = 3: 1, 2
    assert uneven.padding == (0, 1) and uneven.pads == (0, 1, 0, 1)
    dynamic = module({**conv, "kernel_size": 3, "strides": 2}, [None, 8, 1])
    assert dynamic.windows is not None  # decided by the size of each call


# ------------------------------------------------------------------------------ located errors


ERRORS = [
    ("[28, 28]", "{type: Conv2D, filters: 2, kernel_size: 3}", "type", "rank 4"),
    ("[8, 8, null]", "{type: Conv2D, filters: 2, kernel_size: 3}", "type", "channels axis"),
    ("[4, 9, 3]", "{type: Conv2D, filters: 2, kernel_size: 5}", "kernel_size", "larger than"),
    ("[9, 3]", "{type: Conv1D, filters: 2, kernel_size: 4, dilation_rate: 3}", "kernel_size",
     "10 wide"),
    ("[9, 9, 3]", "{type: Conv2D, filters: 4, kernel_size: 3, groups: 2}", "groups",
     "input's 3 channels"),
    ("[9, 9, 4]", "{type: Conv2D, filters: 3, kernel_size: 3, groups: 2}", "groups",
     "divide filters"),
    ("[9, 9, 4]", "{type: Conv2D, filters: 3, kernel_size: [3, 3, 3]}", "kernel_size",
     "list of 2"),
    ("[9, 9, 4]", "{type: SeparableConv2D, filters: 3, kernel_size: 3, strides: [1, 0]}",
     "strides", ">= 1"),
    ("[9, 9, 4]", "{type: Conv2D, filters: 3, kernel_size: 3, strides: 2, dilation_rate: 2}",
     "dilation_rate", "incompatible"),
    ("[9, 9, 4]", "{type: Conv2D, filters: 3, kernel_size: 3, padding: causal}", "padding",
     "valid"),
    ("[9, 4]", "{type: Conv1DTranspose, filters: 3, kernel_size: 3, strides: 2, "
     "output_padding: 2}", "output_padding", "smaller than strides"),
    ("[1, 4]", "{type: Conv1DTranspose, filters: 3, kernel_size: 2, padding: same, "
     "output_padding: 0}", "output_padding", "empty"),
    ("[9, 9, 4]", "{type: DepthwiseConv2D, kernel_size: 3, kernel_initializer: ones}",
     "kernel_initializer", "depthwise_initializer"),
    ("[9, 9, 4]", "{type: Conv2D, filters: 0, kernel_size: 3}", "filters", "greater than 0"),
]  # fmt: skip


@pytest.mark.parametrize(("shape", "layer", "key", "message"), ERRORS)
def test_located_errors(shape, layer, key, message):
    text = f"netspec: 1\ninput_shape: {shape}\nlayers:\n  - {layer}\n"
    (d,) = errors_of(text)
    assert d.path == f"layers[0].{key}", d
    assert message in d.message, d.message
    assert (d.file, d.line) == ("spec.yaml", 4)
    before, at = text.splitlines()[3][: d.col - 1], text.splitlines()[3][d.col - 1 :]
    assert before.endswith(f"{key}: ") or at.startswith(f"{key}:"), (before, at)


def test_channels_first_layer_in_a_channels_last_spec():
    spec = one_layer({"type": "Conv2D", "filters": 5, "kernel_size": 3,
                      "data_format": "channels_first"}, [2, 7, 6])  # fmt: skip
    assert from_data(spec).graph.nodes[0].output == (5, 5, 4)
    assert netspec.build(spec)(torch.randn(3, 2, 7, 6)).shape == (3, 5, 5, 4)


# -------------------------------------------------------------------- a conv net, end to end

CONV_NET = [
    {"type": "Conv2D", "filters": 8, "kernel_size": 3, "padding": "same", "activation": "relu",
     "kernel_regularizer": {"type": "L2", "l2": 0.01}, "bias_regularizer": "l1"},
    {"type": "DepthwiseConv2D", "kernel_size": 3, "strides": 2, "padding": "same",
     "depthwise_constraint": {"type": "MaxNorm", "max_value": 0.5}},
    {"type": "SeparableConv2D", "filters": 6, "kernel_size": 3, "depth_multiplier": 2,
     "activation": "tanh", "pointwise_regularizer": "l2"},
    {"type": "Conv2DTranspose", "filters": 4, "kernel_size": 3, "strides": 2, "padding": "same",
     "kernel_constraint": {"type": "UnitNorm", "axis": [0, 1, 2]}},
    {"type": "Conv2D", "filters": 4, "kernel_size": 2, "strides": 2, "groups": 2,
     "activity_regularizer": "l2"},
    {"type": "Flatten"},
    {"type": "Dense", "units": 5, "activation": "softmax"},
]  # fmt: skip


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_conv_net_equals_keras(data_format, one_thread):
    shape = [13, 11, 3] if data_format == "channels_last" else [3, 13, 11]
    spec = from_data({"netspec": 1, "data_format": data_format, "input_shape": shape,
                      "layers": CONV_NET})  # fmt: skip
    kmodel = keras_model(spec)
    model = netspec.build(spec, seed=0)
    copy_weights(kmodel, model)
    x = np.random.default_rng(0).standard_normal((4, *shape)).astype("float32")
    y = model(torch.from_numpy(x))
    np.testing.assert_allclose(y.detach().numpy(), keras_predict(kmodel, [x]), atol=1e-6)
    keras_losses = sum(float(loss.detach()) for loss in kmodel.losses)
    assert model.losses().item() == pytest.approx(keras_losses, rel=1e-5)
    (y[:, 0].sum() + model.losses()).backward()
    assert all(p.grad is not None for p in model.parameters())

    with torch.no_grad():  # constraints project the Keras-layout kernels as Keras does
        for p in model.parameters():
            p.mul_(3.0)
    model.apply_constraints()
    for name in ("depthwise_conv2d", "conv2d_transpose"):
        klayer = kmodel.get_layer(name)
        kernel = klayer.weights[0]
        kernel.assign(kernel * 3.0)
        want = keras.ops.convert_to_numpy(klayer.kernel.constraint(kernel))
        info = model.layers[name].keras_weights["kernel"]
        got = info.keras_view(model.layers[name].kernel).detach().numpy()
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_channels_last_and_channels_first_nets_agree(one_thread):
    last = netspec.build({"netspec": 1, "input_shape": [13, 11, 3], "layers": CONV_NET}, seed=0)
    first = netspec.build({"netspec": 1, "data_format": "channels_first",
                           "input_shape": [3, 13, 11], "layers": CONV_NET}, seed=0)  # fmt: skip
    first.load_state_dict(last.state_dict())  # same Keras weights, stored alike in both
    x = torch.randn(2, 13, 11, 3)
    torch.testing.assert_close(first(x.permute(0, 3, 1, 2)), last(x))


@pytest.mark.parametrize(
    ("alias", "name"),
    [("Convolution1D", "Conv1D"), ("Convolution2D", "Conv2D"), ("Convolution3D", "Conv3D"),
     ("Convolution1DTranspose", "Conv1DTranspose"), ("Convolution2DTranspose", "Conv2DTranspose"),
     ("Convolution3DTranspose", "Conv3DTranspose"), ("SeparableConvolution1D", "SeparableConv1D"),
     ("SeparableConvolution2D", "SeparableConv2D")],
)  # fmt: skip
def test_keras_aliases(alias, name):
    assert getattr(keras.layers, alias) is getattr(keras.layers, name)
    rank = int(name.split("Conv")[1][0])  # Conv2DTranspose: 2
    shape = [4] * rank + [2]
    layers = [{"type": t, "filters": 3, "kernel_size": 2} for t in (alias, name)]
    a, b = (netspec.build(one_layer(layer, shape), seed=0) for layer in layers)
    x = torch.randn(2, *shape)
    torch.testing.assert_close(a(x), b(x))
