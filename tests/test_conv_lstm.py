"""ConvLSTM1D/2D/3D against Keras 3: outputs and states in both data formats (valid and `same`
padding, odd and even kernels, strides, dilation, directions, activations, biases), variable
timesteps, parameter counts, the kernel layout, initializers on Keras's layout, penalties and
constraints, gradients, training-mode dropout statistics, located errors, and CUDA.
"""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
import torch
from helpers import assert_located
from keras_oracle import as_list, assert_keras_parity, copy_weights, keras_model, keras_predict

import netspec
from netspec.compiler import param_counts
from netspec.loader import from_data

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
CF = "channels_first"


def spec_of(layer: dict, shape: list, data_format: str | None = None) -> dict:
    spec = {"netspec": 1, "input_shape": shape, "layers": [layer]}
    return spec if data_format is None else {**spec, "data_format": data_format}


def inputs(shape, batch: int = 3, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn((batch, *shape), generator=gen)


def conv(rank: int, **args) -> dict:
    return {"type": f"ConvLSTM{rank}D", "filters": 3, "kernel_size": 3, **args}


PARITY = [
    (conv(1), [6, 8, 2], None),
    (
        conv(1, kernel_size=4, strides=2, padding="same", return_sequences=True, return_state=True),
        [5, 9, 2],
        None,
    ),
    (
        conv(1, dilation_rate=2, padding="same", go_backwards=True, return_sequences=True),
        [4, 3, 10],
        CF,
    ),
    (conv(2, kernel_size=[3, 2], padding="same", return_state=True), [3, 2, 6, 5], CF),
    (
        conv(2, kernel_size=2, strides=2, padding="same", go_backwards=True, return_sequences=True),
        [4, 7, 6, 3],
        None,
    ),
    (
        conv(2, activation="relu", recurrent_activation="hard_sigmoid", use_bias=False),
        [3, 5, 5, 2],
        None,
    ),
    (
        conv(
            2,
            unit_forget_bias=False,
            bias_initializer="normal",
            activation=None,
            dilation_rate=[1, 2],
            return_sequences=True,
        ),
        [3, 2, 6, 7],
        CF,
    ),
    (conv(2, strides=[2, 1], dropout=0.4, recurrent_dropout=0.3), [3, 7, 5, 2], None),
    (conv(3, kernel_size=2, padding="same", return_sequences=True), [3, 2, 4, 4, 3], CF),
    (conv(3, kernel_size=[2, 3, 1], strides=[1, 2, 1], return_state=True), [2, 4, 5, 3, 2], None),
]


@pytest.mark.parametrize(
    ("layer", "shape", "data_format"),
    PARITY,
    ids=[f"{layer['type']}-{i}" for i, (layer, _, _) in enumerate(PARITY)],
)
def test_keras_parity(layer, shape, data_format):
    model, _ = assert_keras_parity(spec_of(layer, shape, data_format), inputs(shape))
    # The static shapes are the forward's.
    node = from_data(spec_of(layer, shape, data_format)).graph.nodes[0]
    statics = node.output if isinstance(node.output, list) else [node.output]
    with torch.no_grad():
        for out, static in zip(as_list(model(inputs(shape))), statics, strict=True):
            assert tuple(out.shape[1:]) == static


def test_variable_timesteps_and_integer_inputs():
    spec = spec_of(conv(2, return_sequences=True), [None, 5, 4, 2])
    assert_keras_parity(spec, inputs([6, 5, 4, 2]))
    assert_keras_parity(spec, inputs([1, 5, 4, 2], seed=1))
    # Integer inputs are cast (Keras's ConvLSTM fails on them: no parity to check).
    spec = {**spec_of(conv(1), [4, 6, 2]), "input_dtype": "int64"}
    model = netspec.build(spec, seed=0).eval()
    x = torch.randint(0, 5, (2, 4, 6, 2))
    assert model(x).dtype == torch.float32
    assert torch.equal(model(x), model(x.float()))


# ------------------------------------------------------------------------------ weights


@pytest.mark.parametrize(
    ("layer", "shape"),
    [
        (conv(1), [5, 8, 4]),
        (conv(2, filters=6), [5, 7, 7, 3]),
        (conv(3, use_bias=False), [2, 4, 4, 4, 2]),
    ],
)
def test_parameter_counts_are_keras(layer, shape):
    spec = from_data(spec_of(layer, shape))
    rank, filters, channels = int(layer["type"][-2]), layer["filters"], shape[-1]
    window = 3**rank
    want = window * channels * 4 * filters + window * filters * 4 * filters
    want += 4 * filters if layer.get("use_bias", True) else 0
    assert param_counts(spec.graph)["conv_lstm" + f"{rank}d"] == (want, 0)
    assert keras_model(spec).get_layer(f"conv_lstm{rank}d").count_params() == want
    assert sum(p.numel() for p in netspec.build(spec, seed=0).parameters()) == want


def test_kernel_layout_and_initializers():
    """Kernels are stored (4 * filters, in, *window), Keras's (*window, in, 4 * filters)
    transposed; initializers see Keras's layout (the recurrent kernel orthogonal as Keras draws
    it, on (prod(window) * filters, 4 * filters)); unit_forget_bias sets the forget block."""
    spec = from_data(spec_of(conv(2, filters=2, bias_initializer="ones"), [3, 6, 6, 3]))
    model = netspec.build(spec, seed=0)
    module = model.layers["conv_lstm2d"]
    assert module.kernel.shape == (8, 3, 3, 3) and module.recurrent_kernel.shape == (8, 2, 3, 3)
    views = {name: info.keras_view(p).detach() for name, p, info in model.keras_weights()}
    recurrent = views["layers.conv_lstm2d.recurrent_kernel"]
    assert recurrent.shape == (3, 3, 2, 8)
    flat = recurrent.reshape(-1, 8)
    torch.testing.assert_close(flat.T @ flat, torch.eye(8), atol=1e-5, rtol=0)
    assert torch.equal(module.bias.detach(), torch.ones(8))
    kmodel = keras_model(spec)
    copy_weights(kmodel, model)
    for view, array in zip(
        (views_of(model)[k] for k in ("kernel", "recurrent_kernel", "bias")),
        kmodel.get_layer("conv_lstm2d").get_weights(),
        strict=True,
    ):
        np.testing.assert_array_equal(view, array)
    kernel = kmodel.get_layer("conv_lstm2d").get_weights()[0]
    np.testing.assert_array_equal(module.kernel.detach().numpy(), kernel.transpose(3, 2, 0, 1))


def views_of(model) -> dict[str, np.ndarray]:
    return {
        name.rpartition(".")[2]: info.keras_view(p).detach().numpy()
        for name, p, info in model.keras_weights()
    }


def test_forget_bias():
    bias = netspec.build(spec_of(conv(1, filters=2), [3, 5, 2])).layers["conv_lstm1d"].bias
    torch.testing.assert_close(bias.detach(), torch.tensor([0.0, 0, 1, 1, 0, 0, 0, 0]))


def test_penalties_and_constraints_as_keras():
    layer = conv(
        2,
        kernel_regularizer={"type": "L2", "l2": 0.1},
        recurrent_regularizer={"type": "L1", "l1": 0.01},
        bias_regularizer={"type": "L2", "l2": 0.5},
        activity_regularizer={"type": "L2", "l2": 0.05},
        bias_initializer="normal",
        kernel_constraint={"type": "MaxNorm", "max_value": 0.3, "axis": [0, 1, 2]},
        return_state=True,
    )
    spec = from_data(spec_of(layer, [3, 5, 5, 2]))
    kmodel = keras_model(spec)
    model = netspec.build(spec, seed=0)
    copy_weights(kmodel, model)
    x = inputs([3, 5, 5, 2])
    model(x)
    keras_predict(kmodel, [x.numpy()])
    keras_loss = sum(float(loss.detach()) for loss in kmodel.losses)
    ours = model.regularization_loss().item() + model.activity_loss().item()
    assert ours == pytest.approx(keras_loss, rel=1e-5)
    model.apply_constraints()
    cell = kmodel.get_layer("conv_lstm2d").cell
    want = keras_numpy(cell.kernel_constraint(cell.kernel.value))
    np.testing.assert_allclose(views_of(model)["kernel"], want, atol=1e-6)


def keras_numpy(value) -> np.ndarray:
    return keras.ops.convert_to_numpy(value)


def test_gradients_match_keras():
    spec = from_data(
        spec_of(conv(2, padding="same", kernel_size=2, return_sequences=True), [4, 5, 4, 2])
    )
    kmodel = keras_model(spec)
    model = netspec.build(spec, seed=0)
    copy_weights(kmodel, model)
    x = inputs([4, 5, 4, 2])
    model(x).pow(2).sum().backward()
    kmodel(torch.as_tensor(x.numpy())).pow(2).sum().backward()
    grads = {
        name.rpartition(".")[2]: info.keras_view(p.grad) for name, p, info in model.keras_weights()
    }
    cell = kmodel.get_layer("conv_lstm2d").cell
    for name in ("kernel", "recurrent_kernel", "bias"):
        want = getattr(cell, name).value.grad.cpu()
        torch.testing.assert_close(grads[name], want, rtol=1e-4, atol=1e-5)


# ------------------------------------------------------------------------------ dropout


@pytest.mark.parametrize(
    "args",
    [
        {"dropout": 0.5},
        {"recurrent_dropout": 0.4, "recurrent_initializer": {"type": "Constant", "value": 0.5}},
        {"dropout": 0.3, "recurrent_dropout": 0.3, "padding": "same", "kernel_size": 2},
    ],
)
def test_training_dropout_statistics_match_keras(args):
    """Many training-mode draws of one sequence: the same mean and spread as Keras's (one mask
    per gate, per element, the same at every step)."""
    layer = conv(2, filters=2, kernel_initializer="ones", **args)
    shape = [3, 4, 4, 2]
    spec = from_data(spec_of(layer, shape))
    kmodel = keras_model(spec)
    model = netspec.build(spec, seed=0).train()
    copy_weights(kmodel, model)
    torch.manual_seed(0)
    keras.utils.set_random_seed(0)
    samples = 4000
    x = inputs(shape, batch=1).expand(samples, *shape).contiguous()
    with torch.no_grad():
        ours = model(x).numpy()
    theirs = keras_predict(kmodel, [x.numpy()], training=True)
    spread = np.maximum(ours.std(0), theirs.std(0))
    np.testing.assert_array_less(
        np.abs(ours.mean(0) - theirs.mean(0)), 5 * spread / samples**0.5 + 1e-6
    )
    np.testing.assert_allclose(ours.std(0), theirs.std(0), rtol=0.15, atol=1e-4)
    assert (ours.std(0) > 1e-3).all()
    model.eval()
    with torch.no_grad():  # inference: no dropout, Keras's values
        np.testing.assert_allclose(
            model(x[:2]).numpy(), keras_predict(kmodel, [x[:2].numpy()]), rtol=1e-5, atol=1e-5
        )


def test_seeded_dropout_is_reproducible():
    layer = conv(1, dropout=0.5, recurrent_dropout=0.5, seed=7, return_sequences=True)
    x = inputs([4, 6, 2])
    first = netspec.build(spec_of(layer, [4, 6, 2]), seed=0).train()(x)
    again = netspec.build(spec_of(layer, [4, 6, 2]), seed=0).train()(x)
    torch.testing.assert_close(first, again)
    assert not torch.equal(first, netspec.build(spec_of(layer, [4, 6, 2]), seed=0).eval()(x))


# ------------------------------------------------------------------------------ errors


ERRORS = [
    pytest.param(
        "[5, null, 4, 2]",
        "  - {type: ConvLSTM2D, filters: 2, kernel_size: 3}\n",
        "layers[0].type",
        "ConvLSTM2D",
        "needs known spatial sizes",
        id="spatial-unknown",
    ),
    pytest.param(
        "[5, 4, 2]",
        "  - {type: ConvLSTM2D, filters: 2, kernel_size: 3}\n",
        "layers[0].type",
        "ConvLSTM2D",
        "expects an input of rank 5 (batch, timesteps, spatial axes, channels",
        id="rank",
    ),
    pytest.param(
        "[5, 4, 4, 2]",
        "  - type: ConvLSTM2D\n    filters: 2\n    kernel_size: 5\n",
        "layers[0].kernel_size",
        "kernel_size: 5",
        "larger than the input (None, 5, 4, 4, 2)",
        id="window",
    ),
    pytest.param(
        "[5, 4, 2]",
        "  - type: ConvLSTM1D\n    filters: 2\n    kernel_size: 3\n    padding: causal\n",
        "layers[0].padding",
        "padding: causal",
        "should be 'valid' or 'same'",
        id="causal",
    ),
    pytest.param(
        "[5, 9, 2]",
        "  - type: ConvLSTM1D\n    filters: 2\n    kernel_size: 3\n    strides: 2\n"
        "    dilation_rate: 2\n",
        "layers[0].dilation_rate",
        "dilation_rate: 2",
        "incompatible with strides > 1",
        id="strides-and-dilation",
    ),
    pytest.param(
        "[5, 4, 4, 2]",
        "  - type: Masking\n  - type: ConvLSTM2D\n    filters: 2\n    kernel_size: 3\n",
        "layers[1]",
        "type: ConvLSTM2D",
        "neither uses masks nor carries them on",
        id="mask",
    ),
    pytest.param(
        "[5, 4, 4, 2]",
        "  - type: Bidirectional\n    layer: {type: ConvLSTM2D, filters: 2, kernel_size: 3}\n",
        "layers[0].layer.type",
        "layer:",
        "Bidirectional wraps a recurrent layer",
        id="bidirectional",
    ),
    pytest.param(
        "[5, 4, 4, 2]",
        "  - type: ConvLSTM2D\n    filters: 2\n    kernel_size: 3\n    stateful: true\n",
        "layers[0].stateful",
        "stateful: true",
        "stateful RNNs are not supported",
        id="stateful",
    ),
    pytest.param(
        "[5, 4, 4, 2]",
        "  - type: ConvLSTM2D\n    filters: 2\n    kernel_size: 3\n    activation: glu\n",
        "layers[0].activation",
        "activation: glu",
        "glu halves its input",
        id="glu",
    ),
    pytest.param(
        "[5, 4, 4, 2]",
        "  - type: ConvLSTM2D\n    filters: 2\n    kernel_size: [3, 3, 3]\n",
        "layers[0].kernel_size",
        "kernel_size:",
        "one integer or a list of 2",
        id="kernel-size-length",
    ),
]


@pytest.mark.parametrize(("shape", "layers", "path", "needle", "message"), ERRORS)
def test_located_errors(shape, layers, path, needle, message):
    text = f"netspec: 1\ninput_shape: {shape}\nlayers:\n" + layers
    assert_located(text, path, needle, message)


# -------------------------------------------------------------------------------- CUDA


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU here")
@pytest.mark.parametrize("data_format", [None, CF])
def test_cuda_matches_cpu(data_format):
    layer = conv(2, kernel_size=2, padding="same", return_sequences=True, return_state=True)
    shape = [4, 3, 6, 5] if data_format else [4, 6, 5, 3]
    spec = spec_of(layer, shape, data_format)
    cpu = netspec.build(spec, seed=1)
    gpu = netspec.build(spec, seed=1, device="cuda")
    x = inputs(shape)
    cudnn_tf32, matmul_tf32 = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    try:
        for a, b in zip(as_list(cpu(x)), as_list(gpu(x.cuda())), strict=True):
            torch.testing.assert_close(b.cpu(), a, atol=1e-5, rtol=1e-5)
        sum(o.sum() for o in as_list(gpu(x.cuda()))).backward()
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = (
            cudnn_tf32,
            matmul_tf32,
        )
    assert math.isfinite(sum(p.grad.abs().sum().item() for p in gpu.parameters()))
