"""Shared layers: a `Shared` entry calls another entry's module again, with the same weights.

Against Keras (one layer object called twice in a functional model): shapes, parameter counts,
outputs and penalties (an activity penalty at every call). Then the torch side (one set of
weights: state_dict, parameters, gradients from both calls, deepcopy, dtype moves), seeds, the
summary, and the located errors (unknown or self references, a Shared target, a model input,
arity, inputs that do not fit the weights, trainable, cycles).
"""

from __future__ import annotations

import copy

import keras
import numpy as np
import pytest
import torch
import torch.nn.functional as F
import yaml
from keras_oracle import copy_weights, keras_model, keras_param_counts, keras_predict

import netspec
from netspec.compiler import param_counts
from netspec.errors import SpecError
from netspec.layers import LAYERS
from netspec.summary import summary_dict

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

SIAMESE = {
    "netspec": 1,
    "name": "siamese_test",
    "inputs": {"left": {"shape": [12]}, "right": {"shape": [12]}},
    "layers": [
        {
            "type": "Dense",
            "units": 6,
            "activation": "tanh",
            "name": "encoder",
            "inputs": "left",
            "kernel_regularizer": {"type": "L2", "l2": 0.01},
            "activity_regularizer": {"type": "L1", "l1": 0.01},
        },
        {"type": "Shared", "layer": "encoder", "inputs": "right", "name": "encoder_right"},
        {"type": "Subtract", "inputs": ["encoder", "encoder_right"]},
        {"type": "Dense", "units": 1, "activation": "sigmoid", "name": "head"},
    ],
}


def _inputs(graph, batch=4, seed=0) -> list[np.ndarray]:
    """Random inputs; integer ones are token ids, zero-padded at the end by a different amount
    per row (masks)."""
    rng = np.random.default_rng(seed)
    out = []
    for inp in graph.inputs:
        shape = (batch, *[d or 3 for d in inp.shape])
        if inp.dtype.startswith("int"):
            ids = rng.integers(1, 10, size=shape)
            for row in range(batch):
                ids[row, shape[1] - row % shape[1] :] = 0
            out.append(ids.astype(inp.dtype))
        else:
            out.append(rng.standard_normal(shape).astype(np.float32))
    return out


def _as_list(value) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def errors_of(text: str) -> list[str]:
    with pytest.raises(SpecError) as info:
        netspec.loads(text, "spec.yaml")
    return [str(d) for d in info.value.diagnostics]


# --------------------------------------------------------------------------- against Keras

