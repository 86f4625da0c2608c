"""Every registered layer, through its examples: static shapes against the built module's real
output, Keras parity (values, shapes, parameter counts) through the Keras oracle, located shape
errors, and the behaviours of Dropout, Embedding and ActivityRegularization.

The example tests are parametrised over the layer registry, so a newly registered layer is
covered as soon as it has examples (and must have some).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import assert_located, python_output
from keras_oracle import (
    as_list,
    copy_weights,
    example_spec,
    keras_model,
    keras_output_shapes,
    keras_param_counts,
    keras_predict,
)

import netspec
from netspec.compiler import param_counts
from netspec.export.common import TORCH_DTYPES
from netspec.layers import LAYERS
from netspec.loader import from_data
from netspec.spec import spec_model

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
spec_model()  # loads layer plugins, so their layers are parametrised too
# Each layer's first example is in the quick tier (-m "not slow"), its others in the slow one:
# the quick tier keeps every layer's shapes and a sample of Keras parity as the registry grows.
CASES = [
    pytest.param(name, i, example, id=f"{name}-{i}", marks=[pytest.mark.slow] if i else [])
    for name, cls in LAYERS.items()
    for i, example in enumerate(cls.examples)
]
PARITY_CASES = [
    case
    for case in CASES
    if LAYERS.get(case.values[0]).keras_parity and case.values[2].get("keras_parity", True)
]
# (batch size, size given to variable dims): two different runs of each example.
RUNS = ((1, 5), (3, 2))


def make_inputs(spec, batch: int, var: int, seed: int = 0) -> list[torch.Tensor]:
    """Random inputs for a spec's inputs; indices in [0, input_dim) for index layers."""
    gen = torch.Generator().manual_seed(seed)
    graph = spec.graph
    bound = getattr(graph.nodes[0].layer, "input_dim", None)  # Embedding-like layers
    out = []
    for inp in graph.inputs:
        shape = (batch, *(var if d is None else d for d in inp.shape))
        dtype = TORCH_DTYPES[inp.dtype]
        if bound is not None and dtype.is_floating_point:
            x = torch.rand(shape, generator=gen) * bound  # fractions: Keras casts them to int
        elif bound is not None or not dtype.is_floating_point:
            x = torch.randint(0, bound or (2 if dtype == torch.bool else 5), shape, generator=gen)
        else:
            x = torch.randn(shape, generator=gen)
        out.append(x.to(dtype))
    return out


def static_shapes(node) -> list[tuple]:
    """A node's static output shapes (a layer with several outputs has a list of them)."""
    return node.output if isinstance(node.output, list) else [node.output]


def assert_shape(actual: tuple, static: tuple, batch: int | None) -> None:
    """`actual` has the batch axis; `static` hasn't; None in `static` matches any size."""
    assert len(actual) == len(static) + 1, (actual, static)
    assert batch is None or actual[0] == batch, (actual, batch)
    for a, s in zip(actual[1:], static, strict=True):
        assert s is None or a == s, (actual, static)


# ------------------------------------------------------------------------- registry and shapes


@pytest.mark.parametrize("name", LAYERS.names())
def test_every_layer_has_examples(name):
    cls = LAYERS.get(name)
    # An entry that refers to other entries (Shared) is tested with them, in its own tests.
    assert cls.examples or not getattr(cls, "standalone", True), f"{name} has no examples"
    assert cls.__doc__ and cls.__doc__.strip(), f"{name} has no docstring"
    for field, info in cls.model_fields.items():
        assert field == "type" or info.description, f"{name}.{field} has no description"


@pytest.mark.parametrize(("name", "index", "example"), CASES)
def test_static_shape_is_the_forward_shape(name, index, example):
    spec = example_spec(name, example)
    graph = spec.graph
    node = graph.nodes[0]
    model = netspec.build(spec, seed=0).eval()
    counts = param_counts(graph)["layer"]
    module = model.layers["layer"]
    assert sum(p.numel() for p in module.parameters()) == sum(counts)
    assert sum(p.numel() for p in module.parameters() if p.requires_grad) == counts[0]
    for batch, var in RUNS:
        with torch.no_grad():
            outs = as_list(model(*make_inputs(spec, batch, var)))
        statics = static_shapes(node)
        assert len(outs) == len(statics)
        for out, static in zip(outs, statics, strict=True):
            assert_shape(tuple(out.shape), static, batch)
            assert out.dtype == TORCH_DTYPES[node.dtype], (out.dtype, node.dtype)


# ------------------------------------------------------------------------------- Keras parity


