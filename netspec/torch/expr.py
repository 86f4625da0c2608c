"""Evaluating a validated Lambda expression on torch tensors.

`compile_expression` walks the tree of `netspec.expr` once, at build time, into nested closures
over torch functions chosen from explicit tables (no eval/exec, no getattr on user text);
the Lambda layer's module (lambda_layer.py) calls the closure.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence

import torch

from .. import expr
from ..expr.indexing import torch_index
from ..vocab.activations import ACTIVATIONS

Fn = Callable[[Sequence[torch.Tensor]], torch.Tensor]

BINARY_OPS = expr.BINARY_OPS
UNARY = {
    "abs": torch.abs,
    "exp": torch.exp,
    "expm1": torch.expm1,
    "log": torch.log,
    "log1p": torch.log1p,
    "log2": torch.log2,
    "log10": torch.log10,
    "sqrt": torch.sqrt,
    "rsqrt": torch.rsqrt,
    "square": torch.square,
    "reciprocal": torch.reciprocal,
    "negative": torch.neg,
    "sin": torch.sin,
    "cos": torch.cos,
    "tan": torch.tan,
    "arcsin": torch.asin,
    "arccos": torch.acos,
    "arctan": torch.atan,
    "sinh": torch.sinh,
    "cosh": torch.cosh,
    "arcsinh": torch.asinh,
    "arctanh": torch.atanh,
    "sign": torch.sign,
    "floor": torch.floor,
    "ceil": torch.ceil,
    "round": torch.round,
    "erf": torch.erf,
}
BINARY = {"maximum": torch.maximum, "minimum": torch.minimum, "pow": torch.pow, "power": torch.pow}


def _prod(x: torch.Tensor, dim: tuple[int, ...], keepdim: bool) -> torch.Tensor:
    for d in sorted(dim, reverse=True):  # torch.prod takes one axis at a time
        x = torch.prod(x, dim=d, keepdim=keepdim)
    return x


REDUCE = {
    "sum": torch.sum,
    "mean": torch.mean,
    "max": torch.amax,
    "min": torch.amin,
    "prod": _prod,
    "logsumexp": torch.logsumexp,
    "std": lambda x, dim, keepdim: torch.std(x, dim=dim, correction=0, keepdim=keepdim),
    "var": lambda x, dim, keepdim: torch.var(x, dim=dim, correction=0, keepdim=keepdim),
}

# A reduction over no axis (`axis=()`) is NumPy's: each value alone, so the spread is 0.
EMPTY_REDUCE = {"std": torch.zeros_like, "var": torch.zeros_like}


def _identity(x: torch.Tensor) -> torch.Tensor:
    return x


def _function(call: expr.Call, p: dict) -> Callable[..., torch.Tensor]:
    """The torch callable of a call, its constant arguments resolved by `expr.call_rule`."""
    kind = expr.FUNCTIONS[call.func].kind
    if kind == "unary":
        return UNARY[call.func]
    if kind == "binary":
        return BINARY[call.func]
    if kind == "activation":
        return ACTIVATIONS.get(call.func)(**p).function()
    if kind == "clip":
        lo, hi = p["x_min"], p["x_max"]
        return lambda x: torch.clamp(x, lo, hi)
    if kind == "reduce":
        reduce, dim, keepdim = REDUCE[call.func], p["axis"], p["keepdims"]
        if dim == ():  # torch reads an empty dim as "every axis"; NumPy reduces none
            return EMPTY_REDUCE.get(call.func, _identity)
        return lambda x: reduce(x, dim=dim, keepdim=keepdim)
    if kind == "l2_normalize":
        dim, eps = p["axis"], p["epsilon"]
        # tf.math.l2_normalize (Keras 2's backend.l2_normalize): x * rsqrt(max(sum(x^2), eps))
        if dim == ():  # the sum over no axis is each x^2 itself (torch would sum them all)
            return lambda x: x * torch.rsqrt(torch.clamp(x * x, min=eps))
        return lambda x: (
            x * torch.rsqrt(torch.clamp(torch.sum(x * x, dim=dim, keepdim=True), min=eps))
        )
    if kind == "expand_dims":
        axis = p["axis"]
        return lambda x: torch.unsqueeze(x, axis)
    if kind == "squeeze":
        axes = p["axis"]
        return lambda x: torch.squeeze(x, dim=axes)
    if kind == "transpose":
        axes = p["axes"]
        return lambda x: x.permute(axes)
    raise AssertionError(kind)  # pragma: no cover


def _as_tensor(value: float) -> Fn:
    """A number where a function wants a tensor: a 0-d tensor like the first input."""
    return lambda vs: torch.tensor(value, dtype=vs[0].dtype, device=vs[0].device)


def _compile(node: expr.Node, shapes: list[expr.FullShape]) -> tuple[Fn | float, tuple]:
    """(closure, shape) of a node; a number stays a Python number (folded into its user)."""
    if isinstance(node, expr.Num):
        return node.value, ()
    if isinstance(node, expr.Var):
        return operator.itemgetter(node.index), shapes[node.index]
    if isinstance(node, expr.Unary):
        inner, shape = _compile(node.operand, shapes)
        return (lambda vs: -inner(vs)), shape
    if isinstance(node, expr.Index):
        inner, shape = _compile(node.value, shapes)
        where = torch_index(node.items, len(shape))
        return (lambda vs: inner(vs)[where]), expr.index_shape(node, shape)
    if isinstance(node, expr.Binary):
        op = BINARY_OPS[node.op]
        (left, ls), (right, rs) = _compile(node.left, shapes), _compile(node.right, shapes)
        shape = expr.broadcast(ls, rs, node.src)
        if not callable(left):
            return (lambda vs: op(left, right(vs))), shape
        if not callable(right):
            return (lambda vs: op(left(vs), right)), shape
        return (lambda vs: op(left(vs), right(vs))), shape
    compiled = [_compile(a, shapes) for a in node.args]
    shape, params = expr.call_rule(node, [s for _, s in compiled])
    fn = _function(node, params)
    args = [f if callable(f) else _as_tensor(f) for f, _ in compiled]
    if len(args) == 1:
        (a,) = args
        return (lambda vs: fn(a(vs))), shape
    a, b = args
    return (lambda vs: fn(a(vs), b(vs))), shape


def compile_expression(tree: expr.Node, shapes: list[expr.FullShape]) -> Fn:
    """The closure computing `tree` from a list of input tensors (shapes: batch axis first)."""
    fn, _ = _compile(tree, shapes)
    if not callable(fn):  # pragma: no cover - parse() refuses expressions without an input
        raise ValueError("the expression uses no input")
    return fn


__all__ = ["compile_expression"]
