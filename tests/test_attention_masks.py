"""Keras's masks at attention and merge layers: MultiHeadAttention (self-attention, causal),
Attention and AdditiveAttention take the query's and value's masks and carry the query's on;
the merges carry the OR of their inputs' masks (none unless every input has one) and
Concatenate joins them along the time axis; outputs equal Keras's with its weights copied in."""

from __future__ import annotations

import pytest
import torch
from helpers import errors_of
from keras_oracle import assert_keras_parity
from mask_data import EMBED, TOKENS

from netspec.loader import from_data

pytestmark = [
    pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning"),
    # Keras's GroupQueryAttention leaves its inputs' masks on for its own projections.
    pytest.mark.filterwarnings("ignore:Layer '(query|key|value)' .* does not support masking"),
]

# The padded tokens without the all-padding row (Keras's pooling divides 0 by 0 there).
X = TOKENS[[0, 1, 2, 4, 5]]


def spec(layers: list[dict]) -> dict:
    return {"netspec": 1, "input_shape": [7], "input_dtype": "int64", "layers": layers}


def encoder(causal: bool) -> dict:
    mha = {"type": "MultiHeadAttention", "num_heads": 2, "key_dim": 3, "name": "mha"}
    return spec(
        [
            {**EMBED, "name": "emb"},
            {**mha, "use_causal_mask": causal, "inputs": ["emb", "emb"]},
            {"type": "Add", "inputs": ["emb", "mha"], "name": "res"},
            {"type": "LayerNormalization"},
            {"type": "GlobalAveragePooling1D"},
            {"type": "Dense", "units": 3},
        ]
    )


@pytest.mark.parametrize("causal", [False, True], ids=["bidirectional", "causal"])
def test_encoder_block_with_padding_mask_as_keras(causal):
    model, _ = assert_keras_parity(encoder(causal), X)
    graph = from_data(encoder(causal)).graph
    assert [n.mask for n in graph.nodes][:4] == ["emb"] * 4
    assert model._mask_plan is not None


def two_blocks() -> dict:
    mha = {"type": "MultiHeadAttention", "num_heads": 2, "key_dim": 3}
    return spec([
        {**EMBED, "name": "emb"},
        {**mha, "name": "mha1", "inputs": ["emb", "emb"]},
        {"type": "Add", "inputs": ["emb", "mha1"], "name": "res1"},
        {**mha, "name": "mha2", "inputs": ["res1", "res1"]},
        {"type": "Add", "inputs": ["res1", "mha2"], "name": "res2"},
        {"type": "GlobalAveragePooling1D", "name": "pool"},
        {"type": "Dense", "units": 3},
    ])  # fmt: skip


def test_attention_after_a_residual_runs_unmasked_as_keras():
    """Keras's MultiHeadAttention reads its masks from the tensors when it runs and removes
    them (`set_keras_mask(query, None)`): the residual Add after it, and the second
    attention, run unmasked; the pooling still gets the mask recorded when Keras built the
    model (its `mask=` argument). A fully masked query row attends to every step alike, as
    Keras's dot_product_attention path gives (the padding rows of X)."""
    assert_keras_parity(two_blocks(), TOKENS[[0, 1, 2, 4, 5]])
    nodes = {n.name: n for n in from_data(two_blocks()).graph.nodes}
    assert nodes["mha1"].input_masks == ["emb", "emb"]
    assert nodes["mha2"].input_masks == [None, None]  # what Keras's call sees
    assert nodes["res1"].runtime_mask is None and nodes["res1"].mask == "emb"
    assert nodes["pool"].input_masks == ["emb"]  # the mask Keras recorded when building


ATTENTION = {
    "Attention": {},
    "AdditiveAttention": {},
    "MultiHeadAttention": {"num_heads": 2, "key_dim": 2},
    "GroupQueryAttention": {"num_query_heads": 2, "num_key_value_heads": 1, "head_dim": 2},
}


@pytest.mark.parametrize("kind", list(ATTENTION))
@pytest.mark.parametrize("causal", [False, True])
def test_attention_on_masked_query_and_value_as_keras(kind, causal):
    """The value (14 steps) is two masked sequences joined: its mask differs from the query's."""
    args = ATTENTION[kind]
    layers = [
        {**EMBED, "name": "q"},
        {**EMBED, "name": "e"},
        {"type": "Dense", "units": 4, "inputs": "q", "name": "d"},
        {"type": "Concatenate", "axis": 1, "inputs": ["d", "e"], "name": "v"},
        {"type": kind, "use_causal_mask": causal, "inputs": ["q", "v"], **args},
        {"type": "GlobalAveragePooling1D"},
    ]
    layers[1]["inputs"] = "input"
    s = spec(layers)
    s["inputs"] = {"input": {"shape": [7], "dtype": "int64"}}
    s.pop("input_shape"), s.pop("input_dtype")
    s["layers"][0]["inputs"] = "input"
    assert_keras_parity(s, X)


