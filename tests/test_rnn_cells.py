"""RNN with cells (SimpleRNNCell, LSTMCell, GRUCell), StackedRNNCells and lists of cells: a single
cell is exactly its layer (same weights, same module, same numbers); stacks match Keras 3's RNN
(values, every cell's states, directions, masks with and without zero_output_for_mask,
Bidirectional, parameter counts, weight order, penalties, gradients, training-mode dropout
statistics); each cell of a stack runs its fused kernel; located errors inside cells.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import torch
from helpers import assert_located, errors_of
from keras_oracle import as_list, assert_keras_parity, copy_weights, keras_model, keras_predict
from mask_data import EMBED, TOKENS

import netspec
from netspec.compiler import param_counts
from netspec.loader import from_data

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

FEATURES, STEPS, BATCH = 5, 7, 4


def seq_spec(layers: list[dict], shape=(STEPS, FEATURES)) -> dict:
    return {"netspec": 1, "input_shape": list(shape), "layers": layers}


def token_spec(layers: list[dict]) -> dict:
    return {"netspec": 1, "input_shape": [7], "input_dtype": "int64", "layers": [EMBED, *layers]}


def inputs(seed: int = 0, shape=(BATCH, STEPS, FEATURES)) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


def rnn(cell, **args) -> dict:
    return {"type": "RNN", "cell": cell, **args}


LSTM_CELL = {"type": "LSTMCell", "units": 4}
GRU_CELL = {"type": "GRUCell", "units": 3, "bias_initializer": "normal"}
SIMPLE_CELL = {"type": "SimpleRNNCell", "units": 2, "activation": "relu"}


# ---------------------------------------------------------------- one cell is its layer


SAME = [
    ("LSTM", {}, {}),
    ("LSTM", {"unit_forget_bias": False}, {"return_sequences": True, "go_backwards": True}),
    ("LSTM", {"recurrent_activation": "hard_sigmoid"}, {"return_state": True}),  # loop
    ("GRU", {}, {"return_sequences": True, "return_state": True}),
    ("GRU", {"reset_after": False, "use_bias": False}, {}),
    ("SimpleRNN", {"activation": "relu"}, {"return_sequences": True}),
    ("SimpleRNN", {"recurrent_dropout": 0.3}, {"return_state": True}),  # loop
]


@pytest.mark.parametrize(("kind", "cell_args", "loop"), SAME)
@pytest.mark.parametrize("masked", [False, True], ids=["plain", "masked"])
def test_a_single_cell_is_its_layer(kind, cell_args, loop, masked):
    """RNN(cell: XCell) builds the module of X, draws the same weights from the same seed and
    gives exactly X's numbers, with and without a mask."""
    args = {"units": 3, "bias_initializer": "normal", **cell_args}
    layer = {"type": kind, "name": "r", **args, **loop}
    cell = rnn({"type": f"{kind}Cell", **args}, name="r", **loop)
    make = token_spec if masked else seq_spec
    x = TOKENS if masked else inputs()
    ours = netspec.build(make([cell]), seed=3).eval()
    theirs = netspec.build(make([layer]), seed=3).eval()
    mine, other = ours.layers["r"], theirs.layers["r"]
    assert type(mine) is type(other) and mine.fused == other.fused
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for key, value in theirs.state_dict().items():
        assert torch.equal(ours.state_dict()[key], value), key
    with torch.no_grad():
        for a, b in zip(as_list(ours(x)), as_list(theirs(x)), strict=True):
            assert torch.equal(a, b)


# ------------------------------------------------------------------------ Keras parity

PARITY = [
    pytest.param(rnn(LSTM_CELL), id="lstm-cell"),
    pytest.param(rnn({**GRU_CELL, "reset_after": False}, return_state=True), id="gru-cell"),
    pytest.param(rnn([LSTM_CELL, GRU_CELL], return_sequences=True), id="list"),
    pytest.param(
        rnn(
            {"type": "StackedRNNCells", "cells": [SIMPLE_CELL, LSTM_CELL]},
            return_sequences=True,
            return_state=True,
            go_backwards=True,
        ),
        id="stacked-backwards",
    ),
    pytest.param(
        rnn(
            [
                {**GRU_CELL, "reset_after": False},
                {"type": "SimpleRNNCell", "units": 3, "activation": "softsign"},
                {**LSTM_CELL, "recurrent_activation": "hard_sigmoid", "use_bias": False},
            ],
            return_state=True,
        ),
        id="three-loops",
    ),
    pytest.param(
        rnn([{**LSTM_CELL, "recurrent_dropout": 0.3}, {**GRU_CELL, "dropout": 0.5}]),
        id="dropout-inference",
    ),
    pytest.param(
        rnn([{**LSTM_CELL, "unit_forget_bias": False, "bias_initializer": "ones"}, GRU_CELL]),
        id="biases",
    ),
]