KERAS_CASES = {
    "siamese-dense": SIAMESE,
    # Dense takes any rank: one Dense on (12,) and on (5, 12) shares its (12, 4) kernel.
    "dense-other-rank": {
        "netspec": 1,
        "inputs": {"a": {"shape": [12]}, "b": {"shape": [5, 12]}},
        "layers": [
            {"type": "Dense", "units": 4, "name": "proj", "inputs": "a"},
            {"type": "Shared", "layer": "proj", "inputs": "b", "name": "proj_b"},
            {"type": "Flatten", "inputs": "proj_b"},
            {"type": "Concatenate", "inputs": ["proj", "flatten"]},
        ],
    },
    # A text pair through one Embedding (integer inputs), then merged.
    "embedding-pair": {
        "netspec": 1,
        "inputs": {
            "q1": {"shape": [7], "dtype": "int32"},
            "q2": {"shape": [7], "dtype": "int32"},
        },
        "layers": [
            {"type": "Embedding", "input_dim": 10, "output_dim": 3, "name": "emb", "inputs": "q1"},
            {"type": "Shared", "layer": "emb", "inputs": "q2", "name": "emb_q2"},
            {"type": "Multiply", "inputs": ["emb", "emb_q2"]},
            {"type": "Flatten"},
            {"type": "Dense", "units": 2},
        ],
    },
    # A question pair: one Embedding with mask_zero and one LSTM, shared; each call makes and
    # takes its own mask (zero-padded inputs below).
    "masked-embedding-lstm-pair": {
        "netspec": 1,
        "inputs": {
            "q1": {"shape": [6], "dtype": "int32"},
            "q2": {"shape": [6], "dtype": "int32"},
        },
        "layers": [
            {
                "type": "Embedding",
                "input_dim": 10,
                "output_dim": 4,
                "mask_zero": True,
                "name": "emb",
                "inputs": "q1",
            },
            {"type": "LSTM", "units": 5, "name": "rnn"},
            {"type": "Shared", "layer": "emb", "inputs": "q2", "name": "emb_q2"},
            {"type": "Shared", "layer": "rnn", "name": "rnn_q2"},
            {"type": "Concatenate", "inputs": ["rnn", "rnn_q2"]},
            {"type": "Dense", "units": 1},
        ],
    },
    # A merge layer shared (two inputs each call), a Shared entry written before its original,
    # and one layer shared three times.
    "merge-shared-before-original": {
        "netspec": 1,
        "inputs": {"a": {"shape": [4]}, "b": {"shape": [4]}, "c": {"shape": [4]}},
        "layers": [
            {"type": "Shared", "layer": "mix", "inputs": ["b", "c"], "name": "mix_bc"},
            {"type": "Concatenate", "name": "mix", "inputs": ["a", "b"]},
            {"type": "Dense", "units": 3, "name": "d", "inputs": "mix"},
            {"type": "Shared", "layer": "d", "inputs": "mix_bc", "name": "d2"},
            {"type": "Shared", "layer": "d", "inputs": "mix_bc", "name": "d3"},
            {"type": "Add", "inputs": ["d", "d2", "d3"]},
        ],
    },
}


@pytest.mark.parametrize("data", list(KERAS_CASES.values()), ids=list(KERAS_CASES))
def test_shared_layers_equal_keras(data):
    spec = netspec.from_data(data)
    graph = spec.graph
    kmodel = keras_model(spec)
    for node in graph.nodes:  # static shapes
        assert tuple(kmodel.get_layer(node.name).output.shape)[1:] == tuple(node.output)
    ours = param_counts(graph)
    assert ours == {name: keras_param_counts(kmodel)[name] for name in ours}
    assert sum(t + f for t, f in ours.values()) == kmodel.count_params()
    for node in graph.nodes:
        if node.type == "Shared":
            assert ours[node.name] == (0, 0)

    model = netspec.build(spec, seed=0).eval()
    copy_weights(kmodel, model)
    arrays = _inputs(graph)
    with torch.no_grad():
        got = _as_list(model(*[torch.as_tensor(a) for a in arrays]))
    for g, e in zip(got, _as_list(keras_predict(kmodel, arrays)), strict=True):
        np.testing.assert_allclose(g.numpy(), e, rtol=1e-5, atol=1e-5)
    keras_losses = sum(float(keras.ops.convert_to_numpy(x)) for x in kmodel.losses)
    assert float(model.losses().detach()) == pytest.approx(keras_losses, rel=1e-5, abs=1e-7)


def test_activity_penalty_at_every_call_weight_penalty_once():
    spec = netspec.from_data(SIAMESE)
    model = netspec.build(spec, seed=0)
    left, right = torch.randn(4, 12), torch.randn(4, 12)
    model(left, right)
    encoder = model.layers["encoder"]
    each = [0.01 * encoder(x).abs().sum() / 4 for x in (left, right)]
    assert torch.allclose(model.activity_loss(), each[0] + each[1])
    kernel = encoder.kernel
    assert torch.allclose(model.regularization_loss(), 0.01 * kernel.square().sum())


def test_keras_refuses_a_shared_dense_on_another_last_dimension():
    """What the weights-must-fit error mirrors."""
    dense = keras.layers.Dense(4)
    dense(keras.Input((16,)))
    dense(keras.Input((3, 16)))  # another rank is fine: the kernel still fits
    with pytest.raises(ValueError, match="incompatible"):
        dense(keras.Input((12,)))


