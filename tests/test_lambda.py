"""The Lambda layer: a whitelisted expression language, static shapes, torch evaluation."""

from __future__ import annotations

import builtins
import math
import pickle

import numpy as np
import pytest
import torch

import netspec
import netspec.layers.lambda_layer  # noqa: F401  registers Lambda (a module imports once)
from netspec import expr
from netspec.errors import SpecError
from netspec.layers.base import Context, ShapeError
from netspec.layers.lambda_layer import Lambda
from netspec.loader import loads
from netspec.torch.expr import compile_expression
from netspec.torch.lambda_layer import LambdaModule


def refused(text: str, inputs=None) -> str:
    with pytest.raises(expr.ExprError) as info:
        expr.parse(text, inputs)
    return str(info.value)


def shape_of(text: str, shapes: list[tuple], inputs=None) -> tuple:
    layer = Lambda(type="Lambda", expression=text, inputs=inputs)
    return layer.output_shape([tuple(s) for s in shapes], Context())


# ------------------------------------------------------------------------------------ parsing
@pytest.mark.parametrize(
    "text",
    [
        "x * 2 + 1",
        "tanh(x) * sigmoid(x)",
        "mean(x, axis=1)",
        "mean(x, 1)",
        "x0 - 2.5e-3",
        "-x ** 2 // 3 % 4 / 5",
        "+x",
        "(x)",
        "sum(x, axis=(1, 2), keepdims=True)",
        "sum(x, axis=[1, -1])",
        "clip(x, -1, 1)",
        "maximum(x, 0) + minimum(x, 1)",
        "pow(2, x)",
        "relu(x, max_value=6.0)",
        "gelu(x, approximate=True)",
        "leaky_relu(x, negative_slope=0.1)",
        "softmax(x, axis=-1)",
        "log_softmax(x)",
        "l2_normalize(x, axis=-1)",
        "logsumexp(x, axis=-1)",
        "expand_dims(x, axis=1)",
        "squeeze(x, axis=1)",
        "transpose(x, axes=(0, 2, 1))",
        "  x *\n 2\t",
        "std(x, axis=1) + var(x, axis=1) + prod(x, axis=1)",
        "erf(x) + rsqrt(x)",
    ],
)
def test_documented_forms_parse(text):
    assert isinstance(expr.parse(text), (expr.Binary, expr.Call, expr.Unary, expr.Var))


