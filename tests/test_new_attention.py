"""AdditiveAttention, GroupQueryAttention and SpectralNormalization beyond the registry examples:
attention scores and weight layouts against Keras's, key/value head groups, training-mode
behaviour step by step against Keras's (SpectralNormalization's power iteration updating
`vector_u` and the kernel; several SGD steps of Keras's `train_on_batch` against a torch loop),
and located errors."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import torch
from keras_oracle import copy_weights, keras_model, keras_predict

import netspec
from netspec.compiler import param_counts
from netspec.errors import SpecError
from netspec.loader import from_data

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def spec_of(layer: dict, shapes: list, outputs=None, dtypes=None) -> dict:
    names = [f"x{i}" for i in range(len(shapes))]
    dtypes = dtypes or ["float32"] * len(shapes)
    spec = {
        "netspec": 1,
        "inputs": {
            n: {"shape": s, "dtype": d} for n, s, d in zip(names, shapes, dtypes, strict=True)
        },
        "layers": [{**layer, "name": "layer", "inputs": names}],
    }
    if outputs is not None:
        spec["outputs"] = outputs
    return spec


def inputs_for(shapes: list, batch: int = 3, seed: int = 0) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(batch, *s, generator=gen) for s in shapes]


def built_pair(spec: dict):
    """The Keras model of a spec and the netspec model holding Keras's weights."""
    kmodel = keras_model(spec)
    model = netspec.build(spec, seed=0)
    copy_weights(kmodel, model)
    return kmodel, model


def keras_layer_weights(kmodel) -> list[np.ndarray]:
    return [np.asarray(w) for w in kmodel.get_layer("layer").get_weights()]


def our_layer_weights(model) -> list[np.ndarray]:
    return [
        info.keras_view(p).detach().numpy()
        for name, p, info in model.keras_weights()
        if name.startswith("layers.layer.")
    ]


def assert_same_weights(kmodel, model, tol: float = 1e-5) -> None:
    ours, theirs = our_layer_weights(model), keras_layer_weights(kmodel)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


# ------------------------------------------------------------------------- AdditiveAttention


ADDITIVE_CASES = [
    ({"type": "AdditiveAttention"}, [[4, 3], [5, 3]]),
    ({"type": "AdditiveAttention", "use_causal_mask": True}, [[5, 3], [5, 2], [5, 3]]),
    ({"type": "AdditiveAttention", "use_scale": False}, [[2, 4], [6, 4]]),
    ({"type": "AdditiveAttention"}, [[2, 3, 4], [2, 5, 4]]),
]


