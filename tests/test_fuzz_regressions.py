"""One small test per bug the fuzzer (tests/fuzz.py) found: each input once crashed a forward
pass (or training) after validating, and is now a located error or runs."""

from __future__ import annotations

import pytest
import torch

import netspec
from netspec.errors import SpecError


def spec(*layers: str, shape: str = "[4, 4]", dtype: str = "float32") -> str:
    body = "".join(f"  - {layer}\n" for layer in layers)
    return f"netspec: 1\ninput_shape: {shape}\ninput_dtype: {dtype}\nlayers:\n{body}"


def located(text: str) -> str:
    with pytest.raises(SpecError) as info:
        netspec.loads(text)
    (diag,) = info.value.diagnostics
    assert diag.line >= 4 and diag.col > 1
    return f"{diag.path}: {diag.message}"


@pytest.mark.parametrize(
    "layer, where",
    [
        # IndexError / "Overflow when unpacking long long" in the forward pass
        ("{type: Activation, activation: {type: softmax, axis: 5}}", "activation"),
        ("{type: Activation, activation: {type: softmax, axis: -100000000000000000000}}", "act"),
        ("{type: Dense, units: 3, activation: {type: log_softmax, axis: -4}}", "activation"),
        ("{type: Conv1D, filters: 2, kernel_size: 2, activation: {type: softmax, axis: 3}}", "a"),
        # a recurrent layer's activations act on each step's (batch, units)
        ("{type: LSTM, units: 3, activation: {type: softmax, axis: 2}}", "activation"),
        ("{type: GRU, units: 3, recurrent_activation: {type: softmax, axis: -3}}", "recurrent"),
    ],
)
def test_activation_axis_out_of_range_is_located(layer, where):
    message = located(spec(layer))
    assert message.startswith(f"layers[0].{where}") and "out of range" in message


def test_activation_axis_in_range_still_builds():
    for axis in (-3, -1, 0, 1, 2):
        text = spec(f"{{type: Dense, units: 3, activation: {{type: softmax, axis: {axis}}}}}")
        model = netspec.build(netspec.loads(text), device="cpu", seed=0)
        assert model(torch.randn(2, 4, 4)).shape == (2, 4, 3)


def test_orthogonal_activity_regularizer_needs_a_2d_output():
    # ValueError "OrthogonalRegularizer needs a 2-D weight, got shape (2, 4, 3)" in forward
    text = spec("{type: Dense, units: 3, activity_regularizer: OrthogonalRegularizer}")
    message = located(text)
    assert message.startswith("layers[0].activity_regularizer: OrthogonalRegularizer needs a 2-D")
    flat = spec("{type: Dense, units: 3, activity_regularizer: OrthogonalRegularizer}", shape="[4]")
    model = netspec.build(netspec.loads(flat), device="cpu", seed=0)
    model(torch.randn(2, 4))
    assert torch.isfinite(model.activity_loss())


def test_orthogonal_kernel_regularizer_needs_a_2d_kernel():
    # validated, then failed in training's penalty (as Keras, only 2-D weights are accepted)
    text = spec(
        "{type: Conv2D, filters: 2, kernel_size: 2, kernel_regularizer: OrthogonalRegularizer}",
        shape="[4, 4, 1]",
    )
    assert located(text).startswith("layers[0].kernel_regularizer: OrthogonalRegularizer")


@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8", "bool"])
def test_dense_takes_integer_inputs(dtype):
    # RuntimeError "mat1 and mat2 must have the same dtype" (every other layer casts to float32)
    model = netspec.build(netspec.loads(spec("{type: Dense, units: 3}", dtype=dtype)), seed=0)
    x = torch.randint(0, 2, (2, 4, 4)).to(getattr(torch, dtype))
    out = model.cpu()(x)
    assert out.dtype == torch.float32 and out.shape == (2, 4, 3)