@pytest.mark.parametrize("layer", PARITY)
def test_keras_parity(layer):
    assert_keras_parity(seq_spec([layer]), inputs())


def test_variable_length_and_integer_inputs():
    spec = seq_spec([rnn([LSTM_CELL, GRU_CELL], return_sequences=True)], (None, FEATURES))
    assert_keras_parity(spec, inputs(1, (3, 11, FEATURES)))
    spec = seq_spec([rnn([GRU_CELL, SIMPLE_CELL])])
    spec["input_dtype"] = "int64"
    model, _ = assert_keras_parity(spec, torch.randint(0, 5, (2, STEPS, FEATURES)))
    assert model(torch.randint(0, 5, (2, STEPS, FEATURES))).dtype == torch.float32


MASKED = [
    {},
    {"return_sequences": True},
    {"return_sequences": True, "zero_output_for_mask": True},
    {"zero_output_for_mask": True, "return_state": True},  # last output zeros where masked
    {"go_backwards": True, "return_sequences": True, "return_state": True},
    {"go_backwards": True, "zero_output_for_mask": True},
]


@pytest.mark.parametrize("loop", MASKED, ids=lambda loop: ",".join(loop) or "defaults")
@pytest.mark.parametrize(
    "cell",
    [
        pytest.param(LSTM_CELL, id="lstm"),
        pytest.param({**GRU_CELL, "activation": "softsign"}, id="gru-loop"),
        pytest.param([LSTM_CELL, {**GRU_CELL, "reset_after": False}], id="stack"),
        pytest.param(
            {"type": "StackedRNNCells", "cells": [GRU_CELL, SIMPLE_CELL, LSTM_CELL]}, id="stack3"
        ),
    ],
)
def test_masks_as_keras(cell, loop):
    """A masked step keeps every cell's states; zero_output_for_mask zeroes the masked steps'
    outputs, and the last output when the last step is masked (Keras's RNN loop)."""
    assert_keras_parity(token_spec([rnn(cell, **loop)]), TOKENS)


def test_zero_output_for_mask_zeroes_masked_outputs():
    spec = token_spec([rnn([LSTM_CELL, GRU_CELL], zero_output_for_mask=True)])
    model = netspec.build(spec, seed=0).eval()
    out = model(TOKENS)
    last_masked = TOKENS[:, -1] == 0
    assert (out[last_masked] == 0).all() and (out[~last_masked] != 0).all()
    repeat = netspec.build(token_spec([rnn([LSTM_CELL, GRU_CELL])]), seed=0).eval()(TOKENS)
    torch.testing.assert_close(out[~last_masked], repeat[~last_masked])
    assert (repeat[last_masked][:-1] != 0).all()  # the last valid output (the last row: none)


@pytest.mark.parametrize("merge_mode", ["concat", None])
@pytest.mark.parametrize("masked", [False, True], ids=["plain", "masked"])
def test_bidirectional_of_an_rnn(merge_mode, masked):
    inner = rnn(
        {"type": "StackedRNNCells", "cells": [LSTM_CELL, GRU_CELL]},
        return_sequences=True,
        return_state=True,
    )
    layer = {"type": "Bidirectional", "layer": inner, "merge_mode": merge_mode}
    spec = token_spec([layer]) if masked else seq_spec([layer])
    assert_keras_parity(spec, TOKENS if masked else inputs())
    node = from_data(spec).graph.nodes[-1]
    outputs = [(STEPS, 6)] if merge_mode else [(STEPS, 3), (STEPS, 3)]
    assert node.output == outputs + [(4,), (4,), (3,)] * 2


def test_bidirectional_backward_rnn_layer():
    layer = {
        "type": "Bidirectional",
        "layer": {"type": "LSTM", "units": 3, "return_sequences": True},
        "backward_layer": rnn([GRU_CELL, SIMPLE_CELL], go_backwards=True, return_sequences=True),
    }
    assert_keras_parity(seq_spec([layer]), inputs())


