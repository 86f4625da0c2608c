"""Attention and MultiHeadAttention beyond the registry examples: the attention scores as a
second output (`name:1`) against Keras's, causal masks, dropout while training (seeded and
not), the weight layout and penalties against Keras, and located errors."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import torch
from keras_oracle import copy_weights, keras_model, keras_predict

import netspec
from netspec.errors import SpecError
from netspec.loader import from_data

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def spec_of(layer: dict, shapes: list, outputs=None) -> dict:
    names = [f"x{i}" for i in range(len(shapes))]
    spec = {
        "netspec": 1,
        "inputs": {n: {"shape": s} for n, s in zip(names, shapes, strict=True)},
        "layers": [{**layer, "name": "layer", "inputs": names}],
    }
    if outputs is not None:
        spec["outputs"] = outputs
    return spec


def inputs_for(shapes: list, batch: int = 3, seed: int = 0) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(batch, *s, generator=gen) for s in shapes]


SCORE_CASES = [
    ({"type": "Attention"}, [[4, 3], [5, 3]]),
    ({"type": "Attention", "use_scale": True, "use_causal_mask": True}, [[5, 3], [5, 2], [5, 3]]),
    ({"type": "Attention", "score_mode": "concat", "use_scale": True}, [[2, 3], [4, 3]]),
    ({"type": "MultiHeadAttention", "num_heads": 2, "key_dim": 3}, [[4, 5], [6, 5]]),
    (
        {"type": "MultiHeadAttention", "num_heads": 3, "key_dim": 2, "use_causal_mask": True},
        [[5, 4], [5, 6], [5, 2]],
    ),
    ({"type": "MultiHeadAttention", "num_heads": 2, "key_dim": 2}, [[2, 3, 4], [2, 5, 4]]),
    (
        {"type": "MultiHeadAttention", "num_heads": 2, "key_dim": 2, "attention_axes": [2]},
        [[2, 3, 4], [2, 5, 4]],
    ),
    (
        {"type": "MultiHeadAttention", "num_heads": 1, "key_dim": 3, "use_gate": True},
        [[3, 4], [3, 4]],
    ),
]


@pytest.mark.parametrize(("layer", "shapes"), SCORE_CASES)
def test_attention_scores_output_matches_keras(layer, shapes):
    spec = spec_of({**layer, "return_attention_scores": True}, shapes, ["layer:0", "layer:1"])
    kmodel = keras_model(spec)
    model = netspec.build(spec, seed=0).eval()
    copy_weights(kmodel, model)
    xs = inputs_for(shapes)
    with torch.no_grad():
        out, scores = model(*xs)
    want_out, want_scores = keras_predict(kmodel, [x.numpy() for x in xs])
    assert scores.shape == want_scores.shape
    np.testing.assert_allclose(out.numpy(), want_out, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(scores.numpy(), want_scores, rtol=1e-5, atol=1e-5)
    # The static shapes (None for the batch) are the real ones.
    graph_shapes = netspec.loader.from_data(spec).graph.nodes[0].output
    for static, real in zip(graph_shapes, (out, scores), strict=True):
        assert tuple(real.shape[1:]) == tuple(static)
    # The scores path and the fused path give the same output.
    plain = netspec.build(spec_of(layer, shapes), seed=0).eval()
    plain.load_state_dict(model.state_dict())
    with torch.no_grad():
        torch.testing.assert_close(plain(*xs), out, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("layer_type", ["Attention", "MultiHeadAttention"])
def test_causal_mask_hides_the_future(layer_type):
    extra = {"num_heads": 2, "key_dim": 4} if layer_type == "MultiHeadAttention" else {}
    layer = {"type": layer_type, "use_causal_mask": True, **extra}
    spec = spec_of({**layer, "return_attention_scores": True}, [[6, 4], [6, 4]])
    spec["outputs"] = ["layer:0", "layer:1"]
    model = netspec.build(spec, seed=0).eval()
    q, v = inputs_for([[6, 4], [6, 4]])
    out, scores = model(q, v)
    future = torch.ones(6, 6).triu(1).bool()
    assert (scores[..., future] == 0).all()
    changed = v.clone()
    changed[:, 4:] += 10  # later values do not reach earlier outputs
    torch.testing.assert_close(model(q, changed)[0][:, :4], out[:, :4])


@pytest.mark.parametrize(
    "layer",
    [
        {"type": "Attention", "dropout": 0.5},
        {"type": "MultiHeadAttention", "num_heads": 2, "key_dim": 4, "dropout": 0.5},
    ],
)
@pytest.mark.parametrize("seed", [None, 3])
def test_dropout_only_while_training(layer, seed):
    spec = spec_of({**layer, "seed": seed}, [[5, 4], [7, 4]])
    model = netspec.build(spec, seed=0)
    q, v = inputs_for([[5, 4], [7, 4]])
    with torch.no_grad():
        first = model.eval()(q, v)
        torch.testing.assert_close(model(q, v), first)
        trained = model.train()(q, v)
        assert not torch.allclose(trained, first)
    if seed is not None:
        again = netspec.build(spec, seed=0).train()
        torch.testing.assert_close(again(q, v), trained)


def test_returned_weights_in_training():
    # Attention returns the weights after dropout (Keras's _apply_scores); MultiHeadAttention
    # returns them before (Keras's _compute_attention).
    for layer, dropped in (
        ({"type": "Attention", "dropout": 0.5, "seed": 0}, True),
        ({"type": "MultiHeadAttention", "num_heads": 2, "key_dim": 4, "dropout": 0.5}, False),
    ):
        spec = spec_of({**layer, "return_attention_scores": True}, [[5, 4], [40, 4]])
        spec["outputs"] = ["layer:0", "layer:1"]
        model = netspec.build(spec, seed=0).train()
        _, weights = model(*inputs_for([[5, 4], [40, 4]]))
        sums = weights.sum(-1)
        if dropped:
            assert (weights == 0).float().mean() > 0.3
            assert not torch.allclose(sums, torch.ones_like(sums))
        else:
            torch.testing.assert_close(sums, torch.ones_like(sums))


def test_multi_head_attention_weights_keras_layout_and_penalties():
    layer = {
        "type": "MultiHeadAttention",
        "num_heads": 2,
        "key_dim": 3,
        "value_dim": 5,
        "output_shape": [2, 3],
        "kernel_regularizer": {"type": "L2", "l2": 0.01},
        "bias_regularizer": {"type": "L1", "l1": 0.1},
        "bias_initializer": "random_normal",
        "use_gate": True,
        "kernel_constraint": {"type": "MaxNorm", "max_value": 0.1},
    }
    spec = spec_of(layer, [[4, 6], [3, 7]])
    kmodel = keras_model(spec)
    model = netspec.build(spec, seed=0)
    copy_weights(kmodel, model)
    names = [name for name, _, _ in model.keras_weights()]
    assert names == [
        f"layers.layer.{p}.{w}"
        for p in ("query", "key", "gate", "value", "attention_output")
        for w in ("kernel", "bias")
    ]
    assert tuple(model.layers["layer"].query.kernel.shape) == (2, 3, 6)  # (heads, key_dim, in)
    xs = inputs_for([[4, 6], [3, 7]])
    keras_predict(kmodel, [x.numpy() for x in xs])
    keras_loss = sum(float(keras.ops.convert_to_numpy(loss)) for loss in kmodel.losses)
    assert model.regularization_loss().item() == pytest.approx(keras_loss, rel=1e-5)
    model.apply_constraints()
    for _, param, info in model.keras_weights():
        if info.weight.name == "kernel":
            norms = info.keras_view(param).square().sum(0).sqrt()  # Keras's MaxNorm axis 0
            assert (norms <= 0.1 + 1e-6).all()


def test_scores_feed_other_layers():
    spec = {
        "netspec": 1,
        "input_shape": [5, 4],
        "layers": [
            {"type": "MultiHeadAttention", "num_heads": 2, "key_dim": 2, "name": "mha"},
        ],
    }
    spec["layers"][0]["inputs"] = ["input", "input"]
    spec["layers"][0]["return_attention_scores"] = True
    spec["layers"].append({"type": "Flatten", "inputs": "mha:1", "name": "flat"})
    spec["outputs"] = ["mha:0", "flat"]
    model = netspec.build(spec, seed=0)
    out, flat = model(torch.randn(2, 5, 4))
    assert out.shape == (2, 5, 4) and flat.shape == (2, 2 * 5 * 5)


ERRORS = [
    ({"type": "Attention"}, [[4, 3], [5, 2], [5, 2]], "layers[0].inputs", "same last axis"),
    ({"type": "Attention"}, [[4, 3], [5, 3], [6, 3]], "layers[0].inputs", "same steps"),
    ({"type": "Attention"}, [[3], [3]], "layers[0].inputs", "rank >= 3"),
    ({"type": "Attention"}, [[2, 3]], "layers[0].inputs", "2-3 input(s), got 1"),
    ({"type": "Attention", "dropout": 1.0}, [[2, 3], [2, 3]], "layers[0].dropout", "less than 1"),
    ({"type": "Attention", "score_mode": "add"}, [[2, 3], [2, 3]], "layers[0].score_mode", "dot"),
    (
        {"type": "MultiHeadAttention", "num_heads": 2, "key_dim": 2, "attention_axes": 2},
        [[4, 3], [4, 3]],
        "layers[0].attention_axes",
        "pick from 1..1",
    ),
    (
        {"type": "MultiHeadAttention", "num_heads": 2, "key_dim": 2, "attention_axes": 0},
        [[4, 3], [4, 3]],
        "layers[0].attention_axes",
        "between the batch",
    ),
    (
        {"type": "MultiHeadAttention", "num_heads": 2, "key_dim": 2, "use_causal_mask": True},
        [[2, 4, 3], [2, 4, 3]],
        "layers[0].use_causal_mask",
        "rank-3",
    ),
    (
        {"type": "MultiHeadAttention", "num_heads": 2, "key_dim": 2, "sliding_window": 2},
        [[2, 4, 3], [2, 4, 3]],
        "layers[0].sliding_window",
        "rank-3",
    ),
    (
        {"type": "MultiHeadAttention", "num_heads": 2, "key_dim": 2},
        [[4, 3], [5, 3], [6, 3]],
        "layers[0].inputs",
        "key and value must match",
    ),
    (
        {"type": "MultiHeadAttention", "num_heads": 2, "key_dim": 2},
        [[4, 3], [5, 3, 2]],
        "layers[0].inputs",
        "same rank",
    ),
    (
        {"type": "MultiHeadAttention", "num_heads": 2, "key_dim": 2, "attention_axes": 2},
        [[2, 4, 3], [3, 4, 3]],
        "layers[0].inputs",
        "not attended over",
    ),
    (
        {"type": "MultiHeadAttention", "num_heads": 1, "key_dim": 2, "dropout": 0.1}
        | {"flash_attention": True},
        [[4, 3], [4, 3]],
        "layers[0].flash_attention",
        "dropout",
    ),
    (
        {"type": "MultiHeadAttention", "num_heads": 0, "key_dim": 2},
        [[4, 3], [4, 3]],
        "layers[0].num_heads",
        "greater than 0",
    ),
    (
        {"type": "MultiHeadAttention", "num_heads": 1, "key_dim": 2, "output_shape": [0]},
        [[4, 3], [4, 3]],
        "layers[0].output_shape[0]",
        "greater than 0",
    ),
]


@pytest.mark.parametrize(("layer", "shapes", "path", "message"), ERRORS)
def test_located_errors(layer, shapes, path, message):
    with pytest.raises(SpecError) as info:
        from_data(spec_of(layer, shapes))
    errors = [(d.path, d.message) for d in info.value.diagnostics]
    assert any(p == path and message in m for p, m in errors), errors


def test_kernel_initializer_uses_keras_einsum_fans():
    # Keras 3.15's EinsumDense gives VarianceScaling initializers the einsum fans: a query
    # kernel (dim, heads, key_dim) has fan_in dim and fan_out heads * key_dim.
    layer = {"type": "MultiHeadAttention", "num_heads": 4, "key_dim": 16, "value_dim": 8}
    spec = spec_of(layer, [[3, 64], [3, 64]])
    kmodel = keras_model(spec)
    model = netspec.build(spec, seed=0)
    limits = {"query": (6 / (64 + 64)) ** 0.5, "attention_output": (6 / (32 + 64)) ** 0.5}
    kweights = dict(
        zip(
            ["query", "key", "value", "attention_output"],
            kmodel.get_layer("layer").get_weights()[::2],
            strict=True,
        )
    )
    for name, limit in limits.items():
        ours = getattr(model.layers["layer"], name).kernel.abs().max().item()
        theirs = float(np.abs(kweights[name]).max())
        assert 0.9 * limit < ours <= limit and 0.9 * limit < theirs <= limit, (name, ours, theirs)
