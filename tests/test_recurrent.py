"""Recurrent layers (SimpleRNN, LSTM, GRU) and the wrappers (Bidirectional, TimeDistributed):
Keras parity of values, states and directions on both paths (fused kernel and step loop), the
Keras <-> PyTorch weight mapping (gate orders, the second LSTM bias), parameter counts, the
fused kernel actually running, penalties and constraints on the Keras layout, dropout in
training mode (statistics against Keras), located errors, and a speed report (NETSPEC_BENCH=1).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import assert_located, errors_of
from keras_oracle import as_list, assert_keras_parity, copy_weights, keras_model, keras_predict

import netspec
from netspec.compiler import param_counts
from netspec.layers.base import snake_case
from netspec.loader import from_data

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

FEATURES, STEPS, BATCH = 5, 7, 4


def seq_spec(layers: list[dict], shape=(STEPS, FEATURES)) -> dict:
    return {"netspec": 1, "input_shape": list(shape), "layers": layers}


def inputs(seed: int = 0, shape=(BATCH, STEPS, FEATURES)) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


# ------------------------------------------------------------------------------ Keras parity

VARIANTS = [
    {},
    {"return_sequences": True},
    {"return_state": True},
    {"return_sequences": True, "return_state": True, "go_backwards": True},
    {"use_bias": False, "return_sequences": True},
    {"activation": "relu", "return_sequences": True},  # SimpleRNN: fused; others: loop
    {"activation": "softsign", "return_state": True},  # step loop
    {"recurrent_dropout": 0.3, "return_sequences": True},  # loop; inference: no dropout
    {"dropout": 0.4, "return_sequences": True},  # inference: no dropout
    {"bias_initializer": "random_normal", "return_sequences": True},
]
GATED = [
    {"recurrent_activation": "hard_sigmoid", "return_sequences": True},
    {"recurrent_activation": None, "activation": None, "return_state": True},
    {"use_cudnn": False, "return_sequences": True},
]


PARITY = [
    pytest.param(kind, args, id=f"{kind}-{','.join(args) or 'defaults'}")
    for kind in ("SimpleRNN", "LSTM", "GRU")
    for args in VARIANTS + (GATED if kind != "SimpleRNN" else [])
]


@pytest.mark.parametrize(("kind", "args"), PARITY)
def test_keras_parity(kind, args):
    layer = {"type": kind, "units": 6, **args}
    assert_keras_parity(seq_spec([layer]), inputs())


@pytest.mark.parametrize("args", [{}, {"return_sequences": True, "return_state": True}])
def test_gru_reset_before_parity(args):
    layer = {"type": "GRU", "units": 6, "reset_after": False, "bias_initializer": "normal", **args}
    model, _ = assert_keras_parity(seq_spec([layer]), inputs())
    assert not model.layers["gru"].fused


def test_stacked_and_variable_length_parity():
    layers = [
        {"type": "LSTM", "units": 8, "return_sequences": True},
        {"type": "GRU", "units": 5, "return_sequences": True, "go_backwards": True},
        {"type": "SimpleRNN", "units": 3},
    ]
    assert_keras_parity(seq_spec(layers, (None, FEATURES)), inputs(1, (3, 11, FEATURES)))


@pytest.mark.parametrize(
    "args",
    [
        {"merge_mode": "concat"},
        {"merge_mode": "sum"},
        {"merge_mode": "mul"},
        {"merge_mode": "ave"},
        {"merge_mode": None},
    ],
)
@pytest.mark.parametrize("inner", [{}, {"return_sequences": True, "return_state": True}])
def test_bidirectional_parity(args, inner):
    layer = {"type": "Bidirectional", "layer": {"type": "LSTM", "units": 4, **inner}, **args}
    assert_keras_parity(seq_spec([layer]), inputs())


def test_bidirectional_backward_layer_parity():
    layer = {
        "type": "Bidirectional",
        "layer": {"type": "GRU", "units": 4, "return_sequences": True, "return_state": True},
        "backward_layer": {
            "type": "SimpleRNN",
            "units": 3,
            "activation": "relu",
            "go_backwards": True,
            "return_sequences": True,
            "return_state": True,
        },
    }
    model, _ = assert_keras_parity(seq_spec([layer]), inputs())
    graph = from_data(seq_spec([layer])).graph
    assert graph.nodes[0].output == [(STEPS, 7), (4,), (3,)]


def test_time_distributed_parity():
    layers = [
        {"type": "TimeDistributed", "layer": {"type": "Dense", "units": 6, "activation": "tanh"}},
        {"type": "LSTM", "units": 3, "return_sequences": True},
        {"type": "TimeDistributed", "layer": {"type": "Dense", "units": 2}},
    ]
    assert_keras_parity(seq_spec(layers), inputs())


def test_time_distributed_of_a_recurrent_layer_parity():
    layers = [{"type": "TimeDistributed", "layer": {"type": "GRU", "units": 3}}]
    assert_keras_parity(seq_spec(layers, (3, STEPS, FEATURES)), inputs(2, (2, 3, STEPS, FEATURES)))


def test_integer_inputs_are_cast():
    spec = seq_spec([{"type": "LSTM", "units": 3}])
    spec["input_dtype"] = "int64"
    x = torch.randint(0, 5, (2, STEPS, FEATURES))
    model, _ = assert_keras_parity(spec, x)
    assert model(x).dtype == torch.float32


# ------------------------------------------------------------------------ weights and mapping


def build(layer: dict, shape=(STEPS, FEATURES), seed: int = 0):
    return netspec.build(seq_spec([layer], shape), seed=seed)


@pytest.mark.parametrize(
    ("layer", "counts"),
    [
        # Keras: LSTM 4 * (in * u + u * u + u); GRU (reset_after) 3 * (in * u + u * u + 2u);
        # GRU (reset before) 3 * (in * u + u * u + u); SimpleRNN in * u + u * u + u.
        ({"type": "LSTM", "units": 64}, 4 * (16 * 64 + 64 * 64 + 64)),
        ({"type": "GRU", "units": 64}, 3 * (16 * 64 + 64 * 64 + 2 * 64)),
        ({"type": "GRU", "units": 64, "reset_after": False}, 3 * (16 * 64 + 64 * 64 + 64)),
        ({"type": "SimpleRNN", "units": 64}, 16 * 64 + 64 * 64 + 64),
        ({"type": "LSTM", "units": 8, "use_bias": False}, 4 * (16 * 8 + 8 * 8)),
        (
            {"type": "Bidirectional", "layer": {"type": "LSTM", "units": 64}},
            2 * 4 * (16 * 64 + 64 * 64 + 64),
        ),
    ],
)
def test_parameter_counts_are_keras(layer, counts):
    spec = from_data(seq_spec([layer], (10, 16)))
    model = netspec.build(spec, seed=0)
    name = spec.graph.nodes[0].name
    assert param_counts(spec.graph)[name] == (counts, 0)
    assert sum(p.numel() for p in model.parameters()) == counts
    # The second PyTorch bias of LSTM/SimpleRNN is a buffer: neither a parameter nor saved.
    assert not any("bias_hh" in key for key in model.state_dict())


def test_lstm_weights_are_nn_lstm_layout():
    """The stored weights are what nn.LSTM takes (gates i, f, g, o = Keras's i, f, c, o), the
    second bias being zero: loading them into nn.LSTM gives the same outputs."""
    model = build({"type": "LSTM", "units": 6, "return_sequences": True}).eval()
    module = model.layers["lstm"]
    ref = torch.nn.LSTM(FEATURES, 6, batch_first=True)
    with torch.no_grad():
        ref.weight_ih_l0.copy_(module.kernel)
        ref.weight_hh_l0.copy_(module.recurrent_kernel)
        ref.bias_ih_l0.copy_(module.bias)
        ref.bias_hh_l0.zero_()
        x = inputs()
        torch.testing.assert_close(model(x), ref(x)[0])


def test_gru_gate_order_maps_keras_zrh_to_torch_rzn():
    spec = from_data(seq_spec([{"type": "GRU", "units": 4, "bias_initializer": "normal"}]))
    kmodel = keras_model(spec)
    model = netspec.build(spec, seed=0)
    copy_weights(kmodel, model)
    module = model.layers["gru"]
    kernel, recurrent, bias = kmodel.get_layer("gru").get_weights()
    u = 4
    z, r, h = (kernel[:, i * u : (i + 1) * u] for i in range(3))
    np.testing.assert_array_equal(module.kernel.detach().numpy(), np.concatenate([r, z, h], 1).T)
    rz, rr, rh = (recurrent[:, i * u : (i + 1) * u] for i in range(3))
    np.testing.assert_array_equal(
        module.recurrent_kernel.detach().numpy(), np.concatenate([rr, rz, rh], 1).T
    )
    b = module.bias.detach().numpy()
    np.testing.assert_array_equal(b[:, :u], bias[:, u : 2 * u])  # r first
    np.testing.assert_array_equal(b[:, u : 2 * u], bias[:, :u])  # then z
    # The Keras-layout views give Keras's arrays back, and nn.GRU agrees with the module.
    views = {name: info.keras_view(p).detach().numpy() for name, p, info in model.keras_weights()}
    np.testing.assert_array_equal(views["layers.gru.kernel"], kernel)
    np.testing.assert_array_equal(views["layers.gru.recurrent_kernel"], recurrent)
    np.testing.assert_array_equal(views["layers.gru.bias"], bias)
    ref = torch.nn.GRU(FEATURES, u, batch_first=True)
    with torch.no_grad():
        ref.weight_ih_l0.copy_(module.kernel)
        ref.weight_hh_l0.copy_(module.recurrent_kernel)
        ref.bias_ih_l0.copy_(module.bias[0])
        ref.bias_hh_l0.copy_(module.bias[1])
        x = inputs()
        torch.testing.assert_close(model(x), ref(x)[1][0])


def test_initializers_see_keras_layout():
    model = build({"type": "GRU", "units": 5, "bias_initializer": "ones"}, seed=3)
    views = {name: info.keras_view(p).detach() for name, p, info in model.keras_weights()}
    recurrent = views["layers.gru.recurrent_kernel"]  # Keras (units, 3 * units), orthogonal
    assert recurrent.shape == (5, 15)
    torch.testing.assert_close(recurrent @ recurrent.T, torch.eye(5), atol=1e-5, rtol=0)
    kernel = views["layers.gru.kernel"]  # glorot_uniform on fans (5, 15)
    assert kernel.shape == (FEATURES, 15)
    assert kernel.abs().max() <= (6 / (FEATURES + 15)) ** 0.5
    assert (views["layers.gru.bias"] == 1).all()


def test_unit_forget_bias():
    bias = build({"type": "LSTM", "units": 3}).layers["lstm"].bias.detach()
    torch.testing.assert_close(bias, torch.tensor([0.0] * 3 + [1.0] * 3 + [0.0] * 6))
    layer = {"type": "LSTM", "units": 2, "bias_initializer": "ones", "unit_forget_bias": False}
    assert (build(layer).layers["lstm"].bias == 1).all()
    layer = {"type": "LSTM", "units": 2, "bias_initializer": {"type": "Constant", "value": 3}}
    bias = build(layer).layers["lstm"].bias.detach()
    torch.testing.assert_close(bias, torch.tensor([3.0, 3, 1, 1, 3, 3, 3, 3]))


def test_penalties_and_constraints_on_keras_layout():
    layer = {
        "type": "GRU",
        "units": 4,
        "kernel_regularizer": {"type": "L2", "l2": 0.1},
        "recurrent_regularizer": {"type": "L1", "l1": 0.01},
        "bias_regularizer": {"type": "L2", "l2": 0.5},
        "bias_initializer": "normal",
        "kernel_constraint": {"type": "MaxNorm", "max_value": 0.3, "axis": 0},
        "recurrent_constraint": {"type": "UnitNorm", "axis": 1},
    }
    spec = from_data(seq_spec([layer]))
    kmodel = keras_model(spec)
    model = netspec.build(spec, seed=0)
    copy_weights(kmodel, model)
    keras_predict(kmodel, [inputs().numpy()])
    keras_loss = sum(float(loss.detach()) for loss in kmodel.losses)
    assert model.regularization_loss().item() == pytest.approx(keras_loss, rel=1e-5)
    model.apply_constraints()
    klayer = kmodel.get_layer("gru")
    kernel, recurrent = klayer.cell.kernel, klayer.cell.recurrent_kernel
    want_kernel = keras_numpy(klayer.cell.kernel_constraint(kernel.value))
    want_recurrent = keras_numpy(klayer.cell.recurrent_constraint(recurrent.value))
    views = {name: info.keras_view(p).detach() for name, p, info in model.keras_weights()}
    np.testing.assert_allclose(views["layers.gru.kernel"].numpy(), want_kernel, atol=1e-6)
    np.testing.assert_allclose(views["layers.gru.recurrent_kernel"].numpy(), want_recurrent, 1e-5)


def keras_numpy(value) -> np.ndarray:
    import keras

    return keras.ops.convert_to_numpy(value)


def test_activity_regularizer_with_states_matches_keras():
    layer = {
        "type": "LSTM",
        "units": 3,
        "return_state": True,
        "activity_regularizer": {"type": "L2", "l2": 0.1},
    }
    spec = from_data(seq_spec([layer]))
    kmodel = keras_model(spec)
    model = netspec.build(spec, seed=0)
    copy_weights(kmodel, model)
    x = inputs()
    model(x)
    keras_predict(kmodel, [x.numpy()])
    keras_loss = sum(float(loss.detach()) for loss in kmodel.losses)
    assert model.activity_loss().item() == pytest.approx(keras_loss, rel=1e-5)


def test_bidirectional_activity_regularizer_matches_keras():
    inner = {"type": "GRU", "units": 3, "activity_regularizer": {"type": "L1", "l1": 0.1}}
    spec = from_data(seq_spec([{"type": "Bidirectional", "layer": inner}]))
    kmodel = keras_model(spec)
    model = netspec.build(spec, seed=0)
    copy_weights(kmodel, model)
    x = inputs()
    model(x)
    keras_predict(kmodel, [x.numpy()])
    keras_loss = sum(float(loss.detach()) for loss in kmodel.losses)
    assert model.activity_loss().item() == pytest.approx(keras_loss, rel=1e-5)


def test_frozen_inner_layer_counts_as_keras():
    layer = {"type": "Bidirectional", "layer": {"type": "GRU", "units": 3, "trainable": False}}
    spec = from_data(seq_spec([layer]))
    total = 2 * 3 * (FEATURES * 3 + 9 + 6)
    assert param_counts(spec.graph)["bidirectional"] == (0, total)
    model = netspec.build(spec)
    assert not any(p.requires_grad for p in model.parameters())
    kmodel = keras_model(spec)
    klayer = kmodel.get_layer("bidirectional")
    assert sum(int(np.prod(w.shape)) for w in klayer.non_trainable_weights) == total


def test_gradients_match_keras():
    """d(sum of outputs)/d(weights) in Keras layout equals Keras's, through the fused kernel."""
    spec = from_data(seq_spec([{"type": "GRU", "units": 4, "return_sequences": True}]))
    kmodel = keras_model(spec)
    model = netspec.build(spec, seed=0)
    copy_weights(kmodel, model)
    x = inputs()
    model(x).pow(2).sum().backward()
    cell = kmodel.get_layer("gru").cell
    kout = kmodel(torch.as_tensor(x.numpy()))
    kout.pow(2).sum().backward()
    grads = {name: info.keras_view(p.grad) for name, p, info in model.keras_weights()}
    for name, variable in (("kernel", cell.kernel), ("recurrent_kernel", cell.recurrent_kernel)):
        torch.testing.assert_close(
            grads[f"layers.gru.{name}"], variable.value.grad.cpu(), rtol=1e-4, atol=1e-6
        )


# ------------------------------------------------------------------------------- fused path


def ops_run(model, *args) -> set[str]:
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        model(*args)
    return {event.name for event in prof.events()}


@pytest.mark.parametrize(
    ("layer", "op"),
    [
        ({"type": "LSTM", "units": 4}, "aten::lstm"),
        ({"type": "LSTM", "units": 4, "dropout": 0.3, "return_sequences": True}, "aten::lstm"),
        ({"type": "GRU", "units": 4, "return_state": True}, "aten::gru"),
        ({"type": "SimpleRNN", "units": 4}, "aten::rnn_tanh"),
        ({"type": "SimpleRNN", "units": 4, "activation": "relu"}, "aten::rnn_relu"),
    ],
)
def test_default_arguments_run_the_fused_kernel(layer, op):
    model = build(layer).train()
    module = model.layers[snake_case(layer["type"])]
    assert module.fused
    assert op in ops_run(model, inputs())


@pytest.mark.parametrize(
    "layer",
    [
        {"type": "LSTM", "units": 4, "recurrent_dropout": 0.2},
        {"type": "LSTM", "units": 4, "activation": "relu"},
        {"type": "LSTM", "units": 4, "use_cudnn": False},
        {"type": "GRU", "units": 4, "reset_after": False},
        {"type": "GRU", "units": 4, "recurrent_activation": "hard_sigmoid"},
        {"type": "SimpleRNN", "units": 4, "activation": {"type": "relu", "max_value": 6}},
    ],
)
def test_what_the_fused_kernels_cannot_express_runs_the_loop(layer):
    model = build(layer)
    assert not model.layers[snake_case(layer["type"])].fused
    assert not {"aten::lstm", "aten::gru", "aten::rnn_tanh", "aten::rnn_relu"} & ops_run(
        model, inputs()
    )


# ----------------------------------------------------------------------------------- dropout


def test_input_dropout_mask_is_shared_by_all_steps():
    """SimpleRNN with identity weights passes the dropped input through: the same features are
    dropped at every step of a sequence, the kept ones scaled by 1 / (1 - rate)."""
    layer = {
        "type": "SimpleRNN",
        "units": 50,
        "activation": "linear",
        "use_bias": False,
        "kernel_initializer": "identity",
        "recurrent_initializer": "zeros",
        "dropout": 0.4,
        "return_sequences": True,
    }
    model = build(layer, (6, 50)).train()
    x = torch.rand(8, 6, 50) + 1
    y = model(x)
    kept = y != 0
    assert (kept == kept[:, :1]).all()
    torch.testing.assert_close(y[kept], x[kept] / 0.6)
    assert 0.3 < 1 - kept.float().mean().item() < 0.5
    torch.testing.assert_close(model.eval()(x), x)


def test_seeded_dropout_is_reproducible():
    layer = {"type": "LSTM", "units": 4, "dropout": 0.5, "recurrent_dropout": 0.5, "seed": 3}
    x = inputs()
    first = build(layer).train()(x)
    again = build(layer).train()(x)
    torch.testing.assert_close(first, again)


def dropout_statistics(layer: dict, samples: int = 2000):
    """Mean and std over many training-mode draws of one sequence, netspec's and Keras's."""
    spec = from_data(seq_spec([layer], (5, 3)))
    kmodel = keras_model(spec)
    model = netspec.build(spec, seed=0).train()
    copy_weights(kmodel, model)
    torch.manual_seed(0)
    x = torch.randn(1, 5, 3).expand(samples, -1, -1).contiguous()
    with torch.no_grad():
        ours = model(x).numpy()
    theirs = keras_predict(kmodel, [x.numpy()], training=True)
    return ours, theirs


@pytest.mark.parametrize(
    "layer",
    [
        {"type": "LSTM", "units": 3, "dropout": 0.5},  # fused
        {"type": "GRU", "units": 3, "dropout": 0.3, "recurrent_dropout": 0.5},  # loop, per gate
        {"type": "SimpleRNN", "units": 3, "dropout": 0.5, "recurrent_dropout": 0.4},
        {
            "type": "LSTM",
            "units": 3,
            "recurrent_dropout": 0.5,
            "recurrent_initializer": {"type": "Constant", "value": 2.0},
        },
    ],
)
def test_training_dropout_statistics_match_keras(layer):
    ours, theirs = dropout_statistics({**layer, "kernel_initializer": "ones"})
    n = ours.shape[0]
    spread = np.maximum(ours.std(0), theirs.std(0))
    # Means agree within a few standard errors; so do the spreads (same mask distribution).
    np.testing.assert_array_less(np.abs(ours.mean(0) - theirs.mean(0)), 5 * spread / n**0.5 + 1e-6)
    np.testing.assert_allclose(ours.std(0), theirs.std(0), rtol=0.1, atol=1e-4)
    assert (ours.std(0) > 1e-3).all(), "dropout must act in training mode"


# ------------------------------------------------------------------------------ located errors


ERRORS = [
    pytest.param(
        "  - type: LSTM\n    units: 3\n    stateful: true\n",
        "layers[0].stateful",
        "stateful: true",
        "stateful RNNs are not supported",
        id="stateful",
    ),
    pytest.param(
        "  - type: LSTM\n    units: 3\n    activation: relu\n    use_cudnn: true\n",
        "layers[0].use_cudnn",
        "use_cudnn: true",
        "activation other than tanh",
        id="use-cudnn",
    ),
    pytest.param(
        "  - type: GRU\n    units: 3\n    activation: glu\n",
        "layers[0].activation",
        "activation: glu",
        "glu halves",
        id="glu",
    ),
    pytest.param(
        "  - type: Bidirectional\n    layer:\n      type: Dense\n      units: 3\n",
        "layers[0].layer.type",
        "type: Dense",
        "wraps a recurrent layer",
        id="bidirectional-not-recurrent",
    ),
    pytest.param(
        "  - type: Bidirectional\n    layer:\n      type: LSTM\n      units: 3\n      unit: 3\n",
        "layers[0].layer.unit",
        "unit: 3",
        "unknown key 'unit'; did you mean 'units'?",
        id="nested-typo",
    ),
    pytest.param(
        "  - type: Bidirectional\n    layer:\n      type: LSTN\n      units: 3\n",
        "layers[0].layer.type",
        "type: LSTN",
        "did you mean 'LSTM'",
        id="nested-type",
    ),
    pytest.param(
        "  - type: Bidirectional\n    layer:\n      type: LSTM\n      units: 3\n"
        "      go_backwards: true\n",
        "layers[0].layer.go_backwards",
        "go_backwards: true",
        "backward copy",
        id="bidirectional-backwards",
    ),
    pytest.param(
        "  - type: Bidirectional\n    layer: {type: LSTM, units: 3}\n"
        "    backward_layer: {type: GRU, units: 3, go_backwards: true, return_state: true}\n",
        "layers[0].backward_layer.return_state",
        "backward_layer",
        "return_state must equal",
        id="bidirectional-mismatch",
    ),
    pytest.param(
        "  - type: Bidirectional\n    merge_mode: sum\n    layer: {type: LSTM, units: 3}\n"
        "    backward_layer: {type: GRU, units: 2, go_backwards: true}\n",
        "layers[0].merge_mode",
        "merge_mode: sum",
        "one shape",
        id="bidirectional-merge",
    ),
    pytest.param(
        "  - type: Bidirectional\n    merge_mode: mul\n"
        "    layer: {type: LSTM, units: 3, activity_regularizer: l2}\n",
        "layers[0].layer.activity_regularizer",
        "layer:",
        "merge_mode concat or null",
        id="bidirectional-activity",
    ),
    pytest.param(
        "  - type: TimeDistributed\n    layer: {type: Dense, units: 2, inputs: input}\n",
        "layers[0].layer.inputs",
        "layer:",
        "drop 'inputs'",
        id="nested-inputs",
    ),
    pytest.param(
        "  - type: TimeDistributed\n    layer:\n      type: Reshape\n      target_shape: [7]\n",
        "layers[0].layer.target_shape",
        "target_shape",
        "values per sample",
        id="nested-shape-error",
    ),
]


@pytest.mark.parametrize(("layers", "path", "needle", "message"), ERRORS)
def test_located_errors(layers, path, needle, message):
    text = "netspec: 1\ninput_shape: [5, 4]\nlayers:\n" + layers
    assert_located(text, path, needle, message)


def test_rank_errors():
    diagnostics = errors_of("netspec: 1\ninput_shape: [5]\nlayers:\n  - {type: GRU, units: 2}\n")
    assert "rank 3" in diagnostics[0].message
    text = (
        "netspec: 1\ninput_shape: [5]\nlayers:\n"
        "  - {type: TimeDistributed, layer: {type: Dense, units: 2}}\n"
    )
    assert "rank >= 3" in errors_of(text)[0].message


def test_unroll_is_accepted_without_effect():
    x = inputs()
    plain = build({"type": "GRU", "units": 3}).eval()(x)
    unrolled = build({"type": "GRU", "units": 3, "unroll": True}).eval()(x)
    torch.testing.assert_close(plain, unrolled)


def test_return_state_outputs_are_picked_by_index():
    spec = seq_spec(
        [
            {"type": "LSTM", "units": 3, "return_state": True, "name": "enc"},
            {"type": "Concatenate", "inputs": ["enc:1", "enc:2"]},
        ]
    )
    model = netspec.build(spec, seed=0)
    out = model(inputs())
    assert out.shape == (BATCH, 6)


# -------------------------------------------------------------------------------------- CUDA


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU here")
@pytest.mark.parametrize(
    "layer",
    [
        {"type": "GRU", "units": 4, "bias_initializer": "normal", "return_sequences": True},
        {"type": "LSTM", "units": 4, "return_state": True},
        {"type": "SimpleRNN", "units": 4, "activation": "relu"},
        {"type": "Bidirectional", "layer": {"type": "GRU", "units": 3}},
        {"type": "GRU", "units": 4, "use_bias": False},  # raised IndexError in .cuda() before
        {"type": "LSTM", "units": 4, "use_bias": False},
    ],
)
def test_cuda_flat_weights_and_values(layer, recwarn):
    """On CUDA the fused kernel's weights share one cuDNN buffer (no per-call compaction, no
    warning), with the values they had; outputs equal the CPU's in full float32."""
    spec = seq_spec([layer])
    cpu = netspec.build(spec, seed=1)
    gpu = netspec.build(spec, seed=1, device="cuda")
    for key, value in cpu.state_dict().items():
        torch.testing.assert_close(gpu.state_dict()[key].cpu(), value)
    for module in gpu.modules():
        if getattr(module, "fused", False):
            storages = {p.untyped_storage().data_ptr() for p in module.parameters()}
            assert len(storages) == 1
    tf32 = torch.backends.cudnn.allow_tf32
    torch.backends.cudnn.allow_tf32 = False  # PyTorch's default lets cuDNN RNNs use TF32
    try:
        x = inputs()
        for a, b in zip(as_list(cpu(x)), as_list(gpu(x.cuda())), strict=True):
            torch.testing.assert_close(b.cpu(), a, atol=1e-5, rtol=1e-5)
        sum(o.sum() for o in as_list(gpu(x.cuda()))).backward()
    finally:
        torch.backends.cudnn.allow_tf32 = tf32
    assert not [w for w in recwarn if "contiguous chunk" in str(w.message)]