def test_states_are_picked_by_index():
    """return_state gives every cell's states in turn: [output, h1, c1, h2]."""
    spec = seq_spec(
        [
            rnn([LSTM_CELL, GRU_CELL], return_state=True, name="enc"),
            {"type": "Concatenate", "inputs": ["enc:2", "enc:3"]},
        ]
    )
    graph = from_data(spec).graph
    assert graph.nodes[0].output == [(3,), (4,), (4,), (3,)]
    assert graph.nodes[0].mask is None
    model, _ = assert_keras_parity(spec, inputs())
    enc = model.layers["enc"]
    out, h1, c1, h2 = enc(inputs())
    torch.testing.assert_close(out, h2)
    torch.testing.assert_close(model(inputs()), torch.cat([c1, h2], -1))


# ------------------------------------------------------------------------ weights


def test_parameter_counts_weight_order_and_layout():
    layer = rnn([{"type": "LSTMCell", "units": 8}, {"type": "GRUCell", "units": 6}])
    spec = from_data(seq_spec([layer], (10, 16)))
    want = 4 * (16 * 8 + 8 * 8 + 8) + 3 * (8 * 6 + 6 * 6 + 2 * 6)
    assert param_counts(spec.graph)["rnn"] == (want, 0)
    kmodel = keras_model(spec)
    assert kmodel.get_layer("rnn").count_params() == want
    model = netspec.build(spec, seed=0)
    copy_weights(kmodel, model)
    views = {name: info.keras_view(p).detach() for name, p, info in model.keras_weights()}
    keys = [f"layers.rnn.cells.{i}.{w}" for i in (0, 1) for w in ("kernel", "recurrent_kernel")]
    keys = keys[:2] + ["layers.rnn.cells.0.bias"] + keys[2:] + ["layers.rnn.cells.1.bias"]
    assert list(views) == keys
    for key, want_array in zip(keys, kmodel.get_layer("rnn").get_weights(), strict=True):
        np.testing.assert_array_equal(views[key].numpy(), want_array)
    # Stored in the fused kernels' layouts: LSTM (4u, in), GRU r, z, n.
    assert model.layers["rnn"].cells[0].kernel.shape == (32, 16)
    assert model.layers["rnn"].cells[1].bias.shape == (2, 18)
    assert not any("bias_hh" in key for key in model.state_dict())


def test_initializers_and_forget_bias_per_cell():
    layer = rnn(
        [
            {"type": "LSTMCell", "units": 3, "bias_initializer": {"type": "Constant", "value": 2}},
            {"type": "LSTMCell", "units": 2, "unit_forget_bias": False},
        ]
    )
    cells = netspec.build(seq_spec([layer]), seed=0).layers["rnn"].cells
    torch.testing.assert_close(
        cells[0].bias.detach(), torch.tensor([2.0] * 3 + [1.0] * 3 + [2.0] * 6)
    )
    assert (cells[1].bias == 0).all()
    assert cells[1].kernel.shape == (8, 3)  # the second cell's input is the first's output


def test_penalties_and_constraints_per_cell_as_keras():
    layer = rnn(
        [
            {**LSTM_CELL, "kernel_regularizer": {"type": "L2", "l2": 0.1}},
            {
                **GRU_CELL,
                "recurrent_regularizer": {"type": "L1", "l1": 0.01},
                "bias_regularizer": {"type": "L2", "l2": 0.5},
                "kernel_constraint": {"type": "MaxNorm", "max_value": 0.3, "axis": 0},
            },
        ],
        activity_regularizer={"type": "L2", "l2": 0.05},
        return_state=True,
    )
    spec = from_data(seq_spec([layer]))
    kmodel = keras_model(spec)
    model = netspec.build(spec, seed=0)
    copy_weights(kmodel, model)
    x = inputs()
    model(x)
    keras_predict(kmodel, [x.numpy()])
    keras_loss = sum(float(loss.detach()) for loss in kmodel.losses)
    ours = model.regularization_loss().item() + model.activity_loss().item()
    assert ours == pytest.approx(keras_loss, rel=1e-5)
    model.apply_constraints()
    cell = kmodel.get_layer("rnn").cell.cells[1]
    want = keras_numpy(cell.kernel_constraint(cell.kernel.value))
    views = {name: info.keras_view(p).detach() for name, p, info in model.keras_weights()}
    np.testing.assert_allclose(views["layers.rnn.cells.1.kernel"].numpy(), want, atol=1e-6)