# ------------------------------------------------------------------------------ torch side


def test_one_set_of_weights():
    model = netspec.build(SIAMESE, seed=0)
    shared, encoder = model.layers["encoder_right"], model.layers["encoder"]
    assert shared.target is encoder
    assert list(shared.parameters()) == [] and list(shared.children()) == []
    assert list(model.state_dict()) == [
        "layers.encoder.kernel",
        "layers.encoder.bias",
        "layers.head.kernel",
        "layers.head.bias",
    ]
    assert sum(p.numel() for p in model.parameters()) == 12 * 6 + 6 + 6 + 1
    assert [name for name, _, _ in model.keras_weights()] == list(model.state_dict())
    assert "shares=encoder" in repr(model)


def test_gradients_of_both_calls_reach_the_shared_weights():
    model = netspec.build(SIAMESE, seed=0)
    left, right = torch.randn(4, 12), torch.randn(4, 12)
    model(left, right).sum().backward()
    enc, head = model.layers["encoder"], model.layers["head"]
    kernel = enc.kernel.detach().requires_grad_()
    bias = enc.bias.detach().requires_grad_()
    diff = torch.tanh(F.linear(left, kernel, bias)) - torch.tanh(F.linear(right, kernel, bias))
    torch.sigmoid(F.linear(diff, head.kernel.detach(), head.bias.detach())).sum().backward()
    assert torch.allclose(enc.kernel.grad, kernel.grad, atol=1e-6)
    assert torch.allclose(enc.bias.grad, bias.grad, atol=1e-6)


def test_sgd_step_updates_the_one_copy_both_calls_use():
    model = netspec.build(SIAMESE, seed=0)
    left, right = torch.randn(4, 12), torch.randn(4, 12)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    model(left, right).sum().backward()
    opt.step()
    enc = model.layers["encoder"]
    assert torch.equal(model.layers["encoder_right"](right), enc(right))


def test_deepcopy_and_dtype_moves_keep_the_sharing():
    model = netspec.build(SIAMESE, seed=0)
    twin = copy.deepcopy(model)
    assert twin.layers["encoder_right"].target is twin.layers["encoder"]
    assert twin.layers["encoder"] is not model.layers["encoder"]
    twin.double()
    assert twin.layers["encoder_right"].target.kernel.dtype == torch.float64
    out = twin(torch.randn(2, 12, dtype=torch.float64), torch.randn(2, 12, dtype=torch.float64))
    assert out.dtype == torch.float64
    twin.eval()
    assert not twin.layers["encoder_right"].target.training


@pytest.mark.slow  # torch.compile
def test_torch_compile_runs_the_shared_call():
    model = netspec.build(SIAMESE, seed=0).eval()
    x = (torch.randn(3, 12), torch.randn(3, 12))
    compiled = torch.compile(model)(*x)
    compiled_penalty = model.activity_loss().detach()  # both calls' activity penalties
    assert torch.allclose(compiled, model(*x), atol=1e-6)
    assert torch.allclose(compiled_penalty, model.activity_loss(), atol=1e-6)


def test_seeded_weights_do_not_depend_on_where_shared_entries_sit():
    reordered = copy.deepcopy(SIAMESE)
    layers = reordered["layers"]
    layers.insert(0, layers.pop(1))  # the Shared entry first, before its original
    a = netspec.build(SIAMESE, seed=3).state_dict()
    b = netspec.build(reordered, seed=3).state_dict()
    assert list(a) == list(b)
    assert all(torch.equal(a[k], b[k]) for k in a)
    x = (torch.randn(2, 12), torch.randn(2, 12))
    m = netspec.build(reordered, seed=3)
    assert torch.allclose(m(*x), netspec.build(SIAMESE, seed=3)(*x))