def test_constant_arithmetic_is_folded():
    tree = expr.parse("x * (2 ** 3 - 1 / 4) + -(3 // 2)")
    assert tree == expr.Binary(
        "+", expr.Binary("*", expr.Var(0, "x"), expr.Num(7.75)), expr.Num(-1)
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("__import__('os')", "unknown function '__import__'"),
        ("__import__('os').system('echo hi')", "attribute access"),
        ("x.__class__", "attribute access ('x.__class__', column 1)"),
        ("x.sum()", "attribute access"),
        ("x[x]", "an index must be an integer constant"),
        ("x[:, ::-1]", "a slice's step must be positive"),
        ("x[..., ...]", "at most one '...'"),
        ("2[0]", "a number cannot be indexed"),
        ("(lambda: 1)()", "lambda"),
        ("open('f')", "unknown function 'open'"),
        ("eval('1')", "unknown function 'eval'"),
        ("exec('x')", "unknown function 'exec'"),
        ("getattr(x, 'y')", "unknown function 'getattr'"),
        ("[i for i in x]", "comprehensions"),
        ("(i for i in x)", "generator expressions"),
        ("'a'", "strings are not allowed"),
        ("b'a'", "strings are not allowed"),
        ("f'{x}'", "strings"),
        ("x if x else 1", "conditional expressions"),
        ("x < 1", "comparisons"),
        ("x and x", "'and'/'or'"),
        ("not x", "'not'"),
        ("~x", "'~'"),
        ("x @ x", "'@'"),
        ("(y := x)", "assignment expressions"),
        ("{1: x}", "dicts"),
        ("[x, x]", "lists"),
        ("(x, x)", "tuples"),
        ("1j * x", "complex numbers"),
        ("x + True", "only allowed as a function's keyword value"),
        ("x + None", "only allowed as a function's keyword value"),
        ("x * ...", "not allowed"),
        ("import os", "invalid syntax"),
        ("x = 1", "invalid syntax"),
        ("x; x", "invalid syntax"),
        ("x +", "invalid syntax"),
        ("", "empty expression"),
        ("x\x00", "not allowed (ASCII text only)"),
        ("\uff58 + 1", "ASCII text only"),  # a fullwidth x, which Python would read as x
        ("x" + " + x" * 300, "expression too long"),
        ("-" * 100 + "x", "nested too deeply"),
        ("(" * 300 + "x" + ")" * 300, "invalid syntax"),
        ("x" + "+x" * 130, "nested too deeply"),
        ("exp(" * 70 + "x" + ")" * 70, "nested too deeply"),
        ("9 ** 9 ** 9 ** 9 * x", "out of range"),
        ("x * 10 ** 400", "out of range"),
        ("x * 1e999", "out of range"),
        ("clip(x, -1e300, 1e300)", "within float32's range"),
        ("x * 1e300", "out of range"),  # past float32
        ("x * 99999999999999999999999", "out of range"),
        ("x / 0", None),  # fine: a tensor divided by zero is inf, as in torch
        ("x * (1 / 0)", "division by zero"),
        ("x * (-8) ** (1 / 3)", "not real"),
        ("y + 1", "unknown name 'y'"),
        ("xx + 1", "unknown name 'xx'; did you mean 'x'?"),
        ("exp + x", "'exp' is a function: call it"),
        ("tanhh(x)", "unknown function 'tanhh'; did you mean 'tanh'"),
        ("sigmod(x)", "did you mean 'sigmoid'"),
        ("x(1)", "'x' is an input, not a function"),
        ("exp(x)(x)", "only named functions can be called"),
        ("exp(x, 2)", "exp() takes at most 1 argument(s) (x), got 2"),
        ("exp(*x)", "'*' unpacking"),
        ("exp(**x)", "'**' unpacking"),
        ("mean(x, axes=1)", "mean() has no argument 'axes'; did you mean 'axis'?"),
        ("mean(x, 1, axis=1)", "got argument 'axis' twice"),
        ("mean(x)", "mean() needs axis=...; mean over every axis would include the batch axis"),
        ("sum(x, axis=None)", "None would include the batch axis"),
        ("mean(x, axis=x)", "axis must be an int or a tuple of ints, written as a constant"),
        ("mean(x, axis=1.5)", "axis must be an int"),
        ("mean(x, axis=1, keepdims=1)", "keepdims must be True or False"),
        ("max(x, x)", "use maximum(a, b)"),
        ("clip(x, x, 1)", "x_min must be a number"),
        ("clip(x)", "clip() needs x_min=..."),
        ("maximum(x)", "maximum() is missing its argument 'x2'"),
        ("exp(x=x)", "pass 'x' of exp() positionally"),
        ("relu(x, max_value=-1)", "relu(): max_value: Input should be greater than or equal to 0"),
        ("threshold(x)", "missing argument 'threshold'"),
        ("relu(x, max_val=1)", "did you mean 'max_value'"),
        ("1 + 2", "the expression uses no input"),
        ("exp(1)", "the expression uses no input"),
    ],
)
def test_forbidden_constructs_are_refused(text, message):
    if message is None:
        expr.parse(text)
        return
    assert message in refused(text)


def test_messages_locate_the_construct():
    assert (
        refused("x + x.real")
        == "not allowed in an expression: attribute access ('x.real', column 5)"
    )
    assert refused("  x[:, 1.5]").endswith("column 3)")
    assert "column 9" in refused("mean(x, axes=1)")


