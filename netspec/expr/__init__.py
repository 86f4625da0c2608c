"""The Lambda layer's expression language: parsed with `ast` against a whitelist, never run.

A spec's expression is text such as ``tanh(x) * sigmoid(x)`` or ``mean(a * b, axis=1)``. It is
parsed by ``ast.parse(mode="eval")`` (which only builds a syntax tree) and translated, node by
node, into a small tree of our own (`Num`, `Var`, `Unary`, `Binary`, `Call`); any Python
construct outside the grammar below is refused with a message naming it and its column.
Nothing is evaluated here: shapes are inferred statically (pure Python, no torch, no numpy) and
`netspec.torch.expr` turns a validated tree into a closure over torch functions.

Grammar (whitespace and newlines are free; only ASCII text, at most `MAX_CHARS` characters,
`MAX_NODES` nodes, nesting depth `MAX_DEPTH`):

    expr    := number | name | '(' expr ')' | ('-' | '+') expr
             | expr ('+' | '-' | '*' | '/' | '//' | '%' | '**') expr
             | function '(' args ')' | expr '[' items ']'
    items   := constant ints, slices `start:stop:step` (positive step) and one `...`, the
               first item `:` or `...` (the batch axis is never indexed; netspec.expr.indexing)
    args    := tensor arguments positionally, then the function's other arguments positionally
               or as `keyword=constant` (a constant: number, True/False, None, tuple of ints)

Names are the layer's inputs: `x` (single input only) and `x0, x1, ...` by position, plus each
entry of `inputs` that is a plain identifier (a layer or model-input name); `name:k` entries
are reachable by position only. A name listed twice, or one that is also the positional name of
another input, is ambiguous and refused when used. Arithmetic on numbers alone is folded
(bounded: no huge powers). Axes count the batch axis as axis 0 (as Keras ops on the full
tensor); an axis that would touch the batch axis is refused. Operands broadcast as numpy does
(tensors of a Lambda all have the batch axis first, so tensor operands need the same rank).

Modules: `tree` (the nodes, `ExprError`, the limits), `functions` (the whitelist `FUNCTIONS`
and the operators), `calls` and `parser` (text to tree), `shapes` (static shapes, `infer`).
"""

# The public names of the former single module `netspec/expr.py`, all importable from here
# (the noqa marks re-exports). `__all__` is unchanged, so a star import gives what it gave.
from .functions import BINARY_OPS, FUNCTIONS, REDUCE, REQUIRED, UNARY, Function  # noqa: F401
from .indexing import index_shape  # noqa: F401
from .parser import input_names, parse
from .shapes import Rule, broadcast, call_rule, fmt, infer, norm_axes  # noqa: F401
from .tree import (  # noqa: F401
    MAX_CHARS,
    MAX_DEPTH,
    MAX_FLOAT,
    MAX_INT,
    MAX_NODES,
    Binary,
    Call,
    ExprError,
    FullShape,
    Index,
    Node,
    Num,
    Unary,
    Var,
)

__all__ = [
    "FUNCTIONS",
    "Binary",
    "Call",
    "ExprError",
    "Node",
    "Num",
    "Unary",
    "Var",
    "broadcast",
    "call_rule",
    "infer",
    "input_names",
    "parse",
]
