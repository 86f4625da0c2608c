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
             | function '(' args ')'
    args    := tensor arguments positionally, then the function's other arguments positionally
               or as `keyword=constant` (a constant: number, True/False, None, tuple of ints)

Names are the layer's inputs: `x` (single input only) and `x0, x1, ...` by position, plus each
entry of `inputs` that is a plain identifier (a layer or model-input name); `name:k` entries
are reachable by position only. A name listed twice, or one that is also the positional name of
another input, is ambiguous and refused when used. Arithmetic on numbers alone is folded
(bounded: no huge powers). Axes count the batch axis as axis 0 (as Keras ops on the full
tensor); an axis that would touch the batch axis is refused. Operands broadcast as numpy does
(tensors of a Lambda all have the batch axis first, so tensor operands need the same rank).
"""

from __future__ import annotations

import ast
import math
import operator
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from .registry import did_you_mean
from .vocab.activations import ACTIVATIONS

MAX_CHARS = 1000
MAX_NODES = 256
MAX_DEPTH = 64
MAX_INT = 2**63 - 1
MAX_FLOAT = 1e300
FullShape = tuple[int | None, ...]  # with the batch axis (None) first; () for a scalar


class ExprError(ValueError):
    """A refused expression (syntax, forbidden construct, unknown name, or shapes)."""


# ---------------------------------------------------------------------------------- the tree
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


Node = Num | Var | Unary | Binary | Call


# ----------------------------------------------------------------------------- the functions
REQUIRED = ...


@dataclass(frozen=True)
class Function:
    """A whitelisted function: tensor parameters, then constant ones (name, kind, default)."""

    kind: str  # unary | binary | clip | reduce | activation | l2_normalize | expand_dims | ...
    tensors: tuple[str, ...] = ("x",)
    consts: tuple[tuple[str, str, Any], ...] = ()

    def names(self) -> list[str]:
        return [*self.tensors, *(c[0] for c in self.consts)]


UNARY = (
    "abs",
    "exp",
    "expm1",
    "log",
    "log1p",
    "log2",
    "log10",
    "sqrt",
    "rsqrt",
    "square",
    "reciprocal",
    "negative",
    "sin",
    "cos",
    "tan",
    "arcsin",
    "arccos",
    "arctan",
    "sinh",
    "cosh",
    "arcsinh",
    "arctanh",
    "sign",
    "floor",
    "ceil",
    "round",
    "erf",
)
REDUCE = ("sum", "mean", "max", "min", "prod", "std", "var", "logsumexp")
_AXIS_REQUIRED = ("axis", "axis", REQUIRED)


def _functions() -> dict[str, Function]:
    table = {name: Function("unary") for name in UNARY}
    for name in ACTIVATIONS.names():  # relu, sigmoid, softmax, gelu, ...: Keras's activations
        cls = ACTIVATIONS.get(name)
        table[name] = Function(
            "activation",
            consts=tuple((f, "any", REQUIRED) for f in cls.model_fields if f != "type"),
        )
    for name in ("maximum", "minimum", "pow", "power"):
        table[name] = Function("binary", ("x1", "x2"))
    table["clip"] = Function(
        "clip", consts=(("x_min", "number", REQUIRED), ("x_max", "number", REQUIRED))
    )
    for name in REDUCE:
        table[name] = Function("reduce", consts=(_AXIS_REQUIRED, ("keepdims", "bool", False)))
    table["l2_normalize"] = Function(
        "l2_normalize", consts=(("axis", "axis", -1), ("epsilon", "number", 1e-12))
    )
    table["expand_dims"] = Function("expand_dims", consts=(("axis", "int", REQUIRED),))
    table["squeeze"] = Function("squeeze", consts=(_AXIS_REQUIRED,))
    table["transpose"] = Function("transpose", consts=(("axes", "axes", REQUIRED),))
    return table


FUNCTIONS = _functions()

_BINOPS = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.Pow: "**",
}
BINARY_OPS = {  # the operators; they apply to numbers and torch tensors alike
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "//": operator.floordiv,
    "%": operator.mod,
    "**": operator.pow,
}
_FORBIDDEN = {
    ast.Attribute: "attribute access",
    ast.Subscript: "indexing and slicing",
    ast.Lambda: "lambda",
    ast.ListComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.GeneratorExp: "generator expressions",
    ast.Compare: "comparisons",
    ast.BoolOp: "'and'/'or'",
    ast.IfExp: "conditional expressions",
    ast.NamedExpr: "assignment expressions",
    ast.JoinedStr: "strings",
    ast.Dict: "dicts",
    ast.Set: "sets",
    ast.List: "lists",
    ast.Tuple: "tuples",
    ast.Starred: "'*' unpacking",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
    ast.Slice: "slices",
    ast.MatMult: "the '@' operator",
    ast.Invert: "the '~' operator",
    ast.Not: "'not'",
}


def input_names(inputs: str | list[str] | tuple[str, ...] | None) -> dict[str, int | None]:
    """Name -> input position (None: ambiguous) for a layer's `inputs` (None: one input)."""
    refs = [inputs] if isinstance(inputs, str) else list(inputs) if inputs is not None else [""]
    names: dict[str, int | None] = {f"x{i}": i for i in range(len(refs))}
    if len(refs) == 1:
        names["x"] = 0
    for i, ref in enumerate(refs):
        if ref.isidentifier():
            names[ref] = i if names.get(ref, i) == i else None
    return names


