"""Indexing and slicing in Lambda expressions: `x[:, 1:3]`, `x[..., 0]`, `x[:, ::-1]` is
refused (steps are positive), as numpy's basic indexing with constant ints and slices.

The batch axis is never indexed: the first item is `:` or `...`. Shapes are static: a slice
of a known axis has a known size (an empty one is refused), of an unknown axis an unknown
one; an int picks one position (in range when the size is known) and removes the axis.
"""

from __future__ import annotations

import ast
from typing import Any

from .tree import MAX_INT, ExprError, FullShape, Index

_FULL = (None, None, None)


def _const(node: ast.expr | None, what: str) -> int | None:
    """An int literal (or -int) or None for a missing bound."""
    if node is None:
        return None
    sign = 1
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        sign, node = -1, node.operand
    if (
        isinstance(node, ast.Constant)
        and isinstance(node.value, int)
        and not isinstance(node.value, bool)
        and abs(node.value) <= MAX_INT
    ):
        return sign * node.value
    raise ExprError(f"{what} must be an integer constant")


def parse_items(node: ast.expr) -> tuple[Any, ...]:
    """The items of a subscript's `slice` node."""
    elements = node.elts if isinstance(node, ast.Tuple) else [node]
    items: list[Any] = []
    for e in elements:
        if isinstance(e, ast.Constant) and e.value is Ellipsis:
            if Ellipsis in items:
                raise ExprError("an index has at most one '...'")
            items.append(Ellipsis)
        elif isinstance(e, ast.Slice):
            step = _const(e.step, "a slice's step")
            if step is not None and step <= 0:
                raise ExprError("a slice's step must be positive")
            items.append((_const(e.lower, "a slice bound"), _const(e.upper, "a slice bound"), step))
        else:
            items.append(_const(e, "an index"))
    return tuple(items)


def _expand(items: tuple[Any, ...], rank: int, src: str) -> list[Any]:
    """One item per axis (Ellipsis and the missing trailing items as full slices)."""
    named = len([i for i in items if i is not Ellipsis])
    if named > rank:
        raise ExprError(f"too many indices for a value of rank {rank} in '{src}'")
    out: list[Any] = []
    for item in items:
        out += [_FULL] * (rank - named) if item is Ellipsis else [item]
    return out + [_FULL] * (rank - len(out))


def index_shape(node: Index, shape: FullShape) -> FullShape:
    """The shape of `node.value[node.items]` for the value's `shape` (batch axis first)."""
    if not shape:
        raise ExprError(f"a number cannot be indexed in '{node.src}'")
    items = _expand(node.items, len(shape), node.src)
    if items[0] != _FULL:
        raise ExprError(
            f"the batch axis is indexed in '{node.src}': a Lambda works on each sample; "
            "start with ':' (or '...')"
        )
    out: list[int | None] = []
    for axis, (item, size) in enumerate(zip(items, shape, strict=True)):
        if isinstance(item, int):
            if size is not None and not -size <= item < size:
                raise ExprError(f"index {item} is out of range for axis {axis} (size {size})")
            continue
        start, stop, step = item
        if size is None:
            out.append(None)
            continue
        n = len(range(*slice(start, stop, step).indices(size)))
        if n == 0:
            raise ExprError(f"the slice on axis {axis} (size {size}) is empty in '{node.src}'")
        out.append(n)
    return tuple(out)


def torch_index(items: tuple[Any, ...], rank: int) -> tuple[Any, ...]:
    """The index torch takes: ints and slice objects, one per axis."""
    return tuple(
        item if isinstance(item, int) else slice(*item) for item in _expand(items, rank, "")
    )