def keras_numpy(value) -> np.ndarray:
    return keras.ops.convert_to_numpy(value)


def test_gradients_match_keras():
    layer = rnn([LSTM_CELL, {**GRU_CELL, "reset_after": False}], return_sequences=True)
    spec = from_data(seq_spec([layer]))
    kmodel = keras_model(spec)
    model = netspec.build(spec, seed=0)
    copy_weights(kmodel, model)
    x = inputs()
    model(x).pow(2).sum().backward()
    kmodel(torch.as_tensor(x.numpy())).pow(2).sum().backward()
    grads = {name: info.keras_view(p.grad) for name, p, info in model.keras_weights()}
    for i, cell in enumerate(kmodel.get_layer("rnn").cell.cells):
        for name in ("kernel", "recurrent_kernel", "bias"):
            want = getattr(cell, name).value.grad.cpu()
            torch.testing.assert_close(
                grads[f"layers.rnn.cells.{i}.{name}"], want, rtol=1e-4, atol=1e-6
            )


# ------------------------------------------------------------------------ running


def ops_run(model, *args) -> set[str]:
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        model(*args)
    return {event.name for event in prof.events()}


def test_each_cell_of_a_stack_runs_its_fused_kernel():
    layer = rnn([LSTM_CELL, GRU_CELL, {"type": "SimpleRNNCell", "units": 2}])
    for masked in (False, True):
        model = netspec.build(token_spec([layer]) if masked else seq_spec([layer]), seed=0)
        assert all(cell.fused for cell in model.layers["rnn"].cells)
        ran = ops_run(model, TOKENS if masked else inputs())
        assert {"aten::lstm", "aten::gru", "aten::rnn_tanh"} <= ran


def test_seeded_dropout_is_reproducible():
    layer = rnn(
        [
            {**LSTM_CELL, "dropout": 0.5, "recurrent_dropout": 0.5, "seed": 3},
            {**GRU_CELL, "dropout": 0.3, "seed": 4},
        ]
    )
    x = inputs()
    first = netspec.build(seq_spec([layer]), seed=0).train()(x)
    again = netspec.build(seq_spec([layer]), seed=0).train()(x)
    torch.testing.assert_close(first, again)


def test_training_dropout_statistics_match_keras():
    """Many training-mode draws of one sequence: mean and spread as Keras's (each cell draws
    its masks once per sequence, from its own input)."""
    cells = [
        {"type": "GRUCell", "units": 3, "dropout": 0.3, "recurrent_dropout": 0.4},
        {"type": "SimpleRNNCell", "units": 3, "dropout": 0.5, "kernel_initializer": "ones"},
    ]
    spec = from_data(seq_spec([rnn(cells)], (5, 3)))
    kmodel = keras_model(spec)
    model = netspec.build(spec, seed=0).train()
    copy_weights(kmodel, model)
    torch.manual_seed(0)
    keras.utils.set_random_seed(0)
    samples = 2000
    x = torch.randn(1, 5, 3).expand(samples, -1, -1).contiguous()
    with torch.no_grad():
        ours = model(x).numpy()
    theirs = keras_predict(kmodel, [x.numpy()], training=True)
    spread = np.maximum(ours.std(0), theirs.std(0))
    np.testing.assert_array_less(
        np.abs(ours.mean(0) - theirs.mean(0)), 5 * spread / samples**0.5 + 1e-6
    )
    np.testing.assert_allclose(ours.std(0), theirs.std(0), rtol=0.1, atol=1e-4)
    assert (ours.std(0) > 1e-3).all()


# ------------------------------------------------------------------------ located errors