@pytest.mark.parametrize(("name", "index", "example"), PARITY_CASES)
def test_keras_parity(name, index, example):
    spec = example_spec(name, example)
    graph = spec.graph
    kmodel = keras_model(spec)
    model = netspec.build(spec, seed=0).eval()
    copy_weights(kmodel, model)
    assert keras_param_counts(kmodel)["layer"] == param_counts(graph)["layer"]
    assert kmodel.get_layer("layer").count_params() == sum(param_counts(graph)["layer"])

    batch, var = RUNS[1]
    inputs = make_inputs(spec, batch, var, seed=1)
    with torch.no_grad():
        outs = [o.double().numpy() for o in as_list(model(*inputs))]
    expected = as_list(keras_predict(kmodel, [x.numpy() for x in inputs]))
    statics = static_shapes(graph.nodes[0])
    for out, want, static, kshape in zip(
        outs, expected, statics, keras_output_shapes(kmodel), strict=True
    ):
        assert out.shape == want.shape
        np.testing.assert_allclose(out, want.astype(np.float64), rtol=1e-5, atol=1e-5)
        # Keras's static shape, unless Keras's own rule disagrees with its call (glu).
        consistent = all(k is None or k == w for k, w in zip(kshape, want.shape, strict=False))
        if consistent and len(kshape) == want.ndim:
            assert (None, *static) == kshape


# --------------------------------------------------------------------- located shape errors


ERRORS = [
    pytest.param(
        """\
netspec: 1
input_shape: [3, 4]
layers:
  - type: Dense
    units: 2
  - type: RepeatVector
    n: 2
""",
        "layers[1].type",
        "type: RepeatVector",
        "rank 2",
        id="wrong-rank",
    ),
    pytest.param(
        """\
netspec: 1
inputs:
  a: {shape: [3, 4]}
  b: {shape: [5, 2]}
layers:
  - type: Concatenate
    inputs: [a, b]
""",
        "layers[0].inputs",
        "inputs: [a, b]",
        "differ on axis 1",
        id="concatenate",
    ),
    pytest.param(
        """\
netspec: 1
inputs:
  a: {shape: [3, 4]}
  b: {shape: [3, 4, 1]}
layers:
  - type: Concatenate
    inputs: [a, b]
""",
        "layers[0].inputs",
        "inputs: [a, b]",
        "same rank",
        id="concatenate-rank",
    ),
    pytest.param(
        """\
netspec: 1
inputs:
  a: {shape: [3, 4]}
  b: {shape: [3, 4]}
layers:
  - type: Concatenate
    axis: 0
    inputs: [a, b]
""",
        "layers[0].axis",
        "axis: 0",
        "batch axis",
        id="concatenate-batch-axis",
    ),
    pytest.param(
        """\
netspec: 1
input_shape: [12]
layers:
  - type: Dense
    units: 10
  - type: Reshape
    target_shape: [3, 4]
""",
        "layers[1].target_shape",
        "target_shape",
        "10 values per sample",
        id="reshape",
    ),
    pytest.param(
        """\
netspec: 1
input_shape: [12]
layers:
  - type: Reshape
    target_shape: [5, -1]
""",
        "layers[0].target_shape",
        "target_shape",
        "not a multiple of 5",
        id="reshape-inferred",
    ),
    pytest.param(
        """\
netspec: 1
input_shape: [12]
layers:
  - type: Reshape
    target_shape: [-1, -1]
""",
        "layers[0].target_shape",
        "target_shape",
        "at most one entry",
        id="reshape-two-unknown",
    ),
    pytest.param(
        """\
netspec: 1
input_shape: [3, 4]
layers:
  - type: Permute
    dims: [1, 3]
""",
        "layers[0].dims",
        "dims:",
        "not a permutation",
        id="permute-not-permutation",
    ),
    pytest.param(
        """\
netspec: 1
input_shape: [3, 4, 5]
layers:
  - type: Permute
    dims: [2, 1]
""",
        "layers[0].dims",
        "dims:",
        "has 3 besides the batch axis",
        id="permute-rank",
    ),
    pytest.param(
        """\
netspec: 1
inputs:
  a: {shape: [3, 4]}
  b: {shape: [5, 4]}
layers:
  - type: Add
    inputs: [a, b]
""",
        "layers[0].inputs",
        "inputs: [a, b]",
        "does not broadcast",
        id="add",
    ),
    pytest.param(
        """\
netspec: 1
inputs:
  a: {shape: [4]}
  b: {shape: [4]}
  c: {shape: [4]}
layers:
  - type: Subtract
    inputs: [a, b, c]
""",
        "layers[0].inputs",
        "inputs: [a, b, c]",
        "takes 2 input(s), got 3",
        id="subtract-arity",
    ),
    pytest.param(
        """\
netspec: 1
inputs:
  a: {shape: [3, 5]}
  b: {shape: [4, 5]}
layers:
  - type: Dot
    axes: 1
    inputs: [a, b]
""",
        "layers[0].inputs",
        "inputs: [a, b]",
        "differ in size",
        id="dot-sizes",
    ),
    pytest.param(
        """\
netspec: 1
inputs:
  a: {shape: [3]}
  b: {shape: [3]}
layers:
  - type: Dot
    axes: 0
    inputs: [a, b]
""",
        "layers[0].axes",
        "axes: 0",
        "batch axis",
        id="dot-batch-axis",
    ),
    pytest.param(
        """\
netspec: 1
input_shape: [3, 4]
layers:
  - type: Dropout
    rate: 0.5
    noise_shape: [null, 1]
""",
        "layers[0].noise_shape",
        "noise_shape",
        "has rank 3",
        id="dropout-noise-shape",
    ),
]