def test_nothing_runs_while_parsing(monkeypatch, tmp_path):
    def boom(*args, **kwargs):
        raise AssertionError("code ran")

    # pydantic evaluates its own forward references (with eval) the first time it builds the
    # Spec model and the Lambda class: build them first, so that alone this test sees only
    # what parsing a spec runs
    loads("netspec: 1\ninput_shape: [3]\nlayers:\n  - {type: Lambda, expression: x}\n")
    monkeypatch.setattr(builtins, "eval", boom)
    monkeypatch.setattr(builtins, "exec", boom)
    probe = tmp_path / "probe"
    for text in [
        f"open('{probe}', 'w')",
        f"__import__('pathlib').Path('{probe}').touch()",
        "(lambda: exec('raise SystemExit'))()",
        "[exit() for _ in x]",
    ]:
        with pytest.raises(expr.ExprError):
            expr.parse(text)
        with pytest.raises(SpecError):
            loads(
                f"netspec: 1\ninput_shape: [3]\nlayers:\n  - type: Lambda\n"
                f'    expression: "{text}"\n'
            )
    assert not probe.exists()


# ------------------------------------------------------------------------------------ names
def test_input_names():
    assert expr.input_names(None) == {"x": 0, "x0": 0}
    assert expr.input_names("enc") == {"x": 0, "x0": 0, "enc": 0}
    assert expr.input_names(["a", "b:1", "c"]) == {"x0": 0, "x1": 1, "x2": 2, "a": 0, "c": 2}
    # a name listed twice, or also another input's positional name, is ambiguous
    assert expr.input_names(["a", "a"])["a"] is None
    assert expr.input_names(["x1", "b"])["x1"] is None
    assert expr.input_names(["x0", "x1"]) == {"x0": 0, "x1": 1}


def test_names_resolve_to_positions():
    tree = expr.parse("a * b + x1 - x0", ["a", "b"])
    assert {v.index for v in _vars(tree)} == {0, 1}
    assert "unknown name 'x'" in refused("x * 2", ["a", "b"])
    assert "names more than one input" in refused("a * 2", ["a", "a"])
    assert "unknown name 'enc'" in refused("enc * 2", ["enc:1", "b"])
    expr.parse("x0 * b", ["enc:1", "b"])  # `name:k` inputs by position


def _vars(node):
    if isinstance(node, expr.Var):
        yield node
    for child in getattr(node, "args", ()) or (
        getattr(node, "left", None),
        getattr(node, "right", None),
        getattr(node, "operand", None),
    ):
        if child is not None:
            yield from _vars(child)


# ------------------------------------------------------------------------------- static shapes
def test_broadcasting_shapes():
    b = expr.broadcast
    assert b((None, 3), (None, 1)) == (None, 3)
    assert b((None, None), (None, 4)) == (None, 4)
    assert b((None, None), (None, None)) == (None, None)
    assert b((), (None, 2)) == (None, 2)
    with pytest.raises(expr.ExprError, match=r"axis 1 has sizes 3 and 4"):
        b((None, 3), (None, 4))
    with pytest.raises(expr.ExprError, match=r"batch axis of \(None, 3\) would meet axis 1"):
        b((None, 3), (None, 4, 3))