# ---------------------------------------------------------------------------------- parsing
def _fold(op: str, a: int | float, b: int | float) -> int | float:
    """`a op b` on numbers, refusing results that are huge, complex or undefined."""
    if op == "**" and isinstance(a, int) and isinstance(b, int) and b >= 0 and abs(a) > 1:
        if b * math.log2(abs(a)) > 63:
            raise OverflowError
    if op == "**" and not (isinstance(a, int) and isinstance(b, int) and b >= 0):
        a, b = float(a), float(b)
    value = BINARY_OPS[op](a, b)
    if isinstance(value, complex) or (isinstance(value, float) and not math.isfinite(value)):
        raise ValueError("not a real number")
    if abs(value) > (MAX_INT if isinstance(value, int) else MAX_FLOAT):
        raise OverflowError
    return value


class _Parser:
    def __init__(self, text: str, names: dict[str, int | None] | None, lead: int):
        self.text, self.names, self.count, self.lead = text, names, 0, lead

    def fail(self, node: ast.AST, message: str) -> ExprError:
        src = ast.get_source_segment(self.text, node) or ""
        where = f"column {node.col_offset + 1 + self.lead}"
        shown = f"'{src}', {where}" if src and len(src) <= 40 else where
        return ExprError(f"{message} ({shown})")

    def expr(self, node: ast.AST, depth: int) -> Node:
        self.count += 1
        if self.count > MAX_NODES:
            raise ExprError(f"expression too large (more than {MAX_NODES} parts)")
        if depth > MAX_DEPTH:
            raise ExprError(f"expression nested too deeply (more than {MAX_DEPTH} levels)")
        if isinstance(node, ast.Constant):
            return Num(self.number(node))
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            operand = self.expr(node.operand, depth + 1)
            if isinstance(node.op, ast.UAdd):
                return operand
            if isinstance(operand, Num):
                return Num(-operand.value)
            return Unary("-", operand, self.src(node))
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            op = _BINOPS[type(node.op)]
            left, right = self.expr(node.left, depth + 1), self.expr(node.right, depth + 1)
            if isinstance(left, Num) and isinstance(right, Num):
                try:
                    return Num(_fold(op, left.value, right.value))
                except ZeroDivisionError:
                    raise self.fail(node, "division by zero") from None
                except (OverflowError, ValueError):
                    raise self.fail(node, "number out of range or not real") from None
            return Binary(op, left, right, self.src(node))
        if isinstance(node, ast.Call):
            return self.call(node, depth)
        kind = type(node.op) if isinstance(node, (ast.BinOp, ast.UnaryOp)) else type(node)
        what = _FORBIDDEN.get(kind, f"'{kind.__name__}'")
        raise self.fail(node, f"not allowed in an expression: {what}")

    def src(self, node: ast.AST) -> str:
        return ast.get_source_segment(self.text, node) or ""

    def number(self, node: ast.Constant) -> int | float:
        value = node.value
        if isinstance(value, bool) or value is None:
            raise self.fail(
                node, f"{value} is only allowed as a function's keyword value (keepdims=True)"
            )
        if isinstance(value, (str, bytes)):
            raise self.fail(node, "strings are not allowed in an expression")
        if isinstance(value, complex):
            raise self.fail(node, "complex numbers are not allowed")
        if isinstance(value, int) and abs(value) <= MAX_INT:
            return value
        if isinstance(value, float) and math.isfinite(value):
            return value
        raise self.fail(
            node,
            "this number is out of range"
            if isinstance(value, (int, float))
            else f"'{type(value).__name__}' constants are not allowed",
        )

    def name(self, node: ast.Name) -> Node:
        name = node.id
        if self.names is None:  # the inputs are unknown (invalid): check the rest only
            return Var(0, name)
        index = self.names.get(name, -1)
        if index is None:
            raise self.fail(
                node, f"'{name}' names more than one input; use the positional names x0, x1, ..."
            )
        if index >= 0:
            return Var(index, name)
        if name in FUNCTIONS:
            raise self.fail(node, f"'{name}' is a function: call it, as {name}(...)")
        known = sorted(self.names)
        raise self.fail(
            node, f"unknown name '{name}'{did_you_mean(name, known)} (names: {', '.join(known)})"
        )

    def call(self, node: ast.Call, depth: int) -> Call:
        if not isinstance(node.func, ast.Name):
            if isinstance(node.func, (ast.Attribute, ast.Lambda, ast.Subscript)):
                return self.expr(node.func, depth + 1)  # refused, named by its construct
            raise self.fail(node, "only named functions can be called")
        name = node.func.id
        fn = self.function(node, name)
        given = self.bind(node, name, fn)
        args = self.tensor_args(node, name, fn, given, depth)
        consts = self.const_args(node, name, fn, given)
        if fn.kind == "activation":
            self.activation(node, name, dict(consts))
        return Call(name, tuple(args), tuple(consts), self.src(node))

    def function(self, node: ast.Call, name: str) -> Function:
        """The whitelisted function `name`, or an error saying what `name` is instead."""
        fn = FUNCTIONS.get(name)
        if fn is not None:
            return fn
        if self.names and name in self.names:
            raise self.fail(node, f"'{name}' is an input, not a function")
        raise self.fail(node.func, f"unknown function '{name}'" + did_you_mean(name, FUNCTIONS))

    def bind(self, node: ast.Call, name: str, fn: Function) -> dict[str, ast.AST]:
        """Parameter name -> argument node, positional ones first (as Python binds them)."""
        params = fn.names()
        given: dict[str, ast.AST] = {}
        for i, arg in enumerate(node.args):
            if isinstance(arg, ast.Starred):
                raise self.fail(arg, "'*' unpacking is not allowed")
            if i >= len(params):
                raise self.fail(
                    node,
                    f"{name}() takes at most {len(params)} argument(s) "
                    f"({', '.join(params)}), got {len(node.args)}",
                )
            given[params[i]] = arg
        for kw in node.keywords:
            self.check_keyword(kw, name, fn, params, given)
            given[kw.arg] = kw.value
        return given

    def check_keyword(
        self,
        kw: ast.keyword,
        name: str,
        fn: Function,
        params: list[str],
        given: dict[str, ast.AST],
    ) -> None:
        """Refuse `kw` unless it names a constant parameter not given yet."""
        if kw.arg is None:
            raise self.fail(kw.value, "'**' unpacking is not allowed")
        if kw.arg not in params:
            raise self.fail(
                kw,
                f"{name}() has no argument '{kw.arg}'"
                + did_you_mean(kw.arg, params)
                + f" (arguments: {', '.join(params)})",
            )
        if kw.arg in given:
            raise self.fail(kw, f"{name}() got argument '{kw.arg}' twice")
        if kw.arg in fn.tensors:  # tensors come first, so keywords would only reorder them
            raise self.fail(kw, f"pass '{kw.arg}' of {name}() positionally")

    def tensor_args(
        self, node: ast.Call, name: str, fn: Function, given: dict[str, ast.AST], depth: int
    ) -> list[Node]:
        # Each is checked then parsed in turn, so the first problem met is the one reported.
        args = []
        for p in fn.tensors:
            if p not in given:
                raise self.fail(node, f"{name}() is missing its argument '{p}'")
            args.append(self.expr(given[p], depth + 1))
        return args

    def const_args(
        self, node: ast.Call, name: str, fn: Function, given: dict[str, ast.AST]
    ) -> list[tuple[str, Any]]:
        """The constant arguments, defaults filled in; an activation's only as given (its own
        class validates them, and knows its defaults)."""
        consts = []
        for p, kind, default in fn.consts:
            if p in given:
                consts.append((p, self.const(given[p], name, p, kind)))
            elif default is not REQUIRED:
                consts.append((p, default))
            elif fn.kind != "activation":
                why = (
                    f"; {name} over every axis would include the batch axis (axis 0)"
                    if p == "axis" and fn.kind in ("reduce", "squeeze")
                    else ""
                )
                raise self.fail(node, f"{name}() needs {p}=...{why}")
        return consts

    def const(self, node: ast.AST, fname: str, pname: str, kind: str) -> Any:
        """A constant argument: a number, a bool, None or a tuple of ints, as `kind` wants."""
        self.count += 1
        if isinstance(node, (ast.Tuple, ast.List)) and kind in ("axis", "axes"):
            return tuple(self.const(e, fname, pname, "int") for e in node.elts)
        value = node.value if isinstance(node, ast.Constant) else REQUIRED
        if (
            isinstance(node, ast.UnaryOp)
            and isinstance(node.op, (ast.USub, ast.UAdd))
            and isinstance(node.operand, ast.Constant)
        ):
            inner = node.operand.value
            if isinstance(inner, (int, float)) and not isinstance(inner, bool):
                value = -inner if isinstance(node.op, ast.USub) else inner
        ok = {
            "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
            "axis": lambda v: isinstance(v, int) and not isinstance(v, bool),
            "number": lambda v: (
                isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
            ),
            "bool": lambda v: isinstance(v, bool),
            "any": lambda v: v is None or isinstance(v, (int, float)),
        }.get(kind, lambda v: False)
        if value is not REQUIRED and ok(value):
            return value
        want = {
            "int": "an int",
            "axis": "an int or a tuple of ints",
            "axes": "a tuple of ints",
            "number": "a number",
            "bool": "True or False",
            "any": "a number, True, False or None",
        }[kind]
        hint = ""
        if value is None and kind == "axis":
            hint = "; None would include the batch axis (axis 0)"
        if fname in ("max", "min") and pname == "axis" and value is REQUIRED:
            hint = f"; for the elementwise {fname}imum of two tensors use {fname}imum(a, b)"
        raise self.fail(node, f"{fname}(): {pname} must be {want}, written as a constant{hint}")

    def activation(self, node: ast.Call, name: str, kwargs: dict) -> None:
        try:
            ACTIVATIONS.get(name)(**kwargs)
        except ValueError as exc:  # pydantic's ValidationError
            errors = getattr(exc, "errors", lambda: [])()
            detail = "; ".join(
                f"missing argument '{e['loc'][0]}'"
                if e["type"] == "missing"
                else f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                for e in errors
            )
            raise self.fail(node, f"{name}(): {detail or exc}") from None


