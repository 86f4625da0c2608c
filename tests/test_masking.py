"""Masks: Embedding(mask_zero) and Masking make them, layers that keep the timesteps carry them,
recurrent layers and Bidirectional use them exactly as Keras does (padding at the end, in the
middle, at the start, whole sequences; both directions; fused kernel and step loop); a mask
that would be lost or ignored is a located error; models without masks do no mask work."""

from __future__ import annotations

import pytest
import torch
from helpers import assert_located, errors_of
from keras_oracle import as_list, assert_keras_parity
from mask_data import EMBED, TOKENS

import netspec
from netspec.loader import from_data

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def token_spec(layers: list[dict], steps: int | None = 7) -> dict:
    return {"netspec": 1, "input_shape": [steps], "input_dtype": "int64", "layers": layers}


RNN_VARIANTS = [
    {},
    {"return_sequences": True},
    {"return_sequences": True, "return_state": True, "go_backwards": True},
    {"go_backwards": True, "return_state": True},
    {"activation": "softsign", "return_sequences": True},  # step loop
    {"recurrent_dropout": 0.2, "return_sequences": True, "return_state": True},  # step loop
]
CASES = [
    pytest.param(kind, args, id=f"{kind}-{','.join(args) or 'defaults'}")
    for kind in ("LSTM", "GRU", "SimpleRNN")
    for args in RNN_VARIANTS
] + [pytest.param("GRU", {"reset_after": False, "return_sequences": True}, id="GRU-reset-before")]


@pytest.mark.parametrize(("kind", "args"), CASES)
def test_recurrent_layers_skip_masked_steps_as_keras(kind, args):
    layer = {"type": kind, "units": 5, "bias_initializer": "normal", **args}
    model, _ = assert_keras_parity(token_spec([EMBED, layer]), TOKENS, atol=1e-6)
    # The mask matters: without it the outputs differ.
    unmasked = netspec.build(token_spec([{**EMBED, "mask_zero": False}, layer]), seed=0).eval()
    unmasked.load_state_dict(model.state_dict())
    with torch.no_grad():
        assert not torch.allclose(as_list(model(TOKENS))[0], as_list(unmasked(TOKENS))[0])


@pytest.mark.parametrize("merge_mode", ["concat", "sum", None])
@pytest.mark.parametrize(
    "inner",
    [
        {"type": "LSTM", "units": 3, "return_sequences": True},
        {"type": "GRU", "units": 3, "return_state": True},
        {"type": "SimpleRNN", "units": 3, "return_sequences": True, "activation": "selu"},
    ],
)
def test_bidirectional_with_mask_as_keras(merge_mode, inner):
    layer = {"type": "Bidirectional", "layer": inner, "merge_mode": merge_mode}
    assert_keras_parity(token_spec([EMBED, layer]), TOKENS, atol=1e-6)


def test_mask_passes_through_layers_that_keep_the_timesteps():
    layers = [
        EMBED,
        {"type": "Dense", "units": 6, "activation": "tanh"},
        {"type": "Dropout", "rate": 0.3},
        {"type": "Activation", "activation": "relu"},
        {"type": "TimeDistributed", "layer": {"type": "Dense", "units": 5}},
        {"type": "ActivityRegularization", "l2": 0.01},
        {"type": "LSTM", "units": 4, "return_sequences": True},  # carries the mask on
        {"type": "GRU", "units": 3, "return_sequences": True, "go_backwards": True},
        {"type": "Bidirectional", "layer": {"type": "SimpleRNN", "units": 2}},
    ]
    spec = token_spec(layers, None)
    graph = from_data(spec).graph
    assert [n.mask for n in graph.nodes] == ["embedding"] * 8 + [None]
    assert_keras_parity(spec, TOKENS, atol=1e-6)