ERRORS = [
    pytest.param(
        "  - type: RNN\n    cell: {type: LSTMcell, units: 3}\n",
        "layers[0].cell",
        "cell:",
        "unknown RNN cell type 'LSTMcell'; did you mean 'LSTMCell'?",
        id="cell-type",
    ),
    pytest.param(
        "  - type: RNN\n    cell: {type: GRU, units: 3}\n",
        "layers[0].cell",
        "cell:",
        "did you mean 'GRUCell'?",
        id="layer-for-cell",
    ),
    pytest.param(
        "  - type: RNN\n    cell:\n      type: LSTMCell\n      units: 3\n      unit: 3\n",
        "layers[0].cell.unit",
        "unit: 3",
        "unknown key 'unit'; did you mean 'units'?",
        id="cell-key",
    ),
    pytest.param(
        "  - type: RNN\n    cell:\n      type: StackedRNNCells\n      cells:\n"
        "        - type: LSTMCell\n          units: 3\n          unit: 3\n",
        "layers[0].cell.cells[0].unit",
        "unit: 3",
        "unknown key 'unit'; did you mean 'units'?",
        id="stacked-cell-key",
    ),
    pytest.param(
        "  - type: RNN\n    cell:\n      type: StackedRNNCells\n"
        "      cells: [{type: GRUCell, units: 2}]\n      cell: []\n",
        "layers[0].cell.cell",
        "cell: []",
        "unknown key 'cell'; did you mean 'cells'?",
        id="stack-key",
    ),
    pytest.param(
        "  - type: RNN\n    cell:\n      - {type: GRUCell, units: 3}\n"
        "      - {type: GRUCel, units: 3}\n",
        "layers[0].cell[1]",
        "GRUCel,",
        "did you mean 'GRUCell'?",
        id="list-cell-type",
    ),
    pytest.param(
        "  - type: RNN\n    cell:\n      - {type: GRUCell, units: 3}\n"
        "      - {type: LSTMCell, units: 3, use_cudnn: true}\n",
        "layers[0].cell[1].use_cudnn",
        "use_cudnn",
        "unknown key 'use_cudnn'",
        id="layer-argument-in-cell",
    ),
    pytest.param(
        "  - type: RNN\n    cell:\n      type: StackedRNNCells\n      cells:\n"
        "        - {type: GRUCell, units: 3}\n"
        "        - {type: LSTMCell, units: 2, recurrent_activation: glu}\n",
        "layers[0].cell.cells[1].recurrent_activation",
        "recurrent_activation: glu",
        "glu halves its input: it cannot be LSTMCell's recurrent_activation",
        id="stacked-glu",
    ),
    pytest.param(
        "  - type: RNN\n    cell:\n      - {type: GRUCell, units: 3}\n"
        "      - type: StackedRNNCells\n        cells: [{type: GRUCell, units: 2}]\n",
        "layers[0].cell[1]",
        "type: StackedRNNCells",
        "cannot be in a stack of cells",
        id="stack-in-list",
    ),
    pytest.param(
        "  - type: RNN\n    cell:\n      type: StackedRNNCells\n      cells:\n"
        "        - {type: StackedRNNCells, cells: [{type: GRUCell, units: 2}]}\n",
        "layers[0].cell.cells[0]",
        "- {type: StackedRNNCells",
        "cannot be in a stack of cells",
        id="stack-in-stack",
    ),
    pytest.param(
        "  - type: RNN\n    cell:\n      type: StackedRNNCells\n      cells: []\n",
        "layers[0].cell.cells",
        "cells: []",
        "at least 1 item",
        id="empty-stack",
    ),
    pytest.param(
        "  - type: RNN\n    cell: LSTMCell\n",
        "layers[0].cell",
        "cell: LSTMCell",
        "a cell is an object: {type: LSTMCell, units: ...}",
        id="cell-name",
    ),
    pytest.param(
        "  - type: RNN\n    cell: {type: SimpleRNNCell, units: 3}\n    stateful: true\n",
        "layers[0].stateful",
        "stateful: true",
        "stateful RNNs are not supported",
        id="stateful",
    ),
    pytest.param(
        "  - type: RNN\n    cell: {type: SimpleRNNCell, units: 3, return_sequences: true}\n",
        "layers[0].cell.return_sequences",
        "cell:",
        "unknown key 'return_sequences'",
        id="loop-argument-in-cell",
    ),
]


@pytest.mark.parametrize(("layers", "path", "needle", "message"), ERRORS)
def test_located_errors(layers, path, needle, message):
    text = "netspec: 1\ninput_shape: [5, 4]\nlayers:\n" + layers
    assert_located(text, path, needle, message)


def test_rank_error():
    text = (
        "netspec: 1\ninput_shape: [5]\nlayers:\n  - {type: RNN, cell: {type: GRUCell, units: 2}}\n"
    )
    assert "rank 3" in errors_of(text)[0].message