@lru_cache(maxsize=512)
def _parse_cached(text: str, inputs: tuple[str, ...] | str | None, lenient: bool) -> Node:
    if len(text) > MAX_CHARS:
        raise ExprError(f"expression too long ({len(text)} characters; at most {MAX_CHARS})")
    if not text.strip():
        raise ExprError("empty expression")
    bad = next((c for c in text if not (c.isascii() and (c.isprintable() or c in "\n\r\t"))), None)
    if bad is not None:
        raise ExprError(f"character {bad!r} is not allowed (ASCII text only)")
    flat = text.replace("\n", " ").replace("\r", " ").replace("\t", " ")
    lead = len(flat) - len(flat.lstrip())
    flat = flat.strip()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(flat, mode="eval")
    except SyntaxError as exc:
        raise ExprError(f"invalid syntax: {exc.msg} (column {(exc.offset or 1) + lead})") from None
    except (ValueError, RecursionError, MemoryError):
        raise ExprError("invalid expression") from None
    names = None if lenient else input_names(inputs)
    node = _Parser(flat, names, lead).expr(tree.body, 0)
    if not lenient and not _uses_input(node):
        raise ExprError(
            "the expression uses no input (names: " + ", ".join(sorted(names or {})) + ")"
        )
    return node


def parse(
    text: str, inputs: str | list[str] | tuple[str, ...] | None = None, lenient: bool = False
) -> Node:
    """The validated tree of `text` for a layer with these `inputs` (None: a single input).

    `lenient` accepts any name (when the inputs are unknown): syntax and functions are checked.
    """
    key = tuple(inputs) if isinstance(inputs, list) else inputs
    return _parse_cached(text, key, lenient)


def _uses_input(node: Node) -> bool:
    if isinstance(node, Var):
        return True
    if isinstance(node, Unary):
        return _uses_input(node.operand)
    if isinstance(node, Binary):
        return _uses_input(node.left) or _uses_input(node.right)
    return isinstance(node, Call) and any(_uses_input(a) for a in node.args)


# --------------------------------------------------------------------------- static shapes
def fmt(shape: FullShape) -> str:
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
        return shapes[node.index]
    if isinstance(node, Unary):
        return infer(node.operand, shapes)
    if isinstance(node, Binary):
        return broadcast(infer(node.left, shapes), infer(node.right, shapes), node.src)
    return call_rule(node, [infer(a, shapes) for a in node.args])[0]


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