@pytest.mark.parametrize("axis", [1, -1])
def test_concatenate_of_masked_sequences_as_keras(axis):
    layers = [
        {**EMBED, "name": "a"},
        {"type": "Masking", "mask_value": 0.0, "inputs": "a", "name": "b"},
        {"type": "Dense", "units": 4, "inputs": "b", "name": "c"},
        {"type": "Concatenate", "axis": axis, "inputs": ["a", "c"], "name": "cat"},
        {"type": "GlobalAveragePooling1D"},
    ]
    assert_keras_parity(spec(layers), X)
    mask = from_data(spec(layers)).graph.node("cat").mask
    assert mask == "cat"


def test_merge_masks_follow_keras():
    """Every input masked: the OR (one producer: its mask); one unmasked input: none."""
    both = spec([{**EMBED, "name": "e"}, {"type": "Dense", "units": 4, "name": "d"}])
    both["layers"].append({"type": "Add", "inputs": ["e", "d"]})
    assert from_data(both).graph.nodes[-1].mask == "e"
    s = spec([{**EMBED, "name": "e"}, {"type": "Masking", "inputs": "e", "name": "m"}])
    s["layers"].append({"type": "Maximum", "inputs": ["e", "m"], "name": "x"})
    s["layers"].append({"type": "GlobalAveragePooling1D"})
    assert from_data(s).graph.node("x").mask == "x"
    assert_keras_parity(s, X)


def test_masked_attention_needs_rank3_and_dot_refuses():
    text = (
        "netspec: 1\ninput_shape: [3, 5]\ninput_dtype: int64\nlayers:\n"
        "  - {type: Embedding, input_dim: 9, output_dim: 4, mask_zero: true, name: e}\n"
        "  - {type: MultiHeadAttention, num_heads: 1, key_dim: 2, inputs: [e, e]}\n"
    )
    (d,) = errors_of(text)
    assert d.path == "layers[1].inputs" and "rank-3 inputs only" in d.message
    text = (
        "netspec: 1\ninput_shape: [5]\ninput_dtype: int64\nlayers:\n"
        "  - {type: Embedding, input_dim: 9, output_dim: 4, mask_zero: true, name: e}\n"
        "  - {type: Dot, axes: 2, inputs: [e, e]}\n"
    )
    (d,) = errors_of(text)
    assert "Dot, which neither uses masks" in d.message


def test_models_with_masked_merges_only_do_no_mask_work():
    s = spec([{**EMBED, "name": "e"}, {"type": "Add", "inputs": ["e", "e"]}])
    assert from_data(s).graph.nodes[-1].mask == "e"
    import netspec

    assert netspec.build(s)._mask_plan is None
    assert torch.is_tensor(netspec.build(s)(X))


@pytest.mark.parametrize("kind", ["Attention", "MultiHeadAttention"])
def test_returned_scores_with_masks_as_keras(kind):
    """The weights of masked steps are Keras's; the scores output carries no mask."""
    args = ATTENTION[kind]
    layers = [
        {**EMBED, "name": "q"},
        {"type": kind, "return_attention_scores": True, "inputs": ["q", "q"], "name": "a", **args},
        {"type": "GlobalAveragePooling1D", "inputs": "a:0"},
    ]
    s = {**spec(layers), "outputs": ["global_average_pooling1d", "a:1"]}
    assert from_data(s).graph.node("a").mask == ["q", None]
    assert_keras_parity(s, X)


def test_concatenate_with_an_unmasked_input_as_keras():
    """Keras widens the masks (all True for an unmasked input), concatenates them along the
    axis and takes any() over the last axis: along the features the OR is all True (no mask
    here), along the steps the masks are joined."""
    import netspec

    layers = [
        {**EMBED, "inputs": "t", "name": "e"},
        {"type": "Concatenate", "inputs": ["e", "f"], "name": "features"},
        {"type": "Concatenate", "axis": 1, "inputs": ["e", "f"], "name": "steps"},
    ]
    s = {
        "netspec": 1,
        "inputs": {"t": {"shape": [7], "dtype": "int64"}, "f": {"shape": [7, 4]}},
        "layers": layers,
        "outputs": ["features", "steps"],
    }
    graph = from_data(s).graph
    assert graph.node("features").mask is None and graph.node("steps").mask == "steps"
    model = netspec.build(s)
    e = model.layers["e"].compute_mask(X)
    f = torch.ones(len(X), 7, 4)
    joined = model.layers["steps"].compute_mask(f, f, mask=[e, None])
    assert joined.tolist() == torch.cat([e, torch.ones_like(e)], 1).tolist()