@pytest.mark.parametrize(("text", "path", "needle", "message"), ERRORS)
def test_located_shape_errors(text, path, needle, message):
    d = assert_located(text, path, needle, message)
    assert d.file == "spec.yaml"
    assert d.col > 1


# ------------------------------------------------------------------------------- behaviours


def build_one(layer: dict, shape: list, dtype: str = "float32"):
    spec = {"netspec": 1, "input_shape": shape, "input_dtype": dtype, "layers": [layer]}
    return netspec.build(spec, seed=0)


def test_dropout_is_identity_in_eval_and_drops_in_train():
    model = build_one({"type": "Dropout", "rate": 0.4}, [1000])
    x = torch.randn(4, 1000)
    assert model.eval()(x) is x
    y = model.train()(x)
    dropped = (y == 0).float().mean().item()
    assert 0.35 < dropped < 0.45
    kept = y != 0
    torch.testing.assert_close(y[kept], x[kept] / 0.6)


def test_dropout_noise_shape_and_seed():
    layer = {"type": "Dropout", "rate": 0.5, "noise_shape": [None, 1, None], "seed": 7}
    x = torch.rand(3, 6, 50) + 1
    first = build_one(layer, [6, 50]).train()(x)
    mask = first != 0
    assert (mask == mask[:, :1]).all(), "the mask must be shared along the axis of size 1"
    torch.testing.assert_close(first[mask], x[mask] * 2)
    again = build_one(layer, [6, 50]).train()(x)
    torch.testing.assert_close(first, again)  # same seed, same masks


def test_embedding_casts_float_inputs():
    model = build_one({"type": "Embedding", "input_dim": 4, "output_dim": 3}, [3]).eval()
    table = model.layers["embedding"].embeddings
    out = model(torch.tensor([[0.2, 2.7, 3.99]]))
    assert out.dtype == torch.float32
    torch.testing.assert_close(out[0], table[[0, 2, 3]])
    torch.testing.assert_close(model(torch.tensor([[0, 2, 3]], dtype=torch.int32)), out)


def test_activity_regularization_penalty_matches_keras():
    spec = from_data(
        {
            "netspec": 1,
            "input_shape": [5],
            "layers": [
                {"type": "Dense", "units": 4},
                {"type": "ActivityRegularization", "l1": 0.01, "l2": 0.1},
            ],
        }
    )
    kmodel = keras_model(spec)
    model = netspec.build(spec, seed=0)
    copy_weights(kmodel, model)
    x = torch.randn(3, 5)
    y = model(x)
    expected = (0.01 * y.abs().sum() + 0.1 * y.square().sum()) / 3
    torch.testing.assert_close(model.activity_loss(), expected)
    keras_predict(kmodel, [x.numpy()])
    keras_loss = sum(float(loss.detach()) for loss in kmodel.losses)
    assert model.activity_loss().item() == pytest.approx(keras_loss, rel=1e-5)


def test_merge_of_integer_inputs_is_float32():
    spec = {
        "netspec": 1,
        "inputs": {"a": {"shape": [3], "dtype": "int64"}, "b": {"shape": [3], "dtype": "int64"}},
        "layers": [{"type": "Average", "inputs": ["a", "b"]}],
    }
    model = netspec.build(spec)
    out = model(torch.tensor([[1, 2, 3]]), torch.tensor([[2, 2, 2]]))
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, torch.tensor([[1.5, 2.0, 2.5]]))


@pytest.mark.parametrize(
    ("layer", "shape"),
    [
        ({"type": "Permute", "dims": [2, 1]}, [3, 4]),
        ({"type": "RepeatVector", "n": 3}, [4]),
        ({"type": "Reshape", "target_shape": [-1, 2]}, [3, 4]),
        ({"type": "Flatten"}, [3, 4]),
    ],
)
def test_shape_layers_return_views(layer, shape):
    x = torch.randn(2, *shape)
    assert build_one(layer, shape)(x).data_ptr() == x.data_ptr()


@pytest.mark.slow  # a fresh interpreter
def test_validating_a_spec_imports_only_its_layer_modules():

    code = (
        "import sys, netspec\n"
        "netspec.load('specs/mnist_mlp.yaml')\n"
        "print(sorted(m for m in sys.modules if m.startswith('netspec.layers.')))\n"
    )
    assert python_output(code) == str(
        ["netspec.layers._index", "netspec.layers.base", "netspec.layers.dense",
         "netspec.layers.dropout", "netspec.layers.shapes"]
    )  # fmt: skip