def test_masking_layer_as_keras():
    x = torch.randn(4, 6, 3)
    x[0, 3:] = 0.0  # trailing padding
    x[1, 1] = 0.0  # a padded step in the middle
    x[2, :, 0] = 0.0  # one feature zero: not padding
    x[3] = 0.0  # all padding
    layers = [{"type": "Masking"}, {"type": "LSTM", "units": 4, "return_sequences": True}]
    spec = {"netspec": 1, "input_shape": [6, 3], "layers": layers}
    assert_keras_parity(spec, x, atol=1e-6)
    spec = {"netspec": 1, "input_shape": [6, 3], "layers": [{"type": "Masking"}]}
    model, _ = assert_keras_parity(spec, x + 2.0, atol=1e-6)  # nothing masked: the input as it is
    y = netspec.build({**spec, "layers": [{"type": "Masking", "mask_value": 2.0}]})(x + 2.0)
    assert (y[0, 3:] == 0).all() and (y[1, 1] == 0).all() and (y[2] != 0).all()
    assert model.layers["masking"].compute_mask(x).tolist()[0] == [True] * 3 + [False] * 3


def test_mask_reaching_model_outputs_is_allowed():
    spec = token_spec([EMBED, {"type": "LSTM", "units": 2, "return_sequences": True}])
    assert from_data(spec).graph.nodes[-1].mask == "embedding"
    assert netspec.build(spec)(TOKENS).shape == (6, 7, 2)


def test_float_indices_mask_on_the_raw_value_as_keras():
    spec = token_spec([EMBED, {"type": "GRU", "units": 3}])
    spec["input_dtype"] = "float32"
    x = torch.tensor([[1.0, 0.5, 2.0, 0.0], [0.0, 3.0, 0.2, 0.0]])
    spec["input_shape"] = [4]
    model = netspec.build(spec, seed=0).eval()
    mask = model.layers["embedding"].compute_mask(x)
    assert mask.tolist() == [[True, True, True, False], [False, True, True, False]]


def test_masked_steps_get_no_gradient():
    spec = {
        "netspec": 1,
        "input_shape": [7, 4],
        "layers": [{"type": "Masking"}, {"type": "LSTM", "units": 3, "return_sequences": True}],
    }
    model = netspec.build(spec, seed=0)
    x = torch.randn(2, 7, 4)
    x[0, 2] = 0.0
    x[1, 5:] = 0.0
    x.requires_grad_(True)
    model(x).sum().backward()
    assert (x.grad[0, 2] == 0).all() and (x.grad[1, 5:] == 0).all()
    assert (x.grad[0, 3] != 0).any()


def profile_ops(model, x) -> set[str]:
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        model(x)
    return {event.name for event in prof.events()}


def test_masks_use_the_fused_kernel():
    """Padding anywhere runs the fused kernel on packed sequences (valid steps first)."""
    model = netspec.build(token_spec([EMBED, {"type": "LSTM", "units": 3}]), seed=0)
    assert model.layers["lstm"].fused
    assert "aten::lstm" in profile_ops(model, TOKENS)


def test_models_without_masks_do_no_mask_work():
    plain = netspec.build(token_spec([{**EMBED, "mask_zero": False}, {"type": "LSTM", "units": 3}]))
    assert plain._mask_plan is None and plain._chain is not None
    no_user = netspec.build(token_spec([EMBED, {"type": "Dense", "units": 3}]))
    assert no_user._mask_plan is None  # a mask nobody uses is never computed
    masked = netspec.build(token_spec([EMBED, {"type": "LSTM", "units": 3}]))
    assert masked._mask_plan == [(None, True), (1, False)] and masked._chain is None


def test_masked_model_with_keywords_and_several_outputs():
    """forward with masks takes keywords and several outputs like any other."""
    spec = {
        "netspec": 1,
        "inputs": {"tokens": {"shape": [7], "dtype": "int64"}},
        "layers": [
            EMBED,
            {"type": "LSTM", "units": 3, "return_state": True, "name": "enc"},
        ],
        "outputs": ["enc:0", "enc:2"],
    }
    model = netspec.build(spec, seed=0)
    out, c = model(tokens=TOKENS)
    assert out.shape == c.shape == (6, 3)
    assert (out[3] == 0).all()  # a fully padded sequence: zero output and state