@pytest.mark.parametrize(
    "layer, where, shape",
    [
        # ValueError "Orthogonal needs a weight of rank >= 2" escaped `netspec build`
        ("{type: GroupNormalization, groups: 2, gamma_initializer: Orthogonal}", "gamma", "[4]"),
        ("{type: Dense, units: 2, bias_initializer: Identity}", "bias", "[4]"),
        ("{type: Conv1D, filters: 2, kernel_size: 2, kernel_initializer: Identity}", "k", "[4, 2]"),
        # RuntimeError "uniform_ expects to return a [from, to) range" escaped `netspec build`
        (
            "{type: Dense, units: 2, kernel_initializer: {type: RandomUniform, minval: 2, "
            "maxval: 1}}",
            "kernel_initializer",
            "[4]",
        ),
    ],
)
def test_initializers_refuse_weights_they_cannot_fill(layer, where, shape):
    message = located(spec(layer, shape=shape))
    assert message.startswith(f"layers[0].{where}"), message


def test_initializers_that_fit_still_build():
    text = spec(
        "{type: Dense, units: 2, kernel_initializer: Orthogonal, "
        "bias_initializer: {type: RandomUniform, minval: 1, maxval: 1}}",
        shape="[4]",
    )
    model = netspec.build(netspec.loads(text), device="cpu", seed=0)
    assert torch.equal(model.layers["dense"].bias, torch.ones(2))


GRAPH = """netspec: 1
inputs:
  a: {shape: [3]}
  b: {shape: [3]}
  c: {shape: [2, 3]}
layers:
  - {type: Add, inputs: [a, b], name: add}
  - {type: Shared, layer: add, inputs: %s, name: again}
outputs: [add, again]
"""


@pytest.mark.parametrize("inputs", ["[a, b, b]", "[a, c]"])
def test_shared_merge_takes_the_inputs_it_was_made_for(inputs):
    # ValueError "zip() argument 2 is shorter than argument 1" in the forward pass (3 inputs);
    # a wrong broadcast for other ranks
    message = located(GRAPH % inputs)
    assert message.startswith("layers[1]") and "was made for input" in message, message


def test_shared_merge_on_inputs_like_its_own_still_runs():
    text = (GRAPH % "[b, a]").replace("  c: {shape: [2, 3]}\n", "")
    model = netspec.build(netspec.loads(text), device="cpu", seed=0)
    first, again = model(torch.ones(2, 3), 2 * torch.ones(2, 3))
    assert torch.equal(first, again) and again.shape == (2, 3)


@pytest.mark.parametrize("key", ["a\\u2028b", "a\\nb", "a\\x85b", "a\\tb\\x1b"])
def test_a_diagnostic_stays_one_line(key, tmp_path, capsys):
    # an unknown key "a\u2028b" (YAML escape) printed raw split the error over two lines, the
    # second one unlocated
    from netspec.cli import main

    path = tmp_path / "spec.yaml"
    path.write_text(
        f'netspec: 1\ninput_shape: [3]\nlayers:\n  - {{type: Dense, units: 2, "{key}": 1}}\n'
    )
    with pytest.raises(SystemExit) as info:
        main(["validate", str(path)])
    assert info.value.code == 1
    err = capsys.readouterr().err
    (line,) = err.splitlines()
    assert line.startswith(f"{path}:4:") and "unknown key" in line


@pytest.mark.parametrize(
    "initializer",
    ["{type: VarianceScaling, scale: 5.0e-324}", "{type: TruncatedNormal, stddev: 1.0e-320}"],
)
def test_a_subnormal_truncated_normal_is_its_mean(initializer):
    # ZeroDivisionError in torch's trunc_normal_: the stddev underflows to 0 (long run, seed 1)
    text = spec(f"{{type: Dense, units: 3, kernel_initializer: {initializer}}}", shape="[4]")
    model = netspec.build(netspec.loads(text), seed=0)
    assert torch.equal(model.layers["dense"].kernel, torch.zeros(3, 4))


def test_a_graph_spec_with_no_inputs_is_located():
    # `inputs: {}` validated and then failed in build with a TypeError (long run, seed 1)
    text = "netspec: 1\ninputs: {}\nlayers:\n  - {type: Dense, units: 2}\n"
    with pytest.raises(SpecError) as info:
        netspec.loads(text)
    assert [str(d) for d in info.value.diagnostics] == [
        "<string>:2:9: inputs: should have at least 1 item"
    ]