@pytest.mark.parametrize(
    ("text", "shapes", "message"),
    [
        ("x * x0", [(3,)], None),
        ("a * b", [(3,), (4,)], "cannot broadcast (None, 3) and (None, 4) in 'a * b'"),
        ("a + b", [(3,), (2, 3)], "use expand_dims"),
        (
            "mean(x, axis=1) + x",
            [(2, 3)],
            "batch axis of (None, 3) would meet axis 1 of (None, 2, 3)",
        ),
        ("mean(x, axis=0)", [(3,)], "axis 0 is the batch axis"),
        ("sum(x, axis=-2)", [(3,)], "axis -2 is the batch axis"),
        ("sum(x, axis=2)", [(3,)], "axis 2 is out of range for a value of rank 2"),
        ("sum(x, axis=(1, -1))", [(3,)], "repeats an axis"),
        ("softmax(x, axis=0)", [(3,)], "batch axis"),
        ("glu(x)", [(3,)], "odd"),
        ("expand_dims(x, axis=0)", [(3,)], "batch axis"),
        ("squeeze(x, axis=1)", [(3,)], "axis 1 has size 3, not 1"),
        ("transpose(x, (1, 0, 2))", [(3, 4)], "batch axis first"),
        ("transpose(x, (0, 1))", [(3, 4)], "all 3 axes"),
        ("clip(x, 2, 1)", [(3,)], "x_min 2 is above x_max 1"),
        ("l2_normalize(x, epsilon=0)", [(3,)], "epsilon must be > 0"),
        ("x[0]", [(3,)], "the batch axis is indexed"),
        ("x[:, 3]", [(3,)], "index 3 is out of range for axis 1 (size 3)"),
        ("x[:, 2:1]", [(3,)], "the slice on axis 1 (size 3) is empty"),
        ("x[:, 0, 0]", [(3,)], "too many indices for a value of rank 2"),
    ],
)
def test_shape_errors(text, shapes, message):
    inputs = ["a", "b"] if len(shapes) == 2 else None
    if message is None:
        shape_of(text, shapes, inputs)
        return
    with pytest.raises(ShapeError) as info:
        shape_of(text, shapes, inputs)
    assert message in str(info.value)
    assert info.value.field == "expression"