@pytest.mark.parametrize(("layer", "shapes"), ADDITIVE_CASES)
def test_additive_attention_scores_match_keras(layer, shapes):
    spec = spec_of({**layer, "return_attention_scores": True}, shapes, ["layer:0", "layer:1"])
    kmodel, model = built_pair(spec)
    model.eval()
    xs = inputs_for(shapes)
    with torch.no_grad():
        out, scores = model(*xs)
    want_out, want_scores = keras_predict(kmodel, [x.numpy() for x in xs])
    np.testing.assert_allclose(out.numpy(), want_out, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(scores.numpy(), want_scores, rtol=1e-5, atol=1e-5)
    if layer.get("use_causal_mask"):
        future = torch.ones(5, 5).triu(1).bool()
        assert (scores[..., future] == 0).all()


def test_additive_attention_scale_is_a_glorot_vector_as_keras():
    spec = spec_of({"type": "AdditiveAttention"}, [[3, 50], [4, 50]])
    kmodel = keras_model(spec)
    model = netspec.build(spec, seed=0)
    (theirs,) = keras_layer_weights(kmodel)
    ours = model.layers["layer"].scale.detach().numpy()
    assert ours.shape == theirs.shape == (50,)
    limit = (6 / (50 + 50)) ** 0.5  # Keras's compute_fans of a vector: fan_in = fan_out = 50
    for values in (ours, theirs):
        assert 0.8 * limit < np.abs(values).max() <= limit


def test_additive_attention_is_concat_attention_without_weights():
    # Keras: AdditiveAttention(use_scale=False) scores sum(tanh(q + k)), which is Attention's
    # concat mode with its concat_score_weight at 1 and no scale.
    shapes = [[4, 3], [6, 3]]
    xs = inputs_for(shapes)
    add = netspec.build(spec_of({"type": "AdditiveAttention", "use_scale": False}, shapes)).eval()
    concat = netspec.build(spec_of({"type": "Attention", "score_mode": "concat"}, shapes)).eval()
    with torch.no_grad():
        torch.testing.assert_close(add(*xs), concat(*xs))


@pytest.mark.parametrize("seed", [None, 3])
def test_additive_attention_dropout_only_while_training(seed):
    spec = spec_of({"type": "AdditiveAttention", "dropout": 0.5, "seed": seed}, [[5, 4], [7, 4]])
    model = netspec.build(spec, seed=0)
    q, v = inputs_for([[5, 4], [7, 4]])
    with torch.no_grad():
        first = model.eval()(q, v)
        torch.testing.assert_close(model(q, v), first)
        trained = model.train()(q, v)
        assert not torch.allclose(trained, first)
    if seed is not None:
        torch.testing.assert_close(netspec.build(spec, seed=0).train()(q, v), trained)


# ----------------------------------------------------------------------- GroupQueryAttention


GQA = {"type": "GroupQueryAttention"}
GQA_CASES = [
    ({**GQA, "head_dim": 3, "num_query_heads": 4, "num_key_value_heads": 2}, [[4, 5], [6, 5]]),
    (
        {**GQA, "head_dim": 2, "num_query_heads": 3, "num_key_value_heads": 1}
        | {"use_causal_mask": True},
        [[5, 4], [5, 4], [5, 2]],
    ),
    (
        {**GQA, "head_dim": 2, "num_query_heads": 4, "num_key_value_heads": 2}
        | {"use_gate": True, "sliding_window": 2},
        [[5, 4], [5, 4]],
    ),
]


@pytest.mark.parametrize(("layer", "shapes"), GQA_CASES)
def test_group_query_attention_scores_match_keras(layer, shapes):
    spec = spec_of({**layer, "return_attention_scores": True}, shapes, ["layer:0", "layer:1"])
    kmodel, model = built_pair(spec)
    model.eval()
    xs = inputs_for(shapes)
    with torch.no_grad():
        out, scores = model(*xs)
    want_out, want_scores = keras_predict(kmodel, [x.numpy() for x in xs])
    heads = layer["num_query_heads"]
    assert scores.shape == want_scores.shape == (3, heads, shapes[0][0], shapes[1][0])
    np.testing.assert_allclose(out.numpy(), want_out, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(scores.numpy(), want_scores, rtol=1e-5, atol=1e-5)
    # The scores path and the fused path give the same output.
    plain = netspec.build(spec_of(layer, shapes), seed=0).eval()
    plain.load_state_dict(model.state_dict())
    with torch.no_grad():
        torch.testing.assert_close(plain(*xs), out, rtol=1e-5, atol=1e-5)


def test_group_query_attention_shares_each_key_value_head_with_its_group():
    # With one key/value head per query head it is MultiHeadAttention; with fewer, key/value
    # head g serves query heads g * r .. g * r + r - 1 (Keras's ops.repeat on the heads axis).
    shapes = [[4, 6], [5, 6]]
    layer = {**GQA, "head_dim": 3, "num_query_heads": 4, "num_key_value_heads": 2}
    gqa = netspec.build(spec_of(layer, shapes), seed=0).eval()
    mha = netspec.build(
        spec_of({"type": "MultiHeadAttention", "num_heads": 4, "key_dim": 3}, shapes), seed=0
    ).eval()
    state = dict(gqa.state_dict())
    for name in ("key", "value"):  # torch layout (heads, dim, in): repeat each head twice
        state[f"layers.layer.{name}.kernel"] = state[
            f"layers.layer.{name}.kernel"
        ].repeat_interleave(2, 0)
        state[f"layers.layer.{name}.bias"] = state[f"layers.layer.{name}.bias"].repeat_interleave(
            2, 0
        )
    mha.load_state_dict(state)
    xs = inputs_for(shapes)
    with torch.no_grad():
        torch.testing.assert_close(gqa(*xs), mha(*xs), rtol=1e-5, atol=1e-6)


def test_group_query_attention_weights_keras_layout_and_penalties():
    layer = {
        **GQA,
        "head_dim": 3,
        "num_query_heads": 4,
        "num_key_value_heads": 2,
        "use_gate": True,
        "kernel_regularizer": {"type": "L2", "l2": 0.01},
        "bias_regularizer": {"type": "L1", "l1": 0.1},
        "bias_initializer": "random_normal",
    }
    spec = spec_of(layer, [[4, 6], [3, 6], [3, 5]])
    kmodel, model = built_pair(spec)
    names = [name for name, _, _ in model.keras_weights()]
    assert names == [
        f"layers.layer.{p}.{w}"
        for p in ("query", "key", "gate", "value", "attention_output")
        for w in ("kernel", "bias")
    ]
    shapes = [w.shape for w in keras_layer_weights(kmodel)]
    assert shapes == [(6, 4, 3), (4, 3), (5, 2, 3), (2, 3), (6, 4, 3), (4, 3)] + [
        (6, 2, 3),
        (2, 3),
        (4, 3, 6),
        (6,),
    ]
    assert_same_weights(kmodel, model)
    xs = inputs_for([[4, 6], [3, 6], [3, 5]])
    keras_predict(kmodel, [x.numpy() for x in xs])
    keras_loss = sum(float(keras.ops.convert_to_numpy(loss)) for loss in kmodel.losses)
    assert model.regularization_loss().item() == pytest.approx(keras_loss, rel=1e-5)


# --------------------------------------------------------------------- SpectralNormalization


def sn(inner: dict, **args) -> dict:
    return {"type": "SpectralNormalization", "layer": inner, **args}


def spectral_norm(kernel: np.ndarray) -> float:
    return float(np.linalg.norm(kernel.reshape(-1, kernel.shape[-1]), 2))


SN_CASES = [
    (sn({"type": "Dense", "units": 3}), [[4]]),
    (sn({"type": "Dense", "units": 5, "activation": "tanh"}, power_iterations=3), [[6]]),
    (sn({"type": "Conv2D", "filters": 3, "kernel_size": 2}), [[4, 4, 2]]),
    (sn({"type": "Conv1DTranspose", "filters": 2, "kernel_size": 3}), [[5, 3]]),
    (sn({"type": "DepthwiseConv1D", "kernel_size": 2, "depth_multiplier": 2}), [[5, 3]]),
]


@pytest.mark.parametrize(("layer", "shapes"), SN_CASES)
def test_spectral_normalization_training_calls_match_keras(layer, shapes):
    # Each call in training mode: power iteration updates vector_u, the kernel becomes
    # kernel / sigma, the layer runs with it; inference then uses that kernel, unchanged.
    spec = spec_of(layer, shapes)
    kmodel, model = built_pair(spec)
    model.train()
    for step in range(3):
        (x,) = inputs_for(shapes, seed=step)
        want = keras_predict(kmodel, [x.numpy()], training=True)
        with torch.no_grad():
            out = model(x)
        np.testing.assert_allclose(out.numpy(), want, rtol=1e-5, atol=1e-5)
        assert_same_weights(kmodel, model)
    kernel = keras_layer_weights(kmodel)[0]
    assert spectral_norm(kernel) == pytest.approx(1.0, rel=0.2)
    before = [w.copy() for w in our_layer_weights(model)]
    model.eval()
    (x,) = inputs_for(shapes, seed=9)
    with torch.no_grad():
        out = model(x)
    np.testing.assert_allclose(
        out.numpy(), keras_predict(kmodel, [x.numpy()]), rtol=1e-5, atol=1e-5
    )
    for a, b in zip(before, our_layer_weights(model), strict=True):
        np.testing.assert_array_equal(a, b)


def test_spectral_normalization_keras_weight_order_and_counts():
    spec = spec_of(sn({"type": "Conv2D", "filters": 3, "kernel_size": 2}), [[4, 4, 2]])
    kmodel, model = built_pair(spec)
    names = [name for name, _, _ in model.keras_weights()]
    # vector_u lives on the wrapped layer's module, next to the kernel it belongs to.
    assert names == [f"layers.layer.layer.{w}" for w in ("kernel", "vector_u", "bias")]
    assert [w.path.rpartition("/")[2] for w in kmodel.get_layer("layer").weights] == [
        "kernel",
        "vector_u",
        "bias",
    ]
    counts = param_counts(from_data(spec).graph)["layer"]
    assert counts == (2 * 2 * 2 * 3 + 3, 3)
    assert kmodel.get_layer("layer").count_params() == sum(counts)
    assert not model.layers["layer"].layer.vector_u.requires_grad


def test_spectral_normalization_leaves_a_zero_kernel_alone():
    layer = sn({"type": "Dense", "units": 3, "kernel_initializer": "zeros"})
    spec = spec_of(layer, [[4]])
    kmodel, model = built_pair(spec)
    u = model.layers["layer"].layer.vector_u.detach().clone()
    (x,) = inputs_for([[4]])
    keras_predict(kmodel, [x.numpy()], training=True)
    model.train()(x)
    torch.testing.assert_close(model.layers["layer"].layer.vector_u, u, rtol=0, atol=0)
    assert (model.layers["layer"].layer.kernel == 0).all()
    assert_same_weights(kmodel, model)


def test_spectral_normalization_of_embeddings():
    # Float indices: Keras casts them to int for the lookup and keeps the float32 output.
    layer = sn({"type": "Embedding", "input_dim": 6, "output_dim": 3})
    spec = spec_of(layer, [[4]])
    kmodel, model = built_pair(spec)
    x = torch.tensor([[0.0, 5.0, 2.0, 3.0], [1.0, 1.0, 4.0, 0.0]])
    want = keras_predict(kmodel, [x.numpy()], training=True)
    out = model.train()(x)
    np.testing.assert_allclose(out.detach().numpy(), want, rtol=1e-5, atol=1e-6)
    assert_same_weights(kmodel, model)
    # The documented difference: with integer indices Keras 3.15 casts the output to the
    # indices' dtype (the embeddings truncated to integers); netspec's output stays float32.
    ispec = spec_of(layer, [[4]], dtypes=["int64"])
    ikeras, imodel = built_pair(ispec)
    idx = x.long()
    truncated = keras_predict(ikeras, [idx.numpy()])
    assert truncated.dtype.kind == "i"
    with torch.no_grad():
        ours = imodel.eval()(idx)
    assert ours.dtype == torch.float32
    np.testing.assert_array_equal(truncated, ours.numpy().astype(truncated.dtype))


# ------------------------------------------------------------- several training steps, SGD


TRAIN_CASES = [
    (sn({"type": "Dense", "units": 3}), [[5]]),
    (sn({"type": "Conv1D", "filters": 2, "kernel_size": 2}, power_iterations=2), [[6, 3]]),
    ({"type": "AdditiveAttention", "use_causal_mask": True}, [[4, 3], [4, 3]]),
    ({**GQA, "head_dim": 2, "num_query_heads": 4, "num_key_value_heads": 2}, [[4, 3], [5, 3]]),
]


@pytest.mark.parametrize(("layer", "shapes"), TRAIN_CASES)
def test_sgd_steps_match_keras_train_on_batch(layer, shapes):
    spec = spec_of(layer, shapes)
    kmodel, model = built_pair(spec)
    lr = 0.1
    kmodel.compile(optimizer=keras.optimizers.SGD(learning_rate=lr), loss="mse")
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(params, lr=lr)
    model.train()
    for step in range(4):
        xs = inputs_for(shapes, batch=4, seed=step)
        out_shape = keras_predict(kmodel, [x.numpy() for x in xs]).shape
        y = torch.randn(out_shape, generator=torch.Generator().manual_seed(100 + step))
        arrays = [x.numpy() for x in xs]
        keras_loss = kmodel.train_on_batch(arrays[0] if len(xs) == 1 else arrays, y.numpy())
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(*xs), y)
        loss.backward()
        optimizer.step()
        assert loss.item() == pytest.approx(float(keras_loss), rel=1e-4)
        assert_same_weights(kmodel, model, tol=1e-4)


# ----------------------------------------------------------------------------- located errors


ERRORS = [
    (
        {**GQA, "head_dim": 2, "num_query_heads": 4, "num_key_value_heads": 3},
        [[4, 3], [4, 3]],
        "layers[0].num_key_value_heads",
        "must divide num_query_heads (4)",
    ),
    (
        {**GQA, "head_dim": 2, "num_query_heads": 2, "num_key_value_heads": 0},
        [[4, 3], [4, 3]],
        "layers[0].num_key_value_heads",
        "greater than 0",
    ),
    (
        {**GQA, "head_dim": 2, "num_query_heads": 2, "num_key_value_heads": 1},
        [[2, 4, 3], [2, 4, 3]],
        "layers[0].inputs",
        "rank-3",
    ),
    (
        {**GQA, "head_dim": 2, "num_query_heads": 2, "num_key_value_heads": 1},
        [[4, 3], [4, 5]],
        "layers[0].inputs",
        "query and value must have the same last axis",
    ),
    (
        {**GQA, "head_dim": 2, "num_query_heads": 2, "num_key_value_heads": 1},
        [[4, 3], [4, 3], [5, 3]],
        "layers[0].inputs",
        "same steps",
    ),
    (
        {**GQA, "head_dim": 2, "num_query_heads": 2, "num_key_value_heads": 1}
        | {"flash_attention": True, "dropout": 0.1},
        [[4, 3], [4, 3]],
        "layers[0].flash_attention",
        "dropout",
    ),
    ({"type": "AdditiveAttention"}, [[4, 3], [5, 2], [5, 2]], "layers[0].inputs", "same last"),
    (
        {"type": "AdditiveAttention", "score_mode": "dot"},
        [[2, 3], [2, 3]],
        "layers[0].score_mode",
        "unknown key",
    ),
    (sn({"type": "LSTM", "units": 2}), [[3, 4]], "layers[0].layer.type", "no kernel Keras"),
    (sn({"type": "BatchNormalization"}), [[4]], "layers[0].layer.type", "no kernel Keras"),
    (
        sn({"type": "TimeDistributed", "layer": {"type": "Dense", "units": 2}}),
        [[3, 4]],
        "layers[0].layer.type",
        "no kernel Keras",
    ),
    (
        sn({"type": "MultiHeadAttention", "num_heads": 2, "key_dim": 2}),
        [[3, 4]],
        "layers[0].layer",
        "several inputs",
    ),
    (
        sn({"type": "Embedding", "input_dim": 5, "output_dim": 2, "mask_zero": True}),
        [[3]],
        "layers[0].layer",
        "make the mask outside",
    ),
    (sn({"type": "Dense", "units": 0}), [[4]], "layers[0].layer.units", "greater than 0"),
    (
        sn({"type": "Conv2D", "filters": 2, "kernel_size": 3}),
        [[4, 4]],
        "layers[0].inputs",
        "Conv2D: expects an input of rank 4",
    ),
    (
        sn({"type": "Dense", "units": 2}, power_iterations=0),
        [[4]],
        "layers[0].power_iterations",
        "greater than 0",
    ),
    (
        sn({"type": "Dense", "units": 2, "inputs": "x0"}),
        [[4]],
        "layers[0].layer.inputs",
        "drop 'inputs'",
    ),
]


@pytest.mark.parametrize(("layer", "shapes", "path", "message"), ERRORS)
def test_located_errors(layer, shapes, path, message):
    with pytest.raises(SpecError) as info:
        from_data(spec_of(layer, shapes))
    errors = [(d.path, d.message) for d in info.value.diagnostics]
    assert any(p == path and message in m for p, m in errors), errors
