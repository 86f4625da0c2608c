"""The expression tree of the Lambda language, its error type and its size limits.

`Num`, `Var`, `Unary`, `Binary` and `Call` are frozen dataclasses; a node's `src` (its source
text, for messages) does not take part in comparisons. Shapes (`FullShape`) carry the batch
axis (None) first; a scalar's shape is ().
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MAX_CHARS = 1000
MAX_NODES = 256
MAX_DEPTH = 64
MAX_INT = 2**63 - 1
MAX_FLOAT = 3.4028234663852886e38  # float32's largest: constants become float32 tensors
FullShape = tuple[int | None, ...]  # with the batch axis (None) first; () for a scalar


class ExprError(ValueError):
    """A refused expression (syntax, forbidden construct, unknown name, or shapes)."""


@dataclass(frozen=True)
class Num:
    value: int | float


@dataclass(frozen=True)
class Var:
    index: int
    name: str


@dataclass(frozen=True)
class Unary:
    op: str  # '-' (unary '+' disappears)
    operand: Node
    src: str = field(default="", compare=False)


@dataclass(frozen=True)
class Binary:
    op: str
    left: Node
    right: Node
    src: str = field(default="", compare=False)


@dataclass(frozen=True)
class Call:
    func: str
    args: tuple[Node, ...]  # the tensor arguments
    params: tuple[tuple[str, Any], ...]  # the constant arguments (defaults filled in, except
    src: str = field(default="", compare=False)  # for activations: only those given)


@dataclass(frozen=True)
class Index:
    """`value[items]`: numpy's basic indexing by constants. An item is an int (one position:
    the axis goes), a (start, stop, step) slice (None: a bound not given) or `...` (Ellipsis:
    every axis not named)."""

    value: Node
    items: tuple[Any, ...]
    src: str = field(default="", compare=False)


Node = Num | Var | Unary | Binary | Call | Index