# Expressions, input shapes and a numpy reference: the static shape must be the real one.
def _softmax(v, axis=-1):
    e = np.exp(v - v.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _lse(v, axis, keepdims=False):
    m = v.max(axis=axis, keepdims=True)
    out = np.log(np.exp(v - m).sum(axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


_sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
_erf = np.vectorize(math.erf)
CASES = [
    ("x * 2 + 1", [(3,)], lambda x: x * 2 + 1),
    ("tanh(x) * sigmoid(x)", [(4, 5)], lambda x: np.tanh(x) * _sig(x)),
    ("mean(x, axis=1)", [(6, 3)], lambda x: x.mean(axis=1)),
    ("mean(x, axis=-1, keepdims=True)", [(6, 3)], lambda x: x.mean(axis=-1, keepdims=True)),
    ("a * b + 1", [(2, 3), (2, 1)], lambda a, b: a * b + 1),
    ("x0 - x1 / 2", [(1, 3), (2, 1)], lambda a, b: a - b / 2),
    ("-x ** 2 // 3 % 4", [(5,)], lambda x: -(x**2) // 3 % 4),
    ("2 - x", [(5,)], lambda x: 2 - x),
    ("1 / (1 + abs(x))", [(5,)], lambda x: 1 / (1 + np.abs(x))),
    (
        "2 ** x + 3 % (abs(x) + 1) + 7 // (abs(x) + 1)",
        [(5,)],
        lambda x: 2**x + 3 % (np.abs(x) + 1) + 7 // (np.abs(x) + 1),
    ),
    (
        "exp(x) - log1p(abs(x)) + sqrt(abs(x)) * rsqrt(abs(x) + 1)",
        [(4,)],
        lambda x: np.exp(x) - np.log1p(np.abs(x)) + np.sqrt(np.abs(x)) / np.sqrt(np.abs(x) + 1),
    ),
    (
        "square(x) + sin(x) * cos(x) + sign(x) + floor(x) + ceil(x) + round(x * 3)",
        [(6,)],
        lambda x: (
            x**2 + np.sin(x) * np.cos(x) + np.sign(x) + np.floor(x) + np.ceil(x) + np.round(x * 3)
        ),
    ),
    ("erf(x) + expm1(x) + arctan(x)", [(4,)], lambda x: _erf(x) + np.expm1(x) + np.arctan(x)),
    (
        "relu(x) + softplus(x) + exp(1)",
        [(4,)],
        lambda x: np.maximum(x, 0) + np.log1p(np.exp(x)) + math.e,
    ),
    (
        "relu(x, max_value=0.5, negative_slope=0.1)",
        [(8,)],
        lambda x: np.where(x > 0, np.minimum(x, 0.5), 0.1 * x),
    ),
    (
        "maximum(a, 0.2) * minimum(b, 0) + pow(abs(a), b)",
        [(3, 4), (3, 1)],
        lambda a, b: np.maximum(a, 0.2) * np.minimum(b, 0) + np.abs(a) ** b,
    ),
    ("clip(x, -0.5, 0.5)", [(7,)], lambda x: np.clip(x, -0.5, 0.5)),
    ("sum(x, axis=(1, 2))", [(2, 3, 4)], lambda x: x.sum(axis=(1, 2))),
    (
        "prod(x, axis=(1, -1), keepdims=True)",
        [(2, 3, 4)],
        lambda x: x.prod(axis=(1, 3), keepdims=True),
    ),
    ("max(x, axis=1) - min(x, axis=2)", [(3, 3)], lambda x: x.max(axis=1) - x.min(axis=2)),
    ("std(x, axis=-1) + var(x, axis=[1])", [(4, 4)], lambda x: x.std(axis=2) + x.var(axis=1)),
    (
        "var(x, axis=[1, 2], keepdims=True) * x",
        [(4, 4)],
        lambda x: x.var(axis=(1, 2), keepdims=True) * x,
    ),
    ("logsumexp(x, axis=-1)", [(3, 5)], lambda x: _lse(x, -1)),
    (
        "softmax(x, axis=1) - log_softmax(x)",
        [(3, 4)],
        lambda x: _softmax(x, 1) - (x - _lse(x, -1, keepdims=True)),
    ),
    (
        "l2_normalize(x, axis=-1)",
        [(2, 5)],
        lambda x: x / np.sqrt(np.maximum((x * x).sum(-1, keepdims=True), 1e-12)),
    ),
    (
        "expand_dims(x, axis=1) * expand_dims(x, axis=-1)",
        [(4,)],
        lambda x: x[:, None, :] * x[:, :, None],
    ),
    ("expand_dims(x, axis=-1) + 1", [(4,)], lambda x: x[..., None] + 1),
    ("squeeze(x, axis=(1, 3))", [(1, 4, 1)], lambda x: x[:, 0, :, 0]),
    ("transpose(x, (0, 2, 1)) * 2", [(2, 3)], lambda x: x.transpose(0, 2, 1) * 2),
    ("glu(x)", [(3, 4)], lambda x: x[..., :2] * _sig(x[..., 2:])),
    ("mean(x, axis=1, keepdims=True) + x", [(None, 3)], lambda x: x.mean(1, keepdims=True) + x),
    # numpy's basic indexing (Keras's `x[:, 1:3]` on a KerasTensor)
    ("x[:, 1:3]", [(4,)], lambda x: x[:, 1:3]),
    ("x[..., -1]", [(3, 4)], lambda x: x[..., -1]),
    ("x[:, ::2, 1:] * 2", [(5, 4)], lambda x: x[:, ::2, 1:] * 2),
    ("x[:, 0] + x[:, -1]", [(None, 3)], lambda x: x[:, 0] + x[:, -1]),
    ("mean(x[:, :2], axis=1)", [(4, 2)], lambda x: x[:, :2].mean(1)),
]


@pytest.mark.parametrize(("text", "shapes", "reference"), CASES, ids=[c[0] for c in CASES])
def test_static_shape_and_values(text, shapes, reference):
    names = ["a", "b"] if len(shapes) == 2 and "a" in text else None
    inputs = names if names else [f"x{i}" for i in range(len(shapes))] if len(shapes) > 1 else None
    layer = Lambda(type="Lambda", expression=text, inputs=inputs)
    static = layer.output_shape(list(shapes), Context())
    module = layer.build(list(shapes), Context())
    gen = torch.Generator().manual_seed(0)
    xs = [torch.randn(3, *[d or 5 for d in s], generator=gen, dtype=torch.float64) for s in shapes]
    y = module(*xs)
    assert tuple(y.shape[1:]) == tuple(d or 5 for d in static)
    assert len(static) == y.ndim - 1 and all(
        d is None or d == r for d, r in zip(static, y.shape[1:], strict=True)
    )
    if reference is not None:
        np.testing.assert_allclose(
            y.numpy(), reference(*[x.numpy() for x in xs]), rtol=1e-6, atol=1e-9
        )


@pytest.mark.parametrize("example", Lambda.examples, ids=lambda e: e["args"]["expression"])
def test_examples_static_shape_matches_forward(example):
    shapes = [tuple(s) for s in example["inputs"]]
    args = dict(example["args"])
    if "output_shape" in args:
        args["output_shape"] = list(args["output_shape"])
    inputs = [f"in{i}" for i in range(len(shapes))] if len(shapes) > 1 else None
    layer = Lambda(type="Lambda", inputs=inputs, **args)
    static = layer.output_shape(shapes, Context())
    dtype = getattr(torch, (example.get("dtypes") or ["float32"])[0])
    xs = [torch.randint(-4, 5, (2, *[d or 3 for d in s])).to(dtype) for s in shapes]
    y = layer.build(shapes, Context())(*xs)
    assert y.dtype == torch.float32
    assert tuple(y.shape[1:]) == tuple(d or 3 for d in static)


def test_integer_inputs_are_cast_to_float():
    layer = Lambda(type="Lambda", expression="x / 2 + x // 2")
    y = layer.build([(3,)], Context())(torch.tensor([[1, 2, 3]], dtype=torch.int32))
    assert y.dtype == torch.float32
    assert y.tolist() == [[0.5, 2.0, 2.5]]


def test_gradients_flow_and_pickling():
    layer = Lambda(type="Lambda", expression="mean(tanh(x) * x, axis=-1)")
    module = layer.build([(4,)], Context())
    x = torch.randn(2, 4, requires_grad=True)
    module(x).sum().backward()
    assert x.grad is not None and x.grad.shape == x.shape
    again = pickle.loads(pickle.dumps(module))
    assert isinstance(again, LambdaModule)
    torch.testing.assert_close(again(x), module(x))
    assert "mean(tanh(x) * x, axis=-1)" in repr(module)


def test_compile_expression_directly():
    tree = expr.parse("x0 * x1 + 2", ["p", "q"])
    fn = compile_expression(tree, [(None, 2), (None, 2)])
    a, b = torch.ones(1, 2), torch.full((1, 2), 3.0)
    assert fn([a, b]).tolist() == [[5.0, 5.0]]


# -------------------------------------------------------------------- through the spec loader
SPEC = """netspec: 1
input_shape: [4]
layers:
  - {type: Dense, units: 3}
  - type: Lambda
    expression: "%s"
"""


def diagnostics(text: str):
    with pytest.raises(SpecError) as info:
        loads(text)
    return info.value.diagnostics


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("x.__class__", "attribute access"),
        ("mean(x, axis=0)", "axis 0 is the batch axis"),
        ("tanhh(x)", "did you mean 'tanh'"),
        ("x * y", "unknown name 'y'"),
    ],
)
def test_errors_are_located(expression, message):
    (d,) = diagnostics(SPEC % expression)
    assert d.path == "layers[1].expression"
    assert d.line == 6
    assert message in d.message


def test_multi_input_spec_builds_and_runs():
    spec = loads("""netspec: 1
inputs:
  a: {shape: [3]}
  b: {shape: [1]}
layers:
  - {type: Lambda, name: gate, inputs: [a, b], expression: "a * sigmoid(b) + 1",
     output_shape: [3]}
  - {type: Dense, units: 2}
  - type: Lambda
    expression: >
      softmax(x)
      * 2
""")
    model = netspec.build(spec, seed=0)
    a, b = torch.randn(5, 3), torch.randn(5, 1)
    out = model(a, b)
    assert out.shape == (5, 2)
    torch.testing.assert_close(out.sum(-1), torch.full((5,), 2.0))
    torch.testing.assert_close(model.layers["gate"](a, b), a * torch.sigmoid(b) + 1)


def test_output_shape_must_agree():
    base = """netspec: 1
input_shape: [3, 4]
layers:
  - {type: Lambda, expression: "sum(x, axis=-1)", output_shape: %s}
"""
    loads(base % "[3]")
    loads(base % "[null]")
    (d,) = diagnostics(base % "[4]")
    assert d.path == "layers[0].output_shape" and d.line == 4
    assert (
        "output_shape (None, 4) does not match the expression's output shape (None, 3)" in d.message
    )
    (d,) = diagnostics(base % "[0]")
    assert d.path == "layers[0].output_shape[0]"


def test_broadcast_error_located_on_multi_input():
    (d,) = diagnostics("""netspec: 1
inputs:
  a: {shape: [3]}
  b: {shape: [4]}
layers:
  - type: Lambda
    inputs: [a, b]
    expression: a * b
""")
    assert d.path == "layers[0].expression" and d.line == 8
    assert "cannot broadcast (None, 3) and (None, 4) in 'a * b'" in d.message


def test_invalid_inputs_do_not_add_expression_noise():
    ds = diagnostics("""netspec: 1
input_shape: [3]
layers:
  - {type: Lambda, inputs: [input, 3], expression: "input * 2"}
""")
    assert ds and all(not d.path.endswith("expression") for d in ds)


def test_unknown_key_and_long_expression_in_yaml():
    (d,) = diagnostics(SPEC % ("x + " * 400 + "x"))
    assert d.path == "layers[1].expression" and "too long" in d.message
    ds = diagnostics(
        "netspec: 1\ninput_shape: [4]\nlayers:\n"
        "  - {type: Lambda, expression: x, function: 'lambda x: x'}\n"
    )
    assert ds[0].path == "layers[0].function" and "unknown key 'function'" in ds[0].message


def test_registered_without_keras_parity():
    assert Lambda.keras_parity is False and Lambda.arity == (1, None)
    assert Lambda.examples
    assert "output_shape" in Lambda.model_json_schema()["properties"]


# ------------------------------------------------------------------ reductions over no axis
@pytest.mark.parametrize("func", ["sum", "mean", "max", "min", "prod", "std", "var", "logsumexp"])
@pytest.mark.parametrize("keepdims", [False, True])
def test_axis_empty_tuple_reduces_nothing_as_numpy(func, keepdims):
    text = f"{func}(x, axis=(), keepdims={keepdims})"
    layer = Lambda(type="Lambda", expression=text)
    assert layer.output_shape([(2, 3)], Context()) == (2, 3)
    x = torch.randn(4, 2, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    y = layer.build([(2, 3)], Context())(x)
    # NumPy's rule (Keras's ops agree for sum, mean, max, min, prod, var); logsumexp over no
    # axis is log(exp(x)), x itself
    reference = x.numpy() if func == "logsumexp" else getattr(np, func)(x.numpy(), axis=())
    np.testing.assert_allclose(y.numpy(), reference, rtol=1e-12)


def test_l2_normalize_over_no_axis_normalizes_each_value():
    layer = Lambda(type="Lambda", expression="l2_normalize(x, axis=())")
    x = torch.tensor([[3.0, -0.5, 0.0]])
    assert layer.output_shape([(3,)], Context()) == (3,)
    assert layer.build([(3,)], Context())(x).tolist() == [[1.0, -1.0, 0.0]]


def test_shared_lambda_on_fewer_inputs_is_a_located_error():
    (d,) = diagnostics(
        "netspec: 1\ninput_shape: [4]\nlayers:\n"
        "  - {type: Dense, units: 3, name: a}\n"
        "  - {type: Dense, units: 3, name: b}\n"
        "  - {type: Lambda, inputs: [a, b], expression: 'x1 * 2', name: lam}\n"
        "  - {type: Shared, layer: lam, inputs: a}\n"
    )
    assert (d.line, d.path) == (7, "layers[3].inputs")
    assert "'x1' is input 1, but the layer gets 1 input" in d.message