def test_frozen_original_freezes_every_call():
    data = copy.deepcopy(SIAMESE)
    data["layers"][0]["trainable"] = False
    graph = netspec.from_data(data).graph
    assert param_counts(graph)["encoder"] == (0, 78)
    model = netspec.build(data, seed=0)
    assert not model.layers["encoder_right"].target.kernel.requires_grad


def test_shared_layer_keeps_the_input_dtype_as_its_target():
    """A Shared entry keeps its input's dtype where its target layer does (Flatten keeps
    integers); floating inputs are float32 in every layer, as Keras autocasts them."""
    data = {
        "netspec": 1,
        "inputs": {"a": {"shape": [3], "dtype": "int32"}, "b": {"shape": [3]}},
        "layers": [
            {"type": "Flatten", "name": "flat", "inputs": "b"},
            {"type": "Shared", "layer": "flat", "inputs": "a", "name": "flat_a"},
        ],
        "outputs": ["flat", "flat_a"],
    }
    graph = netspec.from_data(data).graph
    assert graph.node("flat_a").dtype == "int32"
    model = netspec.build(data, seed=0).eval()
    out = model(torch.ones(2, 3, dtype=torch.int32), torch.randn(2, 3))
    assert out[1].dtype == torch.int32
    data["inputs"]["a"]["dtype"] = "float64"
    assert netspec.from_data(data).graph.node("flat_a").dtype == "float32"
    out = netspec.build(data, seed=0)(torch.randn(2, 3, dtype=torch.float64), torch.randn(2, 3))
    assert out[1].dtype == torch.float32


def test_summary_shows_shares():
    graph = netspec.from_data(SIAMESE).graph
    layers = {entry["name"]: entry for entry in summary_dict(graph)["layers"]}
    assert layers["encoder_right"]["shares"] == "encoder"
    assert layers["encoder_right"]["params"] == 0
    assert "shares" not in layers["encoder"]
    assert summary_dict(graph)["total_params"] == 85


def test_summary_table_and_cli(tmp_path):
    from typer.testing import CliRunner

    from netspec.cli import app

    path = tmp_path / "siamese.yaml"
    path.write_text(yaml.safe_dump(SIAMESE))
    result = CliRunner().invoke(app, ["build", str(path)])
    assert result.exit_code == 0, result.output
    assert "shares: encoder" in result.output
    assert "Total params: 85" in result.output


def test_shared_is_registered_and_documented():
    cls = LAYERS.get("Shared")
    assert cls.keras_parity is False and cls.standalone is False
    assert cls.__doc__ and cls.model_fields["layer"].description


# --------------------------------------------------------------------------- located errors

HEADER = """\
netspec: 1
inputs:
  left: {shape: [16]}
  right: {shape: [12]}
  third: {shape: [16]}
layers:
  - {type: Dense, units: 8, name: encoder, inputs: left}
"""


@pytest.mark.parametrize(
    ("entry", "where", "message"),
    [
        pytest.param(
            "{type: Shared, layer: encodr, inputs: third, name: s}",
            "8:27: layers[1].layer",
            "unknown layer 'encodr'; did you mean 'encoder'?",
            id="unknown-did-you-mean",
        ),
        pytest.param(
            "{type: Shared, layer: s, inputs: third, name: s}",
            "8:27: layers[1].layer",
            "layer 's' refers to itself",
            id="itself",
        ),
        pytest.param(
            "{type: Shared, layer: left, inputs: third, name: s}",
            "8:27: layers[1].layer",
            "'left' is a model input, not a layer entry",
            id="model-input",
        ),
        pytest.param(
            "{type: Shared, layer: encoder, inputs: right, name: s}",
            "8:44: layers[1].inputs",
            "shared layer 'encoder' (Dense) was made for input (None, 16); its weights do not "
            "fit input (None, 12) (kernel is (16, 8), this input would need (12, 8)): a shared "
            "layer keeps its weights, so every input it takes must fit them (as in Keras)",
            id="weights-do-not-fit",
        ),
        pytest.param(
            "{type: Shared, layer: encoder, inputs: [left, third], name: s}",
            "8:44: layers[1].inputs",
            "shared layer 'encoder' (Dense) takes 1 input(s), got 2",
            id="arity",
        ),
        pytest.param(
            "{type: Shared, layer: encoder, inputs: third, name: s, trainable: false}",
            "8:71: layers[1].trainable",
            "a Shared entry has no weights of its own: set trainable on 'encoder'",
            id="trainable",
        ),
    ],
)
def test_located_errors(entry, where, message):
    text = HEADER + f"  - {entry}\n  - {{type: Concatenate, inputs: [encoder, s]}}\n"
    assert errors_of(text) == [f"spec.yaml:{where}: {message}"]


