"""Every example spec against the real Keras 3 model of it: shapes, parameter counts, outputs,
regularization penalties and initial-weight statistics."""

from pathlib import Path

import keras
import keras_oracle
import numpy as np
import pytest
import torch
from keras_oracle import copy_weights, keras_model, keras_param_counts, keras_predict

import netspec
from netspec.compiler import param_counts

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted((ROOT / "specs").glob("*.yaml"))


def _lambda_adapter(layer, graph, name):
    """Keras's Lambda takes Python code; give it netspec's compiled expression (torch backend)."""
    module = layer.build(list(graph.node(name).input_shapes), None)

    def call(inputs):
        return module(*inputs) if isinstance(inputs, list) else module(inputs)

    return keras.layers.Lambda(call, name=name)


keras_oracle.ADAPTERS.setdefault("Lambda", _lambda_adapter)


def _inputs(graph, batch=5, seed=0):
    rng = np.random.default_rng(seed)
    arrays = []
    for inp in graph.inputs:
        shape = (batch, *[d or 7 for d in inp.shape])
        if inp.dtype.startswith("int"):
            arrays.append(rng.integers(0, 50, size=shape).astype(inp.dtype))
        else:
            arrays.append(rng.standard_normal(shape).astype(np.float32))
    return arrays


@pytest.fixture(scope="module", params=SPECS, ids=[p.stem for p in SPECS])
def pair(request):
    spec = netspec.load(request.param)
    return spec, spec.graph, keras_model(spec)


def test_shapes_equal_keras(pair):
    _, graph, kmodel = pair
    for node in graph.nodes:
        kshape = tuple(kmodel.get_layer(node.name).output.shape)[1:]
        assert kshape == tuple(node.output), node.name


def test_param_counts_equal_keras(pair):
    _, graph, kmodel = pair
    ours = param_counts(graph)
    theirs = keras_param_counts(kmodel)
    assert {k: v for k, v in ours.items()} == {k: theirs[k] for k in ours}
    assert sum(t + f for t, f in ours.values()) == kmodel.count_params()


def test_outputs_and_penalties_equal_keras(pair):
    spec, graph, kmodel = pair
    model = netspec.build(spec, seed=0).eval()
    copy_weights(kmodel, model)
    arrays = _inputs(graph)
    expected = keras_predict(kmodel, arrays)
    with torch.no_grad():
        got = model(*[torch.as_tensor(a) for a in arrays])
    got = got if isinstance(got, tuple) else (got,)
    expected = expected if isinstance(expected, list) else [expected]
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_allclose(g.numpy(), e, atol=1e-5, rtol=1e-5)
    keras_losses = (
        float(sum(keras.ops.convert_to_numpy(x) for x in kmodel.losses)) if kmodel.losses else 0.0
    )
    assert float(model.losses().detach()) == pytest.approx(keras_losses, rel=1e-5, abs=1e-7)
    if graph.name in ("mnist_mlp", "text_classifier", "sequence_features"):
        assert keras_losses > 0


def test_initial_weight_statistics_match_keras(pair):
    spec, _, kmodel = pair
    model = netspec.build(spec, seed=0)
    for name, param, info in model.keras_weights():
        ours = info.keras_view(param).detach().numpy()
        if ours.size < 2000:
            continue
        layer = name.split(".")[1]
        theirs = {
            w.path.split("/")[-1]: keras.ops.convert_to_numpy(w.value)
            for w in kmodel.get_layer(layer).weights
        }[info.weight.name]
        assert ours.shape == theirs.shape
        assert ours.std() == pytest.approx(theirs.std(), rel=0.1), name
        assert abs(ours.mean() - theirs.mean()) < 0.1 * theirs.std() + 1e-6, name