@pytest.mark.slow  # torch.compile
def test_torch_compile_with_masks():
    """torch.compile runs a masked model (the fused kernel eagerly, as it runs nn.LSTM)."""
    layers = [
        EMBED,
        {"type": "LSTM", "units": 3, "return_sequences": True},
        {"type": "GRU", "units": 2},
    ]
    model = netspec.build(token_spec(layers), seed=0)
    torch.testing.assert_close(torch.compile(model)(TOKENS), model(TOKENS))


# ------------------------------------------------------------------------------ located errors


HEAD = (
    "netspec: 1\ninput_shape: [8]\ninput_dtype: int64\nlayers:\n"
    "  - {type: Embedding, input_dim: 9, output_dim: 4, mask_zero: true, name: emb}\n"
)
ERRORS = [
    pytest.param("  - type: Flatten\n", "layers[1]", "Flatten", "neither uses masks", id="flatten"),
    pytest.param(
        "  - type: Reshape\n    target_shape: [32]\n",
        "layers[1]",
        "Reshape",
        "neither uses masks",
        id="reshape",
    ),
    pytest.param(
        "  - {type: LSTM, units: 4, return_sequences: true, name: a}\n"
        "  - {type: Dot, axes: 2, inputs: [a, emb]}\n",
        "layers[2].inputs",
        "type: Dot",
        "Dot, which neither uses masks",
        id="dot",
    ),
    pytest.param(
        "  - type: Permute\n    dims: [2, 1]\n",
        "layers[1]",
        "Permute",
        "the mask of 'emb' (Embedding)",
        id="permute",
    ),
    pytest.param(
        "  - type: Activation\n    activation: {type: glu, axis: 1}\n",
        "layers[1]",
        "Activation",
        "does not keep",
        id="glu-on-timesteps",
    ),
    pytest.param(
        "  - type: TimeDistributed\n    layer: {type: RepeatVector, n: 2}\n",
        "layers[1]",
        "TimeDistributed",
        "does not keep",
        id="time-distributed-repeat",
    ),
    pytest.param(
        "  - type: Dense\n    units: 3\n  - type: Lambda\n    expression: x * 2\n",
        "layers[2]",
        "Lambda",
        "Lambda, which neither",
        id="lambda",
    ),
]


@pytest.mark.parametrize(("layers", "path", "needle", "message"), ERRORS)
def test_a_mask_that_would_be_lost_is_a_located_error(layers, path, needle, message):
    text = HEAD + layers
    assert_located(text, path, needle, message)


def test_masks_inside_wrappers_are_located_errors():
    text = (
        "netspec: 1\ninput_shape: [3, 5]\ninput_dtype: int64\nlayers:\n"
        "  - type: TimeDistributed\n"
        "    layer: {type: Embedding, input_dim: 9, output_dim: 2, mask_zero: true}\n"
        "  - {type: Reshape, target_shape: [3, 10]}\n"
    )
    (d,) = errors_of(text)
    assert d.path == "layers[0].layer" and "not carried" in d.message
    text = (
        "netspec: 1\ninput_shape: [3, 5, 2]\nlayers:\n"
        "  - type: Masking\n"
        "  - type: TimeDistributed\n"
        "    layer: {type: LSTM, units: 2}\n"
    )
    (d,) = errors_of(text)
    assert d.path == "layers[1]" and "TimeDistributed, which neither" in d.message


def test_a_mask_no_longer_carried_is_fine():
    """An RNN without return_sequences consumes the mask: what follows sees none."""
    spec = token_spec([EMBED, {"type": "LSTM", "units": 3}, {"type": "Flatten"}])
    graph = from_data(spec).graph
    assert [n.mask for n in graph.nodes] == ["embedding", None, None]
    state = token_spec(
        [EMBED, {"type": "GRU", "units": 3, "return_sequences": True, "return_state": True}]
    )
    state["outputs"] = ["gru:1"]
    state["layers"].append({"type": "Flatten", "inputs": "gru:1"})
    state["outputs"] = ["flatten", "gru:0"]
    assert from_data(state).graph.nodes[1].mask == ["embedding", None]