def test_sharing_a_shared_entry_names_the_original():
    text = HEADER + (
        "  - {type: Shared, layer: encoder, inputs: third, name: s1}\n"
        "  - {type: Shared, layer: s1, inputs: third, name: s2}\n"
        "  - {type: Add, inputs: [encoder, s1, s2]}\n"
    )
    assert errors_of(text) == [
        "spec.yaml:9:27: layers[2].layer: 's1' is itself a Shared entry (of 'encoder'): "
        "refer to 'encoder'"
    ]


def test_a_shared_rule_refusal_is_prefixed_with_the_shared_layer():
    text = """\
netspec: 1
inputs:
  a: {shape: [4, 2]}
  b: {shape: [3]}
layers:
  - {type: RepeatVector, n: 2, name: rep, inputs: b}
  - {type: Shared, layer: rep, inputs: a, name: rep_a}
  - {type: Flatten, inputs: rep_a}
  - {type: Concatenate, inputs: [rep, flatten], axis: 1}
"""
    (error,) = errors_of(text)
    assert error.startswith("spec.yaml:7:40: layers[1].inputs: shared layer 'rep' (RepeatVector):")
    assert "rank 2" in error


def test_an_original_that_takes_its_shared_call_is_a_cycle():
    text = """\
netspec: 1
input_shape: [4]
layers:
  - {type: Shared, layer: enc, name: s}
  - {type: Dense, units: 4, name: enc}
"""
    errors = errors_of(text)
    assert "layers[0].inputs: 's' is on a cycle (it waits for enc)" in errors[0]


def test_errors_elsewhere_do_not_add_shared_errors():
    """A Shared entry whose original's shapes are unknown (its own error) reports nothing more;
    nor does one whose inputs are unknown."""
    text = HEADER.replace("inputs: left}", "inputs: [left, third]}") + (
        "  - {type: Shared, layer: encoder, inputs: third, name: s}\n"
        "  - {type: Shared, layer: encoder, inputs: thrid, name: t}\n"
        "  - {type: Concatenate, inputs: [encoder, s, t]}\n"
    )
    assert errors_of(text) == [
        "spec.yaml:7:52: layers[0].inputs: Dense takes 1 input(s), got 2",
        "spec.yaml:9:44: layers[2].inputs: unknown input 'thrid'; did you mean 'third'?",
    ]


def test_rank_pinned_layers_refuse_another_rank():
    text = """\
netspec: 1
inputs:
  a: {shape: [4]}
  b: {shape: [3, 4]}
layers:
  - {type: BatchNormalization, name: bn, inputs: a}
  - {type: Shared, layer: bn, inputs: b, name: bn_b}
  - {type: Flatten, inputs: bn_b}
  - {type: Concatenate, inputs: [bn, flatten]}
"""
    (error,) = errors_of(text)
    assert "Keras fixes this layer's input rank" in error
    bn = keras.layers.BatchNormalization()
    bn(keras.Input((4,)))
    with pytest.raises(ValueError):
        bn(keras.Input((3, 4)))
