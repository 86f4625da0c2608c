"""Static shapes of Lambda expressions: broadcasting, axes, and one rule per function kind.

Pure Python (no torch, no numpy). `infer` gives the shape of a tree for its input shapes;
`call_rule` also resolves a call's constant arguments (axes normalized to [0, rank)), which
`netspec.torch.expr` reuses to build the call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..vocab.activations import ACTIVATIONS
from .functions import FUNCTIONS
from .indexing import index_shape
from .tree import Binary, Call, ExprError, FullShape, Index, Node, Num, Unary, Var


def fmt(shape: FullShape) -> str:
    """A shape as Python writes a tuple: `(None, 3)`, `(None,)`, `()`."""
    inner = ", ".join(str(d) for d in shape)
    return f"({inner},)" if len(shape) == 1 else f"({inner})"


def broadcast(a: FullShape, b: FullShape, where: str = "") -> FullShape:
    """numpy broadcasting of two shapes (None: unknown size); scalars () broadcast freely."""
    ctx = f" in '{where}'" if where else ""
    if not a or not b:
        return a or b
    if len(a) != len(b):
        low, high = (a, b) if len(a) < len(b) else (b, a)
        raise ExprError(
            f"cannot broadcast {fmt(a)} and {fmt(b)}{ctx}: broadcasting aligns the last axes, "
            f"so the batch axis of {fmt(low)} would meet axis {len(high) - len(low)} of "
            f"{fmt(high)}; use expand_dims(..., axis=1) to add an axis"
        )
    out = []
    for i, (p, q) in enumerate(zip(a, b, strict=True)):
        if p == q or q == 1:
            out.append(p)
        elif p == 1:
            out.append(q)
        elif p is None or q is None:
            out.append(p if q is None else q)
        else:
            raise ExprError(
                f"cannot broadcast {fmt(a)} and {fmt(b)}{ctx}: axis {i} has sizes {p} and {q}"
            )
    return tuple(out)


def norm_axes(
    axis: int | tuple[int, ...], rank: int, call: Call, what: str = "axis", batch_ok: bool = False
) -> tuple[int, ...]:
    """Axes in [0, rank), checked: in range, no repeat, not the batch axis (unless batch_ok)."""
    axes = axis if isinstance(axis, tuple) else (axis,)
    out = []
    for given in axes:
        if not -rank <= given < rank:
            raise ExprError(
                f"{what} {given} is out of range for a value of rank {rank} (batch "
                f"axis included) in '{call.src}'"
            )
        a = given % rank
        if a == 0 and not batch_ok:
            raise ExprError(
                f"{what} {given} is the batch axis in '{call.src}': a Lambda works "
                "on each sample; use an axis >= 1 (or a negative axis)"
            )
        if a in out:
            raise ExprError(f"{what} {given} repeats an axis in '{call.src}'")
        out.append(a)
    return tuple(out)


# Each rule: (call, its constant arguments, its tensor arguments' shapes) -> (output shape,
# the constant arguments resolved). Every rule reads shapes[0] first, as one shared body did.
Rule = Callable[[Call, dict[str, Any], list[FullShape]], tuple[FullShape, dict[str, Any]]]


def _same_rule(call: Call, p: dict[str, Any], shapes: list[FullShape]) -> tuple[FullShape, dict]:
    return shapes[0], p


def _binary_rule(call: Call, p: dict[str, Any], shapes: list[FullShape]) -> tuple[FullShape, dict]:
    x = shapes[0]
    return broadcast(x, shapes[1], call.src), p


def _clip_rule(call: Call, p: dict[str, Any], shapes: list[FullShape]) -> tuple[FullShape, dict]:
    x = shapes[0]
    if p["x_min"] > p["x_max"]:
        raise ExprError(f"clip(): x_min {p['x_min']} is above x_max {p['x_max']}")
    return x, p


def _activation_rule(
    call: Call, p: dict[str, Any], shapes: list[FullShape]
) -> tuple[FullShape, dict]:
    x = shapes[0]
    act = ACTIVATIONS.get(call.func)(**p)
    if hasattr(act, "axis"):  # only checked: the activation applies it itself
        norm_axes(act.axis, len(x), call)
    try:
        return act.output_shape(x, batch_axis=True), p
    except ValueError as exc:
        raise ExprError(f"{exc} in '{call.src}'") from None


def _reduce_rule(call: Call, p: dict[str, Any], shapes: list[FullShape]) -> tuple[FullShape, dict]:
    x = shapes[0]
    axes = norm_axes(p["axis"], len(x), call)
    p = {**p, "axis": axes}
    if p["keepdims"]:
        return tuple(1 if i in axes else d for i, d in enumerate(x)), p
    return tuple(d for i, d in enumerate(x) if i not in axes), p


def _l2_normalize_rule(
    call: Call, p: dict[str, Any], shapes: list[FullShape]
) -> tuple[FullShape, dict]:
    x = shapes[0]
    p = {**p, "axis": norm_axes(p["axis"], len(x), call)}
    if p["epsilon"] <= 0:
        raise ExprError(f"l2_normalize(): epsilon must be > 0 in '{call.src}'")
    return x, p


def _expand_dims_rule(
    call: Call, p: dict[str, Any], shapes: list[FullShape]
) -> tuple[FullShape, dict]:
    x = shapes[0]
    (axis,) = norm_axes(p["axis"], len(x) + 1, call)  # counted on the result, as Keras does
    return (*x[:axis], 1, *x[axis:]), {"axis": axis}


def _squeeze_rule(call: Call, p: dict[str, Any], shapes: list[FullShape]) -> tuple[FullShape, dict]:
    x = shapes[0]
    axes = norm_axes(p["axis"], len(x), call)
    for a in axes:
        if x[a] != 1:
            raise ExprError(f"squeeze(): axis {a} has size {x[a]}, not 1, in '{call.src}'")
    return tuple(d for i, d in enumerate(x) if i not in axes), {"axis": axes}


def _transpose_rule(
    call: Call, p: dict[str, Any], shapes: list[FullShape]
) -> tuple[FullShape, dict]:
    x = shapes[0]
    rank = len(x)
    axes = norm_axes(p["axes"], rank, call, "axes entry", batch_ok=True)
    if len(axes) != rank or axes[0] != 0:
        raise ExprError(
            f"transpose(): axes must list all {rank} axes with the batch axis "
            f"first, as (0, ...), in '{call.src}'"
        )
    return tuple(x[a] for a in axes), {"axes": axes}


_RULES: dict[str, Rule] = {
    "unary": _same_rule,
    "binary": _binary_rule,
    "clip": _clip_rule,
    "activation": _activation_rule,
    "reduce": _reduce_rule,
    "l2_normalize": _l2_normalize_rule,
    "expand_dims": _expand_dims_rule,
    "squeeze": _squeeze_rule,
    "transpose": _transpose_rule,
}


def call_rule(call: Call, shapes: list[FullShape]) -> tuple[FullShape, dict[str, Any]]:
    """Output shape of a call, and its constant arguments resolved (axes normalized)."""
    kind = FUNCTIONS[call.func].kind
    rule = _RULES.get(kind)
    if rule is None:  # pragma: no cover
        raise AssertionError(kind)
    return rule(call, dict(call.params), shapes)


def infer(node: Node, shapes: list[FullShape]) -> FullShape:
    """The shape of `node` for input shapes given with the batch axis (None) first."""
    if isinstance(node, Num):
        return ()
    if isinstance(node, Var):
        if node.index >= len(shapes):  # e.g. a Shared Lambda applied to fewer inputs
            raise ExprError(
                f"'{node.name}' is input {node.index}, but the layer gets "
                f"{len(shapes)} input{'s' if len(shapes) != 1 else ''}"
            )
        return shapes[node.index]
    if isinstance(node, Unary):
        return infer(node.operand, shapes)
    if isinstance(node, Binary):
        return broadcast(infer(node.left, shapes), infer(node.right, shapes), node.src)
    if isinstance(node, Index):
        return index_shape(node, infer(node.value, shapes))
    return call_rule(node, [infer(a, shapes) for a in node.args])[0]
